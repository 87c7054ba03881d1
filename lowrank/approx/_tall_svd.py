"""Randomized (HMT) and Gram truncated SVD, written once over the backend passes.

These drivers touch the big matrix only through the passes of
`lowrank._backends.protocol.TallOperand`. The randomized range finder
(`randomized`) is the one implementation of Halko, Martinsson & Tropp's
Algorithm 4.4 in the package: `rangefinder`, `qb`, `randomized_svd` and
`truncated_svd(method="randomized")` run it on a
`lowrank._backends.linear_map.MapOperand` (dense, sparse and operator
input, samples held explicitly) and on a dask operand (samples implicit,
recomputed by each pass). Everything is built on the Cholesky-QR chain of
`lowrank.linalg._tallqr.qr_chain`: the randomized method orthonormalises its
samples with it and carries ``B = Q^H A`` through its final pass; the Gram
route (dask) starts from the eigenvectors of ``A^H A`` instead. U is of the
operand's array type, signed by `lowrank.linalg._svd.signed_svd`.

A dask operand is tall: wide input is factored through ``A^H`` (the caller
passes its operand and ``wide=True``): then U is small and Vh the tall
factor. A `MapOperand` needs no orientation (the samples have
``min(M, N)`` columns at most).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from lowrank._core.blas import svd_small
from lowrank.approx._block_krylov import well_conditioned
from lowrank.approx._qb import svd_of_qb
from lowrank.linalg._svd import signed_svd
from lowrank.linalg._tallqr import (
    ChainResult,
    CholeskyBreakdown,
    cholesky_upper,
    near_identity,
    qr_chain,
)

__all__ = [
    "GRAM_MAX_WIDTH_FACTOR",
    "GRAM_REFINEMENTS",
    "NORMALIZERS",
    "choose_tall_truncated_method",
    "gram_svd",
    "randomized",
    "randomized_svd_of",
    "truncated_svd_tall",
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


def choose_tall_truncated_method(shape, k, oversample, tol):
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


def _svd_of_b(b, k):
    """``(U_B, S, Vh)`` of the small B, k triplets (lowrank's svd_of_qb with Q = I)."""
    eye = np.eye(b.shape[0], dtype=b.dtype)
    return svd_of_qb(eye, b, k)


# --------------------------------------------------------------------------
# randomized SVD (Halko, Martinsson & Tropp), distributed
# --------------------------------------------------------------------------


def _orthonormal_adjoint(y, g):
    """``A^H Q`` with ``Q`` a well-conditioned basis of the sample operand y.

    One Cholesky-QR pass (``R = chol(Y^H Y)``, ``Q = Y R^{-1}``) without
    forming Q where the backend keeps Y implicit; Householder/TSQR (one
    pass) if Cholesky breaks down. `g` may pass in ``Y^H Y``.
    """
    if g is None:
        g, _ = y.gram()
    try:
        r = cholesky_upper(g, y.pool)
    except CholeskyBreakdown:
        chain = qr_chain(y, "householder", carry_a=True)
        return chain.carried["a"].conj().T
    return y.solve(r).adjoint_times()


def _normalize_lu(z):
    # P L of the partially pivoted LU: well-conditioned columns spanning
    # range(Z), cheaper than QR (Halko et al. §4.5; sklearn's "LU").
    return scipy.linalg.lu(z, permute_l=True, check_finite=False)[0]


def _adjoint_step(y, g, normalizer):
    """``Z = norm(A^H norm(Y))`` (N x l): the A^H half of a power iteration."""
    if normalizer == "qr":
        return well_conditioned(_orthonormal_adjoint(y, g))
    if normalizer == "lu":  # backends that hold Y explicitly
        return _normalize_lu(y.lu_basis().adjoint_times())
    return y.adjoint_times()


#: The re-normalisations of the power iterations, by name: "qr" (a
#: Cholesky-QR pass, Householder where it breaks down), "lu" (the permuted L
#: of partially pivoted LU; backends that hold the sample explicitly) and
#: "none".
NORMALIZERS = ("qr", "lu", "none")


def randomized(t, y, q, normalizer, *, carry_a=True):
    """The range finder of HMT on the operand t: the thin QR chain of its basis.

    Halko, Martinsson & Tropp (2011), Algorithm 4.4, written once for every
    backend: `y` is the sample operand ``A Omega`` (the caller draws Omega
    or applies a sketch); q power iterations ``Y <- A norm(A^H norm(Y))``
    with the re-normalisation `normalizer` (one of `NORMALIZERS`); then
    ``Q = orth(Y)`` by the CholeskyQR2 chain (`qr_chain`), whose final pass
    also gives ``B = Q^H A`` (``chain.carried["a"]``) if `carry_a`. Passes
    over A: ``2 q + 3`` with "qr" (``q + 3`` with "none"); a backend that
    holds Y explicitly forms each sample once.
    """
    g, _ = y.gram()
    y.finite([g])
    for i in range(q):
        y = t.times(_adjoint_step(y, g if i == 0 else None, normalizer))
    return qr_chain(y, "cholqr2", g=g if q == 0 else None, carry_a=carry_a)


def randomized_svd_of(t, y, k, q, normalizer, wide=False):
    """The k-term randomized SVD of A from the sample ``y = A Omega`` of t.

    t is A (or A^H if `wide`, for the backends that orient their operands);
    ``B = U_B S Vh`` and ``U = Q U_B``, signed by `signed_svd`.
    """
    chain = randomized(t, y, q, normalizer)
    u_b, s, vh = _svd_of_b(chain.carried["a"], k)
    return signed_svd(chain, u_b, s, vh, wide)


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
    """The fast Gram route: ``(chain, U_c, S, Vh, signs)`` or None if a check fails.

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
    u_op = t.times(mmat)
    g_u, high, low = u_op.gram_extremes()
    if not near_identity(g_u):
        return None
    try:
        r_u = cholesky_upper(g_u)
    except CholeskyBreakdown:
        return None
    u_c, s, w_h = np.linalg.svd(r_u * s_g.astype(r_u.dtype))
    vh = (w_h @ v.conj().T).astype(t.dtype, copy=False)
    chain = ChainResult(u_op, r_u, r_u, "gram", {})
    signs = None
    if high is not None:
        d = scipy.linalg.solve_triangular(r_u, u_c, check_finite=False)
        signs = _certain_signs(high, low, d, t.dtype)
    return chain, u_c, s.astype(lam.dtype, copy=False), vh, signs


def gram_svd(t, k, width, n_iter):
    """Top-k SVD of the tall operand t from its Gram matrix.

    Returns ``(chain, W, S, Vh, signs)`` with ``U = Q W`` (`signs` of U's
    columns if already known, else None). ``G = A^H A`` by one pass. If G
    resolves the top-k subspace (`_gram_resolves`) and `n_iter` is "auto":
    the fast route of `_gram_rayleigh_ritz`, one more pass. Otherwise (or
    if its checks fail): Z = the eigenvectors of the `width` largest
    eigenvalues, ``Y = A Z`` orthonormalised by the CholeskyQR2 chain (its
    first Gram matrix ``Z^H G Z`` from G, guarded by the final pass's check;
    its final pass gives ``B = Q^H A``), SVD of B, and, when the top k are
    below G's resolution (or `n_iter` asks for them), subspace iterations
    ``Z = orth(B^H) = orth(A^H Q)``. Deterministic: no random numbers.
    """
    m = t.shape[0]
    g, _ = t.gram()
    if not t.finite([g]):  # G overflowed: no use for eigenvectors; exact by TSQR
        chain = qr_chain(t, "householder")
        u_r, s, vh = svd_small(chain.r)
        return chain, u_r[:, :k], s[:k], vh[:k], None
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
    chain = qr_chain(t.times(z), "cholqr2", g=g_y, carry_a=True)
    b = chain.carried["a"]
    if n_iter == "auto":
        n_iter = 0 if resolved else GRAM_REFINEMENTS
    for _ in range(n_iter):
        # Z = orth(A^H Q); the Gram matrix of A Z is formed from the data here,
        # as G does not resolve the directions these iterations are for.
        z = well_conditioned(np.ascontiguousarray(b.conj().T))
        chain = qr_chain(t.times(z), "cholqr2", carry_a=True)
        b = chain.carried["a"]
    u_b, s, vh = _svd_of_b(b, k)
    return chain, u_b, s, vh, None


# --------------------------------------------------------------------------
# the routes of truncated_svd and randomized_svd on a tall operand
# --------------------------------------------------------------------------


def truncated_svd_tall(t, wide, k, tol, method, width, n_iter, omega=None):
    """truncated_svd of the oriented operand t (A, or A^H if `wide`), checked input.

    `method` is "dense" (the exact QR-first SVD, truncated to `k` or to
    `tol`), "gram" (`n_iter` "auto" or an int) or "randomized" (the test
    matrix `omega`, N x `width`, `n_iter` power iterations, QR normalizer).
    """
    if method == "dense":
        chain = qr_chain(t)
        u_r, s, vh = svd_small(chain.r)
        rank = k
        if tol is not None:
            rank = int(np.count_nonzero(s > tol * s[0])) if s.size else 0
        return signed_svd(chain, u_r[:, :rank], s[:rank], vh[:rank], wide)
    if method == "gram":
        chain, u_b, s, vh, signs = gram_svd(t, k, width, n_iter)
        return signed_svd(chain, u_b, s, vh, wide, signs)
    return randomized_svd_of(t, t.times(omega), k, n_iter, "qr", wide)
