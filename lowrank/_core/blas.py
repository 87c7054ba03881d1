"""Matrix products on scipy's BLAS, without copying C-ordered operands.

numpy and scipy wheels each bundle their own OpenBLAS, each with its own
thread pool, and after a multi-threaded call a pool's threads keep spinning
for a while before they sleep. A call into the *other* pool during that time
competes with them for the cores: on a 2-core machine the pseudo-inverse of
a 100000 x 100 matrix took 0.23-0.26 s with its calls split between the two
pools and 0.16 s with all of them in scipy's (benchmarks/bench_tallskinny.py).
The tall-skinny routes (pinv "cholqr", tall_qr, the QR-first SVD) therefore
make every BLAS/LAPACK call of one computation through scipy, which, unlike
numpy, also exposes syrk/herk and trsm. Elementwise numpy work is unaffected.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.linalg import get_blas_funcs

__all__ = [
    "cholesky_upper_factor",
    "matmul",
    "small_matmul",
    "solve_upper",
    "svd_small",
]

#: The OpenBLAS pools a computation may keep its calls in.
POOLS = ("scipy", "numpy")


def _contiguous(a):
    if a.flags.c_contiguous or a.flags.f_contiguous:
        return a
    return np.ascontiguousarray(a)


def matmul(a, b):
    """``a @ b`` for 2-D arrays by one gemm of scipy's BLAS.

    C- or Fortran-contiguous operands are passed as they are (a C-ordered
    matrix is the Fortran-ordered view of its transpose, so only the
    transposition flags change); anything else is copied once. The result is
    C-ordered if both operands are, Fortran-ordered otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(6.0).reshape(2, 3)
    >>> b = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    >>> bool(np.array_equal(matmul(a, b), a @ b))
    True
    """
    a, b = _contiguous(a), _contiguous(b)
    m, k = a.shape
    n = b.shape[1]
    if k != b.shape[0]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match")
    if 0 in (m, n, k):
        return np.zeros((m, n), np.result_type(a, b))
    (gemm,) = get_blas_funcs(("gemm",), (a, b))
    a_f, b_f = a.flags.f_contiguous, b.flags.f_contiguous
    if a_f and b_f:
        return gemm(1.0, a, b)
    if not a_f and not b_f:
        # (A B)^T = B^T A^T, both Fortran-ordered views: a C-ordered result.
        return gemm(1.0, b.T, a.T).T
    if not a_f:
        return gemm(1.0, a.T, b, trans_a=1)
    return gemm(1.0, a, b.T, trans_b=1)


def svd_small(a):
    """Full SVD ``(U, s, Vh)`` of a small square matrix by scipy's gesdd."""
    return scipy.linalg.svd(a, check_finite=False)


def cholesky_upper_factor(g, pool="scipy"):
    """The upper Cholesky factor of ``G = R^H R`` on one pool; LinAlgError if none."""
    if pool == "numpy":
        # the lower factor, transposed: `upper=` needs numpy >= 2.0
        return np.linalg.cholesky(g).conj().T
    return scipy.linalg.cholesky(g, lower=False, check_finite=False)


def solve_upper(r, w, *, adjoint=False, pool="scipy"):
    """``R^{-1} W`` (``R^{-H} W`` if `adjoint`) for upper triangular R, on one pool.

    numpy has no triangular solve; its LU solve is backward stable all the
    same (and plain substitution for upper triangular R, where partial
    pivoting finds nothing to swap).
    """
    if pool == "numpy":
        return np.linalg.solve(r.conj().T if adjoint else r, w)
    trans = "C" if adjoint else 0
    return scipy.linalg.solve_triangular(r, w, trans=trans, check_finite=False)


def small_matmul(a, b, pool="scipy"):
    """``a @ b`` for small matrices, on one pool."""
    return a @ b if pool == "numpy" else matmul(a, b)
