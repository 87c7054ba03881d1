"""Truncated SVD: the k largest singular triplets, or the rank a tolerance needs.

One public function, :func:`truncated_svd`, over four methods (the registry
`TRUNCATED_SVD_METHODS`) and one rule for ``method="auto"``,
:func:`choose_truncated_svd_method`. Validation happens once, here; the
methods receive a linear map (`_linear_map.py`) and validated options.
"""

from __future__ import annotations

import inspect
import math
from typing import NamedTuple

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from lowrank._backends.dask import SUPPORTED_METHODS as DASK_METHODS
from lowrank._backends.dispatch import as_oriented_operand, is_dask_array
from lowrank._backends.linear_map import DenseMap, SparseMap, as_linear_map
from lowrank._core.results import SVDResult
from lowrank._core.validation import (
    OPERAND_KINDS,
    check_applies,
    check_backend_method,
    check_dask_matrix,
    check_dask_tol_method,
    check_k_or_tol,
    check_method,
    check_n_iter,
    check_nonnegative_int,
    check_operand_kind,
    check_products_finite,
    check_rng,
    operand_kind,
)
from lowrank.approx._block_krylov import KrylovBasis, block_krylov_qb
from lowrank.approx._fixed_accuracy import svd_to_tolerance
from lowrank.approx._qb import svd_of_qb
from lowrank.approx._rangefinder import (
    auto_power_iterations,
    empty_svd,
    make_plan,
    svd_from_plan,
)
from lowrank.approx._sketch import SKETCHES
from lowrank.approx._tall_svd import choose_tall_truncated_method, truncated_svd_tall
from lowrank.linalg._svd import empty_svd_like, thin_svd

__all__ = ["choose_truncated_svd_method", "truncated_svd"]

#: Matrices with ``min(M, N)`` up to this go to LAPACK ("dense"): below it a
#: full SVD costs less than the Python-level steps of the iterative methods
#: (benchmarks/bench_lowrank.py, the crossover table).
DENSE_MAX_SMALL_SIDE = 200

#: ... and so do larger ones whose block Krylov basis would cover at least
#: this fraction of ``min(M, N)``: then the basis costs about what the full
#: SVD does and is no longer exact.
DENSE_BASIS_FRACTION = 0.5

#: A sparse matrix is densified for "dense" only up to this many entries
#: (1 GiB of float64); above it the iterative methods run instead.
DENSE_MAX_ENTRIES = 2**27

#: ``n_iter="auto"`` for block Krylov: blocks of ``k + oversample`` columns
#: are added until the k leading Ritz values change by at most
#: KRYLOV_RITZ_RTOL (relative) from one block to the next, after at least
#: KRYLOV_MIN_DEPTH + 1 blocks and at most KRYLOV_MAX_DEPTH + 1. Measured on
#: 4000 x 3000 matrices with k = 50 (error ``||A - A_k||_2 / sigma_{k+1}``
#: at the depth the rule stops): ``sigma_j = 1/j`` and ``1/sqrt(j)``
#: converge by 4-5 blocks to 1.00000; a Gaussian matrix (flat
#: Marchenko–Pastur spectrum) needs 8 (1.006, where 4 blocks gave 1.027).
KRYLOV_MIN_DEPTH = 2
KRYLOV_MAX_DEPTH = 12
KRYLOV_RITZ_RTOL = 5e-3

#: The depth the auto rule of :func:`choose_truncated_svd_method` budgets
#: for when comparing the basis with the full SVD.
KRYLOV_DEPTH = 3

#: PROPACK's Krylov dimension starts at this multiple of k (scipy's
#: default) and grows fourfold when it does not converge, for this many
#: attempts. It is not capped at ``min(M, N)``: at exactly that size PROPACK
#: returned wrong triplets without an error (k = 30 of a 56 x 31 matrix).
LANCZOS_START_DIMENSION = 10
LANCZOS_ATTEMPTS = 3

#: When PROPACK stops early (an invariant subspace), `_lanczos_finish`
#: converges each triplet to this residual, relative to sigma_1 in units
#: of eps.
LANCZOS_RESIDUAL_RTOL = 100.0

#: Block size of the fixed-accuracy block Krylov basis (``tol`` given).
TOL_KRYLOV_BLOCK = 32


