"""A matrix seen only through its products: dense, sparse or LinearOperator.

The randomized and Krylov methods (range finder, block Krylov, error
estimates, LSQR/LSMR) touch A only through ``A X`` and ``A^H Y``. One wrapper
per kind of input gives them those products without ever densifying a sparse
matrix or an operator and without making a conjugated copy of a dense A:

``matmat(X)``  ``A X``    (N x l -> M x l)
``rmatmat(Y)`` ``A^H Y``  (M x l -> N x l)
``hmat(Y)``    ``Y^H A``  (M x l -> l x N), the same product laid out as rows,
               which is how the QB factor ``B = Q^H A`` is wanted.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from lowrank._core.validation import (
    as_matrix_stack,
    check_single_matrix,
    check_sparse_finite,
    result_dtype,
)

__all__ = ["DenseMap", "OperatorMap", "SparseMap", "as_linear_map"]


class DenseMap:
    """A dense 2-D ndarray."""

    def __init__(self, a):
        self.a, self.shape, self.dtype = a, a.shape, a.dtype

    def matmat(self, x):
        return self.a @ x

    def rmatmat(self, y):
        # (Y^H A)^H: BLAS reads A transposed in place; A.conj() would copy it.
        return (y.conj().T @ self.a).conj().T

    def hmat(self, y):
        return y.conj().T @ self.a

    def sparse_sign_sample(self, rows, signs, width, zeta):
        """``A S^T`` for the real l x N sparse sign matrix S (the numba kernel).

        ``A S^T = (S A^T)^T`` because S is real; ``A^T`` of a C-ordered A is a
        Fortran-ordered view the kernel reads in place.
        """
        from lowrank._kernels.sketch import apply_sparse_sign

        return apply_sparse_sign(rows, signs, self.a.T, width, zeta).T


class SparseMap:
    """A scipy.sparse matrix or array, kept in CSR or CSC format."""

    def __init__(self, a):
        self.a, self.shape, self.dtype = a, a.shape, a.dtype

    def matmat(self, x):
        return np.asarray(self.a @ x)

    def rmatmat(self, y):
        # A^T is a free change of format (CSR <-> CSC), not a copy of the data.
        return np.asarray(self.a.T @ y.conj()).conj()

    def hmat(self, y):
        return np.asarray(self.a.T @ y.conj()).T

    def sparse_sign_sample(self, rows, signs, width, zeta):
        return self.matmat(dense_sign_matrix(rows, signs, width, zeta, self.dtype))


class OperatorMap:
    """A LinearOperator through matmat/rmatmat, cast to the computing dtype."""

    def __init__(self, a, dtype):
        self.a, self.shape, self.dtype = a, a.shape, np.dtype(dtype)

    def matmat(self, x):
        return np.asarray(self.a.matmat(x), dtype=self.dtype)

    def rmatmat(self, y):
        return np.asarray(self.a.rmatmat(y), dtype=self.dtype)

    def hmat(self, y):
        return self.rmatmat(y).conj().T

    def sparse_sign_sample(self, rows, signs, width, zeta):
        return self.matmat(dense_sign_matrix(rows, signs, width, zeta, self.dtype))


def dense_sign_matrix(rows, signs, width, zeta, dtype):
    """``S^T`` (N x l) as a dense array, for inputs the numba kernel cannot read."""
    omega = np.zeros((rows.shape[0], width), dtype=dtype)
    values = signs.astype(dtype) / math.sqrt(zeta)
    # the rows of each column of S are distinct, so nothing is overwritten
    np.put_along_axis(omega, rows.astype(np.intp), values, axis=1)
    return omega


def as_linear_map(a, *, check_finite=True, name="a"):
    """Validate a single matrix `a` and wrap it as products.

    Parameters
    ----------
    a : array_like, scipy.sparse matrix/array or LinearOperator
        Integer and bool input is computed in float64, single precision stays
        single; float16 and object dtypes raise TypeError.
    check_finite : bool
        Check a dense or sparse `a` entry by entry for NaN/Inf (ValueError).
        With False a dense or sparse `a` is still checked, by the cheaper
        test of its sum. An operator cannot be checked; callers judge its
        products.
    name : str
        The argument's name in error messages.
    """
    if isinstance(a, scipy.sparse.linalg.LinearOperator):
        check_single_matrix(a.shape, name)
        dtype = np.float64 if a.dtype is None else a.dtype
        return OperatorMap(a, result_dtype(dtype, name))
    if scipy.sparse.issparse(a):
        check_single_matrix(a.shape, name)
        dtype = result_dtype(a.dtype, name)
        if a.format not in ("csr", "csc"):
            a = a.tocsr()
        if a.dtype != dtype:
            a = a.astype(dtype)
        check_sparse_finite(np.asarray(a.data), name, check_finite)
        return SparseMap(a)
    arr = as_matrix_stack(a, name, check_finite_values=check_finite)
    check_single_matrix(arr.shape, name)
    return DenseMap(arr)
