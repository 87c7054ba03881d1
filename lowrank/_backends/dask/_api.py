"""The public functions on dask arrays (reached through `dask_call`).

Each function here has the signature of the public function of the same
name, validates its arguments with the boundary helpers of
`lowrank._core.validation` (the same rules and messages as on one machine), and
runs the distributed algorithms of `_qr` and `_svd`. What is returned as
what:

* small results (R, S, Vh of a tall matrix, x, ranks, residuals) are numpy
  arrays, computed before the function returns;
* tall results (Q, U, the pseudo-inverse, and for wide input Vh and the
  lstsq solution) are lazy dask arrays chunked like the input along its
  long axis, with one chunk across the short one.

The accepted layout is a 2-D dask array with a single chunk across its short
side: a tall matrix (M >= N) chunked by rows, or a wide one chunked by
columns (factored through ``A^H``). Anything else raises ValueError naming
the rechunk that fixes it; rechunking is not done silently, as it could
gather a large matrix into few blocks.
"""

from __future__ import annotations

import dask.array as da
import numpy as np

from lowrank._backends.dask import _chunks, is_dask_array
from lowrank._backends.dask._passes import lazy_rows, raise_if_not_finite, row_sum
from lowrank._backends.dask._qr import first_gram, tall_qr_chain
from lowrank._backends.dask._svd import (
    assemble,
    choose_dask_truncated_method,
    exact_svd,
    gram_svd,
    randomized,
)
from lowrank._core.blas import svd_small
from lowrank._core.results import PinvResult, QRResult, SVDResult
from lowrank._core.validation import (
    check_damp,
    check_k,
    check_k_or_tol,
    check_method,
    check_method_options,
    check_nonnegative_int,
    check_rng,
    rank_cutoff_tolerances,
    real_dtype,
    result_dtype,
)
from lowrank.approx._rangefinder import NORMALIZERS, SKETCHES, auto_power_iterations
from lowrank.approx._rangefinder import check_n_iter as _check_n_iter
from lowrank.linalg._lstsq._api import _as_rhs, _result
from lowrank.linalg._lstsq._direct import Solution, spectral_solve
from lowrank.linalg._lstsq._tall import (
    _certainly_full_rank,
    _extreme_singular_values,
    _refine,
    _solution,
    _upper_cholesky,
)
from lowrank.linalg._pinv import _eigh_floor, _spectral_inverse
from lowrank.linalg._tallqr import TALL_QR_METHODS, cholqr2_threshold

__all__ = ["lstsq", "pinv", "randomized_svd", "svd", "tall_qr", "truncated_svd"]

#: The methods each function offers for dask arrays (one machine has more).
PINV_METHODS = ("auto", "cholqr", "svd", "eigh")
LSTSQ_METHODS = ("auto", "cholqr", "svd")
SVD_METHODS = ("auto", "qr")
TRUNCATED_SVD_METHODS = ("auto", "dense", "gram", "randomized")
DASK_NORMALIZERS = ("qr", "none")


def _check_dask_method(method, allowed, function):
    if isinstance(method, str) and method in allowed:
        return method
    raise ValueError(
        f"`method` must be one of {', '.join(repr(x) for x in allowed)} for a "
        f"dask array in {function}(); got {method!r}"
    )


def _as_dask_matrix(a, name="a"):
    """A 2-D dask array in the computing dtype, chunked across its long side only."""
    if a.ndim != 2:
        raise ValueError(
            f"`{name}` must be a 2-D dask array (M, N), got shape {a.shape}; "
            "stacks are not supported for dask arrays"
        )
    if any(np.isnan(size) for sizes in a.chunks for size in sizes):
        raise ValueError(
            f"`{name}` has unknown chunk sizes; call `{name}.compute_chunk_sizes()`"
        )
    dtype = result_dtype(a.dtype, name)
    if a.dtype != dtype:
        a = a.astype(dtype)
    m, n = a.shape
    short, label = (1, "columns") if m >= n else (0, "rows")
    if a.numblocks[short] > 1:
        long_label = "rows" if short == 1 else "columns"
        raise ValueError(
            f"`{name}` must be chunked along its {long_label} only, with one chunk "
            f"across its {a.shape[short]} {label} (got chunks {a.chunks[short]} "
            f"along them); rechunk with `{name}.rechunk({{{short}: -1}})`"
        )
    return a