def choose_truncated_svd_method(shape, k=None, *, tol=None, kind="dense"):
    """The rule of ``method="auto"`` for :func:`truncated_svd`, in one place.

    1. ``"dense"`` (LAPACK, exact) for an array or a sparse matrix of at
       most ``2**27`` entries whose smaller side is at most 200, or whose
       block Krylov basis (4 blocks of ``k + 10`` columns) would span at
       least half of it;
    2. otherwise ``"lanczos"`` (PROPACK) for a sparse matrix and a rank
       `k`: its single-vector products are cheap there, and it was 2x
       faster than block Krylov on a 20000 x 5000 matrix with density 1e-3
       (whose growing dense basis costs more than the products);
    3. ``"block_krylov"`` for everything else (arrays, LinearOperators, and
       `tol`). With `tol` the rank is not known in advance:
       :func:`truncated_svd` then switches to ``"dense"`` once the growing
       basis would pass half of the smaller side, where "dense" is possible.

    Parameters
    ----------
    shape : tuple of int
        ``(M, N)``.
    k : int, optional
        The requested rank (give `k` or `tol`).
    tol : float, optional
        The requested relative accuracy.
    kind : {"dense", "sparse", "operator"}, optional
        What the matrix is: an array, a scipy.sparse matrix or a
        LinearOperator.

    Returns
    -------
    str
        ``"dense"``, ``"lanczos"`` or ``"block_krylov"``.

    Raises
    ------
    ValueError
        If `kind` is unknown, both or neither of `k` and `tol` are given,
        `k` is outside ``[1, min(M, N)]`` or `tol` outside ``(0, 1)``.
    TypeError
        For a non-integer `k` or a non-real `tol`.

    Notes
    -----
    ``"block_krylov"`` is chosen only where it is as accurate as the exact
    methods for what :func:`truncated_svd` promises, the approximation
    error: with ``n_iter="auto"`` it reached
    ``||A - U S Vh||_2 <= 1.0063 sigma_{k+1}`` on every spectrum measured,
    including the flat one of a Gaussian matrix (see :func:`truncated_svd`).
    Its trailing singular values and vectors are less accurate than
    LAPACK's or PROPACK's; call with ``method="dense"`` or ``"lanczos"``
    when those matter.

    Examples
    --------
    >>> from lowrank import choose_truncated_svd_method
    >>> choose_truncated_svd_method((4000, 3000), 50)
    'block_krylov'
    >>> choose_truncated_svd_method((4000, 3000), 500)
    'dense'
    >>> choose_truncated_svd_method((150, 3000), 5)
    'dense'
    >>> choose_truncated_svd_method((20000, 5000), 50, kind="sparse")
    'lanczos'
    >>> choose_truncated_svd_method((4000, 3000), tol=1e-3, kind="operator")
    'block_krylov'
    """
    check_method(kind, OPERAND_KINDS, "kind")
    small = min(shape)
    k, tol = check_k_or_tol(k, tol, small)
    if _densifiable(shape, kind):
        if small <= DENSE_MAX_SMALL_SIDE:
            return "dense"
        basis = (KRYLOV_DEPTH + 1) * (k + 10) if k is not None else 0
        if basis >= DENSE_BASIS_FRACTION * small:
            return "dense"
    if kind == "sparse" and k is not None:
        return "lanczos"
    return "block_krylov"


class _Options(NamedTuple):
    k: int | None
    tol: float | None
    oversample: int
    n_iter: int | str
    rng: np.random.Generator
    max_width: int | None = None  # "auto" with tol: switch to "dense" beyond


# --------------------------------------------------------------------------
# methods: f(op, options) -> SVDResult
# --------------------------------------------------------------------------


def _dense(op, options):
    a = op.a.toarray() if isinstance(op, SparseMap) else op.a
    u, s, vh = thin_svd(a)
    if options.tol is not None:
        rank = int(np.count_nonzero(s > options.tol * s[0])) if s.size else 0
    else:
        rank = options.k
    return SVDResult(u[:, :rank], s[:rank], vh[:rank])


def _svds_rng_argument():
    # scipy >= 1.15 takes `rng`; older versions `random_state`
    parameters = inspect.signature(scipy.sparse.linalg.svds).parameters
    return "rng" if "rng" in parameters else "random_state"


