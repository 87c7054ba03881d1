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

from lowrank._backends.ndarray import DenseTall, normal_residual
from lowrank._core.arrays import conj_t
from lowrank._core.blas import svd_small
from lowrank._core.spectral import spectral_filter, spectral_solve
from lowrank._core.stacks import batched
from lowrank.exceptions import FallbackWarning
from lowrank.linalg._lstsq._direct import (
    Solution,
    direct_solution,
    lstsq_svd,
    one_at_a_time,
)
from lowrank.linalg._svd import stacked_svd
from lowrank.linalg._tallqr import (
    CholeskyBreakdown,
    cholesky_upper,
    cholqr2_threshold,
    qr_chain,
)

__all__ = [
    "lstsq_cholqr",
    "lstsq_sketch",
    "lstsq_tall_route",
    "lstsq_wide_route",
]

#: A full-rank decision is trusted only if s_min exceeds the cutoff by this
#: factor (the singular values of a Cholesky or sketched R carry relative
#: errors, and a sketch distorts them by up to 1 +- sqrt(N/d)).
FULL_RANK_MARGIN = 4.0

#: Refinement passes before the semi-normal equations give up and hand over
#: to the QR route (each pass reduces the error by about cond(A)^2 eps).
MAX_REFINEMENT_STEPS = 6

#: Sketch size d = SKETCH_FACTOR * N rows and nonzeros per column of the
#: sparse sign embedding: the singular values of A R^{-1} then lie in about
#: [1 / (1 + r), 1 / (1 - r)] with r = sqrt(1/8) = 0.35, the error shrinks by
#: about r per momentum step, and 200000 x 500 at cond 1e6 took 31 steps
#: (d = 4N: 45 steps and no faster overall; 16N: 24 steps, same time).
SKETCH_FACTOR = 8
SKETCH_ZETA = 8


def _upper_cholesky(g):
    """The upper Cholesky factor of `g`, or None where it breaks down."""
    try:
        return cholesky_upper(g)
    except CholeskyBreakdown:
        return None


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


def _refine(y, b, atb, g, c, s_max, damp, b_norm):
    """Corrected semi-normal equations with refinement [Björck 1987].

    ``x_0 = R^{-1} R^{-H} A^H b``; then ``r_k = b - A x_k``,
    ``x_{k+1} = x_k + R^{-1} R^{-H} (A^H r_k - d^2 x_k)`` until the backward
    error of ``x_k`` is at rounding level (one correction is then still
    applied). Returns None if the corrections stop shrinking (cond(A)^2 eps
    too close to 1 for the semi-normal equations). Each step is one fused
    pass ``(A^H r, ||r||^2)`` over the operand `y` (`TallOperand.residual`);
    `b_norm` is ``||b||`` per column.
    """
    eps = np.finfo(y.dtype).eps
    tol = 10.0 * np.sqrt(y.shape[0]) * eps
    d2 = damp * damp
    scale = np.sqrt(s_max * s_max + d2)  # ||[A; d I]||_2
    x = _cho_solve(c, atb)
    previous = None
    for step in range(1, MAX_REFINEMENT_STEPS + 1):
        z, rr = y.residual(b, x)
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


def _solution(x, rank, steps, converged, residuals=None):
    k = x.shape[1]
    return Solution(
        x,
        np.asarray(rank, np.intp),
        np.full(k, steps, np.intp),
        np.full(k, converged),
        residuals,
    )


def lstsq_tall_route(y, b, atol, rtol, damp, *, qr_start, seminormal=True):
    """Least squares for the tall operand `y` of A (M >= N): one driver, any backend.

    With `seminormal`: one pass forms ``(A^H A, A^H b, ||b||^2)``; if A is
    certainly of full column rank under the rank rule and cond(A) is below
    about 0.1 / sqrt(eps), the corrected semi-normal equations with
    refinement (`_refine`, one fused pass per step). Otherwise, or when
    refinement stalls: the stable QR route, a thin QR by `qr_chain` from
    `qr_start` (reusing the Gram matrix; ``Q^H b`` carried through its final
    pass), the SVD of R and the spectral solve of the rank rule. NaN/Inf in
    A or b raise ValueError from the first pass's results (deferred test).
    Returns a `Solution` whose residuals are None on the QR route.
    """
    n = y.shape[1]
    g = None
    finite = True
    if seminormal:
        g, atb, bb = y.normal_equations(b)
        # NaN/Inf in A (or b) show in these; False here means overflow only.
        finite = y.finite([g, atb, bb])
    if seminormal and finite:
        c0 = _upper_cholesky(g)
        if c0 is not None:
            s_min, s_max = _extreme_singular_values(c0, g)
            well_conditioned = s_max <= cholqr2_threshold(y.dtype) * s_min
            if well_conditioned and _certainly_full_rank(s_min, s_max, atol, rtol):
                c = c0
                if damp:
                    c = _upper_cholesky(g + damp * damp * np.eye(n, dtype=g.dtype))
                refined = (
                    None
                    if c is None
                    else _refine(y, b, atb, g, c, s_max, damp, np.sqrt(bb.real))
                )
                if refined is not None:
                    x, steps, rr = refined
                    return _solution(x, n, steps, True, rr)
    # An overflowing Gram matrix is no use to the Cholesky passes either.
    chain = qr_chain(y, qr_start if finite else "householder", g=g, b=b)
    u, s, vh = svd_small(chain.r)
    x, rank = spectral_solve(u, s, vh, chain.carried["b"], atol, rtol, damp)
    return _solution(x, rank, 0, True)


