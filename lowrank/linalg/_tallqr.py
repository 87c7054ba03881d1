"""Thin QR of tall-skinny matrices: CholeskyQR2, shifted CholeskyQR3, Householder.

For m >> n almost all the work of a Cholesky-QR pass is two level-3 BLAS calls
on the m x n matrix (a syrk/herk for the Gram matrix and a trsm), which run
near the machine's peak, while LAPACK's Householder QR (geqrf + orgqr) is
memory bound. The functions here work on validated 2-D arrays with m >= n >= 1.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
from scipy.linalg import get_blas_funcs, get_lapack_funcs

from lowrank._backends.dask import dask_call, is_dask_array
from lowrank._core.blas import matmul
from lowrank._core.results import QRResult
from lowrank._core.validation import as_matrix_stack, check_method
from lowrank._kernels._rules import use_gram_kernel
from lowrank.exceptions import FallbackWarning

__all__ = [
    "QR_CHAIN",
    "gram",
    "householder_qr",
    "right_solve_upper",
    "tall_qr",
    "tall_qr_chain",
    "tall_qr_implicit",
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


def gram(a):
    """The Hermitian Gram matrix ``A^H A`` (n x n, both triangles).

    syrk/herk do half the flops of a general product and, unlike
    ``a.conj().T @ a``, run multi-threaded here (measured ~10x faster for
    100000 x 100). No copy is made of C- or Fortran-contiguous input. For
    real A with at most 32 columns and many rows, a row-blocked numba kernel
    is used instead, serially: inside tall_qr it made the whole
    factorization up to 2.7x faster (rule and measurements:
    `lowrank._kernels._rules.use_gram_kernel`).
    """
    if use_gram_kernel(a.shape, a.dtype):
        from lowrank._kernels.gram import gram_rowblocked

        return gram_rowblocked(a, parallel=False)
    complex_ = np.iscomplexobj(a)
    name = "herk" if complex_ else "syrk"
    if a.flags.f_contiguous:
        (rank_k,) = get_blas_funcs((name,), (a,))
        # trans=1 (syrk) / 2 (herk): A^T A or A^H A of the column-major A.
        upper = rank_k(1.0, a, trans=2 if complex_ else 1)
    else:
        at = np.asfortranarray(a.T)  # a view for C-contiguous a
        (rank_k,) = get_blas_funcs((name,), (at,))
        upper = rank_k(1.0, at, trans=0)  # A^T conj(A) = conj(A^H A)
        if complex_:
            upper = upper.conj()
    upper = np.triu(upper)
    return upper + np.triu(upper, 1).conj().T


def right_solve_upper(a, r, *, overwrite_a=False):
    """``A R^{-1}`` for upper triangular R by one trsm, in A's memory order."""
    (trsm,) = get_blas_funcs(("trsm",), (r, a))
    if a.flags.f_contiguous:
        return trsm(1.0, r, a, side=1, lower=0, overwrite_b=overwrite_a)
    # (A R^{-1})^T = R^{-T} A^T: a left solve on the column-major view A^T.
    at = np.asfortranarray(a.T)
    return trsm(1.0, r, at, side=0, lower=0, trans_a=1, overwrite_b=overwrite_a).T


def _cholesky_upper(g):
    try:
        return scipy.linalg.cholesky(g, lower=False, check_finite=False)
    except np.linalg.LinAlgError:
        raise CholeskyBreakdown from None


def _condition_estimate(r):
    """1-norm condition number estimate of triangular R (LAPACK trcon, O(n^2))."""
    (trcon,) = get_lapack_funcs(("trcon",), (r,))
    rcond, info = trcon(r, norm="1", uplo="U", diag="N")
    if info != 0 or not np.isfinite(rcond) or rcond <= 0:
        return np.inf
    return 1.0 / rcond


def _cholqr_pass(a, g=None, shift=0.0, overwrite_a=False):
    """One Cholesky-QR pass: R = chol(A^H A + shift I), Q = A R^{-1}."""
    if g is None:
        g = gram(a)
    if shift:
        g = g + shift * np.eye(g.shape[0], dtype=g.dtype)
    r = _cholesky_upper(g)
    if not np.all(np.isfinite(r)):
        raise CholeskyBreakdown
    return right_solve_upper(a, r, overwrite_a=overwrite_a), r


#: A final Cholesky-QR pass is trusted only if its input Q satisfies
#: ||Q^H Q - I||_F <= this, i.e. cond(Q)^2 <= 3: the pass then returns a Q
#: orthogonal to O(eps). The test costs nothing: Q^H Q is the Gram matrix the
#: pass forms anyway.
FINAL_PASS_DEFECT = 0.5