def _lanczos(op, options):
    matrix = op.a if isinstance(op, DenseMap | SparseMap) else _as_scipy_operator(op)
    v0 = np.asarray(
        options.rng.standard_normal(op.shape[0]), dtype=np.finfo(op.dtype).dtype
    ).astype(op.dtype)
    seed = np.random.default_rng(options.rng.integers(2**63))
    dimension = LANCZOS_START_DIMENSION * options.k
    for attempt in range(LANCZOS_ATTEMPTS):
        try:
            u = scipy.sparse.linalg.svds(
                matrix,
                options.k,
                solver="propack",
                v0=v0,
                maxiter=dimension,
                **{_svds_rng_argument(): seed},
            )[0]
            break
        except np.linalg.LinAlgError:
            # An invariant subspace (PROPACK's Krylov space closed early)
            # is finished on a block Krylov space of the same budget;
            # clustered singular values need a larger Krylov space.
            result = _lanczos_finish(op, options, dimension)
            if result is not None:
                return result
            if attempt == LANCZOS_ATTEMPTS - 1:
                raise
            dimension *= 4
    # PROPACK's vectors are orthonormal only to about sqrt(eps) (partial
    # re-orthogonalisation), 1e-8 measured. One Rayleigh–Ritz step restores
    # orthonormality to rounding: Q = orth(U), B = Q^H A, SVD of B. Its
    # projection error is within O(1e-16) of the optimum, because the error
    # of a subspace enters the approximation error only squared.
    q_mat = np.linalg.qr(np.asarray(u, dtype=op.dtype), mode="reduced")[0]
    b = check_products_finite(op.hmat(q_mat))
    return svd_of_qb(q_mat, b, options.k)


def _lanczos_finish(op, options, max_width):
    """The k triplets when PROPACK stopped early, or None.

    PROPACK raises LinAlgError "an invariant subspace of dimension d was
    found" when the Krylov space of its start vector closes before k
    triplets (``ones((5, 5))``: d = 2 for any start vector). That is good
    news, not a failure: the space holds every singular value the start
    vector sees, and the rest of the k are zero or repeat them. PROPACK
    does not return the space, so it is rebuilt as a block Krylov space
    with k columns per block (random directions replace the exhausted
    ones) and grown, up to `max_width` columns, until every one of the k
    Ritz triplets has the residual ``||A v_i - s_i u_i||_2 <=
    LANCZOS_RESIDUAL_RTOL eps s_1`` (``A^H u_i = s_i v_i`` holds exactly
    for ``B = Q^H A``) or the basis spans the whole range. Such spectra
    have few distinct values, so one or two blocks suffice. None if the
    budget runs out: then PROPACK did not converge for another reason.
    """
    basis = KrylovBasis(op, options.k, options.rng)
    floor = LANCZOS_RESIDUAL_RTOL * np.finfo(op.dtype).eps
    while basis.width < max_width:
        basis.extend()
        q_mat, b = basis.qb()
        result = svd_of_qb(q_mat, b, options.k)
        if basis.complete:
            return result
        residual = check_products_finite(op.matmat(result.Vh.conj().T))
        residual -= result.U * result.S
        scale = float(result.S[0]) if result.S.size else 0.0
        if np.linalg.norm(residual, axis=0).max(initial=0.0) <= floor * scale:
            return result
    return None


def _as_scipy_operator(op):
    return scipy.sparse.linalg.LinearOperator(
        op.shape,
        matvec=lambda x: op.matmat(x.reshape(-1, 1)).ravel(),
        rmatvec=lambda y: op.rmatmat(y.reshape(-1, 1)).ravel(),
        matmat=op.matmat,
        rmatmat=op.rmatmat,
        dtype=op.dtype,
    )


def _randomized(op, options):
    plan = make_plan(
        op,
        options.k,
        options.tol,
        options.oversample,
        options.n_iter,
        "qr",
        SKETCHES["gaussian"],
        options.rng,
    )
    return svd_from_plan(plan)


def _block_krylov(op, options):
    if options.tol is not None:
        basis = KrylovBasis(op, TOL_KRYLOV_BLOCK, options.rng)
        result = svd_to_tolerance(
            op, basis, options.tol, options.rng, max_width=options.max_width
        )
        # None: the rank needs a basis as costly as the full SVD ("auto" only)
        return _dense(op, options) if result is None else result
    block = min(options.k + options.oversample, min(op.shape))
    if options.n_iter != "auto":
        q_mat, b = block_krylov_qb(op, block, options.n_iter, options.rng)
        return svd_of_qb(q_mat, check_products_finite(b), options.k)
    return _block_krylov_converged(op, block, options)


