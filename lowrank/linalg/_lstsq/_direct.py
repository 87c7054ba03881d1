"""Direct least-squares methods: SVD (gelsd-like) and complete orthogonal
decomposition (gelsy-like), and the shared solution record.

Every method here and in `_lstsq_tall` / `_lstsq_iterative` has the signature
``f(a, b, atol, rtol, options) -> Solution`` on validated input: ``a`` of shape
``(..., M, N)`` and ``b`` of shape ``(..., M, K)`` with the same batch shape and
dtype, no zero-sized dimension, and ``atol``, ``rtol`` and ``options.damp``
arrays of the batch shape.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from lowrank._core.spectral import spectral_solve
from lowrank._core.stacks import batched, per_matrix
from lowrank.linalg._cod import cod_apply, cod_apply_stack
from lowrank.linalg._svd import stacked_svd, thin_svd

__all__ = ["LstsqOptions", "Solution", "lstsq_qr", "lstsq_svd", "one_at_a_time"]


class LstsqOptions(NamedTuple):
    """Validated method options; `damp` has the batch shape."""

    damp: np.ndarray
    tol: float | None = None
    maxiter: int | None = None
    rng: np.random.Generator | None = None
    precond: Any = None
    explicit: bool = False  # the user named the method (fallbacks then warn)
    # `a` has not been tested for NaN/Inf yet: the method must do it (on its
    # Gram matrix, see `_validation.finite_or_raise`) before anything else.
    finite_pending: bool = False
    # "lsqr"/"lsmr": after converging, solve once more for the correction
    # from the recomputed residual ``b - A x`` (the default of "auto").
    refine: bool = False


class Solution(NamedTuple):
    """What a method returns: arrays of shape (..., N, K), (...), (..., K), (..., K).

    `residuals` may be None, in which case `lstsq` computes ``||b - A x||^2``.
    """

    x: np.ndarray
    rank: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    residuals: np.ndarray | None = None


def direct_solution(x, rank):
    """A `Solution` of a direct method: no iterations, converged."""
    shape = (*x.shape[:-2], x.shape[-1])
    return Solution(
        x,
        np.asarray(rank, dtype=np.intp),
        np.zeros(shape, np.intp),
        np.ones(shape, bool),
    )


def lstsq_svd(a, b, atol, rtol, options):
    """Minimum-norm solution from the thin SVD, as LAPACK's gelsd.

    A single matrix uses :func:`lowrank.svd`'s ``"auto"`` rule (the QR-first
    route for big elongated matrices); a stack is one batched gesdd call (a
    parallel Jacobi kernel for stacks of tiny matrices).
    """
    if a.ndim == 2:
        u, s, vh = thin_svd(a, "auto")
    else:
        u, s, vh = stacked_svd(a)
    x, rank = spectral_solve(u, s, vh, b, atol, rtol, options.damp)
    return direct_solution(x, rank)


def _lstsq_qr_one(a, b, atol, rtol, options):
    x, rank = cod_apply(a, b, atol, rtol)
    return direct_solution(x, rank)


def one_at_a_time(method, stack_method=None):
    """Run a single-matrix method over a stack, one matrix per call.

    Stacks of small matrices (`lowrank._core.stacks.batched`) go to
    `stack_method` instead, where there is one.
    """

    def run(a, b, atol, rtol, options):
        if a.ndim == 2:
            return method(a, b, atol, rtol, options)
        if stack_method is not None and batched(a.shape):
            return stack_method(a, b, atol, rtol, options)
        batch = a.shape[:-2]
        n, k = a.shape[-1], b.shape[-1]
        x = np.empty((*batch, n, k), dtype=a.dtype)
        rank = np.empty(batch, dtype=np.intp)
        n_iter = np.empty((*batch, k), dtype=np.intp)
        converged = np.empty((*batch, k), dtype=bool)
        residuals = np.empty((*batch, k), dtype=np.finfo(a.dtype).dtype)
        have_residuals = True
        for index, options_i in per_matrix(batch, options):
            sol = method(a[index], b[index], atol[index], rtol[index], options_i)
            x[index], rank[index] = sol.x, sol.rank
            n_iter[index], converged[index] = sol.n_iter, sol.converged
            if sol.residuals is None:
                have_residuals = False
            else:
                residuals[index] = sol.residuals
        return Solution(
            x, rank, n_iter, converged, residuals if have_residuals else None
        )

    run.__doc__ = method.__doc__
    return run


def _lstsq_qr_stack(a, b, atol, rtol, options):
    x, rank = cod_apply_stack(a, b, atol, rtol)
    return direct_solution(x, rank)


#: Complete orthogonal decomposition from column-pivoted QR, as gelsy.
lstsq_qr = one_at_a_time(_lstsq_qr_one, _lstsq_qr_stack)
