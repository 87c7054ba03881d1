"""Least squares for big dense single matrices: Cholesky-QR with refinement,
and sketch-and-precondition.

Both do almost all their work in passes over A that run near memory or BLAS-3
speed (a Gram matrix, fused ``r = b - A x``/``A^H r`` sweeps, a sparse sketch)
instead of LAPACK's Householder reflections. Both are only used where they can
certify that A has full column rank under lowrank's rank rule; otherwise they
hand over to a rank-revealing route, so that ``lstsq(a, b).x`` always equals
``pinv(a) @ b`` to rounding.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from lowrank._kernels._rules import use_residual_kernel
from lowrank._lstsq_direct import Solution, lstsq_svd, one_at_a_time, spectral_solve
from lowrank._tallskinny import cholqr2_threshold, gram, tall_qr_implicit
from lowrank._validation import finite_or_raise
from lowrank.exceptions import FallbackWarning

__all__ = ["lstsq_cholqr", "lstsq_sketch", "normal_residual"]

#: A full-rank decision is trusted only if s_min exceeds the cutoff by this
#: factor (the singular values of a Cholesky or sketched R carry relative
#: errors, and a sketch distorts them by up to 1 +- sqrt(N/d)).
FULL_RANK_MARGIN = 4.0

#: Refinement passes before the semi-normal equations give up and hand over
#: to the QR route (each pass reduces the error by about cond(A)^2 eps).
MAX_REFINEMENT_STEPS = 6

#: Sketch size d = SKETCH_FACTOR * N rows and nonzeros per column of the
#: sparse sign embedding: the preconditioned matrix then has condition number
#: about (1 + sqrt(1/4)) / (1 - sqrt(1/4)) = 3, and LSQR gains about a factor
#: 2 per iteration.
SKETCH_FACTOR = 4
SKETCH_ZETA = 8


def _conj_t(a):
    return a.conj().T


def normal_residual(a, b, x, scale=None):
    """``(r, A^H r, ||r||^2 per column)``, ``r = b scale - A x``, in one pass.

    The numba kernel reads each block of rows of A once for both products
    (`lowrank._kernels.residual`); otherwise two BLAS calls.
    """
    order = "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"
    k = b.shape[1] if b.ndim == 2 else 1
    if use_residual_kernel(a.shape, a.dtype, k=k, order=order):
        from lowrank._kernels.residual import residual_normal

        return residual_normal(a, b, x, scale)
    from lowrank._kernels.residual import residual_normal_numpy

    return residual_normal_numpy(a, b, x, scale)


def _use_parallel_gram(shape, dtype):
    """Whether the parallel row-blocked Gram kernel beats syrk (measured rule)."""
    m, n = shape
    return np.dtype(dtype).kind == "f" and n <= 160 and m >= 16384


def _gram_for_solve(a, b):
    """``(A^H A, A^H b)``, on all cores when the row-blocked kernel is expected to win.

    The kernel forms ``A^H b`` in the same pass. Unlike inside tall_qr, the
    other passes of the refinement are numba kernels too, so the parallel
    kernel does not contend with OpenBLAS threads.
    """
    if _use_parallel_gram(a.shape, a.dtype):
        from lowrank._kernels.gram import gram_rowblocked

        return gram_rowblocked(a, parallel=True, rhs=b)
    _, atb, _ = normal_residual(a, b, np.zeros((a.shape[1], b.shape[1]), a.dtype))
    return gram(a), atb


def _upper_cholesky(g):
    try:
        c = scipy.linalg.cholesky(g, lower=False, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    return c if np.all(np.isfinite(c)) else None


def _cho_solve(c, z):
    """``(R^H R)^{-1} z`` by two triangular solves.

    Not LAPACK's potrs: its trsm wakes OpenBLAS's threads, which then spin for
    tens of milliseconds and halve the speed of the numba passes around it
    (measured: 4 ms -> 8-12 ms per pass over a 100000 x 100 matrix).
    """
    y = scipy.linalg.solve_triangular(c, z, trans="C", check_finite=False)
    return scipy.linalg.solve_triangular(c, y, check_finite=False)


#: Power-iteration steps for the extreme singular values of the Cholesky factor.
POWER_STEPS = 12
#: Safety factor on those estimates (power iteration approaches from inside).
ESTIMATE_SLACK = 1.5


def _extreme_singular_values(r, g):
    """Estimates ``(s_min, s_max)`` of the upper triangular R with ``R^H R = G``.

    Power iteration on G for ``s_max^2`` and inverse iteration on
    ``R^{-1} R^{-H}`` for ``s_min^{-2}``, widened by `ESTIMATE_SLACK`. O(n^2)
    per step, and free of BLAS threads for the n this route uses, unlike an
    SVD of R (see `_cho_solve`). The estimates approach the true values from
    inside; the decisions based on them have further safety nets (Cholesky
    breakdown, stalled refinement), and deciding the rank exactly is left to
    the QR route for everything they cannot certify.
    """
    n = r.shape[0]
    start = np.cos(np.arange(1, n + 1, dtype=np.finfo(r.dtype).dtype))
    v = (start / np.linalg.norm(start)).astype(r.dtype)
    w = u = v
    for _ in range(POWER_STEPS):
        w = g @ v
        v = w / np.linalg.norm(w)
        u = _cho_solve(r, u)
        u /= np.linalg.norm(u)
    s_max = np.sqrt(np.linalg.norm(g @ v))
    s_min = 1.0 / np.sqrt(np.linalg.norm(_cho_solve(r, u)))
    return s_min / ESTIMATE_SLACK, s_max * ESTIMATE_SLACK


def _certainly_full_rank(s_min, s_max, atol, rtol, distortion=1.0):
    """Whether ``s_min > atol + rtol s_max`` holds with a safety margin.

    `s_min` and `s_max` bound the singular values of a stand-in for A (a
    Cholesky or sketched R) known to be within a factor `distortion` of A's.
    """
    return bool(
        s_min / distortion > FULL_RANK_MARGIN * (atol + rtol * s_max * distortion)
    )


def _refine(a, b, atb, g, c, s_max, damp):
    """Corrected semi-normal equations with refinement [Björck 1987].

    ``x_0 = R^{-1} R^{-H} A^H b``; then ``r_k = b - A x_k``,
    ``x_{k+1} = x_k + R^{-1} R^{-H} (A^H r_k - d^2 x_k)`` until the backward
    error of ``x_k`` is at rounding level (one correction is then still
    applied). Returns None if the corrections stop shrinking (cond(A)^2 eps
    too close to 1 for the semi-normal equations).
    """
    eps = np.finfo(a.dtype).eps
    tol = 10.0 * np.sqrt(a.shape[0]) * eps
    d2 = damp * damp
    scale = np.sqrt(s_max * s_max + d2)  # ||[A; d I]||_2
    b_norm = np.linalg.norm(b, axis=0)
    x = _cho_solve(c, atb)
    previous = None
    for step in range(1, MAX_REFINEMENT_STEPS + 1):
        _, z, rr = normal_residual(a, b, x)
        if d2:
            z -= d2 * x
        r_norm = np.sqrt(rr)
        z_norm = np.linalg.norm(z, axis=0)
        x_norm = np.linalg.norm(x, axis=0)
        dx = _cho_solve(c, z)
        # ||b - A (x + dx)||^2 = ||r||^2 - 2 Re(dx^H A^H r) + dx^H G dx, with
        # A^H r = z + d^2 x; exact algebra on n-vectors, no further pass.
        ahr = z + d2 * x if d2 else z
        rr = rr - 2 * np.real(np.sum(dx.conj() * ahr, axis=0))
        rr = np.maximum(rr + np.real(np.sum(dx.conj() * (g @ dx), axis=0)), 0)
        x += dx
        compatible = r_norm <= tol * (scale * x_norm + b_norm)
        small_gradient = z_norm <= tol * scale * r_norm
        if np.all(compatible | small_gradient):
            return x, step, rr
        with np.errstate(divide="ignore", invalid="ignore"):
            error = np.where(compatible, 0.0, z_norm / (scale * r_norm))
        if previous is not None and np.any(error > 0.5 * previous):
            return None
        previous = error
    return None


def _qr_route(a, b, g, atol, rtol, damp, start="scholqr3"):
    """Stable QR (shifted CholeskyQR3, else Householder), SVD of R, spectral solve.

    The pseudo-inverse route of :func:`lowrank.pinv`'s ``"cholqr"``, applied
    to b: exact rank rule, damping by filter factors, any conditioning.
    """
    m, n = a.shape
    if m >= n:
        q_prev, r_last, r, _ = tall_qr_implicit(a, start, g=g)
        # Q^H b = r_last^{-H} q_prev^H b
        qhb = scipy.linalg.solve_triangular(
            r_last, _conj_t(q_prev) @ b, trans="C", check_finite=False
        )
        u, s, vh = np.linalg.svd(r)
        return spectral_solve(u, s, vh, qhb, atol, rtol, damp)
    # Wide: A^H = Q R, R = U S V^H, so A = V S U^H Q^H and A^+ b = Q U f(S) V^H b.
    q_prev, r_last, r, _ = tall_qr_implicit(_conj_t(a), start, g=g)
    u, s, vh = np.linalg.svd(r)
    w, rank = spectral_solve(_conj_t(vh), s, _conj_t(u), b, atol, rtol, damp)
    w = scipy.linalg.solve_triangular(r_last, w, check_finite=False)
    return q_prev @ w, rank


def _solution(x, rank, steps, converged, residuals=None):
    k = x.shape[1]
    return Solution(
        x,
        np.asarray(rank, np.intp),
        np.full(k, steps, np.intp),
        np.full(k, converged),
        residuals,
    )


def _lstsq_cholqr_one(a, b, atol, rtol, options):
    """Semi-normal equations with the Cholesky factor of A^H A, refined.

    Falls back to the stable QR route when A is not certainly of full column
    rank, when cond(A) is beyond about 0.1 / sqrt(eps), or when refinement
    stalls; wide matrices always take the QR route on A^H.
    """
    m, n = a.shape
    damp = float(options.damp)
    tall = m >= n
    if tall:
        g, atb = _gram_for_solve(a, b)
    else:
        g = gram(_conj_t(a))
    # NaN/Inf in A show on the diagonal of G; False here means overflow only.
    finite = finite_or_raise(g, a, "a") if options.finite_pending else True
    if tall and finite:
        c0 = _upper_cholesky(g)
        if c0 is not None:
            s_min, s_max = _extreme_singular_values(c0, g)
            well_conditioned = s_max <= cholqr2_threshold(a.dtype) * s_min
            if well_conditioned and _certainly_full_rank(s_min, s_max, atol, rtol):
                c = c0
                if damp:
                    c = _upper_cholesky(g + damp * damp * np.eye(n, dtype=g.dtype))
                refined = None if c is None else _refine(a, b, atb, g, c, s_max, damp)
                if refined is not None:
                    x, steps, rr = refined
                    return _solution(x, n, steps, True, rr)
    # An overflowing Gram matrix is no use to the Cholesky passes either.
    start = "scholqr3" if finite else "householder"
    x, rank = _qr_route(a, b, g, atol, rtol, damp, start)
    return _solution(x, rank, 0, True)


#: Corrected semi-normal equations for tall full-rank A, QR route otherwise.
lstsq_cholqr = one_at_a_time(_lstsq_cholqr_one)


# --------------------------------------------------------------------------
# Sketch-and-precondition
# --------------------------------------------------------------------------


def _sketch(a, b, d, rng):
    from lowrank._kernels.sketch import apply_sparse_sign, sparse_sign_indices

    zeta = min(SKETCH_ZETA, d)
    rows, signs = sparse_sign_indices(d, a.shape[0], zeta, rng)
    return (
        apply_sparse_sign(rows, signs, a, d, zeta),
        apply_sparse_sign(rows, signs, b, d, zeta),
    )


def _sketch_distortion(n, d):
    """Bound on how far the sketch moves singular values (a factor)."""
    return 1.0 / (1.0 - np.sqrt(min(n / d, 0.81)))


def _fallback(reason, options):
    if options.explicit:
        warnings.warn(
            f"sketch-and-precondition is not safe here ({reason}); "
            'used method="svd" instead',
            FallbackWarning,
            stacklevel=5,
        )


def _lstsq_sketch_one(a, b, atol, rtol, options):
    """Sketch-and-precondition [Rokhlin & Tygert 2008; Avron, Maymounkov &
    Toledo 2010; Meng, Saunders & Mahoney 2014] with LSQR on ``A R^{-1}``."""
    from lowrank._krylov import block_lsqr

    m, n = a.shape
    damp = float(options.damp)
    d = min(m, SKETCH_FACTOR * n)
    sa, sb = _sketch(a, b, d, options.rng)
    r = np.linalg.qr(sa, mode="r")
    s = scipy.linalg.svdvals(r, check_finite=False)
    distortion = _sketch_distortion(n, d)
    limit = 0.01 / np.finfo(a.dtype).eps  # beyond this R is no preconditioner
    certain = _certainly_full_rank(s[-1], s[0], atol, rtol, distortion)
    if not (certain and s[0] < limit * s[-1]):
        _fallback("A is rank deficient or too ill-conditioned", options)
        return lstsq_svd(a, b, atol, rtol, options._replace(damp=np.asarray(damp)))

    if damp:
        sa = np.vstack([sa, damp * np.eye(n, dtype=a.dtype)])
        sb = np.vstack([sb, np.zeros((n, b.shape[1]), a.dtype)])
    q, r = np.linalg.qr(sa)
    # Warm start: the sketched problem's solution (sketch-and-solve).
    x0 = scipy.linalg.solve_triangular(r, _conj_t(q) @ sb, check_finite=False)
    operator = _PreconditionedDense(a, r, damp)
    rhs = operator.residual(b, x0)
    eps = np.finfo(a.dtype).eps
    tol = options.tol if options.tol is not None else eps
    maxiter = (
        options.maxiter
        if options.maxiter is not None
        else 20 + 10 * int(np.ceil(np.log2(1.0 / eps)))
    )
    result = block_lsqr(
        operator.matmat,
        operator.rmatmat,
        rhs,
        atol=tol,
        btol=tol,
        maxiter=maxiter,
        fused=operator.fused if not damp else None,
    )
    x = x0 + operator.solve(result.x)
    return Solution(
        x, np.asarray(n, np.intp), result.n_iter, _krylov_converged(result), None
    )


def _krylov_converged(result):
    from lowrank._krylov import converged_codes

    return np.isin(result.istop, converged_codes())


class _PreconditionedDense:
    """``A R^{-1}`` (or ``[A; d I] R^{-1}`` with damping) as products and a fused step.

    The right-hand side of the damped problem is ``[b; 0]``, so its operator
    maps n-vectors to (m + n)-vectors.
    """

    def __init__(self, a, r, damp):
        self.a, self.r, self.damp = a, r, damp

    def solve(self, y):
        return scipy.linalg.solve_triangular(self.r, y, check_finite=False)

    def _solve_h(self, z):
        return scipy.linalg.solve_triangular(self.r, z, trans="C", check_finite=False)

    def residual(self, b, x0):
        """The correction problem's right-hand side ``b - A x0`` (``[.; -d x0]``)."""
        r = b - self.a @ x0
        if self.damp:
            r = np.vstack([r, -self.damp * x0])
        return r

    def matmat(self, v):
        x = self.solve(v)
        out = self.a @ x
        if self.damp:
            out = np.vstack([out, self.damp * x])
        return out

    def rmatmat(self, u):
        m = self.a.shape[0]
        z = _conj_t(self.a) @ u[:m]
        if self.damp:
            z = z + self.damp * u[m:]
        return self._solve_h(z)

    def fused(self, v, u, alpha):
        """``W = A R^{-1} V - U alpha`` and ``R^{-H} A^H W`` in one pass over A."""
        x = self.solve(v)
        # r = U alpha - A x = -W and A^H r = -A^H W.
        r, z, _ = normal_residual(self.a, u, x, alpha)
        return -r, -self._solve_h(z)


#: Sketch-and-precondition for tall dense A (one matrix at a time).
lstsq_sketch = one_at_a_time(_lstsq_sketch_one)
