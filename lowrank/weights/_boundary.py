"""The one conversion boundary of the weights family.

Every public function of :mod:`lowrank.weights` converts its array
arguments here (`to_numpy`), computes with numpy and scipy, and hands its
result back through `restore`. Today only numpy (and what ``np.asarray``
takes) comes in, so both are the identity on ndarrays; the array-API
backend (torch, CuPy, JAX in, the same out) plugs in here, in one place,
without touching the drivers.
"""

from __future__ import annotations

__all__ = ["restore", "to_numpy"]


def to_numpy(value):
    """`value` as the drivers take it (None stays None)."""
    return value


def restore(result, like):
    """`result` (a NamedTuple of ndarrays and floats) in the namespace of `like`."""
    del like  # numpy in, numpy out: nothing to convert yet
    return result