def _further_passes(q, r, passes):
    """`passes` more Cholesky-QR passes on Q; the last one checks its input.

    The last pass's triangular solve is left to the caller: returns
    ``(q_prev, r_last, r)`` with the final ``Q = q_prev r_last^{-1}`` and
    ``A = Q R``. Callers that only need ``Q^H`` times something (a
    pseudo-inverse, the U of an SVD) save one pass over the tall matrix.
    Raises CholeskyBreakdown rather than returning a non-orthogonal Q.
    """
    for i in range(passes):
        g = gram(q)
        if i == passes - 1:
            defect = np.linalg.norm(g - np.eye(g.shape[0], dtype=g.dtype))
            if not defect <= FINAL_PASS_DEFECT:
                raise CholeskyBreakdown
            r_last = _cholesky_upper(g)
            if not np.all(np.isfinite(r_last)):
                raise CholeskyBreakdown
            return q, r_last, matmul(r_last, r)
        q, r_next = _cholqr_pass(q, g, overwrite_a=True)
        r = matmul(r_next, r)
    raise ValueError("passes must be >= 1")


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


def _cholqr2(a, g, *, skip_if_hopeless=False):
    """CholeskyQR2 [Fukaya et al. 2014; Yamamoto et al. 2015]: O(eps)
    orthogonality for cond(A) up to about eps^{-1/2}; breakdown beyond."""
    q, r = _cholqr_pass(a, g)
    if skip_if_hopeless and _condition_estimate(r) > cholqr2_threshold(a.dtype):
        raise CholeskyBreakdown
    return _further_passes(q, r, 1)


def _scholqr3(a, g):
    """Shifted CholeskyQR3 [Fukaya, Kannan, Nakatsukasa, Yamamoto, Yanagisawa
    2020]: a shifted pass, then CholeskyQR2 on its Q. O(eps) orthogonality for
    cond(A) up to about 1/eps; breakdown for numerically rank-deficient A."""
    m, n = a.shape
    shift = shift_for(np.real(np.trace(g)), m, n, a.dtype)
    q, r = _cholqr_pass(a, g, shift=shift)
    return _further_passes(q, r, 2)


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


def _rcholqr(a, g=None):
    """Randomized preconditioned CholeskyQR: R_s from a QR of the sketch S A,
    then one Cholesky-QR pass on the well-conditioned ``Y = A R_s^{-1}``.

    A sparse sign sketch S (d = 3N rows, 4 nonzeros per column) embeds the
    range of A with distortion bounded away from 1, so ``cond(Y)`` is a small
    constant whatever cond(A) is, as long as ``cond(A) eps << 1`` [Fan, Guo &
    Lin 2021; Balabanov 2022; Garrison & Ipsen 2024]. Two passes over A (trsm,
    syrk) plus the sketch, against three (CholeskyQR2) or five (shifted
    CholeskyQR3). Raises CholeskyBreakdown if R_s is numerically singular
    (``rank_deficient=True``) or the final pass is not certified.
    """
    # Imported here: importing lowrank must not import numba.
    from lowrank._kernels.sketch import sparse_sign_sketch

    n = a.shape[1]
    sketch = sparse_sign_sketch(
        a,
        SKETCH_ROWS_PER_COLUMN * n,
        zeta=SKETCH_NONZEROS,
        rng=SKETCH_SEED,
        parallel=False,  # numba threads would contend with OpenBLAS's pool
    )
    r_s = scipy.linalg.qr(sketch, mode="r", check_finite=False)[0][:n]
    if not (np.all(np.isfinite(r_s)) and _condition_estimate(r_s) <= _trusted_cond(a)):
        raise CholeskyBreakdown(rank_deficient=True)
    r_s = _phase_normalised(r_s)
    y = right_solve_upper(a, r_s)
    g_y = gram(y)
    r_last = _cholesky_upper(g_y)
    if not np.all(np.isfinite(r_last)):
        raise CholeskyBreakdown
    s = scipy.linalg.svdvals(r_last, check_finite=False)
    if not s[-1] * PRECONDITIONED_MAX_COND >= s[0]:
        raise CholeskyBreakdown
    return y, r_last, matmul(r_last, r_s)


def _trusted_cond(a):
    """Largest cond(R_s) for which ``A R_s^{-1}`` is computed to working accuracy."""
    return 0.1 / np.finfo(a.dtype).eps