def lstsq_wide_route(t, b, atol, rtol, damp, *, qr_start="auto", g=None):
    """Minimum-norm least squares for wide A from the tall operand ``t = A^H``.

    ``A^H = Q R`` (`qr_chain`), ``R = U S V^H``, so ``A = V S U^H Q^H`` and
    ``A^+ b = Q U f(S) V^H b`` (one product over the tall operand; `b` is a
    small numpy M x K array). Returns ``(x, rank, ||b - A x||^2)``, the
    residuals from the M-vectors ``b - V diag(s f(s)) V^H b`` (no pass).
    """
    chain = qr_chain(t, qr_start, g=g)
    u, s, vh = svd_small(chain.r)
    f, rank = spectral_filter(s, s, atol, rtol, damp)
    coeffs = (vh @ b) * f[:, np.newaxis].astype(b.dtype)
    x = chain.q_apply(u @ coeffs)
    r = b - conj_t(vh) @ ((s * f)[:, np.newaxis] * (vh @ b))
    return x, int(rank), np.sum((r * r.conj()).real, axis=0)


def _lstsq_cholqr_one(a, b, atol, rtol, options):
    """Semi-normal equations with the Cholesky factor of A^H A, refined.

    Falls back to the stable QR route when A is not certainly of full column
    rank, when cond(A) is beyond about 0.1 / sqrt(eps), or when refinement
    stalls; wide matrices always take the QR route on A^H.
    """
    m, n = a.shape
    damp = float(options.damp)
    if m >= n:
        y = DenseTall(a)
        return lstsq_tall_route(y, b, atol, rtol, damp, qr_start="scholqr3")
    t = DenseTall(conj_t(a))
    g, _ = t.gram()
    # NaN/Inf in A show on the diagonal of G; False here means overflow only.
    finite = t.finite([g])
    start = "scholqr3" if finite else "householder"
    x, rank, _ = lstsq_wide_route(t, b, atol, rtol, damp, qr_start=start, g=g)
    return _solution(x, rank, 0, True)


def _lstsq_cholqr_stack(a, b, atol, rtol, options):
    """The QR route for a stack of small matrices, batched.

    numpy's batched Householder QR and the batched SVD of R: for tall A,
    ``A = Q R``, ``R = U S V^H``, ``x = V f(S) U^H Q^H b``; for wide A,
    ``A^H = Q R`` and ``x = Q U f(S) V^H b``. For small matrices the
    semi-normal equations save nothing, and batching removes the per-matrix
    calls.
    """
    wide = a.shape[-2] < a.shape[-1]
    q, r = np.linalg.qr(conj_t(a) if wide else a)
    u, s, vh = stacked_svd(r)
    if not wide:
        x, rank = spectral_solve(u, s, vh, conj_t(q) @ b, atol, rtol, options.damp)
    else:
        # A = V S U^H Q^H: x = (Q U) f(S) V^H b, the spectral solve of A^H's.
        y, rank = spectral_solve(conj_t(vh), s, conj_t(u), b, atol, rtol, options.damp)
        x = q @ y
    return direct_solution(x, rank)