def _oriented(a):
    """``(t, wide)``: the tall, row-chunked operand t (A, or A^H for wide A)."""
    m, n = a.shape
    if m >= n:
        return a, False
    return _conj_t(a), True


def _conj_t(x):
    """Lazy conjugate transpose (no copy for real dtypes)."""
    return x.conj().T if np.issubdtype(x.dtype, np.complexfloating) else x.T


def _zeros(shape, chunks, dtype):
    return da.zeros(shape, chunks=chunks, dtype=dtype)


# --------------------------------------------------------------------------
# tall_qr
# --------------------------------------------------------------------------


def tall_qr(a, *, method="auto", check_finite=True):
    """lowrank.tall_qr for a row-chunked dask array (see `lowrank._backends.dask`)."""
    start = check_method(method, TALL_QR_METHODS)
    if a.ndim == 2 and a.shape[0] < a.shape[1]:
        raise ValueError(
            f"`a` must be tall (M >= N), got shape {a.shape}; for a wide "
            "matrix factor its conjugate transpose `a.conj().T`"
        )
    a = _as_dask_matrix(a)
    m, n = a.shape
    if n == 0:
        return QRResult(
            _zeros((m, 0), (a.chunks[0], (0,)), a.dtype), np.zeros((0, 0), a.dtype)
        )
    f = tall_qr_chain(a, start, warn=method != "auto")
    return QRResult(f.apply(), np.triu(f.r))


# --------------------------------------------------------------------------
# pinv
# --------------------------------------------------------------------------


def _pinv_conj_t_qr(t, atol, rtol, damp):
    """``(pinv(t)^H, rank)``, lazy: ``Q U_R f(S) V^H`` (t = Q R, R = U_R S V^H)."""
    f = tall_qr_chain(t, "auto")
    u, s, vh = svd_small(f.r)
    factors, rank = _spectral_inverse(s, s, atol, rtol, damp)
    k = int(rank)
    w = (u[:, :k] * factors[:k]) @ vh[:k]
    return f.apply(w), k


def _pinv_conj_t_eigh(t, atol, rtol, damp, shape):
    """``(pinv(t)^H, rank)`` by the normal equations: ``t W diag(lambda)^+ W^H``.

    The rule of `lowrank.linalg._pinv._pinv_eigh`, with the Gram matrix as one pass.
    """
    g, _ = first_gram(t)
    lam, w = np.linalg.eigh(g)
    sigma = np.sqrt(np.maximum(lam, 0))
    floor = _eigh_floor(shape, t.dtype)
    factors, rank = _spectral_inverse(sigma, sigma, atol, rtol, damp, floor=floor)
    inv = np.zeros_like(sigma)
    np.divide(factors, sigma, out=inv, where=factors != 0)
    middle = (w * inv) @ w.conj().T
    x = lazy_rows(
        _chunks.apply_block, t, t.shape[1], t.dtype, z=None, solves=(), w=middle
    )
    return x, int(rank)


