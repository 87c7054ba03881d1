"""Input checks and memory-layout views shared by the row-blocked kernels."""

import numpy as np

from lowrank._core.validation import SUPPORTED_DTYPES

__all__ = ["check_kernel_matrix", "row_major"]


def check_kernel_matrix(a):
    """`a` as a 2-D ndarray in one of the four supported dtypes, else raise."""
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"`a` must be 2-D (m, n), got shape {a.shape}")
    if a.dtype not in SUPPORTED_DTYPES:
        raise TypeError(
            f"`a` must be float32, float64, complex64 or complex128, got {a.dtype}"
        )
    return a


def row_major(a):
    """``(x, transposed)``: a C-contiguous view of A, or of A^T if A is Fortran.

    Kernels read rows of A from ``x`` (``transposed=False``) or gather them
    from the columns of ``x = A^T`` (``transposed=True``); any other layout
    is copied to C order once.

    Examples
    --------
    >>> import numpy as np
    >>> x, transposed = row_major(np.zeros((3, 2), order="F"))
    >>> x.shape, transposed
    ((2, 3), True)
    """
    if a.flags.c_contiguous:
        return a, False
    if a.flags.f_contiguous:
        return a.T, True
    return np.ascontiguousarray(a), False
