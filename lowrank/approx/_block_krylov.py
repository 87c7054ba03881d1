"""Growing orthonormal bases for QB: block Krylov (Lanczos) and blocked randQB.

Both keep an orthonormal ``Q`` (M x l) and ``B^H = A^H Q`` (N x l), so that
``A ≈ Q B`` with ``B = Q^H A`` exactly, and grow by one block per
`extend` call. The fixed-rank block Krylov method extends a fixed number of
times; the fixed-accuracy driver (`_fixed_accuracy.py`) extends until its
error test passes.

**Block Krylov** (Musco & Musco 2015) spans

    K = [A Omega, (A A^H) A Omega, ..., (A A^H)^q A Omega]

and is built as block Golub–Kahan–Lanczos with full re-orthogonalisation::

    Q_0 = orth(A Omega)
    Z_i = A^H Q_i                    (a block of rows of B = Q^H A)
    P_i = orth(Z_i against P_0..P_{i-1})
    Q_{i+1} = orth(A P_i against Q_0..Q_i)

Every product with ``A^H`` yields a block of B directly, so ``q + 1``
blocks cost ``q + 1`` products with A and ``q + 1`` with ``A^H`` on ``b``
vectors each — the cost of subspace iteration with ``q`` power iterations —
but the approximation draws on all ``(q + 1) b`` directions instead of the
last ``b``. That is what gives block Krylov its gap-independent
``(1 + eps)`` guarantee with ``q = O(log(N) / sqrt(eps))`` (Musco & Musco,
Theorem 1) where subspace iteration needs ``q = O(log(N) / eps)``.

**Blocked randQB** (Yu, Gu & Li 2018, with power iterations as in their
Algorithm 4) adds a block sampled from the residual ``A - Q B``:
``Y = (I - Q Q^H) (A A^H)^q A Omega``, re-normalised after every product.
"""

from __future__ import annotations

import numpy as np

from lowrank._core.validation import check_products_finite
from lowrank.approx._sketch import random_test_matrix

__all__ = [
    "KrylovBasis",
    "RandQBBasis",
    "orthonormal_complement",
    "orthonormalize",
    "well_conditioned",
]

#: Relative size below which the part of a new block outside the basis is
#: taken as rounding noise (the space is exhausted in that direction). Those
#: directions are replaced by random ones so that Q stays orthonormal.
DEFLATION_RTOL = 100.0


def _cholqr_pass(y):
    """One Cholesky-QR pass ``(Y R^{-1}, R)`` with numpy's LAPACK only.

    numpy and scipy each bundle an OpenBLAS with its own thread pool; calls
    alternating between the two leave one pool spinning while the other
    works, and on two cores that doubled the time of block Krylov (0.58 s
    against 0.26 s with scipy's pool held to one thread, 4000 x 3000,
    k = 50). The products with A are numpy's, so the small steps here are
    too: the triangular solve is numpy's LU solve of ``R^H X = Y^H``
    (backward stable, twice trsm's flops on an l x l system).
    Raises LinAlgError when Cholesky breaks down.
    """
    # the lower factor, transposed: `upper=` needs numpy >= 2.0
    r = np.linalg.cholesky(y.conj().T @ y).conj().T
    if not np.isfinite(r).all():
        raise np.linalg.LinAlgError("Cholesky factor not finite")
    q = np.linalg.solve(r.conj().T, y.conj().T).conj().T
    return q, r


def orthonormalize(y):
    """Thin QR ``(Q, R)`` of a tall block: CholeskyQR2, Householder as fallback.

    The second pass is trusted only if the first pass's Q has
    ``||Q^H Q - I||_F <= 1/2`` (then it returns Q orthonormal to O(eps);
    Yamamoto et al. 2015); otherwise, or if Cholesky breaks down, Householder
    QR. LAPACK's Householder QR of a 4000 x 60 block took 45 ms here, ten
    times more than the two passes.
    """
    if y.shape[0] < y.shape[1] or y.shape[1] == 0:
        return np.linalg.qr(y, mode="reduced")
    try:
        q, r = _cholqr_pass(y)
        g = q.conj().T @ q
        if not np.linalg.norm(g - np.eye(g.shape[0])) <= 0.5:
            raise np.linalg.LinAlgError("first pass too far from orthonormal")
        q, r2 = _cholqr_pass(q)
        return q, r2 @ r
    except np.linalg.LinAlgError:
        return np.linalg.qr(y, mode="reduced")


def well_conditioned(y):
    """A basis of range(Y) with condition number near 1 (not orthonormal to eps).

    One Cholesky-QR pass, ``Y R^{-1}`` with ``R = chol(Y^H Y)``, Householder
    QR when Cholesky breaks down (cond(Y) beyond about 1e8). Like Householder
    QR it is backward stable, ``Y + dY = Q R`` with ``||dY|| = O(eps ||Y||)``,
    so it spans range(Y) as accurately; only the orthogonality of Q (error
    ``cond(Y)^2 eps``) is given up. That suits the re-normalisations inside
    power and Krylov iterations, which need a well-conditioned basis.
    """
    if y.shape[0] < y.shape[1] or y.shape[1] == 0:
        return np.linalg.qr(y, mode="reduced")[0]
    try:
        return _cholqr_pass(y)[0]
    except np.linalg.LinAlgError:
        return np.linalg.qr(y, mode="reduced")[0]


