"""Iterative least squares (LSQR, LSMR) for sparse matrices, operators and dense
arrays, with right preconditioning and several right-hand sides as a block."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from lowrank._backends.linear_map import DenseMap, OperatorMap, SparseMap
from lowrank._core.arrays import conj_t
from lowrank._core.validation import check_preconditioner
from lowrank.exceptions import FallbackWarning
from lowrank.linalg._lstsq._direct import Solution

__all__ = ["PRECONDITIONERS", "as_operator", "lstsq_krylov", "make_preconditioner"]

#: Rows of the sparse sign sketch behind ``precond="sketch"``, per column of A
#: (LSRN's oversampling, Meng, Saunders & Mahoney 2014): the preconditioned
#: matrix has condition number about (1 + sqrt(1/2)) / (1 - sqrt(1/2)) = 5.8.
PRECOND_SKETCH_FACTOR = 2
PRECOND_SKETCH_ZETA = 8

#: The preconditioners built from A by name.
PRECONDITIONERS = ("column", "sketch")


class DenseOperator(DenseMap):
    """A dense matrix as products, plus the fused step of `_krylov`."""

    def fused(self, v, u, alpha):
        from lowrank._backends.ndarray import normal_residual

        r, z, _ = normal_residual(self.a, u, v, alpha)
        return -r, -z


class SparseOperator(SparseMap):
    """A sparse matrix with its conjugate transpose also in CSR.

    The Krylov solvers multiply by A^H in every step, so one explicit CSR
    copy of A^H pays for itself against the CSC product of ``A.T``.
    """

    def __init__(self, a):
        super().__init__(a.tocsr())
        self.ah = conj_t(self.a).tocsr()

    def rmatmat(self, y):
        return np.asarray(self.ah @ y)


def as_operator(a, dtype):
    """Wrap validated `a` (ndarray, sparse matrix or LinearOperator) as products."""
    if isinstance(a, np.ndarray):
        return DenseOperator(a)
    if scipy.sparse.issparse(a):
        return SparseOperator(a)
    return OperatorMap(a, dtype)


class _Triangular:
    def __init__(self, r, lower=False):
        self.r, self.lower = r, lower

    def solve(self, y):
        return scipy.linalg.solve_triangular(
            self.r, y, lower=self.lower, check_finite=False
        )

    def solve_h(self, z):
        return scipy.linalg.solve_triangular(
            self.r, z, lower=self.lower, trans="C", check_finite=False
        )


class _DenseLU:
    def __init__(self, m):
        self.lu = scipy.linalg.lu_factor(m, check_finite=False)

    def solve(self, y):
        return scipy.linalg.lu_solve(self.lu, y, check_finite=False)

    def solve_h(self, z):
        return scipy.linalg.lu_solve(self.lu, z, trans=2, check_finite=False)


class _SparseLU:
    def __init__(self, m):
        self.lu = scipy.sparse.linalg.splu(scipy.sparse.csc_matrix(m))

    def solve(self, y):
        return self.lu.solve(np.asarray(y), trans="N")

    def solve_h(self, z):
        return self.lu.solve(np.asarray(z), trans="H")


class _Diagonal:
    def __init__(self, inverse):
        self.inverse = inverse

    def solve(self, y):
        return y * self.inverse[:, np.newaxis]

    def solve_h(self, z):
        return z * self.inverse.conj()[:, np.newaxis]


class _Operator:
    """A LinearOperator P given as the preconditioner itself: x = P y."""

    def __init__(self, p, dtype):
        self.p, self.dtype = p, dtype

    def solve(self, y):
        return np.asarray(self.p.matmat(y), dtype=self.dtype)

    def solve_h(self, z):
        return np.asarray(self.p.rmatmat(z), dtype=self.dtype)


def _column_norms(op):
    if isinstance(op, SparseOperator):
        sq = np.asarray(abs(op.a).power(2).sum(axis=0)).ravel()
        return np.sqrt(sq)
    if isinstance(op, DenseOperator):
        return np.linalg.norm(op.a, axis=0)
    raise ValueError(
        'precond="column" needs the entries of `a`; a LinearOperator does not '
        "give them. Pass a preconditioner instead."
    )


def _sketch_of(op, d, rng):
    from lowrank._kernels.sketch import apply_sparse_sign, sparse_sign_indices

    m, _ = op.shape
    zeta = min(PRECOND_SKETCH_ZETA, d)
    rows, signs = sparse_sign_indices(d, m, zeta, rng)
    if isinstance(op, DenseOperator):
        return apply_sparse_sign(rows, signs, op.a, d, zeta)
    if isinstance(op, SparseOperator):
        values = np.where(signs > 0, 1.0, -1.0) / np.sqrt(zeta)
        s = scipy.sparse.csr_matrix(
            (values.ravel(), (rows.ravel(), np.repeat(np.arange(m), zeta))),
            shape=(d, m),
        )
        return np.asarray((s @ op.a).toarray(), dtype=op.dtype)
    raise ValueError(
        'precond="sketch" needs `a` as an array or sparse matrix, not a '
        "LinearOperator; pass a preconditioner instead."
    )


def make_preconditioner(precond, op, rng, damp=0.0, warn=True):
    """Turn `precond` into an object with ``solve(y) = N y`` and ``solve_h(z) = N^H z``.

    The solver then works on ``A N`` (``[A N; d N]`` with damping) and
    returns ``x = N y``. Returns None for no preconditioning. Validates the
    user's preconditioner. ``"sketch"`` with ``damp = d > 0`` factors
    ``[S A; d I]``, the sketch of the damped operator ``[A; d I]`` (the R of
    ``S A`` alone leaves ``d R^{-1}`` as large as ``d / s_min(A)``). If the
    sketch shows A rank deficient there is no preconditioner: a
    FallbackWarning if `warn`.
    """
    m, n = op.shape
    # The boundary's rule, applied where the problem's N and dtype are known.
    kind, precond = check_preconditioner(precond, n, op.dtype, PRECONDITIONERS)
    if kind == "none":
        return None
    if kind == "named":
        if precond == "column":
            norms = np.real(_column_norms(op)).astype(np.finfo(op.dtype).dtype)
            inverse = np.ones(n, dtype=norms.dtype)
            np.divide(1.0, norms, out=inverse, where=norms > 0)
            return _Diagonal(inverse)
        if precond == "sketch":
            d = min(max(PRECOND_SKETCH_FACTOR * n, n + 1), m)
            sa = _sketch_of(op, d, rng)
            r = np.linalg.qr(sa, mode="r")
            diag = np.abs(np.diagonal(r))
            if m < n or not diag.min() > 100 * np.finfo(op.dtype).eps * diag.max():
                if not warn:
                    return None
                warnings.warn(
                    "the sketch of `a` is numerically rank deficient (or `a` is "
                    'wide), so precond="sketch" cannot be built; solving '
                    "without a preconditioner",
                    FallbackWarning,
                    stacklevel=4,
                )
                return None
            if damp:
                rows = damp * np.eye(n, dtype=sa.dtype)
                r = np.linalg.qr(np.vstack([sa, rows]), mode="r")
            return _Triangular(r)
    if kind == "operator":
        return _Operator(precond, op.dtype)
    if kind == "sparse":
        return _SparseLU(precond.astype(np.result_type(precond.dtype, op.dtype)))
    if np.array_equal(precond, np.triu(precond)):
        return _Triangular(precond)
    if np.array_equal(precond, np.tril(precond)):
        return _Triangular(precond, lower=True)
    return _DenseLU(precond)


class _Preconditioned:
    """``A N`` (``[A N; d N]`` with damping) as products for the Krylov solvers."""

    def __init__(self, op, prec, damp):
        self.op, self.prec, self.damp = op, prec, damp

    def matmat(self, v):
        x = self.prec.solve(v)
        out = self.op.matmat(x)
        if self.damp:
            out = np.vstack([out, self.damp * x])
        return out

    def rmatmat(self, u):
        m = self.op.shape[0]
        z = self.op.rmatmat(u[:m])
        if self.damp:
            z = z + self.damp * u[m:]
        return self.prec.solve_h(z)

    def fused(self, v, u, alpha):
        w, z = self.op.fused(self.prec.solve(v), u, alpha)
        return w, self.prec.solve_h(z)


def default_tol(dtype):
    """Default relative tolerance of "lsqr"/"lsmr": sqrt(eps) of the dtype."""
    return float(np.sqrt(np.finfo(dtype).eps))


def default_maxiter(shape):
    """Default iteration cap of "lsqr"/"lsmr": 2 min(M, N) + 100 (scipy: 2 N)."""
    return 2 * min(shape) + 100


def lstsq_krylov(solver, a, b, options):
    """LSQR or LSMR (`solver` = "lsqr" or "lsmr") on validated 2-D input.

    `a` is an ndarray, a sparse matrix or a LinearOperator in b's dtype (or
    one the products promote to it), `b` of shape (M, K).
    """
    from lowrank.linalg._lstsq._krylov import (
        Stop,
        block_lsmr,
        block_lsqr,
        converged_codes,
    )

    op = as_operator(a, b.dtype)
    m, n = op.shape
    damp = float(options.damp)
    prec = make_preconditioner(
        options.precond, op, options.rng, damp, warn=options.explicit
    )
    tol = options.tol if options.tol is not None else default_tol(b.dtype)
    maxiter = (
        options.maxiter if options.maxiter is not None else default_maxiter((m, n))
    )
    run = block_lsqr if solver == "lsqr" else block_lsmr
    real = np.finfo(b.dtype).dtype

    def solve(rhs, x_damp=None):
        """LSQR/LSMR from 0 for `rhs`; with `x_damp`, the correction of x_damp."""
        if prec is None:
            fused = getattr(op, "fused", None) if x_damp is None or not damp else None
            if x_damp is not None and damp:
                # min ||r - A dx||^2 + d^2 ||x + dx||^2 as an augmented system.
                aug = _Preconditioned(op, _Diagonal(np.ones(n, real)), damp)
                rhs = np.vstack([rhs, -damp * x_damp])
                result = run(aug.matmat, aug.rmatmat, rhs, atol=tol, btol=tol,
                             maxiter=maxiter)  # fmt: skip
                return result.x, result
            result = run(
                op.matmat, op.rmatmat, rhs, damp=damp, atol=tol, btol=tol,
                maxiter=maxiter, fused=fused,
            )  # fmt: skip
            return result.x, result
        pre = _Preconditioned(op, prec, damp)
        if damp:
            tail = (
                np.zeros((n, rhs.shape[1]), b.dtype)
                if x_damp is None
                else (-damp * x_damp)
            )
            rhs = np.vstack([rhs, tail])
        fused = pre.fused if hasattr(op, "fused") and not damp else None
        result = run(
            pre.matmat, pre.rmatmat, rhs, atol=tol, btol=tol, maxiter=maxiter,
            fused=fused,
        )  # fmt: skip
        return np.asarray(prec.solve(result.x), dtype=b.dtype), result

    x, result = solve(b)
    n_iter = result.n_iter
    converged = np.isin(result.istop, converged_codes())
    residuals = op.matmat(x)
    np.subtract(b, residuals, out=residuals)
    if options.refine and np.all(converged) and np.all(np.isfinite(x)):
        # One refinement step from the recomputed residual: the recurrences
        # of LSQR/LSMR drift at rounding level, and A N's solution carries
        # cond(N) into x; measured at cond 1e6, the forward error went from
        # 1e-9 to below a dense QR solve's (6e-13 against 2.5e-12).
        dx, again = solve(residuals, x if damp else None)
        x = x + dx
        n_iter = n_iter + again.n_iter
        # Rounding level reached on the correction is as good as it gets.
        codes = (*converged_codes(), int(Stop.ROUNDING))
        converged = converged & np.isin(again.istop, codes)
        residuals = op.matmat(x)
        np.subtract(b, residuals, out=residuals)
    rr = np.sum(np.abs(residuals) ** 2, axis=0)
    return Solution(x, np.asarray(-1, np.intp), n_iter, converged, rr)