def _lstsq_seminormal_stack(a, b, atol, rtol, options):
    """Corrected semi-normal equations for a stack of tall matrices, batched.

    numpy's batched products and solves over the whole stack: ``G = A^H A``,
    ``A^H b``, the eigenvalues of G (for the certificate), ``x_0 = (G + d^2
    I)^{-1} A^H b``, then the refinement of `_refine`, ``x += (G + d^2
    I)^{-1} (A^H (b - A x) - d^2 x)``, until every member's backward error is
    at rounding level. The safety net of the single-matrix route, member by
    member: a member that is not certainly of full rank, has cond(A) beyond
    ``0.1 / sqrt(eps)`` or whose refinement stalls is solved again by the
    single-matrix QR route (`lstsq_tall_route` without the semi-normal
    equations: shifted CholeskyQR3 or Householder, SVD of R, the rank
    rule). The batched part runs on numpy's BLAS pool. Measured on 8 x
    20000 x 50 (one thread): 0.044 s, against 0.16 s for a loop over
    numpy.linalg.lstsq and 0.34 s for the batched SVD.
    """
    batch = a.shape[:-2]
    m, n = a.shape[-2:]
    k = b.shape[-1]
    a3 = a.reshape(-1, m, n)
    b3 = b.reshape(-1, m, k)
    p = a3.shape[0]
    atol3 = np.broadcast_to(atol, batch).reshape(p)
    rtol3 = np.broadcast_to(rtol, batch).reshape(p)
    damp3 = np.broadcast_to(np.asarray(options.damp, float), batch).reshape(p)
    ah = conj_t(a3)
    with np.errstate(over="ignore", invalid="ignore"):
        g = ah @ a3
    # A^H A overflows for huge entries (A itself is finite, tested before):
    # those members go to Householder, as in `lstsq_tall_route`; those with
    # tiny entries take the QR route too.
    finite = np.isfinite(g).all(axis=(-2, -1))
    eye = np.eye(n, dtype=g.dtype)
    lam = np.linalg.eigvalsh(np.where(finite[:, None, None], g, eye))
    s_max = np.sqrt(np.maximum(lam[:, -1], 0.0))
    s_min = np.sqrt(np.maximum(lam[:, 0], 0.0))
    info = np.finfo(a.dtype)
    good = (
        finite
        # Tiny entries: a Gram matrix in the subnormal range has lost digits.
        & (lam[:, 0] >= info.tiny / info.eps)
        & (s_max <= cholqr2_threshold(a.dtype) * s_min)
        & (s_min > FULL_RANK_MARGIN * (atol3 + rtol3 * s_max))
    )
    x = np.zeros((p, n, k), a.dtype)
    rr = np.zeros((p, k), s_max.dtype)
    steps = np.zeros(p, np.intp)
    done = np.zeros(p, bool)
    if good.any():
        sel = slice(None) if good.all() else np.flatnonzero(good)
        x[sel], steps[sel], done[sel], rr[sel] = _seminormal_refined(
            a3[sel], b3[sel], g[sel], s_max[sel], damp3[sel]
        )
    rank = np.full(p, n, np.intp)
    bad = np.flatnonzero(~done)
    if bad.size:
        for i in bad:
            sub = lstsq_tall_route(
                DenseTall(a3[i]), b3[i], atol3[i], rtol3[i], float(damp3[i]),
                qr_start="scholqr3" if finite[i] else "householder",
                seminormal=False,
            )  # fmt: skip
            x[i], rank[i] = sub.x, sub.rank
            r = b3[i] - a3[i] @ sub.x
            rr[i] = np.sum((r * r.conj()).real, axis=0)
        steps[bad] = 0
    return Solution(
        x.reshape(*batch, n, k),
        rank.reshape(batch),
        np.broadcast_to(steps.reshape(*batch, 1), (*batch, k)).copy(),
        np.ones((*batch, k), bool),
        rr.reshape(*batch, k),
    )


