"""The leading left singular subspace of the whitened matrix W L.

Everything in the family reduces to it: with U_k the k leading left singular
vectors of W L, the rank-k approximation ``U_k U_k^H W`` has the least
weighted error ``||(W - W_k) L||_F = sqrt(sum_{j>k} s_j(W L)^2)`` (see
`lowrank.weights._whitened_svd`), and no pseudo-inverse of L is needed.

Two routes (the registry `SUBSPACE_METHODS`):

* ``"dense"``: LAPACK's SVD of the explicit W L. Exact: the weighted error is
  the optimum to within ``c eps ||W|| ||L||``.
* ``"gram"``: eigh of the smaller Gram matrix of W L, ``W G W^H`` (M x M,
  formed from G itself, no factor of G needed) or ``(W L)^H (W L)`` (then
  U_k is the orthonormalised ``W L Z_k``), computing only the k leading
  eigenpairs. Squaring puts the rounding at ``c eps ||W L||_2^2`` in the
  *squared* error, the level at which a G given in floating point defines
  the objective anyway.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg

from lowrank._core.arrays import conj_t
from lowrank.linalg._svd import thin_svd

__all__ = ["SUBSPACE_METHODS", "Subspace", "leading_subspace", "rank_for_tol"]


class Subspace(NamedTuple):
    u: np.ndarray  # (M, k) orthonormal columns
    tail: float  # sqrt(sum_{j>k} s_j(W L)^2): the weighted error of U U^H W
    numerical_rank: int  # rank of W L by the rank rule (among those computed)


def rank_for_tol(squares, tol):
    """Fewest leading terms whose discarded tail meets ``tol``.

    `squares` are the descending ``s_j^2``; returns the least k with
    ``sum_{j>k} s_j^2 <= tol^2 sum_j s_j^2`` (tails summed from the smallest
    up, so nothing cancels).
    """
    tails = np.cumsum(squares[::-1])[::-1]  # tails[j] = sum_{i >= j}
    total = tails[0] if tails.size else 0.0
    over = np.flatnonzero(tails > tol**2 * total)
    return int(over[-1] + 1) if over.size else 0


def _tail(squares):
    return (
        float(np.sqrt(np.sum(squares[::-1], dtype=np.float64))) if squares.size else 0.0
    )


def _dense(wl, k, tol, *, w=None, gram=None):
    u, s, _ = thin_svd(wl, "gesdd")
    squares = s.astype(np.float64) ** 2
    if tol is not None:
        k = rank_for_tol(squares, tol)
    k = min(k, s.size)
    cutoff = max(wl.shape) * np.finfo(wl.dtype).eps * (s[0] if s.size else 0)
    return Subspace(u[:, :k], _tail(squares[k:]), int(np.count_nonzero(s > cutoff)))


def _top_eigh(mat, k, tol):
    """Top eigenpairs (descending) of a Hermitian PSD `mat`: k of them, or tol's."""
    size = mat.shape[0]
    trace = float(np.real(np.trace(mat)))
    if tol is not None:
        lam_all = np.maximum(scipy.linalg.eigvalsh(mat, check_finite=False), 0)[::-1]
        k = rank_for_tol(lam_all.astype(np.float64), tol)
        tail = _tail(lam_all[k:].astype(np.float64))
    k = min(k, size)
    if k == 0:
        tail = tail if tol is not None else float(np.sqrt(max(trace, 0.0)))
        return np.zeros(0, np.finfo(mat.dtype).dtype), mat[:, :0], tail
    lam, z = scipy.linalg.eigh(
        mat, subset_by_index=[size - k, size - 1], check_finite=False, driver="evr"
    )
    lam, z = np.maximum(lam[::-1], 0), z[:, ::-1]
    if tol is None:
        # trace minus the top k: the discarded eigenvalues are each known only
        # to about size eps lambda_1, so this is as accurate as their sum
        tail = float(np.sqrt(max(trace - float(np.sum(lam, dtype=np.float64)), 0.0)))
    return lam, z, tail


def _gram(wl, k, tol, *, w=None, gram=None):
    if wl is None:  # W G W^H from G itself: the left Gram matrix of W L
        mat = (w @ gram) @ conj_t(w)
    elif wl.shape[0] <= wl.shape[1]:
        mat = wl @ conj_t(wl)
    else:
        mat = None
    if mat is not None:
        mat = (mat + conj_t(mat)) / 2  # exactly Hermitian for LAPACK
        lam, u, tail = _top_eigh(mat, k, tol)
        size = mat.shape[0]
    else:  # right Gram (W L)^H (W L), r x r, then U = orth(W L Z)
        mat = conj_t(wl) @ wl
        mat = (mat + conj_t(mat)) / 2
        lam, z, tail = _top_eigh(mat, k, tol)
        u = np.linalg.qr(wl @ z)[0] if z.shape[1] else wl[:, :0]
        size = max(wl.shape)
    cutoff = size * np.finfo(mat.dtype).eps * (lam[0] if lam.size else 0)
    return Subspace(u, tail, int(np.count_nonzero(lam > cutoff)))


#: method -> f(wl, k, tol, *, w, gram) -> Subspace. `wl` is W L explicitly,
#: or None with `w` and `gram` (only "gram" takes that form).
SUBSPACE_METHODS = {"dense": _dense, "gram": _gram}


def leading_subspace(method, k, tol, *, wl=None, w=None, gram=None):
    """The `Subspace` of W L by `method` ("dense" or "gram"), for `k` or `tol`."""
    return SUBSPACE_METHODS[method](wl, k, tol, w=w, gram=gram)