def orthonormal_complement(y, basis, rng):
    """Orthonormalise the block `y` against the orthonormal columns of `basis`.

    Classical Gram–Schmidt twice ("twice is enough": Giraud, Langou &
    Rozložník 2005) keeps the new columns orthogonal to the basis to
    rounding. Directions that vanish are replaced by random vectors
    projected the same way, so the result always has orthonormal columns.
    """
    dtype = y.dtype
    scale = float(np.linalg.norm(y, axis=0).max(initial=0.0))
    for _ in range(2):
        if basis.shape[1]:
            y = y - basis @ (basis.conj().T @ y)
    q, r = orthonormalize(y)
    finfo = np.finfo(dtype)
    floor = DEFLATION_RTOL * finfo.eps * max(scale, float(finfo.tiny))
    lost = np.abs(np.diagonal(r)) <= floor
    if np.any(lost):
        kept = q[:, ~lost]
        fresh = random_test_matrix(rng, y.shape[0], int(lost.sum()), dtype)
        full = np.concatenate([basis, kept], axis=1)
        q = np.concatenate([kept, orthonormal_complement(fresh, full, rng)], axis=1)
    return q


class _GrowingQB:
    """Shared state: Q (M x l), B^H = A^H Q (N x l), and the cap min(M, N)."""

    def __init__(self, op, block, rng):
        m, n = op.shape
        self.op, self.block, self.rng = op, block, rng
        self.q = np.empty((m, 0), dtype=op.dtype)
        self.bh = np.empty((n, 0), dtype=op.dtype)
        self.gram = np.empty((0, 0), dtype=op.dtype)
        self.limit = min(m, n)

    @property
    def width(self):
        return self.q.shape[1]

    @property
    def complete(self):
        """Whether Q spans the whole range (then ``Q B = A`` to rounding)."""
        return self.width >= self.limit

    def _next_size(self):
        return min(self.block, self.limit - self.width)

    def _matmat(self, x):
        return check_products_finite(self.op.matmat(x))

    def _rmatmat(self, y):
        return check_products_finite(self.op.rmatmat(y))

    def _append(self, q_new):
        z = self._rmatmat(q_new)
        # B B^H grown by a bordered block: N l b flops per step instead of N l^2
        cross = self.bh.conj().T @ z
        corner = z.conj().T @ z
        self.gram = np.block([[self.gram, cross], [cross.conj().T, corner]])
        self.q = np.concatenate([self.q, q_new], axis=1)
        self.bh = np.concatenate([self.bh, z], axis=1)

    def ritz_values(self, k):
        """The k largest singular values of B, from the eigenvalues of B B^H.

        Squaring loses the values below ``sqrt(eps) s_1``; this is for
        watching convergence, not for the result.
        """
        w = np.linalg.eigvalsh(self.gram)[::-1][:k]
        return np.sqrt(np.maximum(w, 0.0))

    def qb(self):
        """``(Q, B)`` with ``B = Q^H A``."""
        return self.q, self.bh.conj().T


class KrylovBasis(_GrowingQB):
    """Block Krylov space of A A^H, one block (``Q_{i+1}``) per `extend`."""

    def __init__(self, op, block, rng):
        super().__init__(op, block, rng)
        self.p = np.empty((op.shape[1], 0), dtype=op.dtype)

    def extend(self):
        size = self._next_size()
        if self.width == 0:
            y = self._matmat(
                random_test_matrix(self.rng, self.p.shape[0], size, self.op.dtype)
            )
        else:
            z = self.bh[:, -self._last :]
            # P only chooses what A is applied to next: one projection and a
            # well-conditioned basis suffice; Q, which defines B, is the part
            # kept orthonormal to rounding.
            if self.p.shape[1]:
                z = z - self.p @ (self.p.conj().T @ z)
            p = well_conditioned(z)
            self.p = np.concatenate([self.p, p], axis=1)
            y = self._matmat(p[:, :size])
        q_new = orthonormal_complement(y, self.q, self.rng)
        self._last = q_new.shape[1]
        self._append(q_new)


class RandQBBasis(_GrowingQB):
    """randQB: each `extend` adds a block sampled from the residual.

    ``sample(width)`` returns ``A Omega`` for a fresh N x width test matrix;
    `power` iterations ``Y <- (I - Q Q^H) A A^H Y``, re-normalised with
    ``normalize`` after the product with ``A^H``, sharpen the block towards
    the residual's dominant singular directions.
    """

    def __init__(self, op, block, rng, power, sample, normalize):
        super().__init__(op, block, rng)
        self.power, self.sample, self.normalize = power, sample, normalize

    def extend(self):
        sample = check_products_finite(self.sample(self._next_size()))
        y = orthonormal_complement(sample, self.q, self.rng)
        for _ in range(self.power):
            # (A - Q B)^H Y = A^H Y because Y is orthogonal to Q
            z = self.normalize(self._rmatmat(y))
            y = orthonormal_complement(self._matmat(z), self.q, self.rng)
        self._append(y)


def block_krylov_qb(op, block, depth, rng):
    """``(Q, B)`` on the block Krylov space with ``depth + 1`` blocks."""
    basis = KrylovBasis(op, block, rng)
    for _ in range(depth + 1):
        if basis.complete:
            break
        basis.extend()
    return basis.qb()
