"""Fixed-accuracy truncated SVD: grow a QB basis until a rank meets `tol`.

The contract is spectral: return the smallest rank r (as far as the basis
can tell) with ``||A - U_r S_r Vh_r||_2 <= tol ||A||_2``. Yu, Gu & Li's
randQB_EI (2018) tracks the Frobenius error ``||A||_F^2 - ||B||_F^2`` for
free, but the Frobenius norm of a slowly decaying tail is far above its
spectral norm (for ``sigma_j = 1/j`` it is about ``sqrt(r) sigma_{r+1}``),
so stopping on it would return ranks many times too large. Instead:

1. grow the basis (block Krylov or randQB, `_block_krylov.py`) a block at
   a time; at geometrically spaced widths take the SVD of the small B;
2. the candidate rank is the number of singular values of B above
   ``tol s_1(B) / SAFETY``. No smaller rank can pass, because the error of
   the rank-r truncation is at least ``s_{r+1}(B)`` (``Q^H`` of the error
   is ``B - B_r``), and ``s_1(B) <= ||A||_2`` makes the target conservative;
3. once the basis holds a margin of extra directions beyond the candidate
   and the singular value at the candidate's boundary has settled,
   estimate the candidate's true spectral error a posteriori (block power
   iteration on the implicit residual, `_error_estimate.residual_norm`) and
   accept it if the estimate is within the target; otherwise grow further.

A complete basis (width ``min(M, N)``) reproduces A to rounding and its
candidate is accepted without an estimate.
"""

from __future__ import annotations

import math

import numpy as np

from lowrank._core.results import SVDResult
from lowrank._core.validation import check_products_finite
from lowrank.approx._error_estimate import residual_norm
from lowrank.linalg._svd import canonical_signs

__all__ = ["svd_to_tolerance"]

#: The candidate rank keeps singular values above ``tol s_1 / SAFETY``, so
#: that the error of the candidate sits a little below the target and a
#: power estimate accurate to a percent (see `estimate_spectral_error`)
#: cannot pass a candidate whose true error exceeds it.
SAFETY = 1.02

#: Extra basis directions beyond the candidate rank before its error is
#: estimated: ``max(MARGIN_MIN, MARGIN_FRACTION * r)``. The directions
#: near the end of a Krylov or randomized basis are the least accurate.
MARGIN_MIN = 10
MARGIN_FRACTION = 0.25

#: After a candidate fails its estimate (or lacks its margin), the basis
#: grows by at least this factor before B is decomposed again, so the small
#: SVDs cost a geometric series, a constant times the last one.
GROWTH = 1.25

#: The rank decision reads singular values off the Gram matrix B B^H when
#: tol is at least this (see `_singular_values`).
GRAM_MIN_TOL = 1e-6

#: An error estimate is run only once the candidate's boundary singular
#: value changed by at most this (relative) since the previous decision.
RITZ_RTOL = 5e-3

#: Power iterations of the error estimate; it stops earlier once settled.
CHECK_ITERATIONS = 20


def _margin(rank):
    return max(MARGIN_MIN, math.ceil(MARGIN_FRACTION * rank))


def svd_to_tolerance(op, basis, tol, rng, max_width=None):
    """Grow `basis` until a truncation of its SVD meets `tol`.

    Returns ``(U, S, Vh)`` with the accepted rank (0 for a zero matrix), or
    None as soon as the basis would grow beyond `max_width` columns (the
    caller then has a cheaper exact route).
    """
    next_decision = 0
    previous = None
    while True:
        if max_width is not None and basis.width + basis.block > max_width:
            return None
        basis.extend()
        if basis.width < next_decision and not basis.complete:
            continue
        s = _singular_values(basis, tol)
        if s[0] == 0.0:
            q, b = basis.qb()
            return SVDResult(q[:, :0], s[:0], b[:0])
        target = tol * s[0]
        rank = int(np.count_nonzero(s > target / SAFETY))
        next_decision = max(math.ceil(GROWTH * basis.width), rank + _margin(rank))
        if basis.complete:
            break
        settled = previous is not None and _settled(s, previous, rank)
        previous = s
        if basis.width < rank + _margin(rank) or not settled:
            continue
        u, s, vh = _truncated(basis, rank)
        error = residual_norm(op, u, s, vh, rng, CHECK_ITERATIONS)
        if error <= target:
            return _canonical(u, s, vh)
    return _canonical(*_truncated(basis, rank))


def _singular_values(basis, tol):
    """Singular values of B for the rank decision.

    From the eigenvalues of the Gram matrix ``B B^H`` the basis keeps (no
    pass over B) when `tol` is at least `GRAM_MIN_TOL`: squaring leaves the
    values near the threshold ``tol s_1`` with relative error about
    ``eps / tol^2``, 1e-4 at worst. Below that, from an SVD of B.
    """
    if tol >= GRAM_MIN_TOL:
        return basis.ritz_values(basis.width)
    return np.linalg.svd(check_products_finite(basis.qb()[1]), compute_uv=False)


def _settled(s, previous, rank):
    """Whether the singular value at the candidate's boundary has converged.

    The values of B only grow with the basis (interlacing); an a posteriori
    check before the one at the boundary, ``s_rank``, stops moving would
    fail and waste its products.
    """
    j = min(rank, previous.size) - 1
    return (s[j] - previous[j]) <= RITZ_RTOL * s[j]


def _truncated(basis, rank):
    from lowrank.approx._qb import svd_of_qb

    q, b = basis.qb()
    return svd_of_qb(q, check_products_finite(b), rank)


def _canonical(u, s, vh):
    u, vh = canonical_signs(u, vh, overwrite=True)
    return SVDResult(u, s, vh)