def _block_krylov_converged(op, block, options):
    """Block Krylov grown until the top k Ritz values settle (``n_iter="auto"``).

    After each block from the second on, the k leading singular values of B
    are compared with those of the block before; the basis stops growing
    when none moved by more than `KRYLOV_RITZ_RTOL` (relative), or at
    `KRYLOV_MAX_DEPTH`. Ritz values rise monotonically towards the singular
    values, and their last change tracked the excess error
    ``||A - A_k||_2 / sigma_{k+1} - 1`` within a factor 1.5 in the
    measurements behind `KRYLOV_RITZ_RTOL`.
    """
    basis = KrylovBasis(op, block, options.rng)
    previous = None
    for depth in range(KRYLOV_MAX_DEPTH + 1):
        basis.extend()
        if basis.complete:
            break
        if depth == 0:
            continue
        ritz = basis.ritz_values(options.k)
        if previous is not None and depth >= KRYLOV_MIN_DEPTH:
            floor = np.finfo(ritz.dtype).tiny
            change = np.max((ritz - previous) / np.maximum(ritz, floor))
            if change <= KRYLOV_RITZ_RTOL:
                break
        previous = ritz
    q_mat, b = basis.qb()
    return svd_of_qb(q_mat, b, options.k)


#: method name -> f(op, options) -> SVDResult. The command's ``--method``
#: choices and the docs read it.
TRUNCATED_SVD_METHODS = {
    "dense": _dense,
    "lanczos": _lanczos,
    "randomized": _randomized,
    "block_krylov": _block_krylov,
}

#: The methods that do not take every kind of operand (`OPERAND_KINDS`) ->
#: the kinds they take: "dense" never densifies a LinearOperator.
RESTRICTED_OPERANDS = {"dense": ("dense", "sparse")}

