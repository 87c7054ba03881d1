"""A matrix seen only through its products: dense, sparse or LinearOperator.

The randomized and Krylov methods (range finder, block Krylov, error
estimates, LSQR/LSMR) touch A only through ``A X`` and ``A^H Y``. One wrapper
per kind of input gives them those products without ever densifying a sparse
matrix or an operator and without making a conjugated copy of a dense A:

``matmat(X)``  ``A X``    (N x l -> M x l)
``rmatmat(Y)`` ``A^H Y``  (M x l -> N x l)
``hmat(Y)``    ``Y^H A``  (M x l -> l x N), the same product laid out as rows,
               which is how the QB factor ``B = Q^H A`` is wanted.

`MapOperand` gives the randomized drivers (`lowrank.approx._tall_svd`) the
passes of `lowrank._backends.protocol.TallOperand` over a linear map: the
samples ``Y = A Z`` are formed explicitly and everything small is computed
with numpy's LAPACK, on the OpenBLAS pool of the products (see
`lowrank._core.blas`).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from lowrank._backends.ndarray import positive_diagonal
from lowrank._core.signs import canonical_signs
from lowrank._core.validation import (
    as_matrix_stack,
    check_products_finite,
    check_single_matrix,
    check_sparse_finite,
    result_dtype,
)

__all__ = ["DenseMap", "MapOperand", "OperatorMap", "SparseMap", "as_linear_map"]


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


class MapOperand:
    """The randomized drivers' passes over a linear map A (`TallOperand`).

    The operand is A itself (``y`` None: only `times` and `sample` apply) or
    an explicit sample ``Y = A Z R_1^{-1} ...`` (M x l) derived from it. The
    products with A are the map's (`DenseMap`, `SparseMap`, `OperatorMap`);
    a product that an operator returns non-finite is reported by `finite`.
    Only the passes of the range finder are provided: the least-squares
    passes (``normal_equations``, ``residual``) belong to a matrix held
    entry by entry, never to an operator.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(12.0).reshape(4, 3)
    >>> y = MapOperand(as_linear_map(a)).times(np.eye(3)[:, :2])
    >>> g, carried = y.gram(carry_a=True)
    >>> bool(np.allclose(g, a[:, :2].T @ a[:, :2]))
    True
    >>> bool(np.allclose(carried["a"], a[:, :2].T @ a))
    True
    """

    #: the drivers' small LAPACK steps use numpy's pool, like the products
    pool = "numpy"

    def __init__(self, op, y=None):
        self.op, self.y = op, y

    @property
    def shape(self):
        return self.op.shape if self.y is None else self.y.shape

    @property
    def dtype(self):
        return self.op.dtype

    def _derived(self, y):
        return MapOperand(self.op, y)

    def times(self, z):
        return self._derived(self.op.matmat(z))

    def sample(self, sketch, width, rng):
        """The operand ``A Omega`` for a test matrix of the registry `sketch`."""
        return self._derived(sketch.sample(self.op, width, rng))

    def _carried(self, b, carry_a):
        carried = {}
        if carry_a:
            carried["a"] = self.op.hmat(self.y)
        if b is not None:
            carried["b"] = self.y.conj().T @ b
        return carried

    def gram(self, *, b=None, carry_a=False):
        return self.y.conj().T @ self.y, self._carried(b, carry_a)

    def sketch(self, rows, zeta, seed):
        # Imported here: importing lowrank must not import numba.
        from lowrank._kernels.sketch import sparse_sign_sketch

        return sparse_sign_sketch(self.y, rows, zeta=zeta, rng=seed, parallel=False)

    def solve(self, r):
        # Y R^{-1} as the solve R^H X = Y^H: numpy's LU of a triangular
        # matrix pivots nowhere, so this is substitution on numpy's pool.
        return self._derived(np.linalg.solve(r.conj().T, self.y.conj().T).conj().T)

    def householder(self, *, b=None, carry_a=False):
        q, r = positive_diagonal(*np.linalg.qr(self.y, mode="reduced"))
        q = self._derived(q)
        return q, r, q._carried(b, carry_a)

    def lu_basis(self):
        """The operand ``P L`` of the partially pivoted LU of Y: the same
        range, well-conditioned columns (Halko et al. 2011, §4.5)."""
        return self._derived(scipy.linalg.lu(self.y, permute_l=True)[0])

    def apply(self, w=None):
        return self.y if w is None else self.y @ w

    def apply_h(self, w):
        return (self.y @ w).conj().T

    def adjoint_times(self):
        return self.op.rmatmat(self.y)

    def gram_extremes(self):
        g = self.gram()[0]
        if np.iscomplexobj(self.y):
            return g, None, None
        return g, self.y.max(axis=0), self.y.min(axis=0)

    def signed_apply(self, w, vh, signs=None):
        # `signs`, when a caller knows them, equal what canonical_signs finds.
        return canonical_signs(self.y @ w, vh, overwrite=True)

    def finite(self, summaries):
        """False if a summary overflowed; ValueError if an operator gave NaN/Inf.

        A dense or sparse A was checked at the boundary, so a non-finite
        summary is overflow; an operator's products are the only test of it.
        """
        if all(np.isfinite(s).all() for s in summaries):
            return True
        if isinstance(self.op, OperatorMap):
            for s in summaries:
                check_products_finite(s)
        return False