def _positive_diagonal(q, r):
    """Scale so that diag(R) is real and non-negative (the unique thin QR)."""
    d = np.diagonal(r)
    safe = np.where(d == 0, 1, d)
    phase = safe / np.abs(safe)
    return q * phase, r * phase.conj()[:, np.newaxis]


def householder_qr(a):
    """LAPACK Householder QR (geqrf + orgqr), diag(R) made non-negative."""
    q, r = np.linalg.qr(a, mode="reduced")
    return _positive_diagonal(q, r)


#: The fallback chain, fastest first. Each Cholesky-based step raises
#: CholeskyBreakdown where it cannot guarantee O(eps) orthogonality.
QR_CHAIN = ("rcholqr", "cholqr2", "scholqr3", "householder")


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


def tall_qr_implicit(a, start="auto", *, warn=False, g=None):
    """Thin QR of tall `a` (m >= n >= 1) in implicit form, from `start` in QR_CHAIN.

    Returns ``(q_prev, r_last, r, method_used)`` with ``Q = q_prev r_last^{-1}``
    orthonormal and ``A = Q R`` (for Householder, ``r_last`` is the identity).
    `g` may pass in an already formed Gram matrix ``A^H A``.

    The rule of "auto" (no warning): for large, clearly tall A
    (`use_rcholqr`) randomized preconditioned CholeskyQR, else form
    G = A^H A once and use CholeskyQR2 if chol(G) exists, its estimated
    condition number is at most `cholqr2_threshold` and the final pass's
    check passes; otherwise shifted CholeskyQR3 (on the same G); if that
    breaks down too (A numerically rank deficient), Householder QR. A
    rank-deficient A detected by "rcholqr" goes to Householder directly.
    With ``warn=True`` (an explicitly chosen method) each fallback emits a
    FallbackWarning.
    """
    start, chain = _chain_from(start, a.shape)
    steps = {
        "rcholqr": _rcholqr,
        "cholqr2": lambda a, g: _cholqr2(a, g, skip_if_hopeless=not warn),
        "scholqr3": _scholqr3,
    }
    result, used = None, "householder"
    for name in chain[:-1]:  # the Cholesky-based steps; Householder is last
        if g is None and name != "rcholqr":
            g = gram(a)
        try:
            result = steps[name](a, g)
        except CholeskyBreakdown as breakdown:
            if breakdown.rank_deficient:
                break
            continue
        used = name
        break
    if result is None:
        q, r = householder_qr(a)
        result = (q, np.eye(a.shape[1], dtype=a.dtype), r)
    if warn and used != start:
        warnings.warn(
            f"{start} broke down (cond(A) too large for it); used {used} instead",
            FallbackWarning,
            stacklevel=3,
        )
    return (*result, used)


def tall_qr_chain(a, start="auto", *, warn=False, g=None):
    """Thin QR of tall `a` with explicit Q: ``(Q, R, method_used)``.

    See `tall_qr_implicit` for the rule.
    """
    q_prev, r_last, r, name = tall_qr_implicit(a, start, warn=warn, g=g)
    if name == "householder":
        return q_prev, r, name
    # In place: q_prev is ours, and on this machine a fresh 80 MB output cost
    # more than the solve (tall_qr of 100000 x 100: 0.156 s in place, 0.214 s
    # with gemm by the explicit inverse into a new array).
    return right_solve_upper(q_prev, r_last, overwrite_a=True), r, name


def _validate_tall(a, name, check_finite):
    a = as_matrix_stack(a, name, check_finite_values=check_finite)
    if a.ndim != 2:
        raise ValueError(f"`{name}` must be a 2-D array, got shape {a.shape}")
    m, n = a.shape
    if m < n:
        raise ValueError(
            f"`{name}` must be tall (M >= N), got shape {a.shape}; for a wide "
            f"matrix factor its conjugate transpose `{name}.conj().T`"
        )
    return a


#: Public method names of tall_qr: where in QR_CHAIN each starts.
TALL_QR_METHODS = {"auto": "auto", **{name: name for name in QR_CHAIN}}


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
        Check elementwise for NaN/Inf (default); with False a cheaper sum
        test is used.

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
    if is_dask_array(a):  # row-chunked dask array: lowrank._backends.dask
        return dask_call("tall_qr", locals())
    start = check_method(method, TALL_QR_METHODS)
    a = _validate_tall(a, "a", check_finite)
    m, n = a.shape
    if n == 0:
        return QRResult(np.zeros((m, 0), a.dtype), np.zeros((0, 0), a.dtype))
    q, r, _ = tall_qr_chain(a, start, warn=method != "auto")
    return QRResult(q, np.triu(r))