#: The methods that take `tol`, and why the others do not.
TOL_METHODS = tuple(name for name in TRUNCATED_SVD_METHODS if name != "lanczos")
TOL_NOTE = " (scipy's PROPACK computes a fixed number of triplets)"


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
    """The k largest singular triplets of A, or the fewest that reach `tol`.

    Parameters
    ----------
    a : array_like (M, N), scipy.sparse matrix or LinearOperator
        The matrix. A :class:`scipy.sparse.linalg.LinearOperator` is used
        only through ``matmat`` and ``rmatmat`` and never densified.
        Integer input is computed in float64, float32/complex64 in single
        precision; complex input with conjugate transposes throughout.
        A dask array chunked along its long side is computed on its blocks
        (see :doc:`/distributed`).
    k : int, optional
        Number of triplets, ``1 <= k <= min(M, N)``; a larger k raises
        ValueError (it is not silently reduced). Give `k` or `tol`.
    tol : float, optional
        Relative accuracy, ``0 < tol < 1``: return the smallest rank r (as
        far as the method can tell, see Notes) with
        ``||A - U S Vh||_2 <= tol ||A||_2``.
    method : {"auto", "dense", "lanczos", "randomized", "block_krylov"}, optional
        ``"dense"``: LAPACK's SVD of the whole matrix, truncated (exact;
        arrays and sparse matrices). ``"lanczos"``: Lanczos
        bidiagonalisation with partial re-orthogonalisation
        (scipy.sparse.linalg.svds with PROPACK; `k` only).
        ``"randomized"``: Halko–Martinsson–Tropp randomized SVD
        (:func:`randomized_svd`), or with `tol` the blocked randQB range
        finder. ``"block_krylov"``: randomized block Krylov (Musco & Musco),
        the fastest for slowly decaying spectra. ``"auto"`` (default):
        :func:`choose_truncated_svd_method`.
    oversample : int, optional
        Extra columns ``p >= 0`` of the random block (default 10): block
        Krylov uses blocks of ``k + p`` columns, the randomized method a
        sketch of ``k + p``. Unused by "dense" and "lanczos" and with `tol`.
    n_iter : "auto" or int, optional
        ``"randomized"``: power iterations (see :func:`rangefinder`);
        ``"block_krylov"``: the depth q (``q + 1`` blocks); "auto" adds
        blocks until the k leading Ritz values settle (at least 3 and at
        most 13 blocks; see Notes). Unused by "dense" and "lanczos".
    rng : None, int, numpy.random.Generator, optional
        Source of randomness; the same seed gives the same result.
    check_finite : bool, optional
        Check a dense or sparse `a` entry by entry for NaN/Inf (default); with
        False a cheaper test of the sum is used. NaN/Inf from an operator's
        products also raise. For a dask array the test is always the deferred
        one (NaN/Inf show in the first pass's small results, so it is exact and
        costs no pass) and raises ValueError whatever this flag says.

    Returns
    -------
    SVDResult
        ``(U, S, Vh)``: U (M, r) and Vh (r, N) with orthonormal columns and
        rows, S (r,) descending and real, ``r = k`` or the rank `tol`
        needs (0 for a zero matrix). The largest-magnitude entry of each
        column of U is real and positive.

    Raises
    ------
    ValueError
        If both or neither of `k` and `tol` are given, `k` is outside
        ``[1, min(M, N)]``, `tol` outside ``(0, 1)``, `a` is not 2-D or has
        NaN/Inf, `method` is unknown, `tol` is given to "lanczos", or a
        LinearOperator to "dense".
    TypeError
        For unsupported dtypes or non-integer `k`, `oversample`, `n_iter`.

    See Also
    --------
    randomized_svd : The randomized method with all its options.
    estimate_spectral_error : A posteriori check of a result.
    lowrank.svd : The full thin SVD.
    scipy.sparse.linalg.svds : ARPACK/PROPACK/LOBPCG truncated SVD.

    Notes
    -----
    **Accuracy.** "dense" is exact to rounding. "lanczos" converges to
    about machine precision in the singular values; PROPACK's vectors are
    orthogonal only to about ``sqrt(eps)``, so one Rayleigh–Ritz step
    (``Q = orth(U)``, SVD of ``Q^H A``) makes them orthonormal to rounding;
    its approximation error was within ``1e-10 sigma_1`` of the optimum in
    the tests. When PROPACK's Krylov space closes early ("invariant
    subspace", as for ``ones((5, 5))``) the triplets are finished by a
    block Krylov space grown until each residual ``||A v_i - s_i u_i||``
    is at most ``100 eps sigma_1``. The randomized methods are judged,
    like the theory that backs them, by the approximation error against
    the Eckart–Young optimum ``sigma_{k+1}``: block Krylov with depth q reaches
    ``(1 + eps) sigma_{k+1}`` for ``q = O(log(N) / sqrt(eps))`` whatever
    the spectrum (Musco & Musco [2]_, Theorem 1). With ``n_iter="auto"``
    blocks are added until the k leading Ritz values change by at most
    0.5% from one block to the next; measured on 4000 x 3000 matrices,
    k = 50, the error was ``1.00000 sigma_{k+1}`` for ``sigma_j = 1/j``,
    ``1/sqrt(j)`` and ``exp(-j/10)``, and 1.006 for a Gaussian matrix
    (a flat spectrum, the hardest case: 4 fixed blocks gave 1.027);
    benchmarks/bench_lowrank.py reports each run. A fixed integer `n_iter`
    gives up that control for a fixed cost. For the randomized method see
    :func:`randomized_svd` (1.0009 on ``1/j``, 1.04 on a sparse random
    matrix with its default power iterations). Singular values of these
    projection methods are underestimates, ``S_j <= sigma_j``.

    **Fixed accuracy** (`tol`). The basis grows by blocks (32 columns of
    block Krylov, or randQB blocks [3]_). At geometrically spaced sizes the
    candidate rank r is the number of singular values of the projected
    matrix B above ``tol s_1(B) / 1.02``; no smaller rank can meet `tol`,
    since the error of a rank-r truncation is at least ``s_{r+1}(B)``. Once
    the basis holds ``max(10, r/4)`` directions beyond r and ``s_r(B)``
    has changed by at most 0.5% since the previous size, the candidate's
    spectral error is estimated by block power iteration on the implicit
    residual (:func:`estimate_spectral_error`, accurate to about 1%), and
    accepted if within ``tol s_1(B) <= tol ||A||_2``; otherwise the basis
    grows. "dense" picks the exact rank ``#{sigma_j > tol sigma_1}``.

    References
    ----------
    .. [1] N. Halko, P.-G. Martinsson and J. A. Tropp, "Finding structure
       with randomness", SIAM Review 53(2), 217-288 (2011).
    .. [2] C. Musco and C. Musco, "Randomized block Krylov methods for
       stronger and faster approximate singular value decomposition",
       NeurIPS 2015. https://arxiv.org/abs/1504.05477
    .. [3] W. Yu, Y. Gu and Y. Li, "Efficient randomized algorithms for the
       fixed-precision low-rank matrix approximation", SIAM J. Matrix Anal.
       Appl. 39(3), 1339-1359 (2018).
    .. [4] R. M. Larsen, "Lanczos bidiagonalization with partial
       reorthogonalization", DAIMI PB-357, Aarhus University (1998)
       (PROPACK).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank import truncated_svd
    >>> rng = np.random.default_rng(0)
    >>> u0, _ = np.linalg.qr(rng.standard_normal((2000, 300)))
    >>> v0, _ = np.linalg.qr(rng.standard_normal((1000, 300)))
    >>> s0 = 1.0 / np.arange(1, 301)
    >>> a = (u0 * s0) @ v0.T
    >>> u, s, vh = truncated_svd(a, 20, rng=0)
    >>> u.shape, s.shape, vh.shape
    ((2000, 20), (20,), (20, 1000))
    >>> err = np.linalg.norm(a - (u * s) @ vh, 2)
    >>> bool(err <= 1.01 * s0[20])
    True

    With a tolerance the rank is chosen. The optimal rank for ``tol=0.02``
    is 49 (``sigma_50 = 0.02``); the rule keeps a 2% safety margin (Notes).

    >>> u, s, vh = truncated_svd(a, tol=0.02, rng=0)
    >>> s.size
    50
    >>> bool(np.linalg.norm(a - (u * s) @ vh, 2) <= 0.02 * s0[0])
    True
    """
    if is_dask_array(a):
        return _truncated_svd_distributed(a, k, tol, method, oversample, n_iter, rng)
    run = check_method(method, {"auto": None, **TRUNCATED_SVD_METHODS})
    oversample = check_nonnegative_int(oversample, "oversample")
    n_iter = check_n_iter(n_iter)
    gen = check_rng(rng)
    op = as_linear_map(a, check_finite=check_finite)
    k, tol = check_k_or_tol(k, tol, min(op.shape))
    kind = operand_kind(op.a)
    if run is not None:
        check_operand_kind(
            method, kind, TRUNCATED_SVD_METHODS, RESTRICTED_OPERANDS, error=ValueError
        )
        if tol is not None:
            check_applies("tol", method, TOL_METHODS, note=TOL_NOTE)
    if tol is not None and 0 in op.shape:
        return empty_svd(op.shape, op.dtype)
    max_width = None
    if run is None:
        chosen = choose_truncated_svd_method(op.shape, k, tol=tol, kind=kind)
        run = TRUNCATED_SVD_METHODS[chosen]
        if tol is not None and _densifiable(op.shape, kind):
            max_width = math.floor(DENSE_BASIS_FRACTION * min(op.shape))
    return run(op, _Options(k, tol, oversample, n_iter, gen, max_width))


