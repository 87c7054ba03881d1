"""Thin QR of tall-skinny matrices: CholeskyQR2, shifted CholeskyQR3, Householder.

For m >> n almost all the work of a Cholesky-QR pass is two level-3 BLAS calls
on the m x n matrix (a syrk/herk for the Gram matrix and a trsm), which run
near the machine's peak, while LAPACK's Householder QR (geqrf + orgqr) is
memory bound. `qr_chain` is the one driver of the chain: it makes every
decision on n x n matrices and reaches the tall operand only through the
passes of `lowrank._backends.protocol.TallOperand`, so the same code runs on
a numpy array and on a row-chunked dask array.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import scipy.linalg
from scipy.linalg import get_lapack_funcs

from lowrank._backends.dispatch import as_tall_operand
from lowrank._core.blas import (
    cholesky_upper_factor,
    matmul,
    small_matmul,
    solve_upper,
)
from lowrank._core.results import QRResult
from lowrank._core.validation import check_method
from lowrank.exceptions import FallbackWarning

__all__ = [
    "QR_CHAIN",
    "TALL_QR_METHODS",
    "ChainResult",
    "CholeskyBreakdown",
    "cholqr2_threshold",
    "qr_chain",
    "tall_qr",
    "use_rcholqr",
]


class CholeskyBreakdown(Exception):
    """A Cholesky-QR pass met a Gram matrix that is not numerically definite.

    ``rank_deficient=True`` says A itself is numerically rank deficient, so
    that no Cholesky-based method can succeed and the chain may go straight
    to Householder QR.
    """

    def __init__(self, rank_deficient=False):
        super().__init__()
        self.rank_deficient = rank_deficient


def cholesky_upper(g, pool="scipy"):
    """Upper Cholesky factor of the Gram matrix `g`; CholeskyBreakdown if none.

    `pool` is the operand's (`TallOperand.pool`): whose LAPACK to call.
    """
    try:
        r = cholesky_upper_factor(g, pool)
    except np.linalg.LinAlgError:
        raise CholeskyBreakdown from None
    if not np.all(np.isfinite(r)):
        raise CholeskyBreakdown
    return r


def _condition_estimate(r):
    """1-norm condition number estimate of triangular R (LAPACK trcon, O(n^2))."""
    (trcon,) = get_lapack_funcs(("trcon",), (r,))
    rcond, info = trcon(r, norm="1", uplo="U", diag="N")
    if info != 0 or not np.isfinite(rcond) or rcond <= 0:
        return np.inf
    return 1.0 / rcond


#: A final Cholesky-QR pass is trusted only if its input Q satisfies
#: ||Q^H Q - I||_F <= this, i.e. cond(Q)^2 <= 3: the pass then returns a Q
#: orthogonal to O(eps). The test costs nothing: Q^H Q is the Gram matrix the
#: pass forms anyway.
FINAL_PASS_DEFECT = 0.5


def near_identity(g):
    """Whether the Gram matrix `g` passes the check of a final Cholesky-QR pass."""
    return bool(
        np.linalg.norm(g - np.eye(g.shape[0], dtype=g.dtype)) <= FINAL_PASS_DEFECT
    )


def _carried_through(r_last, carried, pool):
    """``Q^H X = r_last^{-H} (q_prev^H X)`` for each carried product."""
    return {
        key: solve_upper(r_last, value, adjoint=True, pool=pool)
        for key, value in carried.items()
    }


def _pool(y):
    """Whose LAPACK the chain's small steps call: the operand's pool."""
    return y.pool


def _final_pass(q, r, b, carry_a):
    """The last Cholesky-QR pass on the operand `q`, checked before it is trusted.

    The pass's triangular solve is left to the caller: returns
    ``(q, r_last, R, carried)`` with the final ``Q = q r_last^{-1}`` and
    ``Y = Q R``. Callers that only need ``Q W`` or ``Q^H`` times something
    (a pseudo-inverse, the U of an SVD) save one pass over the tall matrix.
    Raises CholeskyBreakdown rather than returning a non-orthogonal Q.
    """
    g, carried = q.gram(b=b, carry_a=carry_a)
    if not near_identity(g):
        raise CholeskyBreakdown
    pool = _pool(q)
    r_last = cholesky_upper(g, pool)
    return (
        q,
        r_last,
        small_matmul(r_last, r, pool),
        _carried_through(r_last, carried, pool),
    )


def shift_for(a_fro_squared, m, n, dtype):
    """The shift of shifted CholeskyQR3 [Fukaya et al. 2020].

    Uses ||A||_F^2 (the trace of the Gram matrix) as the bound on ||A||_2^2.
    """
    return 11.0 * (m * n + n * (n + 1)) * np.finfo(dtype).eps * a_fro_squared


def cholqr2_threshold(dtype):
    """Estimated cond(R_1) above which "auto" goes straight to shifted CholeskyQR3.

    CholeskyQR2 needs about cond(A)^2 eps < 1; beyond 0.1 / sqrt(eps) (6.7e6
    in float64, 290 in float32) its check would most likely fail, so its two
    passes are skipped. Correctness does not rest on this estimate but on the
    check of the final pass (`FINAL_PASS_DEFECT`).
    """
    return 0.1 / np.sqrt(np.finfo(dtype).eps)


def _cholqr2(y, g, b, carry_a, skip_if_hopeless):
    """CholeskyQR2 [Fukaya et al. 2014; Yamamoto et al. 2015]: O(eps)
    orthogonality for cond(A) up to about eps^{-1/2}; breakdown beyond."""
    r1 = cholesky_upper(g, _pool(y))
    if skip_if_hopeless and _condition_estimate(r1) > cholqr2_threshold(y.dtype):
        raise CholeskyBreakdown
    return _final_pass(y.solve(r1), r1, b, carry_a)


def _scholqr3(y, g, b, carry_a, skip_if_hopeless):
    """Shifted CholeskyQR3 [Fukaya, Kannan, Nakatsukasa, Yamamoto, Yanagisawa
    2020]: a shifted pass, then CholeskyQR2 on its Q. O(eps) orthogonality for
    cond(A) up to about 1/eps; breakdown for numerically rank-deficient A."""
    m, n = y.shape
    shift = shift_for(np.real(np.trace(g)), m, n, y.dtype)
    r1 = cholesky_upper(g + shift * np.eye(n, dtype=g.dtype), _pool(y))
    q = y.solve(r1)
    r2 = cholesky_upper(q.gram()[0], _pool(y))
    return _final_pass(q.solve(r2), small_matmul(r2, r1, _pool(y)), b, carry_a)


#: Randomized preconditioning ("rcholqr"): the sketch has this many times N
#: rows and this many nonzeros per column of the sparse sign matrix.
SKETCH_ROWS_PER_COLUMN = 3
SKETCH_NONZEROS = 4
#: Fixed seed of that sketch, so that tall_qr, pinv and svd stay
#: deterministic. Correctness does not rest on the draw being lucky: the
#: pass after it is checked (`PRECONDITIONED_MAX_COND`) and falls back.
SKETCH_SEED = 20261128
#: The Cholesky-QR pass on the preconditioned ``Y = A R_s^{-1}`` is trusted if
#: the condition number of its Cholesky factor (that of Y, to rounding) is
#: at most this; the loss of orthogonality of its Q grows with cond(Y)
#: (Garrison & Ipsen 2024; ``cond(Y)^2`` in the classical bound). Measured with the
#: sketch above on 100000 x 100 matrices of cond 1e3 to 1e13: cond(Y)
#: 2.9-5.5 and ||Q^H Q - I||_F = 0.35-0.56 N eps. (The 2-norm condition
#: number is computed exactly, from the N singular values of the factor:
#: LAPACK's 1-norm estimate overshot it ~10x for N = 100.)
PRECONDITIONED_MAX_COND = 8.0
#: "auto" tries "rcholqr" first when M >= this * N and M N >= `RCHOLQR_MIN_SIZE`
#: (below that the sketch saves too little to pay for importing numba).
RCHOLQR_MIN_ASPECT = 4
RCHOLQR_MIN_SIZE = 2**19


def use_rcholqr(shape):
    """Whether "auto" starts the chain with randomized-preconditioned CholeskyQR."""
    m, n = shape
    return n >= 1 and m >= RCHOLQR_MIN_ASPECT * n and m * n >= RCHOLQR_MIN_SIZE


def _phase_normalised(r):
    """Scale the rows of upper triangular R so that its diagonal is real >= 0."""
    d = np.diagonal(r)
    safe = np.where(d == 0, 1, d)
    return r * (np.abs(safe) / safe)[:, np.newaxis]


def _trusted_cond(dtype):
    """Largest cond(R_s) for which ``A R_s^{-1}`` is computed to working accuracy."""
    return 0.1 / np.finfo(dtype).eps


def _rcholqr(y, g, b, carry_a, skip_if_hopeless):
    """Randomized preconditioned CholeskyQR: R_s from a QR of the sketch S A,
    then one Cholesky-QR pass on the well-conditioned ``Y = A R_s^{-1}``.

    A sparse sign sketch S (d = 3N rows, 4 nonzeros per column) embeds the
    range of A with distortion bounded away from 1, so ``cond(Y)`` is a small
    constant whatever cond(A) is, as long as ``cond(A) eps << 1`` [Fan, Guo &
    Lin 2021; Balabanov 2022; Garrison & Ipsen 2024]. Two passes over A (trsm,
    syrk) plus the sketch, against three (CholeskyQR2) or five (shifted
    CholeskyQR3). Raises CholeskyBreakdown if R_s is numerically singular
    (``rank_deficient=True``; also for a sketch that overflowed) or the final
    pass is not certified.
    """
    n = y.shape[1]
    sketch = y.sketch(SKETCH_ROWS_PER_COLUMN * n, SKETCH_NONZEROS, SKETCH_SEED)
    if not y.finite([sketch]):
        raise CholeskyBreakdown(rank_deficient=True)  # overflow: Householder
    r_s = scipy.linalg.qr(sketch, mode="r", check_finite=False)[0][:n]
    if not (
        np.all(np.isfinite(r_s)) and _condition_estimate(r_s) <= _trusted_cond(y.dtype)
    ):
        raise CholeskyBreakdown(rank_deficient=True)
    r_s = _phase_normalised(r_s)
    q = y.solve(r_s)
    g_y, carried = q.gram(b=b, carry_a=carry_a)
    r_last = cholesky_upper(g_y)
    s = scipy.linalg.svdvals(r_last, check_finite=False)
    if not s[-1] * PRECONDITIONED_MAX_COND >= s[0]:
        raise CholeskyBreakdown
    return q, r_last, matmul(r_last, r_s), _carried_through(r_last, carried, _pool(y))


#: The fallback chain, fastest first. Each Cholesky-based step raises
#: CholeskyBreakdown where it cannot guarantee O(eps) orthogonality.
QR_CHAIN = ("rcholqr", "cholqr2", "scholqr3", "householder")
_STEPS = {"rcholqr": _rcholqr, "cholqr2": _cholqr2, "scholqr3": _scholqr3}

#: Public method names of tall_qr: where in QR_CHAIN each starts.
TALL_QR_METHODS = {"auto": "auto", **{name: name for name in QR_CHAIN}}


def _chain_from(start, shape):
    """The methods tried, in order, for a chain that starts at `start`.

    "rcholqr" covers every condition number that CholeskyQR2 covers, so a
    chain starting there skips it; "auto" starts there only when
    `use_rcholqr` says the sketch pays off, else at "cholqr2".
    """
    if start == "auto":
        start = "rcholqr" if use_rcholqr(shape) else "cholqr2"
    chain = QR_CHAIN[QR_CHAIN.index(start) :]
    if start == "rcholqr":
        chain = tuple(name for name in chain if name != "cholqr2")
    return start, chain


class ChainResult(NamedTuple):
    """A thin QR ``Y = Q R`` from `qr_chain`, with Q kept implicit.

    ``Q = q r_last^{-1}`` (``Q = q`` when `r_last` is None: Householder);
    `carried` holds ``Q^H A`` ("a") and ``Q^H b`` ("b") when asked for.
    """

    q: object
    r_last: np.ndarray | None
    r: np.ndarray
    method: str
    carried: dict

    def small(self, w):
        """``r_last^{-1} W``, so that ``Q W = q.apply(small(W))``."""
        if self.r_last is None:
            return w
        return solve_upper(self.r_last, w, pool=_pool(self.q))

    def q_apply(self, w):
        """The tall ``Q W`` (one product over the tall operand)."""
        return self.q.apply(self.small(w))

    def q_explicit(self):
        """Q itself: the last triangular solve, in place where the backend can."""
        if self.r_last is None:
            return self.q.apply()
        return self.q.solve(self.r_last).apply()


def qr_chain(y, start="auto", *, warn=False, g=None, b=None, carry_a=False):
    """Thin QR of the tall operand `y` (a `TallOperand`) along `QR_CHAIN` from `start`.

    The one driver of the Cholesky-QR chain, for every backend. The rule of
    "auto" (no warning): for large, clearly tall operands (`use_rcholqr`)
    randomized preconditioned CholeskyQR, else form G = Y^H Y once and use
    CholeskyQR2 if chol(G) exists, its estimated condition number is at
    most `cholqr2_threshold` and the final pass's check passes; otherwise
    shifted CholeskyQR3 (on the same G); if that breaks down too (Y
    numerically rank deficient), Householder QR (TSQR on dask). A
    rank-deficient Y detected by "rcholqr", or a Gram matrix that
    overflowed, goes to Householder directly. With ``warn=True`` (an
    explicitly chosen method) each fallback emits a FallbackWarning.

    `g` may pass in an already formed (and finiteness-checked) Gram matrix
    ``Y^H Y``; `b` and `carry_a` ask for ``Q^H b`` and ``Q^H A``, computed
    in the final pass at no extra pass. Returns a `ChainResult`.

    Passes over A: 2 for rCholeskyQR and for CholeskyQR2 (1 if `g` is
    given), 3 for shifted CholeskyQR3 (2), 1 for Householder/TSQR; a
    breakdown adds the passes already made, and a Gram matrix is formed
    once for the whole chain.
    """
    start, chain = _chain_from(start, y.shape)
    result, used = None, "householder"
    for name in chain[:-1]:  # the Cholesky-based steps; Householder is last
        if g is None and name != "rcholqr":
            g, _ = y.gram()
            if not y.finite([g]):
                break  # an overflowing Gram matrix is no use to Cholesky
        try:
            result = _STEPS[name](y, g, b, carry_a, not warn)
        except CholeskyBreakdown as breakdown:
            if breakdown.rank_deficient:
                break
            continue
        used = name
        break
    if warn and used != start:
        warnings.warn(
            f"{start} broke down (cond(A) too large for it); used {used} instead",
            FallbackWarning,
            stacklevel=3,
        )
    if result is None:
        q, r, carried = y.householder(b=b, carry_a=carry_a)
        return ChainResult(q, None, r, "householder", carried)
    q, r_last, r, carried = result
    return ChainResult(q, r_last, r, used, carried)


def tall_qr(a, *, method="auto", check_finite=True):
    """Thin QR factorization of a tall matrix, fast for M >> N.

    Parameters
    ----------
    a : array_like, shape (M, N)
        Matrix with ``M >= N``. float32/complex64 are computed in their own
        precision; integers in float64.
        A dask array chunked along its long side is computed on its blocks
        (see :doc:`/distributed`).
    method : {"auto", "rcholqr", "cholqr2", "scholqr3", "householder"}, optional
        ``"rcholqr"``: randomized preconditioned CholeskyQR, a QR of a sparse
        sketch of A and then one Cholesky-QR pass on the preconditioned
        matrix (two passes over A, about ``3 M N^2`` flops), for cond(A) up
        to about ``0.1 / eps``; deterministic (the sketch has a fixed seed).
        ``"cholqr2"``: CholeskyQR2, two Cholesky-QR passes (about ``4 M N^2``
        flops, all level-3 BLAS), for cond(A) up to about ``eps^{-1/2}``.
        ``"scholqr3"``: shifted CholeskyQR3 (three passes), for cond(A) up to
        about ``1/eps``. ``"householder"``: LAPACK geqrf + orgqr, any A.
        ``"auto"`` (default): the fastest of these that is safe for `a`, see
        Notes. An explicitly chosen Cholesky method that breaks down falls
        back along the same chain with a
        :class:`~lowrank.exceptions.FallbackWarning`.
    check_finite : bool, optional
        Check elementwise for NaN/Inf (default); with False a cheaper sum test
        is used. For a dask array the test is always the deferred one (NaN/Inf
        show in the first pass's small results, so it is exact and costs no
        pass) and raises ValueError whatever this flag says.

    Returns
    -------
    QRResult
        ``(Q, R)`` with Q of shape (M, N) with orthonormal columns and R of
        shape (N, N) upper triangular with a real non-negative diagonal, so
        that for full-rank A the factorization is unique.

    Raises
    ------
    ValueError
        If `a` is not 2-D, is wide (M < N), contains NaN/Inf or `method` is
        unknown.
    TypeError
        For unsupported dtypes.

    See Also
    --------
    svd : Thin SVD built on this QR.
    numpy.linalg.qr : Householder QR (``mode="reduced"``).

    Notes
    -----
    A Cholesky-QR pass forms ``G = A^H A`` (syrk/herk), ``R = chol(G)`` and
    ``Q = A R^{-1}`` (trsm); its Q loses orthogonality like
    ``cond(A)^2 eps``, and a second pass on Q restores it to ``O(eps)``
    (CholeskyQR2, [1]_, [2]_). Shifting the first Gram matrix by
    ``s = 11 (M N + N (N + 1)) eps ||A||_F^2`` keeps its Cholesky factor
    defined up to cond(A) about ``1/eps`` (shifted CholeskyQR3, [3]_).

    Randomized preconditioning [4]_, [5]_, [6]_: a sparse sign matrix S
    with ``3 N`` rows and 4 nonzeros per column embeds the range of A, so
    with ``S A = Q_s R_s`` the matrix ``Y = A R_s^{-1}`` has a small
    condition number (measured 3-6) whatever cond(A) is, and one
    Cholesky-QR pass on Y is accurate. The sketch costs ``4 M N``
    additions, a fraction of a pass.

    Rule of ``"auto"``: for ``M >= 4 N`` and ``M N >= 2^19``, randomized
    preconditioned CholeskyQR, trusted only if ``cond(Y) <= 8`` (computed
    from the N x N Cholesky factor), else shifted CholeskyQR3, or Householder
    QR directly if ``R_s`` shows A to be numerically rank deficient. For
    smaller or squarer A: form G once; if ``chol(G)`` exists and its
    estimated condition number is below ``0.1 / sqrt(eps)``, finish
    CholeskyQR2; otherwise run shifted CholeskyQR3 on the same G; if that
    breaks down (A is numerically rank deficient), use Householder QR.
    Breakdown is detected, never returned: the last pass of CholeskyQR2 and
    shifted CholeskyQR3 only runs if its input satisfies
    ``||Q^H Q - I||_F <= 1/2``, read off the Gram matrix it forms anyway.

    **Accuracy** with ``"auto"``: ``||Q^H Q - I||_F <= 10 N eps`` and
    ``||A - Q R||_F <= 10 N eps ||A||_F`` for any A (the Cholesky methods
    cover cond(A) up to 1e12 in float64; measured about ``0.2 N eps`` and
    ``0.05 N eps`` on 20000 x 50 matrices with cond 1 to 1e12).

    References
    ----------
    .. [1] T. Fukaya, Y. Nakatsukasa, Y. Yanagisawa, Y. Yamamoto,
       "CholeskyQR2: a simple and communication-avoiding algorithm for
       computing a tall-skinny QR factorization on a large-scale parallel
       system", ScalA 2014. https://doi.org/10.1109/ScalA.2014.11
    .. [2] Y. Yamamoto, Y. Nakatsukasa, Y. Yanagisawa, T. Fukaya, "Roundoff
       error analysis of the CholeskyQR2 algorithm", ETNA 44 (2015), 306-326.
    .. [3] T. Fukaya, R. Kannan, Y. Nakatsukasa, Y. Yamamoto, Y. Yanagisawa,
       "Shifted Cholesky QR for computing the QR factorization of
       ill-conditioned matrices", SIAM J. Sci. Comput. 42(1) (2020),
       A477-A503. https://doi.org/10.1137/18M1218212
    .. [4] Y. Fan, Y. Guo, T. Lin, "A novel randomized XR-based
       preconditioned CholeskyQR algorithm", arXiv preprint (2021).
    .. [5] O. Balabanov, "Randomized Cholesky QR factorizations", arXiv
       preprint (2022).
    .. [6] J. E. Garrison, I. C. F. Ipsen, "A randomized preconditioned
       Cholesky-QR algorithm", arXiv:2406.11751 (2024): the loss of
       orthogonality grows with cond(Y) only, not with cond(A), even for
       numerically singular A.

    Examples
    --------
    >>> import numpy as np
    >>> import lowrank
    >>> a = np.random.default_rng(0).standard_normal((10000, 20))
    >>> q, r = lowrank.tall_qr(a)
    >>> q.shape, r.shape
    ((10000, 20), (20, 20))
    >>> eps = np.finfo(a.dtype).eps
    >>> bool(np.linalg.norm(q.T @ q - np.eye(20)) <= 10 * 20 * eps)
    True
    >>> bool(np.linalg.norm(a - q @ r) <= 10 * 20 * eps * np.linalg.norm(a))
    True
    >>> np.allclose(r, np.triu(r)), bool(np.all(np.diag(r) >= 0))
    (True, True)
    """
    start = check_method(method, TALL_QR_METHODS)
    y = as_tall_operand(a, "a", check_finite)
    if y.shape[1] == 0:
        return QRResult(y.apply(np.zeros((0, 0), y.dtype)), np.zeros((0, 0), y.dtype))
    chain = qr_chain(y, start, warn=method != "auto")
    return QRResult(chain.q_explicit(), np.triu(chain.r))
