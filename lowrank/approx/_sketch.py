"""The test matrices of the randomized methods: one registry, `SKETCHES`.

A sketch is drawn in one of two ways, from the same random stream:

``draw(rng, n, width, dtype)``
    the test matrix Omega itself, n x width (what a backend that applies it
    by its own products needs, and Krylov starts);
``sample(op, width, rng)``
    the sample ``Y = A Omega`` of a linear map `op`
    (:mod:`lowrank._backends.linear_map`), by the cheapest product its
    kind offers (the sparse sign kernel applies Omega without forming it).

The same seed gives the same Omega either way. Range finders, randomized
SVDs and IDs read the registry; ``sketch=`` arguments are its keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from lowrank._backends.linear_map import dense_sign_matrix

__all__ = ["SKETCHES", "SPARSE_SIGN_ZETA", "Sketch", "random_test_matrix"]

#: Nonzeros per column of the sparse sign test matrix (clipped to l). Eight is
#: the value Martinsson & Tropp (2020, §9.2) recommend: in practice it behaves
#: like a Gaussian test matrix at a fraction of the cost of applying it.
SPARSE_SIGN_ZETA = 8


class Sketch(NamedTuple):
    """A kind of test matrix: Omega itself, or the sample ``A Omega``."""

    draw: Callable  # (rng, n, width, dtype) -> Omega, n x width
    sample: Callable  # (op, width, rng) -> A Omega, M x width


def random_test_matrix(rng, n, width, dtype):
    """An n x width standard Gaussian matrix, complex Gaussian for complex dtype.

    A complex A needs a complex Omega: with a real one, ``A Omega`` only
    samples the range of A restricted to real vectors (Halko, Martinsson &
    Tropp 2011, §4.1).
    """
    real = np.finfo(dtype).dtype
    omega = rng.standard_normal((n, width), dtype=real)
    if np.issubdtype(dtype, np.complexfloating):
        omega = omega + 1j * rng.standard_normal((n, width), dtype=real)
    return omega.astype(dtype, copy=False)


def _gaussian_sample(op, width, rng):
    return op.matmat(random_test_matrix(rng, op.shape[1], width, op.dtype))


def _sparse_sign_indices(rng, n, width):
    """``(rows, signs, zeta)`` of ``Omega = S^T``, S an l x n sparse sign matrix."""
    from lowrank._kernels.sketch import sparse_sign_indices

    zeta = min(SPARSE_SIGN_ZETA, width)
    rows, signs = sparse_sign_indices(width, n, zeta, rng)
    return rows, signs, zeta


def sparse_sign_test_matrix(rng, n, width, dtype):
    """The sparse sign ``Omega = S^T`` (n x width) as a dense array.

    Each row of Omega has ``zeta = min(SPARSE_SIGN_ZETA, width)`` nonzeros
    ``+-1/sqrt(zeta)`` in distinct columns.
    """
    rows, signs, zeta = _sparse_sign_indices(rng, n, width)
    return dense_sign_matrix(rows, signs, width, zeta, dtype)


def _sparse_sign_sample(op, width, rng):
    rows, signs, zeta = _sparse_sign_indices(rng, op.shape[1], width)
    return op.sparse_sign_sample(rows, signs, width, zeta)


#: sketch name -> Sketch(draw, sample).
SKETCHES = {
    "gaussian": Sketch(random_test_matrix, _gaussian_sample),
    "sparse_sign": Sketch(sparse_sign_test_matrix, _sparse_sign_sample),
}