def pinv(
    a,
    *,
    method="auto",
    atol=None,
    rtol=None,
    damp=0.0,
    hermitian=False,
    return_rank=False,
    check_finite=True,
    tol=None,
    maxiter=None,
):
    """lowrank.pinv for a row-chunked dask array (see `lowrank._backends.dask`)."""
    method = _check_dask_method(method, PINV_METHODS, "pinv")
    if hermitian:
        raise ValueError(
            "hermitian=True is not supported for dask arrays (it needs a square "
            "matrix; the dask backend is for tall-skinny ones)"
        )
    a = _as_dask_matrix(a)
    atol, rtol = rank_cutoff_tolerances(atol, rtol, a.shape, a.dtype)
    damp = check_damp(damp, a.shape, a.dtype)
    check_method_options(
        method,
        tol,
        maxiter,
        damp,
        iterative=frozenset(),
        damped=frozenset(PINV_METHODS),
    )
    m, n = a.shape
    if a.size == 0:
        x, rank = _zeros((n, m), (a.chunks[1], a.chunks[0]), a.dtype), 0
    else:
        t, wide = _oriented(a)
        if method == "eigh":
            xh, rank = _pinv_conj_t_eigh(
                t, float(atol), float(rtol), float(damp), a.shape
            )
        else:
            xh, rank = _pinv_conj_t_qr(t, float(atol), float(rtol), float(damp))
        # tall: pinv(A) = (pinv(t)^H)^H; wide: pinv(A) = pinv(A^H)^H = pinv(t)^H
        x = xh if wide else _conj_t(xh)
    return PinvResult(x, rank) if return_rank else x


# --------------------------------------------------------------------------
# lstsq
# --------------------------------------------------------------------------


def _as_dask_rhs(b, a):
    """b as a 2-D dask array with a's row chunks, and whether it was a vector."""
    m = a.shape[0]
    if is_dask_array(b):
        if b.ndim not in (1, 2):
            raise ValueError(
                f"`b` must have shape (M,) or (M, K) for a dask array `a`, got "
                f"shape {b.shape}"
            )
        vector = b.ndim == 1
        if vector:
            b = b[:, np.newaxis]
        if b.shape[0] != m:
            raise ValueError(
                f"`a` has {m} rows but `b` has {b.shape[0]}: the shapes "
                f"{'(M,)' if vector else '(M, K)'} of b and (M, N) of a must agree in M"
            )
        result_dtype(b.dtype, "b")
        if b.chunks[0] != a.chunks[0] or b.numblocks[1] != 1:
            b = b.rechunk({0: a.chunks[0], 1: -1})
        return b, vector
    arr, vector = _as_rhs(b, 2, m)
    if arr.ndim != 2:
        raise ValueError(
            f"`b` must have shape (M,) or (M, K) for a 2-D `a`, got shape {np.shape(b)}"
        )
    return da.from_array(arr, chunks=(a.chunks[0], (arr.shape[1],))), vector


def _residual_pass(a, b, x):
    """``(None, A^H r, ||r||^2)`` for ``r = b - A x``: one pass (for `_refine`)."""
    n, k = x.shape
    z, rr = row_sum(
        _chunks.residual_block, [a, b], [(n, k), (k,)], a.dtype, x=np.asarray(x)
    )
    return None, z, rr.real.astype(real_dtype(a.dtype))


def _squared_residuals(a, b, x):
    return _residual_pass(a, b, x)[2]


def _lstsq_tall(a, b, atol, rtol, damp, method):
    """Semi-normal equations with refinement, or the QR route (`_lstsq_tall` rules)."""
    n, k = a.shape[1], b.shape[1]
    g, atb, bb = row_sum(_chunks.normal_block, [a, b], [(n, n), (n, k), (k,)], a.dtype)
    finite = raise_if_not_finite([g, atb, bb], {"a": a, "b": b})
    if method == "cholqr" and finite:
        c0 = _upper_cholesky(g)
        if c0 is not None:
            s_min, s_max = _extreme_singular_values(c0, g)
            well_conditioned = s_max <= cholqr2_threshold(a.dtype) * s_min
            if well_conditioned and _certainly_full_rank(s_min, s_max, atol, rtol):
                c = c0
                if damp:
                    c = _upper_cholesky(g + damp * damp * np.eye(n, dtype=g.dtype))
                refined = (
                    None
                    if c is None
                    else _refine(
                        a,
                        b,
                        atb,
                        g,
                        c,
                        s_max,
                        damp,
                        residual=_residual_pass,
                        b_norm=np.sqrt(bb.real),
                    )
                )
                if refined is not None:
                    x, steps, rr = refined
                    return _solution(x, n, steps, True, rr)
    # The QR route. Unlike one machine ("scholqr3" with G), "auto" starts with
    # rCholeskyQR for large A: its sketch pass (cheaper than a Gram pass)
    # detects numerical rank deficiency and goes straight to TSQR, where
    # shifted CholeskyQR3 would spend three passes before breaking down.
    start = {"cholqr": "auto", "svd": "cholqr2"}[method]
    f = tall_qr_chain(a, start if finite else "householder", g=g, b=b)
    u, s, vh = svd_small(f.r)
    x, rank = spectral_solve(u, s, vh, f.carried["b"], atol, rtol, damp)
    return _solution(x, rank, 0, True, _squared_residuals(a, b, x))