def _densifiable(shape, kind):
    return kind == "dense" or (
        kind == "sparse" and shape[0] * shape[1] <= DENSE_MAX_ENTRIES
    )


def _truncated_svd_distributed(a, k, tol, method, oversample, n_iter, rng):
    """truncated_svd of a dask array: its argument rules, then the tall routes."""
    method = check_backend_method(
        method, DASK_METHODS["truncated_svd"], "truncated_svd"
    )
    oversample = check_nonnegative_int(oversample, "oversample")
    n_iter = check_n_iter(n_iter)
    gen = check_rng(rng)
    a = check_dask_matrix(a, "a")
    k, tol = check_k_or_tol(k, tol, min(a.shape))
    check_dask_tol_method(tol, method)
    if method == "auto":
        method = choose_tall_truncated_method(a.shape, k, oversample, tol)
    if 0 in a.shape:
        return empty_svd_like(a, 0)
    t, wide = as_oriented_operand(a)
    if method == "dense":
        return truncated_svd_tall(t, wide, k, tol, "dense", None, None)
    width = min(k + oversample, min(a.shape))
    if method == "gram":
        return truncated_svd_tall(t, wide, k, None, "gram", width, n_iter)
    q = auto_power_iterations(a.shape, k, width) if n_iter == "auto" else n_iter
    omega = SKETCHES["gaussian"].draw(gen, t.shape[1], width, t.dtype)
    return truncated_svd_tall(t, wide, k, None, "randomized", width, q, omega)
