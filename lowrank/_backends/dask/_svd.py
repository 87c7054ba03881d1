"""Thin, truncated and randomized SVD of row-chunked dask arrays.

Everything is built on the distributed QR of `lowrank._backends.dask._qr`: the thin
SVD is ``A = Q R``, ``R = U_R S V^H``; the randomized methods orthonormalise
their samples ``Y = A Z`` with the same chain and carry ``B = Q^H A`` through
its final pass; the Gram route of truncated_svd starts from the
eigenvectors of ``A^H A`` instead. U is returned as a lazy dask array with
A's row chunks; its sign convention (`lowrank.linalg._svd.canonical_signs`) is
decided by one more pass that reads the very entries the returned U will
have (or, on the Gram route, certified without one).

Wide input (chunked along its columns, one chunk across its rows) is
factored through ``A^H``, whose row chunks are A's column chunks; then U is
small (numpy) and Vh the lazy, chunked factor.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from lowrank._backends.dask import _chunks
from lowrank._backends.dask._passes import raise_if_not_finite, row_stack, row_sum
from lowrank._backends.dask._qr import (
    FINAL_PASS_DEFECT,
    CholeskyBreakdown,
    TallQR,
    _cholesky_upper,
    _gram_pass,
    first_gram,
    tall_qr_chain,
)
from lowrank._backends.linear_map import dense_sign_matrix
from lowrank._core.blas import svd_small
from lowrank._core.results import SVDResult
from lowrank.approx._block_krylov import well_conditioned
from lowrank.approx._rangefinder import SPARSE_SIGN_ZETA, svd_of_qb
from lowrank.approx._sketch import random_test_matrix
from lowrank.linalg._svd import canonical_signs

__all__ = [
    "GRAM_MAX_WIDTH_FACTOR",
    "GRAM_REFINEMENTS",
    "assemble",
    "choose_dask_truncated_method",
    "exact_svd",
    "gram_svd",
    "randomized",
]

#: On a dask array, truncated_svd's "auto" takes the Gram route when the short
#: side N is at most this many times the sketch width k + oversample: the
#: Gram matrix (syrk, N^2 M flops) then costs about as much as two sketch
#: passes (gemm, 2 M N l flops each) and replaces all power iterations.
GRAM_MAX_WIDTH_FACTOR = 8

#: Distributed subspace iterations the Gram route adds (n_iter="auto") when
#: s_{k+1} is below what the rounded Gram matrix resolves.
GRAM_REFINEMENTS = 2

#: The Gram route trusts the k leading eigenvectors of G when
#: ``s_{k+1} >= GRAM_RESOLUTION * sqrt(sqrt(M) eps) * s_1``: the rounding of
#: G (about ``sqrt(M) eps s_1^2``) then adds at most a fraction
#: ``1 / (2 GRAM_RESOLUTION^2)`` to the approximation error ``s_{k+1}``.
GRAM_RESOLUTION = 10.0


def choose_dask_truncated_method(shape, k, oversample, tol):
    """The ``method="auto"`` rule of truncated_svd for a dask array.

    ``"dense"`` (the exact thin SVD, truncated) with `tol`; otherwise
    ``"gram"`` if the short side is at most `GRAM_MAX_WIDTH_FACTOR` times
    the sketch width ``k + oversample``, else ``"randomized"``.
    """
    if tol is not None:
        return "dense"
    if min(shape) <= GRAM_MAX_WIDTH_FACTOR * (k + oversample):
        return "gram"
    return "randomized"


def _lazy_conj_t(x):
    return x.conj().T if np.issubdtype(x.dtype, np.complexfloating) else x.T


def _signed(f, w, vh, signs=None):
    """``U = Q W`` (lazy) and Vh with the sign convention of `canonical_signs`.

    Unless the `signs` of real U are already known, one pass finds, per
    column of U, the first entry of largest magnitude;
    its sign (phase) is folded into W (for real input exactly: a sign change
    commutes with rounding) and into the rows of Vh; for complex input the
    pivot entries are then set to their magnitude, as `canonical_signs`
    does.
    """
    if w.shape[1] == 0:
        return f.apply(w), vh
    if not np.iscomplexobj(w):
        if signs is None:
            signs = f.column_signs(w)
        signs = np.asarray(signs).astype(w.dtype)
        return f.apply(w * signs), vh * signs[:, np.newaxis]
    value, block, rows = f.column_signs(w)
    magnitude = np.abs(value)
    safe = np.where(magnitude > 0, magnitude, 1)
    phase = np.where(magnitude > 0, value / safe, 1).astype(w.dtype)
    pivots = {}
    for col in range(w.shape[1]):
        entry = pivots.setdefault(int(block[col]), ([], [], []))
        entry[0].append(int(rows[col]))
        entry[1].append(col)
        entry[2].append(magnitude[col])
    pivots = {
        key: (np.array(r, np.intp), np.array(c, np.intp), np.array(v, w.dtype))
        for key, (r, c, v) in pivots.items()
    }
    return f.apply(w * phase.conj(), pivots), vh * phase[:, np.newaxis]


def assemble(f, w, s, vh, wide, signs=None):
    """The SVDResult of A from ``t = Q (W diag(S) Vh)`` (``t = A`` or ``A^H``)."""
    if not wide:
        u, vh = _signed(f, w, vh, signs)
        return SVDResult(u, s, vh)
    # t = A^H = U_t S Vh_t, so A = Vh_t^H S U_t^H: U is small, Vh lazy.
    u = vh.conj().T
    eye = np.eye(u.shape[1], dtype=u.dtype)
    u, phase_rows = canonical_signs(u, eye)
    phase = np.diagonal(phase_rows)  # vh <- diag(phase) vh = (U_t conj(phase))^H
    return SVDResult(u, s, _lazy_conj_t(f.apply(w * phase.conj())))


def exact_svd(t, rank=None):
    """Thin SVD ``(f, U_R, S, Vh)`` of the tall dask array t by QR (`rank` triplets)."""
    f = tall_qr_chain(t, "auto")
    u_r, s, vh = svd_small(f.r)
    if rank is not None:
        u_r, s, vh = u_r[:, :rank], s[:rank], vh[:rank]
    return f, u_r, s, vh


def _svd_of_b(b, k):
    """``(U_B, S, Vh)`` of the small B, k triplets (lowrank's svd_of_qb with Q = I)."""
    eye = np.eye(b.shape[0], dtype=b.dtype)
    return svd_of_qb(eye, b, k)


# --------------------------------------------------------------------------
# randomized SVD (Halko, Martinsson & Tropp), distributed
# --------------------------------------------------------------------------


def test_matrix(n, width, sketch, rng, dtype):
    """Omega (n x width), drawn as on one machine (`_rangefinder._initial_sample`)."""
    if sketch == "sparse_sign":
        from lowrank._kernels.sketch import sparse_sign_indices

        zeta = min(SPARSE_SIGN_ZETA, width)
        rows, signs = sparse_sign_indices(width, n, zeta, rng)
        return dense_sign_matrix(rows, signs, width, zeta, dtype)
    return random_test_matrix(rng, n, width, dtype)


def _orthonormal_adjoint(t, z, g):
    """``A^H Q`` with ``Q`` a well-conditioned basis of ``Y = A Z`` (two passes).

    The distributed twin of ``A^H well_conditioned(Y)``: one Cholesky-QR pass
    (``R = chol(Y^H Y)``, ``Q = Y R^{-1}`` formed block by block), TSQR
    (one pass) if Cholesky breaks down. `g` may pass in ``Y^H Y``.
    """
    if g is None:
        g, _ = _gram_pass(t, z, ())
    try:
        r = _cholesky_upper(g)
        if not np.all(np.isfinite(r)):
            raise CholeskyBreakdown
    except CholeskyBreakdown:
        f = tall_qr_chain(t, "householder", z=z, carry_a=True)
        return f.carried["a"].conj().T
    (w,) = row_sum(
        _chunks.adjoint_block,
        [t],
        [(t.shape[1], z.shape[1])],
        t.dtype,
        z=z,
        solves=(r,),
    )
    return w


def randomized(t, k, width, q, normalize, sketch, rng, name="a"):
    """HMT on the tall dask array t: ``(f, U_B, S, Vh)`` with ``U = Q U_B``.

    ``Y = A Omega``; q power iterations ``Z = orth(A^H orth(A Z))`` (each
    orth a distributed Cholesky-QR pass if `normalize`); ``Q = orth(A Z)`` by
    the distributed CholeskyQR2 chain, whose final pass also gives
    ``B = Q^H A``; SVD of B. Passes over A: ``2 q + 3`` (``q + 3`` without
    normalisation).
    """
    omega = test_matrix(t.shape[1], width, sketch, rng, t.dtype)
    g, _ = _gram_pass(t, omega, ())
    raise_if_not_finite([g], {name: t})
    z = omega
    for i in range(q):
        if normalize:
            w = _orthonormal_adjoint(t, z, g if i == 0 else None)
            z = well_conditioned(w)
        else:
            (z,) = row_sum(
                _chunks.adjoint_block,
                [t],
                [(t.shape[1], width)],
                t.dtype,
                z=z,
                solves=(),
            )
    f = tall_qr_chain(t, "cholqr2", g=g if q == 0 else None, z=z, carry_a=True)
    u_b, s, vh = _svd_of_b(f.carried["a"], k)
    return f, u_b, s, vh


# --------------------------------------------------------------------------
# the Gram route: Rayleigh-Ritz on the Gram matrix's eigenvectors
# --------------------------------------------------------------------------


def _gram_resolves(lam, k, m, dtype):
    """Whether the rounded Gram matrix resolves the top-k subspace (eigenvalues `lam`).

    Forming G rounds it by about ``sqrt(M) eps ||A||_2^2``; the k leading
    eigenvectors are then accurate enough (the approximation error exceeds
    ``s_{k+1}`` by at most a factor ``1 + 1 / (2 GRAM_RESOLUTION^2)``) when
    ``s_{k+1}`` (``s_k`` for k = N) is at least
    ``GRAM_RESOLUTION sqrt(sqrt(M) eps) s_1``.
    """
    if lam.size == 0 or not lam[0] > 0:
        return False
    floor = GRAM_RESOLUTION**2 * np.sqrt(m) * np.finfo(dtype).eps * lam[0]
    return bool(lam[min(k, lam.size - 1)] >= floor)


def _certain_signs(high, low, d, dtype):
    """Signs of the columns of ``U D``, from the extremes of U, if they are certain.

    ``(U D)[:, j] = D_jj U[:, j] + sum_{i != j} D_ij U[:, i]``, so its entries
    differ from ``D_jj U[:, j]`` by at most ``max|U| sum_{i != j} |D_ij|``
    (plus the rounding of the product). Where the largest entry of
    ``D_jj U[:, j]`` beats the most negative one by more than twice that,
    the sign of the largest-magnitude entry of ``U D`` is known without
    computing it. Returns None if any column is uncertain.
    """
    k = d.shape[0]
    eps = np.finfo(dtype).eps
    u_max = max(float(np.max(high)), -float(np.min(low)))
    absd = np.abs(d)
    diagonal = np.diagonal(d)
    delta = u_max * (
        absd.sum(axis=0) - np.abs(diagonal) + 4 * k * eps * absd.sum(axis=0)
    )
    score = diagonal * (high + low)
    margin = 2 * delta + 4 * eps * np.abs(diagonal) * (np.abs(high) + np.abs(low))
    if not np.all(np.abs(score) > margin):
        return None
    return np.sign(score)


def _gram_rayleigh_ritz(t, lam, vectors, k):
    """The fast Gram route: ``(f, U_c, S, Vh, signs)`` or None if a check fails.

    With V the k leading eigenvectors of G and ``S_G = sqrt(lambda)``,
    ``U = A V S_G^{-1}`` is nearly orthonormal; one pass forms ``U^H U``
    (and the extremes of U's columns), a Cholesky-QR pass ``U = U' R_U``
    makes it orthonormal to O(eps) (the pass is trusted under the same
    check as a final CholeskyQR pass), and the SVD of the k x k
    ``R_U S_G = U_c S W^H`` gives ``A V = (U' U_c) S W^H``: Rayleigh-Ritz on
    span(V), with singular values from the data. U's blocks are recomputed
    by the same product when U is computed; its signs are certified from
    the extremes (`_certain_signs`, real input) or left to a sign pass.
    """
    s_g = np.sqrt(lam[:k])
    v = vectors[:, :k]
    mmat = np.ascontiguousarray(v / s_g).astype(t.dtype, copy=False)
    real = not np.issubdtype(t.dtype, np.complexfloating)
    shapes = [(k, k)] + ([(k,), (k,)] if real else [])
    blocks = row_stack(_chunks.gram_extremes_block, [t], shapes, t.dtype, z=mmat)
    g_u = sum(block[0] for block in blocks)
    if not np.linalg.norm(g_u - np.eye(k, dtype=g_u.dtype)) <= FINAL_PASS_DEFECT:
        return None
    try:
        r_u = _cholesky_upper(g_u)
    except CholeskyBreakdown:
        return None
    if not np.all(np.isfinite(r_u)):
        return None
    u_c, s, w_h = np.linalg.svd(r_u * s_g.astype(r_u.dtype))
    vh = (w_h @ v.conj().T).astype(t.dtype, copy=False)
    f = TallQR(t, mmat, r_u, "gram", "chol", solves=(), r_last=r_u)
    signs = None
    if real:
        high = np.max([block[1] for block in blocks], axis=0)
        low = np.min([block[2] for block in blocks], axis=0)
        d = scipy.linalg.solve_triangular(r_u, u_c, check_finite=False)
        signs = _certain_signs(high, low, d, t.dtype)
    return f, u_c, s.astype(lam.dtype, copy=False), vh, signs


def gram_svd(t, k, width, n_iter, name="a"):
    """Top-k SVD of the tall dask array t from its Gram matrix.

    Returns ``(f, W, S, Vh, signs)`` with ``U = Q W`` (`signs` of U's columns
    if already known, else None). ``G = A^H A`` by one pass. If G resolves
    the top-k subspace (`_gram_resolves`) and `n_iter` is "auto": the fast
    route of `_gram_rayleigh_ritz`, one more pass. Otherwise (or if its
    checks fail): Z = the eigenvectors of the `width` largest eigenvalues,
    ``Y = A Z`` orthonormalised by the distributed CholeskyQR2 chain (its
    first Gram matrix ``Z^H G Z`` from G, guarded by the final pass's check;
    its final pass gives ``B = Q^H A``), SVD of B, and, when the top k are
    below G's resolution (or `n_iter` asks for them), distributed subspace
    iterations ``Z = orth(B^H) = orth(A^H Q)``. Deterministic: no random
    numbers.
    """
    m = t.shape[0]
    g, finite = first_gram(t, name)
    if not finite:  # G overflowed: no use for eigenvectors; the exact SVD by TSQR
        f = tall_qr_chain(t, "householder")
        u_r, s, vh = svd_small(f.r)
        return f, u_r[:, :k], s[:k], vh[:k], None
    lam, vectors = np.linalg.eigh(g)
    lam, vectors = lam[::-1], vectors[:, ::-1]
    resolved = _gram_resolves(lam, k, m, t.dtype)
    if n_iter == "auto" and resolved:
        fast = _gram_rayleigh_ritz(t, lam, vectors, k)
        if fast is not None:
            return fast
    z = np.ascontiguousarray(vectors[:, :width])
    g_y = z.conj().T @ g @ z
    g_y = (g_y + g_y.conj().T) / 2
    f = tall_qr_chain(t, "cholqr2", g=g_y, z=z, carry_a=True)
    b = f.carried["a"]
    if n_iter == "auto":
        n_iter = 0 if resolved else GRAM_REFINEMENTS
    for _ in range(n_iter):
        # Z = orth(A^H Q); the Gram matrix of A Z is formed from the data here,
        # as G does not resolve the directions these iterations are for.
        z = well_conditioned(np.ascontiguousarray(b.conj().T))
        f = tall_qr_chain(t, "cholqr2", z=z, carry_a=True)
        b = f.carried["a"]
    u_b, s, vh = _svd_of_b(b, k)
    return f, u_b, s, vh, None