def _seminormal_refined(a, b, g, s_max, damp):
    """`_refine` for a stack (p, M, N).

    Returns ``(x, steps, converged, ||b - A x||^2)`` per member, the residual
    norms from algebra on n-vectors after the last correction (as `_refine`).
    """
    p, m, n = a.shape
    eps = np.finfo(a.dtype).eps
    tol = 10.0 * np.sqrt(m) * eps
    d2 = (damp * damp).astype(g.real.dtype)
    gd = g + d2[:, None, None] * np.eye(n, dtype=g.dtype) if np.any(d2) else g
    ah = conj_t(a)
    x = np.linalg.solve(gd, ah @ b)
    scale = np.sqrt(s_max * s_max + d2)[:, None]
    b_norm = np.linalg.norm(b, axis=-2)
    active = np.ones(p, bool)
    converged = np.zeros(p, bool)
    steps = np.zeros(p, np.intp)
    rr = np.zeros((p, b.shape[-1]), s_max.dtype)
    previous = None
    for _ in range(MAX_REFINEMENT_STEPS):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        sel = slice(None) if idx.size == p else idx
        aa, xx = a[sel], x[sel]
        r = b[sel] - aa @ xx
        z = conj_t(aa) @ r - d2[sel, None, None] * xx
        r_norm = np.linalg.norm(r, axis=-2)
        z_norm = np.linalg.norm(z, axis=-2)
        x_norm = np.linalg.norm(xx, axis=-2)
        dx = np.linalg.solve(gd[sel], z)
        x[sel] = xx + dx
        steps[sel] += 1
        # ||b - A (x + dx)||^2 = ||r||^2 - 2 Re(dx^H A^H r) + dx^H G dx.
        ahr = z + d2[sel, None, None] * xx
        rr[sel] = np.maximum(
            r_norm * r_norm
            - 2 * np.real(np.sum(dx.conj() * ahr, axis=-2))
            + np.real(np.sum(dx.conj() * (g[sel] @ dx), axis=-2)),
            0,
        )
        compatible = r_norm <= tol * (scale[sel] * x_norm + b_norm[sel])
        small_gradient = z_norm <= tol * scale[sel] * r_norm
        met = np.all(compatible | small_gradient, axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            error = np.where(compatible, 0.0, z_norm / (scale[sel] * r_norm))
        stalled = np.zeros(idx.size, bool)
        if previous is not None:
            stalled = np.any(error > 0.5 * previous[sel], axis=-1)
        converged[idx[met]] = True
        active[idx[met | stalled]] = False
        if previous is None:
            previous = np.full((p, error.shape[-1]), np.inf)
        previous[sel] = error
    return x, steps, converged, rr


_lstsq_cholqr_by_size = one_at_a_time(_lstsq_cholqr_one, _lstsq_cholqr_stack)


def lstsq_cholqr(a, b, atol, rtol, options):
    """Corrected semi-normal equations for tall full-rank A, QR route otherwise.

    Stacks of tall matrices that are not small (`batched`) take the batched
    semi-normal equations (`_lstsq_seminormal_stack`), small stacks the
    batched QR route, anything else one matrix at a time.
    """
    m, n = a.shape[-2:]
    if a.ndim > 2 and m >= n and not batched(a.shape):
        return _lstsq_seminormal_stack(a, b, atol, rtol, options)
    return _lstsq_cholqr_by_size(a, b, atol, rtol, options)


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


def _fallback(reason, options, instead='method="svd"', depth=0):
    """FallbackWarning for an explicitly chosen "sketch"; `depth` extra frames."""
    if options.explicit:
        warnings.warn(
            f"sketch-and-precondition is not safe here ({reason}); "
            f"used {instead} instead",
            FallbackWarning,
            stacklevel=5 + depth,
        )


def _lstsq_sketch_one(a, b, atol, rtol, options):
    """Sketch-and-precondition: iterative sketching with momentum on ``A R^{-1}``.

    [Rokhlin & Tygert 2008; Avron, Maymounkov & Toledo 2010; Epperly 2024]
    """
    m, n = a.shape
    damp = float(options.damp)
    d = SKETCH_FACTOR * n
    if 2 * d <= m:
        sa, sb = _sketch(a, b, d, options.rng)
        distortion, rate = _sketch_distortion(n, d), np.sqrt(n / d)
    else:
        # A sketch would be nearly as large as A (and small sketches distort
        # more than sqrt(N/d)): precondition with A's own R; the iteration is
        # then a QR solve plus refinement and converges at once.
        return _sketch_free(a, b, atol, rtol, options)
    q, r = np.linalg.qr(sa)
    s = scipy.linalg.svdvals(r, check_finite=False)
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
    x = scipy.linalg.solve_triangular(r, conj_t(q) @ sb, check_finite=False)
    eps = np.finfo(a.dtype).eps
    budget = (
        options.maxiter
        if options.maxiter is not None
        else 20 + 10 * int(np.ceil(np.log2(1.0 / eps)))
    )
    x, n_iter, converged = _momentum(
        a, b, x, r, np.hypot(s[0], damp), damp, rate, options.tol, budget
    )
    if not converged.all() and options.tol is None and options.maxiter is None:
        # Rounding level not reached with default settings: the sketch
        # distorted more than its size promises (rare, random).
        _fallback("the sketched preconditioner was too weak", options, "a QR solve")
        return _sketch_free(a, b, atol, rtol, options)
    return Solution(x, np.asarray(n, np.intp), n_iter, converged, None)


def _sketch_free(a, b, atol, rtol, options):
    """The "sketch" method with S = I: Householder QR of A, refined as above."""
    m, n = a.shape
    damp = float(options.damp)
    sa = a if not damp else np.vstack([a, damp * np.eye(n, dtype=a.dtype)])
    q, r = np.linalg.qr(sa)
    s = scipy.linalg.svdvals(r, check_finite=False)
    limit = 0.01 / np.finfo(a.dtype).eps
    if not (_certainly_full_rank(s[-1], s[0], atol, rtol) and s[0] < limit * s[-1]):
        _fallback("A is rank deficient or too ill-conditioned", options, depth=1)
        return lstsq_svd(a, b, atol, rtol, options._replace(damp=np.asarray(damp)))
    x = scipy.linalg.solve_triangular(r, conj_t(q[:m]) @ b, check_finite=False)
    budget = options.maxiter if options.maxiter is not None else 10
    x, n_iter, converged = _momentum(
        a, b, x, r, np.hypot(s[0], damp), damp, 0.0, options.tol, budget
    )
    return Solution(x, np.asarray(n, np.intp), n_iter, converged, None)


#: Iterations without a new smallest gradient (relative to its rounding
#: level) after which the momentum iteration stops.
STALL_STEPS = 3


def _momentum(a, b, x, r, scale, damp, rate, tol, budget):
    """Iterative sketching with momentum [Epperly 2024, arXiv:2311.04362].

    ``x+ = x + alpha R^{-1} R^{-H} (A^H (b - A x) - d^2 x) + beta (x - x-)``
    with the heavy-ball parameters ``alpha = (1 - rate^2)^2``,
    ``beta = rate^2`` for singular values of ``A R^{-1}`` in
    ``[1 / (1 + rate), 1 / (1 - rate)]``; error reduced by about `rate` per
    step. The residual and gradient are recomputed from A each step (one fused
    pass), so no recurrence drifts: the iteration is forward stable and stops
    at the backward error the residual computation resolves. Stops when the
    backward error ``||A^H r - d^2 x|| / (||A|| ||r||)`` is at most `tol`
    (or ``||r|| <= tol (||A|| ||x|| + ||b||)``), or, with the default
    ``tol=None``, at rounding level: ``||A^H r - d^2 x||`` below
    ``eps ||A|| (||r|| + ||A|| ||x|| + ||b||)`` (about what rounding leaves
    of it; measured at 200000 x 500, cond 1e6: 24 steps, forward error equal
    to gelsd's), or when it stops decreasing within 10x of that.
    """
    alpha, beta = float((1.0 - rate * rate) ** 2), float(rate * rate)
    unit = np.finfo(a.dtype).eps
    b_norm = np.linalg.norm(b, axis=0)
    d2 = damp * damp
    k = b.shape[1]
    best = np.full(k, np.inf)
    since_best = np.zeros(k, np.intp)
    n_iter = np.zeros(k, np.intp)
    done = np.zeros(k, bool)
    converged = np.zeros(k, bool)
    x_prev = x.copy()
    for _ in range(budget + 1):
        _, z, rr = normal_residual(a, b, x)
        if d2:
            z -= d2 * x
        r_norm, z_norm = np.sqrt(rr), np.linalg.norm(z, axis=0)
        x_norm = np.linalg.norm(x, axis=0)
        # What rounding leaves of A^H (b - A x) at the solution.
        noise = unit * scale * (r_norm + scale * x_norm + b_norm)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(noise > 0, z_norm / noise, 0.0)
        if tol is None:
            met = z_norm <= noise
        else:
            met = (z_norm <= tol * scale * r_norm) | (
                r_norm <= tol * (scale * x_norm + b_norm)
            )
        since_best = np.where(ratio < best, 0, since_best + 1)
        best = np.minimum(best, ratio)
        stalled = since_best >= STALL_STEPS
        newly = ~done & (met | stalled | (n_iter >= budget))
        converged[newly] = met[newly] | (
            (tol is None) & stalled[newly] & (best[newly] <= 10.0)
        )
        done |= newly
        if done.all():
            break
        step = _cho_solve(r, z)
        x_next = x + alpha * step + beta * (x - x_prev)
        x_prev = x
        x = np.where(~done, x_next, x)
        n_iter += ~done
    return x, n_iter, converged


#: Sketch-and-precondition for tall dense A (one matrix at a time).
lstsq_sketch = one_at_a_time(_lstsq_sketch_one)
