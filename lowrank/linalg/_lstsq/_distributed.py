"""lstsq for a dask array: that backend's argument rules, then the shared drivers.

The drivers are those of one machine (`_tall.lstsq_tall_route`,
`_tall.lstsq_wide_route`) on the dask operand; only what differs in cost is
chosen here: the QR route of "auto" starts with the sketch-preconditioned
CholeskyQR (its sketch pass, cheaper than a Gram pass, detects numerical
rank deficiency and goes straight to TSQR), and the residuals of the QR
route are one more pass.
"""

from __future__ import annotations

import numpy as np

from lowrank._backends.dask import SUPPORTED_METHODS
from lowrank._backends.dispatch import as_tall_operand, is_dask_array
from lowrank._core.arrays import conj_t
from lowrank._core.validation import (
    as_rhs,
    check_backend_method,
    check_damp,
    check_dask_matrix,
    check_dask_rhs,
    check_method_options,
    check_no_precond_dask,
    check_rng,
    rank_cutoff_tolerances,
    real_dtype,
    result_dtype,
)
from lowrank.linalg._lstsq._direct import Solution
from lowrank.linalg._lstsq._tall import lstsq_tall_route, lstsq_wide_route

__all__ = ["lstsq_distributed"]

#: Where the QR route of each method starts in the chain (see the module).
QR_START = {"cholqr": "auto", "svd": "cholqr2"}


def _rhs(b, m):
    """``(b, vector)``: b of shape (M, K), a dask array or a numpy array."""
    if is_dask_array(b):
        return check_dask_rhs(b, m)
    arr, vector = as_rhs(b, 2, m)
    if arr.ndim != 2:
        raise ValueError(
            f"`b` must have shape (M,) or (M, K) for a 2-D `a`, got shape {np.shape(b)}"
        )
    return arr, vector


def lstsq_distributed(a, b, method, atol, rtol, damp, rng, tol, maxiter, precond):
    """``(Solution, vector)`` of lowrank.lstsq for a dask array `a`."""
    method = check_backend_method(method, SUPPORTED_METHODS["lstsq"], "lstsq")
    check_no_precond_dask(precond)
    check_rng(rng)
    a = check_dask_matrix(a, "a")
    b, vector = _rhs(b, a.shape[0])
    dtype = result_dtype(np.result_type(a.dtype, b.dtype), "b")
    a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    m, n = a.shape
    k = b.shape[1]
    atol, rtol = rank_cutoff_tolerances(atol, rtol, a.shape, dtype)
    damp = check_damp(damp, a.shape, real_dtype(dtype))
    check_method_options(
        method,
        tol,
        maxiter,
        damp,
        iterative=frozenset(),
        damped=frozenset(SUPPORTED_METHODS["lstsq"]),
    )
    atol, rtol, damp = float(atol), float(rtol), float(damp)
    method = "cholqr" if method == "auto" else method
    if a.size == 0 or k == 0:
        bb = np.sum(np.abs(np.asarray(b)) ** 2, axis=0).astype(real_dtype(dtype))
        zeros = np.zeros(k, np.intp)
        x = np.zeros((n, k), dtype)
        rank = 0
        if a.size:
            # The rank is A's whatever b is: one zero right-hand side gives it.
            probe = np.zeros((m, 1), dtype)
            rank = _solve(a, probe, method, atol, rtol, damp).rank
        sol = Solution(x, np.asarray(rank, np.intp), zeros, np.ones(k, bool), bb)
        return sol, vector
    return _solve(a, b, method, atol, rtol, damp), vector


def _solve(a, b, method, atol, rtol, damp):
    """The `Solution` of the routes for a non-empty checked problem."""
    m, n = a.shape
    k = b.shape[1]
    if m < n:  # column-chunked: through the row-chunked A^H, x is lazy
        t = as_tall_operand(conj_t(a), "a")
        b_small = np.asarray(b)
        x, rank, rr = lstsq_wide_route(t, b_small, atol, rtol, damp)
        ones = np.ones(k, bool)
        return Solution(x, np.asarray(rank, np.intp), np.zeros(k, np.intp), ones, rr)
    y, b = as_tall_operand(a, "a").with_rhs(b)
    sol = lstsq_tall_route(
        y,
        b,
        atol,
        rtol,
        damp,
        qr_start=QR_START[method],
        seminormal=method == "cholqr",
    )
    if sol.residuals is None:
        _, rr = y.residual(b, sol.x)
        sol = sol._replace(residuals=rr.astype(real_dtype(a.dtype)))
    return sol
