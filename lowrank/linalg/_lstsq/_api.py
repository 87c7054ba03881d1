"""Least squares: the public entry point, the input rules and the method registry."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from lowrank._backends.dispatch import is_dask_array
from lowrank._core.results import LstsqResult
from lowrank._core.stacks import per_matrix
from lowrank._core.validation import (
    as_matrix_stack,
    as_rhs,
    check_choice,
    check_dense_finite,
    check_dense_only_method,
    check_method,
    check_operator_2d,
    check_rng,
    check_solver_options,
    check_tall_only,
    real_dtype,
    result_dtype,
    solver_rank_tolerances,
)
from lowrank._core.validation import (
    check_finite as check_finite_values,
)
from lowrank.exceptions import ConvergenceWarning
from lowrank.linalg._lstsq._direct import LstsqOptions, Solution, lstsq_qr, lstsq_svd
from lowrank.linalg._lstsq._distributed import lstsq_distributed
from lowrank.linalg._lstsq._iterative import lstsq_krylov
from lowrank.linalg._lstsq._tall import lstsq_cholqr, lstsq_sketch

__all__ = ["choose_lstsq_method", "lstsq"]


#: Dense methods: f(a, b, atol, rtol, options) -> Solution on validated,
#: non-empty stacks (see `_lstsq_direct`). "lsqr"/"lsmr" take any operator.
LSTSQ_METHODS = {
    "svd": lstsq_svd,
    "qr": lstsq_qr,
    "cholqr": lstsq_cholqr,
    "sketch": lstsq_sketch,
    "lsqr": None,
    "lsmr": None,
}

#: Methods that stop on a tolerance; they take `tol` and `maxiter`.
ITERATIVE_METHODS = frozenset({"sketch", "lsqr", "lsmr"})
#: The Krylov methods: they determine no rank (no rank tolerances) and are
#: the ones that take a preconditioner.
KRYLOV_METHODS = ("lsqr", "lsmr")
RANKLESS_METHODS = frozenset(KRYLOV_METHODS)
#: Methods that implement Tikhonov damping.
DAMPED_METHODS = frozenset({"svd", "cholqr", "sketch", "lsqr", "lsmr"})
#: Methods for matrices of at least as many rows as columns only.
TALL_ONLY_METHODS = frozenset({"sketch"})
#: What to use instead on wide matrices (for the error message).
WIDE_ALTERNATIVES = '"svd", "qr", "cholqr" or "lsqr"'

#: "auto" takes the Cholesky route for single dense matrices at least this
#: elongated and this large (see benchmarks/bench_lstsq.py).
CHOLQR_ASPECT = 4
CHOLQR_MIN_SIZE = 50_000


#: "auto" preconditions LSMR on a sparse matrix with a sketch (LSRN /
#: Blendenpik style) when ``M >= PRECOND_SKETCH_ASPECT * N`` and
#: ``N <= PRECOND_SKETCH_MAX_N``. The sketch is a dense ``2N x N`` matrix
#: and its QR costs ``O(N^3)``: measured (one thread) 0.13 s at N = 1000
#: and 1.0 s at N = 2000, while the preconditioned solve then needs about 90
#: iterations to ``10 eps`` whatever cond(A) is (50000 x 1000, cond 1e6:
#: 0.3-0.5 s in all, where unpreconditioned LSMR stopped at `maxiter` with a
#: forward error of 0.64). Below 4N rows the sketch is about as large as A.
PRECOND_SKETCH_ASPECT = 4
PRECOND_SKETCH_MAX_N = 2000
#: The default `tol` of ``method="auto"`` on sparse matrices and operators,
#: in units of eps: the iteration then stops at a backward error near
#: rounding level, and with the sketch preconditioner (cond(A N) about 6)
#: the forward error is within a small multiple of a dense QR solve's
#: (measured at cond 1e6: 6e-10 with tol = 10 eps against 7e-9 at 1e-14
#: and 5e-3 at the explicit methods' sqrt(eps)).
AUTO_TOL_EPS = 10


def choose_lstsq_method(shape, kind="dense"):
    """The rule of ``method="auto"`` for :func:`lstsq`, in one place.

    * ``kind="sparse"`` or ``"operator"``: ``"lsmr"`` (its ``||A^H r||``
      decreases monotonically, so stopping early is safe), with the
      preconditioner of :func:`choose_lstsq_precond` (a sketch for sparse
      matrices with ``M >= 4 N`` and ``N <= 2000``) and ``tol = 10 eps``.
    * A dense matrix, or a stack of them, with ``M >= 4 N`` and
      ``M N >= 50000``: ``"cholqr"``, the corrected semi-normal equations.
      They are as accurate as a QR solve wherever they are used, because
      they hand over to a stable QR (and SVD of R) route when A is
      ill-conditioned (cond(A) > 0.1 / sqrt(eps)) or not certainly of full
      rank; in a stack, member by member (those take the SVD route, as
      ``"svd"``). Measured on 8 x 20000 x 50: about 5x faster than a loop
      over numpy.linalg.lstsq (the batched SVD was 2x slower than it).
    * Everything else (wide, square-ish, small, stacks of small matrices,
      which a batched SVD solves fastest): ``"svd"``.

    ``"sketch"`` is never chosen: it needs about 30 passes over A (one per
    iteration) where ``"cholqr"`` needs one Gram matrix and one pass, so it
    only wins when forming the Gram matrix dominates (``N`` in the
    thousands; at 200000 x 500 ``"cholqr"`` took 1.1 s and ``"sketch"``
    1.6 s), and it is randomized.

    Parameters
    ----------
    shape : tuple of int
        The shape ``(..., M, N)`` of `a`.
    kind : {"dense", "sparse", "operator"}, optional
        What `a` is: an array, a scipy.sparse matrix or a LinearOperator.

    Returns
    -------
    str
        The method ``lstsq(method="auto")`` uses.

    Examples
    --------
    >>> import lowrank
    >>> lowrank.choose_lstsq_method((100000, 100))
    'cholqr'
    >>> lowrank.choose_lstsq_method((300, 200)), lowrank.choose_lstsq_method((8, 6, 4))
    ('svd', 'svd')
    >>> lowrank.choose_lstsq_method((200000, 2000), kind="sparse")
    'lsmr'
    >>> lowrank.choose_lstsq_method((8, 20000, 50))
    'cholqr'
    """
    check_choice(kind, ("dense", "sparse", "operator"), "kind")
    if kind != "dense":
        return "lsmr"
    m, n = shape[-2:]
    if m >= CHOLQR_ASPECT * n and m * n >= CHOLQR_MIN_SIZE:
        return "cholqr"
    return "svd"


def choose_lstsq_precond(shape, kind):
    """The preconditioner ``method="auto"`` gives LSMR: ``"sketch"`` or None.

    ``"sketch"`` (``N = R^{-1}``, R from the QR of a sparse sign sketch of
    ``2 N`` rows; Blendenpik [Avron, Maymounkov & Toledo 2010] / LSRN
    [Meng, Saunders & Mahoney 2014]) for a scipy.sparse `a` with
    ``M >= 4 N`` and ``N <= 2000``: then ``cond(A N)`` is about 6 whatever
    cond(A) is, and LSMR converges in about 90 iterations to ``10 eps``.
    None otherwise: wide or square-ish matrices (the sketch would be as
    large as A), ``N > 2000`` (the sketch's dense QR, ``O(N^3)``, took 1 s
    at N = 2000 and grows 8x per doubling), and LinearOperators, whose
    sketch ``S A`` would cost N products with ``A^H``; for those the
    ConvergenceWarning says to pass `precond`.

    Examples
    --------
    >>> from lowrank.linalg._lstsq._api import choose_lstsq_precond
    >>> choose_lstsq_precond((50000, 1000), "sparse")
    'sketch'
    >>> choose_lstsq_precond((50000, 1000), "operator") is None
    True
    """
    m, n = shape
    tall = m >= PRECOND_SKETCH_ASPECT * n
    if kind == "sparse" and tall and 0 < n <= PRECOND_SKETCH_MAX_N:
        return "sketch"
    return None


def _kind(a):
    if scipy.sparse.issparse(a):
        return "sparse"
    if isinstance(a, scipy.sparse.linalg.LinearOperator):
        return "operator"
    return "dense"


def _rank_tolerances(method, atol, rtol, shape, dtype):
    return solver_rank_tolerances(
        method, atol, rtol, shape, dtype, rankless=RANKLESS_METHODS
    )


def _check_options(method, tol, maxiter, precond, damp, shape, dtype):
    return check_solver_options(
        method,
        tol,
        maxiter,
        precond,
        damp,
        shape,
        dtype,
        preconditioned=KRYLOV_METHODS,
        iterative=ITERATIVE_METHODS,
        damped=DAMPED_METHODS,
    )


def _empty_solution(batch, n, k, dtype, b, iterative):
    shape = (*batch, k)
    return Solution(
        np.zeros((*batch, n, k), dtype),
        np.full(batch, -1 if iterative else 0, np.intp),
        np.zeros(shape, np.intp),
        np.ones(shape, bool),
        np.sum(np.abs(b) ** 2, axis=-2).astype(real_dtype(dtype)),
    )


def _squared_residuals(a, b, x):
    r = b - a @ x
    return np.sum((r * r.conj()).real, axis=-2)


def _scalar_or_array(value, vector, single):
    value = np.asarray(value)
    if vector:
        value = value[..., 0]
    if single and value.ndim == 0:
        return value.item()
    return value


def _advice(method, kind, precond, shape):
    """What to do about an unconverged Krylov solve, for the warning."""
    if method not in RANKLESS_METHODS:
        return "Increase `maxiter`."
    if precond is not None:
        return "Increase `maxiter`, or pass a larger `tol`."
    if kind == "operator":
        return (
            "Pass a right preconditioner `precond` (e.g. the R of a QR of "
            "a related matrix, or a LinearOperator), or materialise A as a "
            'sparse or dense matrix and pass precond="sketch"; or increase '
            "`maxiter`."
        )
    if shape[-2] < shape[-1]:
        return (
            'Pass a right preconditioner `precond` ("column", or an (N, N) '
            "matrix M with A M^{-1} well conditioned), or increase `maxiter`."
        )
    return 'Pass precond="sketch" (or "column"), or increase `maxiter`.'


def _warn_unconverged(
    converged, method, tol, kind="dense", precond=None, reached=None, shape=(0, 0)
):
    if np.all(converged):
        return
    count = int(np.size(converged) - np.count_nonzero(converged))
    accuracy = ""
    if reached is not None:
        accuracy = (
            f" (estimated backward error ||A^H r|| / (||A|| ||r||) reached: "
            f"{float(np.max(reached)):.1e})"
        )
    warnings.warn(
        f"method={method!r} did not reach the tolerance for {count} of "
        f"{np.size(converged)} right-hand side(s) within `maxiter`"
        + (f" (tol={tol:g})" if tol is not None else "")
        + "; the result is less accurate than asked for (converged=False)"
        + accuracy
        + ". "
        + _advice(method, kind, precond, shape),
        ConvergenceWarning,
        stacklevel=3,
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
    """Minimum-norm least-squares solution of ``A x = b``, for stacks too.

    Solves ``min ||b - A x||_2`` with the smallest ``||x||_2`` among the
    minimizers, ``x = A^+ b``, treating singular values below the cutoff of
    :func:`pinv` as zero, so that ``lstsq(a, b).x`` equals ``pinv(a) @ b``.

    Parameters
    ----------
    a : array_like, shape (..., M, N), sparse matrix or LinearOperator
        Coefficient matrix or stack of matrices. scipy.sparse matrices and
        :class:`scipy.sparse.linalg.LinearOperator` (2-D only) are solved by
        ``"lsqr"`` or ``"lsmr"``.
        A dask array chunked along its long side is computed on its blocks
        (see :doc:`/distributed`).
    b : array_like, shape (..., M) or (..., M, K)
        Right-hand side(s): one vector per matrix (``b.ndim == a.ndim - 1``)
        or K columns per matrix (``b.ndim >= a.ndim``). Batch dimensions
        broadcast against those of `a`, as in numpy.linalg.solve.
    method : {"auto", "svd", "qr", "cholqr", "sketch", "lsqr", "lsmr"}, optional
        Algorithm (accuracy and cost in Notes):

        * ``"auto"`` (default): :func:`choose_lstsq_method` — ``"lsmr"`` for
          sparse matrices and operators (with a sketch preconditioner for
          sparse matrices with ``M >= 4 N`` and ``N <= 2000``, ``tol = 10
          eps`` and one refinement step; see Notes), ``"cholqr"`` for dense
          matrices and stacks with ``M >= 4 N`` and ``M N >= 50000``, else
          ``"svd"``.
        * ``"svd"``: thin SVD, ``x = V diag(s)^+ U^H b`` (what LAPACK's gelsd
          computes). Stacks in one batched call.
        * ``"qr"``: complete orthogonal decomposition from column-pivoted QR
          (LAPACK's gelsy); the rank is decided on the diagonal of R against
          the SVD rule's cutoff (with R's largest singular value as
          ``s_max``), and as that diagonal only brackets the singular
          values, when it truncates, the solution of its truncated problem
          differs from ``A_r^+ b`` by about ``s_{r+1} / s_r`` relative (as
          gelsy's from gelsd's). No `damp`. Stacks of small matrices (at
          most 1024 entries each) are factored together by a
          numpy-vectorised pivoted QR.
        * ``"cholqr"``: for tall A of full rank, the corrected semi-normal
          equations: Cholesky factor R of ``A^H A`` (a parallel kernel),
          ``x_0 = R^{-1} R^{-H} A^H b``, then refinement steps
          ``x += R^{-1} R^{-H} A^H (b - A x)`` until the backward error is at
          rounding level (usually one step). If A is not certainly of full
          rank under the cutoff, or cond(A) > 0.1 / sqrt(eps), or refinement
          stalls, it switches to a stable QR (shifted CholeskyQR3 or
          Householder) and the SVD of its R; wide A always takes that route
          through ``A^H``. Stacks of tall matrices run the semi-normal
          equations batched (numpy's batched products and solves), members
          that are not certainly well conditioned and of full rank taking
          the QR route one by one; stacks of small matrices (at most 1024
          entries each) take that QR route batched (one Householder QR and
          one SVD of R for the whole stack).
        * ``"sketch"``: sketch-and-precondition for big dense tall A: a
          sparse sign sketch ``S A`` of ``8 N`` rows (8 nonzeros per column),
          its QR ``S A = Q_s R_s``, warm start from the sketched problem's
          solution, then iterative sketching with momentum [5]_
          ``x += alpha R_s^{-1} R_s^{-H} A^H (b - A x) + beta (x - x_prev)``,
          the residual recomputed from A in one fused pass per step (about 30
          steps to rounding level). Needs ``M >= N``; falls back to
          ``"svd"`` (with a :class:`~lowrank.exceptions.FallbackWarning`)
          if the sketch shows A rank deficient or cond(A) beyond
          ``0.01 / eps``.
        * ``"lsqr"``, ``"lsmr"``: LSQR [3]_ / LSMR [4]_ on the right-hand
          sides as a block (one product with K columns per iteration), with
          the right preconditioner `precond`; for sparse matrices, operators
          and dense arrays. They do not determine the rank (``rank = -1``);
          from ``x_0 = 0`` they converge to the minimum-norm solution.
    atol, rtol : float or array_like, optional
        Rank tolerances, as in :func:`pinv`: singular value ``s_i`` counts
        iff ``s_i > atol + rtol * s_max``. Defaults ``atol = 0``,
        ``rtol = max(M, N) * eps``. Arrays broadcast over the stack. Not
        accepted by ``"lsqr"``/``"lsmr"``.
    damp : float or array_like, optional
        Tikhonov damping ``d >= 0``: minimizes
        ``||b - A x||^2 + d^2 ||x||^2``, i.e.
        ``x = (A^H A + d^2 I)^{-1} A^H b``, computed without forming
        ``A^H A + d^2 I`` except by ``"cholqr"`` (which then refines against
        the damped problem). Not supported by ``"qr"``.
    check_finite : bool, optional
        Check `a` and `b` elementwise for NaN/Inf (default); with False a
        cheaper sum test is used. Either way non-finite input raises ValueError
        (scipy's lsqr silently returns NaN). A LinearOperator's products cannot
        be checked; a non-finite product raises ValueError. For a dask array the
        test is always the deferred one (NaN/Inf show in the first pass's small
        results, so it is exact and costs no pass) and raises ValueError
        whatever this flag says.
    rng : None, int, numpy.random.Generator, optional
        Randomness of ``"sketch"`` and ``precond="sketch"``; an int or
        Generator makes the result reproducible.
    tol : float, optional
        Iterative methods: stop when ``||A^H r|| <= tol ||A|| ||r||`` or
        ``||r|| <= tol (||A|| ||x|| + ||b||)`` (for ``"lsqr"``/``"lsmr"``
        with a preconditioner, of ``A N``). Defaults: ``"sketch"`` runs to
        rounding level (``||A^H r|| <= eps ||A|| (||r|| + ||A|| ||x|| +
        ||b||)``, or until it stops decreasing within 10x of that);
        ``sqrt(eps)`` for ``"lsqr"``/``"lsmr"`` named explicitly;
        ``10 eps`` for ``"auto"`` on sparse matrices and operators, which
        then also refines once (a second solve for the correction from the
        recomputed residual ``b - A x``).
    maxiter : int, optional
        Iterative methods: the iteration cap (defaults: ``20 + 10
        log2(1/eps)`` for ``"sketch"``, ``2 min(M, N) + 100`` otherwise).
        Reaching it gives ``converged=False`` and a
        :class:`~lowrank.exceptions.ConvergenceWarning`.
    precond : None, "column", "sketch", array_like or LinearOperator, optional
        ``"lsqr"``/``"lsmr"`` only: right preconditioner (arrays may be
        scipy.sparse matrices); the solver works
        on ``A N`` and returns ``x = N y``. ``"column"``: N scales the
        columns of A to unit norm. ``"sketch"``: ``N = R^{-1}`` with R from
        the QR of a sparse sign sketch ``S A`` of ``2 N`` rows
        (LSRN/Blendenpik's preconditioner; ``O(N^3)`` to build; with `damp`
        the QR of ``[S A; d I]``). The default on tall sparse matrices
        (:func:`choose_lstsq_method`). An (N, N) array or sparse
        matrix M gives ``N = M^{-1}`` (triangular M is solved as such, other
        M are LU-factored once), e.g. the R of a QR of a related matrix. A
        LinearOperator P is N itself (``x = P y``, with ``P.rmatmat`` for
        ``N^H``).

    Returns
    -------
    LstsqResult
        ``(x, residuals, rank, n_iter, converged)``; see
        :class:`~lowrank.LstsqResult`. ``x`` has shape ``(..., N)`` or
        ``(..., N, K)`` in the computing dtype (float32 and complex64 input
        stays in single precision).

    Raises
    ------
    ValueError
        For mismatched shapes, NaN/Inf in `a` or `b`, negative or
        non-broadcasting tolerances or `damp`, options a method does not
        take, or a wide `a` with ``"sketch"``.
    TypeError
        For unsupported dtypes, masked arrays, or a sparse `a` with a dense
        method.
    numpy.linalg.LinAlgError
        If an SVD does not converge.

    See Also
    --------
    pinv : The pseudo-inverse whose rank rule lstsq shares.
    numpy.linalg.lstsq, scipy.linalg.lstsq : Single matrices, relative
        cutoff only.
    scipy.sparse.linalg.lsqr, scipy.sparse.linalg.lsmr : One right-hand
        side, no preconditioner.

    Notes
    -----
    **Accuracy.** ``"svd"``, ``"qr"`` and ``"cholqr"`` are backward stable
    in the least-squares sense: the backward error
    ``||A^H r|| / (||A||_2 ||r||)`` is a modest multiple of ``eps``, and the
    forward error is at most about ``eps (kappa + kappa^2 ||r|| / (||A||
    ||x||))`` as for a Householder QR solve [1]_. ``"cholqr"`` owes this to
    its refinement: the semi-normal equations alone have errors of order
    ``kappa^2 eps`` [2]_, and each refinement step multiplies the error by
    about ``kappa^2 eps``, which is why it is used only up to ``kappa``
    about ``0.1 / sqrt(eps)``. ``"sketch"`` recomputes the residual from A
    at every step, which makes it forward stable [5]_; it stops when the
    measured backward error reaches `tol` or (default) stops decreasing.
    Measured at cond 1e6 (``benchmarks/bench_lstsq.py``), both reach
    backward errors below gelsd's and forward errors within a few times of
    it. (LSQR on ``A R_s^{-1}`` stalled 100x above gelsd's forward error
    there, which is why ``"sketch"`` does not use it.) ``"lsqr"``/``"lsmr"``
    stop at `tol`.

    **Cost** for ``M >> N``, one right-hand side: ``"svd"`` and ``"qr"``
    ``O(M N^2)`` in LAPACK's memory-bound Householder reflections;
    ``"cholqr"`` one Gram matrix (``M N^2`` flops, on all cores, with
    ``A^H b`` in the same pass) plus usually one more pass over A;
    ``"sketch"`` ``8 M N`` for the sketch, ``O(N^3)`` for its QR, and one
    pass over A per step (about 30).

    **The default contract on sparse matrices and operators.** The default
    call returns a solution whose backward error is near a backward-stable
    dense solver's and whose forward error is within 100x of dense
    LAPACK's (gelsd) on the same problem, or warns
    (:class:`~lowrank.exceptions.ConvergenceWarning`, with the backward
    error reached and what to do). Tall sparse matrices (``M >= 4 N``,
    ``N <= 2000``) are preconditioned by a sparse sign sketch of ``2 N``
    rows (Blendenpik and LSRN's preconditioner [5]_), which makes ``cond(A N)`` about 6
    whatever cond(A) is; LSMR then runs to ``tol = 10 eps`` and one
    refinement step removes the drift of its recurrences. Measured on
    50000 x 1000 (density 2e-3 plus identity, columns scaled to cond 1e6,
    consistent b): forward error 5e-13 in 0.4-0.8 s, where unpreconditioned
    LSMR stopped at `maxiter` with 0.6 and scipy's lsqr did not converge in
    20000 iterations (28 s). A LinearOperator is not sketched (``S A``
    would cost N products with ``A^H``) and wide or square-ish sparse
    matrices are not either; there LSMR runs unpreconditioned to the same
    tolerance and, if it cannot reach it within `maxiter`, the warning says
    to pass `precond` (or to materialise the operator).

    **Residuals** are always returned, computed from x: ``||b - A x||^2``
    per right-hand side, so ``residuals`` and ``converged`` together say
    how accurate a result is.

    References
    ----------
    .. [1] G. H. Golub and C. F. Van Loan, *Matrix Computations*, 4th ed.,
       Johns Hopkins University Press, 2013, sections 5.3-5.5.
    .. [2] Å. Björck, "Stability analysis of the method of seminormal
       equations for linear least squares problems", Linear Algebra Appl.
       88/89 (1987), 31-48. https://doi.org/10.1016/0024-3795(87)90101-7
    .. [3] C. C. Paige and M. A. Saunders, "LSQR: An algorithm for sparse
       linear equations and sparse least squares", ACM Trans. Math. Softw.
       8(1) (1982), 43-71. https://doi.org/10.1145/355984.355989
    .. [4] D. C.-L. Fong and M. A. Saunders, "LSMR: An iterative algorithm
       for sparse least-squares problems", SIAM J. Sci. Comput. 33(5)
       (2011), 2950-2971. https://doi.org/10.1137/10079687X
    .. [5] H. Avron, P. Maymounkov and S. Toledo, "Blendenpik: Supercharging
       LAPACK's least-squares solver", SIAM J. Sci. Comput. 32(3) (2010),
       1217-1236; X. Meng, M. A. Saunders and M. W. Mahoney, "LSRN: A
       parallel iterative solver for strongly over- or underdetermined
       systems", SIAM J. Sci. Comput. 36(2) (2014), C95-C118; E. N.
       Epperly, "Fast and forward stable randomized algorithms for linear
       least-squares problems", SIAM J. Matrix Anal. Appl. (2024),
       arXiv:2311.04362.

    Examples
    --------
    >>> import numpy as np
    >>> import lowrank
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((50, 4))
    >>> b = rng.standard_normal(50)
    >>> x, residuals, rank, n_iter, converged = lowrank.lstsq(a, b)
    >>> np.allclose(x, np.linalg.lstsq(a, b)[0]), rank
    (True, 4)
    >>> bool(np.isclose(residuals, np.sum((b - a @ x) ** 2)))
    True

    Rank-deficient and wide problems get the minimum-norm solution, the same
    as the pseudo-inverse:

    >>> c = np.outer([1.0, 2.0, 3.0], [1.0, 1.0])
    >>> res = lowrank.lstsq(c, [1.0, 2.0, 3.0])
    >>> res.x, res.rank
    (array([0.5, 0.5]), 1)

    A stack of 1000 small problems in one call (numpy.linalg.lstsq refuses
    stacks):

    >>> stack = rng.standard_normal((1000, 6, 3))
    >>> rhs = rng.standard_normal((1000, 6))
    >>> res = lowrank.lstsq(stack, rhs)
    >>> res.x.shape, res.residuals.shape, res.rank.shape
    ((1000, 3), (1000,), (1000,))
    >>> np.allclose(res.x[7], np.linalg.lstsq(stack[7], rhs[7])[0])
    True

    A sparse problem with several right-hand sides and a preconditioner:

    >>> import scipy.sparse
    >>> s = scipy.sparse.random(2000, 50, density=0.05, random_state=1)
    >>> s = s + scipy.sparse.eye(2000, 50)
    >>> res = lowrank.lstsq(s, rng.standard_normal((2000, 3)), method="lsqr",
    ...                     precond="sketch", tol=1e-10, rng=0)
    >>> bool(res.converged.all()), bool(res.n_iter.max() < 40)
    (True, True)

    The default on a tall sparse matrix: preconditioned, to rounding level
    (cond(A) is 1e6 here; unpreconditioned LSMR would stop at `maxiter`):

    >>> s = scipy.sparse.random(4000, 100, density=0.02, random_state=2)
    >>> s = (s + scipy.sparse.eye(4000, 100)) @ scipy.sparse.diags(
    ...     np.logspace(0, -6, 100))
    >>> x_true = rng.standard_normal(100)
    >>> res = lowrank.lstsq(s, s @ x_true, rng=0)
    >>> bool(res.converged), bool(np.linalg.norm(res.x - x_true) < 1e-8)
    (True, True)

    A stack of tall problems (batched semi-normal equations, refined):

    >>> tall = rng.standard_normal((4, 5000, 20))
    >>> rhs = rng.standard_normal((4, 5000))
    >>> res = lowrank.lstsq(tall, rhs)
    >>> np.allclose(res.x[2], np.linalg.lstsq(tall[2], rhs[2], rcond=None)[0])
    True
    """
    if is_dask_array(a):
        sol, vector = lstsq_distributed(
            a, b, method, atol, rtol, damp, rng, tol, maxiter, precond
        )
        return _result(sol, sol.residuals, vector, single=True)
    if method != "auto":
        check_method(method, LSTSQ_METHODS)
    kind = _kind(a)
    if kind != "dense":
        return _lstsq_operator(
            a, b, method, atol, rtol, damp, rng, tol, maxiter, precond
        )

    a = as_matrix_stack(a, "a", check_finite_values="deferred")
    b, vector = as_rhs(b, a.ndim, a.shape[-2])
    dtype = result_dtype(np.result_type(a.dtype, b.dtype), "b")
    b = b.astype(dtype, copy=False)
    check_dense_finite(b, "b", check_finite)
    a = a.astype(dtype, copy=False)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    m, n = a.shape[-2:]
    k = b.shape[-1]
    a = np.broadcast_to(a, (*batch, m, n))
    b = np.broadcast_to(b, (*batch, m, k))
    explicit = method != "auto"
    if method == "auto":
        method = choose_lstsq_method(a.shape)
    # "cholqr" on one matrix tests finiteness on its Gram matrix instead,
    # saving a pass over A; every other route tests A here.
    finite_pending = method == "cholqr" and a.ndim == 2
    if not finite_pending:
        check_dense_finite(a, "a", check_finite)
    check_tall_only(method, a.shape, TALL_ONLY_METHODS, WIDE_ALTERNATIVES)
    atol, rtol = _rank_tolerances(method, atol, rtol, a.shape, dtype)
    tol, maxiter, damp = _check_options(
        method, tol, maxiter, precond, damp, a.shape, dtype
    )
    options = LstsqOptions(
        damp, tol, maxiter, check_rng(rng), precond, explicit, finite_pending
    )

    if a.size == 0 or k == 0:
        sol = _empty_solution(batch, n, k, dtype, b, method in RANKLESS_METHODS)
        if a.size and method not in RANKLESS_METHODS:
            # The rank is A's whatever b is: one zero right-hand side gives it.
            zero = np.zeros((*batch, m, 1), dtype)
            probe = LSTSQ_METHODS[method](a, zero, atol, rtol, options)
            sol = sol._replace(rank=np.asarray(probe.rank, np.intp))
    elif method in RANKLESS_METHODS:
        sol = _krylov_over_stack(method, a, b, options)
    else:
        sol = LSTSQ_METHODS[method](a, b, atol, rtol, options)
    _warn_unconverged(sol.converged, method, tol, shape=a.shape)
    residuals = sol.residuals
    if residuals is None:
        residuals = _squared_residuals(a, b, sol.x)
    return _result(sol, residuals, vector, single=a.ndim == 2)


def _result(sol, residuals, vector, single):
    x = sol.x[..., 0] if vector else sol.x
    return LstsqResult(
        x,
        _scalar_or_array(residuals, vector, single),
        int(sol.rank) if single else sol.rank,
        _scalar_or_array(sol.n_iter, vector, single),
        _scalar_or_array(sol.converged, vector, single),
    )


def _krylov_over_stack(method, a, b, options):
    """LSQR/LSMR on a dense stack, one matrix at a time."""
    if a.ndim == 2:
        return lstsq_krylov(method, a, b, options)
    batch = a.shape[:-2]
    n, k = a.shape[-1], b.shape[-1]
    x = np.empty((*batch, n, k), a.dtype)
    n_iter = np.empty((*batch, k), np.intp)
    converged = np.empty((*batch, k), bool)
    residuals = np.empty((*batch, k), real_dtype(a.dtype))
    for index, options_i in per_matrix(batch, options):
        sol = lstsq_krylov(method, a[index], b[index], options_i)
        x[index], n_iter[index] = sol.x, sol.n_iter
        converged[index], residuals[index] = sol.converged, sol.residuals
    return Solution(x, np.full(batch, -1, np.intp), n_iter, converged, residuals)


def _operator_dtype(a):
    dtype = a.dtype if a.dtype is not None else np.dtype(np.float64)
    return result_dtype(dtype, "a")


def _lstsq_operator(a, b, method, atol, rtol, damp, rng, tol, maxiter, precond):
    """lstsq for a scipy.sparse matrix or a LinearOperator (2-D only)."""
    kind = _kind(a)
    auto = method == "auto"
    if auto:
        method = choose_lstsq_method(a.shape, kind)
    else:
        check_dense_only_method(
            method, kind, RANKLESS_METHODS, 'method="lsqr" or "lsmr"'
        )
    check_operator_2d(a.shape, "a")
    m, n = a.shape
    dtype_a = _operator_dtype(a)
    if kind == "sparse":
        if a.dtype != dtype_a:
            a = a.astype(dtype_a)
        if not np.all(np.isfinite(a.data)):
            check_finite_values(np.asarray(a.data), "a")
    b, vector = as_rhs(b, 2, m)
    dtype = result_dtype(np.result_type(dtype_a, b.dtype), "b")
    b = np.ascontiguousarray(b, dtype=dtype)
    check_finite_values(b, "b")
    if kind == "sparse" and a.dtype != dtype:
        a = a.astype(dtype)
    _rank_tolerances(method, atol, rtol, (m, n), dtype)
    tol, maxiter, damp = _check_options(
        method, tol, maxiter, precond, damp, (m, n), dtype
    )
    chosen = False
    if auto:
        # The default contract (see `choose_lstsq_method`): a sketch
        # preconditioner where the shape makes it pay, and a tolerance near
        # rounding level.
        chosen = precond is None
        if chosen:
            precond = choose_lstsq_precond((m, n), kind)
        if tol is None:
            tol = AUTO_TOL_EPS * float(np.finfo(dtype).eps)
    # A preconditioner the rule chose falls back without a FallbackWarning
    # (A rank deficient: LSMR still converges to the minimum-norm solution,
    # or the ConvergenceWarning says so).
    explicit = not (auto and chosen)
    options = LstsqOptions(
        damp, tol, maxiter, check_rng(rng), precond, explicit, refine=auto
    )
    reached = None
    if m == 0 or n == 0 or b.shape[1] == 0:
        sol = _empty_solution((), n, b.shape[1], dtype, b, True)
    else:
        sol = lstsq_krylov(method, a, b, options)
        if not np.all(np.isfinite(sol.x)):
            raise ValueError(
                "the products of the LinearOperator `a` gave non-finite values"
                if kind == "operator"
                else "the solution is not finite (overflow)"
            )
        if kind == "sparse" and not np.all(sol.converged):
            reached = _backward_error(a, b, sol.x, float(damp))
    _warn_unconverged(sol.converged, method, tol, kind, precond, reached, (m, n))
    return _result(sol, sol.residuals, vector, single=True)


def _backward_error(a, b, x, damp):
    """``||A^H r - d^2 x|| / (||A||_F ||r||)`` per column (sparse `a`)."""
    r = b - a @ x
    z = np.asarray(a.conj().T @ r) - damp * damp * x
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.linalg.norm(z, axis=0) / (
            scipy.sparse.linalg.norm(a) * np.linalg.norm(r, axis=0)
        )
