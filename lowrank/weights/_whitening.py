"""The whitening factor L of a weighting, ``G = L L^H``, by a rank-revealing route.

Whatever form the weighting comes in, it becomes a `Whitener`: an
orthonormal basis V (N x r) of the numerical range of G and the singular
values ``s`` of L (the square roots of G's eigenvalues), so that
``L = V diag(s)`` over the kept directions. No inverse is ever formed:
directions below the library's rank rule are G's numerical null space and
are dropped, so an ill-conditioned or singular G needs no hand-picked shift.

* ``gram``: eigh of G; ``s = sqrt(lambda)``, kept above the rank rule and
  above G's resolution ``sqrt(N eps) s_max`` (`eigh_floor`: eigenvalues of
  a rounded G are known only to about ``N eps lambda_max``).
* ``x`` (T x N activations, ``G = X^H X``): the thin SVD of X itself
  (QR-first for tall X), never ``X^H X``: ``L = V_X diag(s_X)`` keeps X's
  conditioning instead of squaring it.
* ``factor`` (N x r, ``G = L L^H``): the thin SVD of L, for the same reason.
* ``diag``: the kept coordinates and ``sqrt(diag)``; W L is a column scaling.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg

from lowrank._core.arrays import conj_t
from lowrank._core.spectral import eigh_floor, spectral_filter
from lowrank._core.validation import rank_cutoff_tolerances, real_dtype
from lowrank.linalg._svd import thin_svd

__all__ = ["Whitener", "whitener"]


class Whitener(NamedTuple):
    """``L = V diag(s)`` (or, for a diagonal G, columns `index` scaled by s)."""

    basis: np.ndarray | None  # V, (N, r) orthonormal columns; None for diag
    index: np.ndarray | None  # diag: the kept coordinates
    s: np.ndarray  # (r,) the singular values of L, > 0
    n: int

    @property
    def rank(self):
        return int(self.s.size)

    def apply(self, w):
        """``W L`` (M x r)."""
        if self.basis is None:
            return w[:, self.index] * self.s.astype(w.dtype, copy=False)
        return (w @ self.basis) * self.s.astype(w.dtype, copy=False)

    def project_range(self, b):
        """``B V V^H``: the rows of B restricted to the range of G."""
        if self.basis is None:
            out = np.zeros_like(b)
            out[:, self.index] = b[:, self.index]
            return out
        return (b @ self.basis) @ conj_t(self.basis)


def whitener(weighting, dtype, atol=None, rtol=None):
    """The `Whitener` of a validated weighting, computed in `dtype`."""
    kind, arr = weighting
    arr = arr.astype(dtype if kind != "diag" else real_dtype(dtype), copy=False)
    if kind == "gram":
        return _from_gram(arr, atol, rtol)
    if kind == "diag":
        return _from_diag(arr, atol, rtol)
    if kind == "x":  # G = X^H X = V_X S^2 V_X^H from X = U S Vh
        _, s, vh = thin_svd(arr)
        return _kept(conj_t(vh), s, arr.shape, arr.dtype, atol, rtol)
    u, s, _ = thin_svd(arr)  # G = L L^H = U S^2 U^H
    return _kept(u, s, arr.shape, arr.dtype, atol, rtol)


def _kept(v, s, shape, dtype, atol, rtol, floor=0.0):
    n = v.shape[0]
    if s.size == 0:
        return Whitener(v[:, :0], None, s, n)
    atol, rtol = rank_cutoff_tolerances(atol, rtol, shape, dtype)
    factors, _ = spectral_filter(s, s, atol, rtol, 0.0, floor=floor)
    keep = factors != 0
    return Whitener(np.ascontiguousarray(v[:, keep]), None, s[keep], n)


def _from_gram(g, atol, rtol):
    n = g.shape[0]
    if n == 0:
        return Whitener(g[:, :0], None, np.zeros(0, real_dtype(g.dtype)), 0)
    lam, v = scipy.linalg.eigh(g, check_finite=False)
    lam, v = lam[::-1], v[:, ::-1]  # descending
    s = np.sqrt(np.maximum(lam, 0))
    return _kept(v, s, g.shape, g.dtype, atol, rtol, floor=eigh_floor(g.shape, g.dtype))


def _from_diag(d, atol, rtol):
    n = d.shape[0]
    s = np.sqrt(d)
    if n == 0 or not s.any():
        return Whitener(None, np.zeros(0, np.intp), s[:0], n)
    atol, rtol = rank_cutoff_tolerances(atol, rtol, (n, n), d.dtype)
    factors, _ = spectral_filter(s, s, atol, rtol, 0.0)
    index = np.flatnonzero(factors)
    return Whitener(None, index, s[index], n)