def _lstsq_wide(a, b, atol, rtol, damp):
    """Wide A (column-chunked): ``A^H = Q R``, ``R = U S V^H``, ``x = Q U f(S) V^H b``.

    x is as long as the chunked axis, so it is returned lazily; the residual
    ``b - A x = b - V diag(s f(s)) V^H b`` is computed from n-vectors.
    """
    t = _conj_t(a)
    b_small = np.asarray(b.compute())
    f = tall_qr_chain(t, "auto")
    u, s, vh = svd_small(f.r)
    factors, rank = _spectral_inverse(s, s, atol, rtol, damp)
    # A = R^H Q^H = V S U^H Q^H (R = U S V^H), so A^+ b = Q U f(S) V^H b.
    coeffs = (vh @ b_small) * factors[:, np.newaxis].astype(b_small.dtype)
    x = f.apply(u @ coeffs)
    r = b_small - vh.conj().T @ ((s * factors)[:, np.newaxis] * (vh @ b_small))
    rr = np.sum((r * r.conj()).real, axis=0).astype(real_dtype(a.dtype))
    k = b_small.shape[1]
    return Solution(
        x, np.asarray(rank, np.intp), np.zeros(k, np.intp), np.ones(k, bool), rr
    )


def lstsq(
    a,
    b,
    *,
    method="auto",
    atol=None,
    rtol=None,
    damp=0.0,
    check_finite=True,
    rng=None,
    tol=None,
    maxiter=None,
    precond=None,
):
    """lowrank.lstsq for a row-chunked dask array (see `lowrank._backends.dask`)."""
    method = _check_dask_method(method, LSTSQ_METHODS, "lstsq")
    if precond is not None:
        raise ValueError(
            '`precond` applies to methods "lsqr" and "lsmr", which are not '
            "available for dask arrays"
        )
    check_rng(rng)
    a = _as_dask_matrix(a)
    b, vector = _as_dask_rhs(b, a)
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
        damped=frozenset(LSTSQ_METHODS),
    )
    atol, rtol, damp = float(atol), float(rtol), float(damp)
    method = "cholqr" if method == "auto" else method
    if a.size == 0 or k == 0:
        bb = np.asarray(da.sum(abs(b) ** 2, axis=0).compute()).astype(real_dtype(dtype))
        sol = Solution(
            np.zeros((n, k), dtype),
            np.asarray(0, np.intp),
            np.zeros(k, np.intp),
            np.ones(k, bool),
            bb,
        )
    elif m >= n:
        sol = _lstsq_tall(a, b, atol, rtol, damp, method)
    else:
        sol = _lstsq_wide(a, b, atol, rtol, damp)
    return _result(sol, sol.residuals, vector, single=True)


# --------------------------------------------------------------------------
# svd, truncated_svd, randomized_svd
# --------------------------------------------------------------------------


