"""The choice of backend from the array's type: the one dispatch, at the boundary.

Public functions hand their big argument to `as_tall_operand` or
`as_oriented_operand` once; the returned operand carries its backend's
passes (`lowrank._backends.protocol`). A dask array is recognised without
importing dask, and the dask backend is imported only when one is passed.
"""

from __future__ import annotations

import sys

from lowrank._backends.ndarray import DenseTall
from lowrank._core.validation import check_dask_matrix, check_tall

__all__ = ["as_oriented_operand", "as_tall_operand", "is_dask_array"]


def is_dask_array(a):
    """Whether `a` is a ``dask.array.Array``, without importing dask.

    Examples
    --------
    >>> import numpy as np
    >>> is_dask_array(np.ones((3, 2)))
    False
    """
    if not type(a).__module__.startswith("dask"):
        return False
    dask_array = sys.modules.get("dask.array")
    return dask_array is not None and isinstance(a, dask_array.Array)


def _dask_operand(a, name, extra=None):
    from lowrank._backends.dask.operand import DaskTall

    return DaskTall(a, name=name, extra=extra)


def as_tall_operand(a, name="a", check_finite=True):
    """The tall operand (M >= N) of a public function's argument `a`.

    A dask array must be chunked along its rows only (checked, never
    rechunked); its finiteness is tested on the first pass's small results
    (exact, see `TallOperand.finite`), so `check_finite` has nothing to
    save there. Anything else is validated as a numpy matrix.
    """
    if is_dask_array(a):
        return _dask_operand(check_dask_matrix(a, name, tall=True), name)
    return DenseTall(check_tall(a, name, check_finite), name=name)


def oriented(operand_array, *, dask):
    """``(t, wide)``: the tall array t (A, or A^H for wide A) of a checked 2-D A."""
    m, n = operand_array.shape
    if m >= n:
        return operand_array, False
    if dask and operand_array.dtype.kind != "c":
        return operand_array.T, True
    return operand_array.conj().T, True


def as_oriented_operand(a, name="a"):
    """``(t, wide)`` for a checked 2-D matrix A: the tall operand of A or of A^H.

    Wide matrices are factored through ``A^H``, a view (numpy) or a lazy
    transpose (dask, whose column chunks become row chunks).
    """
    if is_dask_array(a):
        t, wide = oriented(a, dask=True)
        return _dask_operand(t, name), wide
    t, wide = oriented(a, dask=False)
    return DenseTall(t, name=name), wide