def svd(a, *, method="auto", check_finite=True):
    """lowrank.svd for a dask array chunked along its long side."""
    _check_dask_method(method, SVD_METHODS, "svd")
    a = _as_dask_matrix(a)
    m, n = a.shape
    kmin = min(m, n)
    if a.size == 0:
        return _empty_svd(a, kmin)
    t, wide = _oriented(a)
    f, u_r, s, vh = exact_svd(t)
    return assemble(f, u_r, s, vh, wide)


def _empty_svd(a, rank):
    """The SVD of an empty matrix, or a rank-0 truncation: zeros of the right kinds."""
    m, n = a.shape
    s = np.zeros(rank, real_dtype(a.dtype))
    if m >= n:
        u = _zeros((m, rank), (a.chunks[0], (rank,)), a.dtype)
        return SVDResult(u, s, np.zeros((rank, n), a.dtype))
    vh = _zeros((rank, n), ((rank,), a.chunks[1]), a.dtype)
    return SVDResult(np.zeros((m, rank), a.dtype), s, vh)


def truncated_svd(
    a,
    k=None,
    *,
    tol=None,
    method="auto",
    oversample=10,
    n_iter="auto",
    rng=None,
    check_finite=True,
):
    """lowrank.truncated_svd for a dask array chunked along its long side."""
    method = _check_dask_method(method, TRUNCATED_SVD_METHODS, "truncated_svd")
    oversample = check_nonnegative_int(oversample, "oversample")
    n_iter = _check_n_iter(n_iter)
    gen = check_rng(rng)
    a = _as_dask_matrix(a)
    k, tol = check_k_or_tol(k, tol, min(a.shape))
    if tol is not None and method not in ("auto", "dense"):
        raise ValueError(
            f'`tol` is supported for dask arrays by method="dense" (and "auto"), '
            f"not by method={method!r}"
        )
    if method == "auto":
        method = choose_dask_truncated_method(a.shape, k, oversample, tol)
    if 0 in a.shape:
        return _empty_svd(a, 0)
    t, wide = _oriented(a)
    if method == "dense":
        f, u_r, s, vh = exact_svd(t)
        if tol is not None:
            rank = int(np.count_nonzero(s > tol * s[0])) if s.size else 0
        else:
            rank = k
        return assemble(f, u_r[:, :rank], s[:rank], vh[:rank], wide)
    width = min(k + oversample, min(a.shape))
    if method == "gram":
        f, u_b, s, vh, signs = gram_svd(t, k, width, n_iter)
        return assemble(f, u_b, s, vh, wide, signs)
    q = auto_power_iterations(a.shape, k, width) if n_iter == "auto" else n_iter
    f, u_b, s, vh = randomized(t, k, width, q, True, "gaussian", gen)
    return assemble(f, u_b, s, vh, wide)


def randomized_svd(
    a,
    k,
    *,
    oversample=10,
    n_iter="auto",
    normalizer="qr",
    sketch="gaussian",
    rng=None,
    check_finite=True,
):
    """lowrank.randomized_svd for a dask array chunked along its long side."""
    if k is None:
        raise TypeError("randomized_svd() missing required argument: 'k'")
    check_method(normalizer, NORMALIZERS, "normalizer")
    if normalizer not in DASK_NORMALIZERS:
        allowed = ", ".join(repr(x) for x in DASK_NORMALIZERS)
        raise ValueError(
            f"`normalizer` must be one of {allowed} for a dask array; "
            f"got {normalizer!r}"
        )
    check_method(sketch, SKETCHES, "sketch")
    oversample = check_nonnegative_int(oversample, "oversample")
    n_iter = _check_n_iter(n_iter)
    gen = check_rng(rng)
    a = _as_dask_matrix(a)
    k = check_k(k, min(a.shape))
    width = min(k + oversample, min(a.shape))
    q = auto_power_iterations(a.shape, k, width) if n_iter == "auto" else n_iter
    t, wide = _oriented(a)
    f, u_b, s, vh = randomized(t, k, width, q, normalizer == "qr", sketch, gen)
    return assemble(f, u_b, s, vh, wide)
