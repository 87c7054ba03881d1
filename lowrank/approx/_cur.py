"""CUR decomposition: ``A ≈ C U R`` with actual columns C and rows R of A.

Two independent choices, each a small registry:

* the selection of the column indices ``cols`` and row indices ``rows``
  (``SELECTIONS``): DEIM or leverage scores of the leading singular vectors,
  pivoted QR (the IDs of :mod:`lowrank.approx._interpolative`), squared norms, or
  uniform sampling;
* the middle matrix (``MIDDLES``): ``U = C^+ A R^+``, the best for the
  chosen C and R in every unitarily invariant norm, or ``U = A[rows, cols]^+``,
  which reproduces the selected rows and columns.
"""

from __future__ import annotations

import numpy as np

from lowrank._backends.linear_map import DenseMap, SparseMap, as_linear_map
from lowrank._core.results import CURResult
from lowrank._core.validation import (
    check_deim_counts,
    check_k,
    check_method,
    check_operand_kind,
    check_products_finite,
    check_rng,
    check_sampling,
    operand_kind,
)
from lowrank.approx._interpolative import select_indices
from lowrank.approx._truncated_svd import truncated_svd
from lowrank.linalg._pinv import pinv

__all__ = ["cur"]


# --------------------------------------------------------------------------
# singular vectors and scores
# --------------------------------------------------------------------------


def _top_singular_vectors(op, rank, rng):
    """The leading `rank` singular vectors: ``(U_k, Vh_k)``, (M, k) and (k, N).

    The one place that decides how they are computed: :func:`truncated_svd`
    with its "auto" rule (LAPACK for small or nearly full-rank problems,
    PROPACK for sparse matrices, block Krylov otherwise).
    """
    u, _, vh = truncated_svd(op.a, rank, rng=rng, check_finite=False)
    return u, vh


def _deim(v):
    """DEIM indices of the columns of `v` (n x p): one row index per column.

    The DEIM index selection as used by Sorensen & Embree (2016): each new
    index is where the next vector differs most from its interpolant on the
    indices chosen so far.
    """
    p = v.shape[1]
    idx = np.empty(p, dtype=np.intp)
    idx[0] = np.argmax(np.abs(v[:, 0]))
    for t in range(1, p):
        chosen = idx[:t]
        weights = np.linalg.solve(v[chosen, :t], v[chosen, t])
        residual = np.abs(v[:, t] - v[:, :t] @ weights)
        # Zero at the chosen indices in exact arithmetic; make sure rounding
        # cannot pick one twice.
        residual[chosen] = -1
        idx[t] = np.argmax(residual)
    return idx


def _by_scores(scores, count, sampling, rng):
    """`count` distinct indices: the largest scores, or sampled in proportion."""
    if sampling == "top":
        return np.argsort(-scores, kind="stable")[:count]
    positive = np.flatnonzero(scores > 0)
    if positive.size <= count:
        # Not enough indices with positive probability to draw from: take
        # them all and fill up with the first zero-score indices.
        rest = np.flatnonzero(scores <= 0)[: count - positive.size]
        return np.concatenate([positive[np.argsort(-scores[positive])], rest])
    probabilities = scores / scores.sum()
    return rng.choice(scores.size, size=count, replace=False, p=probabilities)


def _squared_norms(op, axis):
    """Squared column (axis=0) or row (axis=1) norms of a dense or sparse A.

    Relative to the largest entry of A (they are scores: only their ratios
    matter), in float64. Scaling first keeps single-precision squares from
    overflowing (entries beyond ~1e19 gave inf scores: the first columns
    instead of the largest, or NaN probabilities) or flushing to zero.
    """
    magnitudes = abs(op.a) if isinstance(op, SparseMap) else np.abs(op.a)
    big = float(magnitudes.max()) if magnitudes.size else 0.0
    if not big > 0:
        return np.zeros(op.shape[1 - axis])
    if isinstance(op, SparseMap):
        scaled = magnitudes.multiply(1.0 / big)
        squares = scaled.multiply(scaled).sum(axis=axis)
        return np.asarray(squares, dtype=np.float64).ravel()
    scaled = magnitudes / magnitudes.dtype.type(big)
    return np.sum(scaled * scaled, axis=axis, dtype=np.float64)


# --------------------------------------------------------------------------
# selections: f(op, k, n_cols, n_rows, sampling, rng) -> (cols, rows)
# --------------------------------------------------------------------------


def _select_deim(op, k, n_cols, n_rows, sampling, rng):
    u, vh = _top_singular_vectors(op, max(n_cols, n_rows), rng)
    return _deim(vh[:n_cols].conj().T), _deim(u[:, :n_rows])


def _select_leverage(op, k, n_cols, n_rows, sampling, rng):
    u, vh = _top_singular_vectors(op, k, rng)
    col_scores = np.sum(np.abs(vh) ** 2, axis=0)
    row_scores = np.sum(np.abs(u) ** 2, axis=1)
    return (
        _by_scores(col_scores, n_cols, sampling, rng),
        _by_scores(row_scores, n_rows, sampling, rng),
    )


def _select_cpqr(op, k, n_cols, n_rows, sampling, rng):
    return select_indices(op, n_cols, rng, axis=1), select_indices(
        op, n_rows, rng, axis=0
    )


def _select_norm(op, k, n_cols, n_rows, sampling, rng):
    return (
        _by_scores(_squared_norms(op, 0), n_cols, sampling, rng),
        _by_scores(_squared_norms(op, 1), n_rows, sampling, rng),
    )


def _select_uniform(op, k, n_cols, n_rows, sampling, rng):
    m, n = op.shape
    return (
        rng.choice(n, size=n_cols, replace=False),
        rng.choice(m, size=n_rows, replace=False),
    )


#: select name -> function(op, k, n_cols, n_rows, sampling, rng) -> (cols, rows).
SELECTIONS = {
    "deim": _select_deim,
    "leverage": _select_leverage,
    "cpqr": _select_cpqr,
    "norm": _select_norm,
    "uniform": _select_uniform,
}

#: Selections that rank scores, and so take a `sampling` (in registry order).
SCORED_SELECTIONS = ("leverage", "norm")

#: How a scored selection picks its indices (`_by_scores`); the first is the
#: default.
SAMPLINGS = ("top", "random")

#: The selections that do not take every kind of operand -> the kinds they
#: take: "norm" needs the entries of `a`.
RESTRICTED_OPERANDS = {"norm": ("dense", "sparse")}


# --------------------------------------------------------------------------
# middle matrices: f(op, c, r, cols) -> U, with c, r dense
# --------------------------------------------------------------------------


def _middle_optimal(op, c, r, cols):
    # C^+ (A R^+): one product of A with r vectors; never an M x N matrix.
    r_pinv = pinv(r, check_finite=False)
    return pinv(c, check_finite=False) @ op.matmat(r_pinv)


def _middle_intersection(op, c, r, cols):
    return pinv(r[:, cols], check_finite=False)


#: middle name -> function(op, C, R, cols) -> U (C and R dense).
MIDDLES = {"optimal": _middle_optimal, "intersection": _middle_intersection}


# --------------------------------------------------------------------------
# boundary
# --------------------------------------------------------------------------


def _unit_vectors(n, idx, dtype):
    """``I[:, idx]`` (n x len(idx)) without forming the n x n identity."""
    units = np.zeros((n, idx.size), dtype=dtype)
    units[idx, np.arange(idx.size)] = 1
    return units


def _columns_and_rows(op, cols, rows):
    """``(C, R, C_dense, R_dense)``: sparse input keeps sparse C and R."""
    if isinstance(op, DenseMap):
        c, r = op.a[:, cols], op.a[rows, :]
        return c, r, c, r
    if isinstance(op, SparseMap):
        c, r = op.a[:, cols], op.a[rows, :]
        return c, r, c.toarray(), r.toarray()
    # only the unit vectors needed: an N x N identity would not fit in
    # memory for the large operators this path is for
    c = check_products_finite(op.matmat(_unit_vectors(op.shape[1], cols, op.dtype)))
    r = check_products_finite(op.hmat(_unit_vectors(op.shape[0], rows, op.dtype)))
    return c, r, c, r


def cur(
    a,
    k,
    *,
    n_cols=None,
    n_rows=None,
    select="deim",
    middle="optimal",
    sampling=None,
    rng=None,
    check_finite=True,
):
    """CUR decomposition ``A ≈ C @ U @ R`` from columns and rows of A.

    Parameters
    ----------
    a : array_like (M, N), scipy.sparse matrix or LinearOperator
        The matrix. A LinearOperator is used through ``matmat`` and
        ``rmatmat`` (its columns and rows are extracted by products with
        unit vectors); ``select="norm"`` needs the entries and so a dense or
        sparse `a`.
    k : int
        Target rank, ``1 <= k <= min(M, N)``: the number of leading singular
        vectors behind ``"leverage"``, and the default of `n_cols` and
        `n_rows`.
    n_cols, n_rows : int, optional
        Numbers of columns ``1 <= c <= N`` and rows ``1 <= r <= M`` to
        select (default k each). ``"deim"`` selects one index per singular
        vector: it uses the leading c right and r left singular vectors, so
        needs ``c, r <= min(M, N)``.
    select : {"deim", "leverage", "cpqr", "norm", "uniform"}, optional
        How columns and rows are chosen:

        * ``"deim"`` (default): discrete empirical interpolation on the
          leading singular vectors [1]_;
        * ``"leverage"``: the leverage scores ``||V_k[j, :]||^2`` of the
          columns and ``||U_k[i, :]||^2`` of the rows, for the top-k
          singular vectors [2]_, [3]_;
        * ``"cpqr"``: the pivots of the column and the row interpolative
          decompositions (:func:`interpolative` with ``method="auto"``:
          pivoted QR of A, or of a sketch for large or sparse A) [4]_,
          [6]_;
        * ``"norm"``: squared column and row norms [5]_;
        * ``"uniform"``: uniformly at random, without replacement.
    middle : {"optimal", "intersection"}, optional
        ``"optimal"`` (default): ``U = C^+ A R^+``, the minimiser of
        ``||A - C U R||`` for the chosen C and R in the spectral and
        Frobenius norms. ``"intersection"``: ``U = A[rows, cols]^+``, which
        reproduces the selected rows and columns (see Notes).
    sampling : {None, "top", "random"}, optional
        For ``"leverage"`` and ``"norm"`` only: the indices with the largest
        scores (``"top"``, the default) or drawn without replacement with
        probabilities proportional to the scores (``"random"``).
    rng : None, int, numpy.random.Generator, optional
        Source of randomness (randomized SVD, sketches, sampling); the same
        seed gives the same result.
    check_finite : bool, optional
        Check a dense or sparse `a` for NaN/Inf elementwise (default); with
        False a cheaper sum test is used.

    Returns
    -------
    CURResult
        ``(C, U, R, cols, rows)``: ``C = A[:, cols]`` (M, c),
        ``U`` (c, r), ``R = A[rows, :]`` (r, N), in the computing dtype of
        `a`; C and R are sparse for sparse `a` (CSC for CSC input, CSR
        otherwise).

    Raises
    ------
    ValueError
        If `a` is not 2-D or has NaN/Inf, `k`, `n_cols` or `n_rows` is out
        of range, `select`, `middle` or `sampling` is unknown, `sampling` is
        given for a selection without scores, or a LinearOperator's products
        are not finite.
    TypeError
        For unsupported dtypes, non-integer `k`, `n_cols`, `n_rows`, an
        invalid `rng`, or ``select="norm"`` with a LinearOperator.

    See Also
    --------
    interpolative : Columns or rows alone, ``A ≈ A[:, idx] @ coef``.
    truncated_svd : The singular vectors behind ``"deim"`` and
        ``"leverage"``.

    Notes
    -----
    **Middle matrix.** With ``U = C^+ A R^+``,
    ``A - C U R = (I - C C^+) A + C C^+ A (I - R^+ R)``, so

    .. math::

        \\| A - C U R \\|_2 \\le \\| A - C C^+ A \\|_2 + \\| A - A R^+ R \\|_2 .

    It costs one product of A with r vectors plus the pseudo-inverses of
    C and R. ``U = W^+`` with ``W = A[rows, cols]`` costs nothing more than
    W; ``A[rows, :]`` is reproduced exactly when ``W W^+ R = R`` (W has
    full row rank, or more generally ``rank(W) = rank(R)``) and
    ``A[:, cols]`` when ``C W^+ W = C`` (full column rank, or
    ``rank(W) = rank(C)``); both hold, up to rounding times ``cond(W)``,
    for ``c = r`` and invertible W. It can be much less accurate than the
    optimal U away from the selected rows and columns, because ``W^+``
    amplifies the noise of a nearly singular W.

    **Selections.** DEIM (Sorensen & Embree [1]_) gives ``||A - C C^+ A||_2
    <= eta_c sigma_{c+1}`` with ``eta_c = ||V_c[cols, :]^{-1}||_2`` (at most
    ``sqrt(N c / 3) 2^c``; measured 12 to 46 for Haar-random singular
    vectors with N = 500 to 2000 and c = 10 to 100, growing like ``sqrt(N)``
    rather than with c), and likewise for the rows, so with the optimal U
    and c = r = k, ``||A - C U R||_2 <= (eta_c + eta_r) sigma_{k+1}``.
    Drineas, Mahoney & Muthukrishnan [3]_ sample ``c = O(k log k / eps^2)``
    columns at random with probabilities set by the leverage scores of
    ``V_k`` and get ``||A - C C^+ A||_F <= (1 + eps) ||A - A_k||_F`` with
    high probability; the same for the rows and the optimal U give ``sqrt(2)
    (1 + eps) ||A - A_k||_F``, since ``A - C U R = (I - C C^+) A + C C^+ A
    (I - R^+ R)`` is a sum of two orthogonal terms. (Their own CUR, with
    rows sampled from C's leverage scores, reaches ``1 + eps``;
    ``sampling="random"`` here draws exactly c indices without replacement,
    so these bounds are a guide, not a guarantee.) Norm sampling guarantees
    only an additive ``eps ||A||_F`` [5]_, uniform sampling nothing for
    matrices with a few dominant columns. Pivoted QR obeys the bounds of
    :func:`interpolative` on each side. Measured on a 2000 x 2000 matrix of
    rank 50 plus noise (``benchmarks/bench_columns.py``, k = 50), ``||A -
    CUR||_2 / sigma_{k+1}`` with the optimal middle was 15 for pivoted QR,
    23 for DEIM, 170 for the largest norms and 210 for the top leverage
    scores (on an incoherent matrix they are nearly uniform and say little),
    650 for uniform sampling; the intersection middle was 2-2.5x worse than
    the optimal one for DEIM and pivoted QR, and much worse for the other
    selections, whose W is nearly singular.

    The singular vectors come from :func:`truncated_svd` with
    ``method="auto"`` (LAPACK for small A or a rank near ``min(M, N)``,
    PROPACK for large sparse A, block Krylov otherwise; `rng` then matters
    for ``"deim"`` and ``"leverage"`` too).

    References
    ----------
    .. [1] D. C. Sorensen and M. Embree, "A DEIM induced CUR
       factorization", SIAM J. Sci. Comput. 38(3), A1454-A1482 (2016).
       https://doi.org/10.1137/140978430
    .. [2] M. W. Mahoney and P. Drineas, "CUR matrix decompositions for
       improved data analysis", PNAS 106(3), 697-702 (2009).
       https://doi.org/10.1073/pnas.0803205106
    .. [3] P. Drineas, M. W. Mahoney and S. Muthukrishnan, "Relative-error
       CUR matrix decompositions", SIAM J. Matrix Anal. Appl. 30(2),
       844-881 (2008). https://doi.org/10.1137/07070471X
    .. [4] Y. Dong and P.-G. Martinsson, "Simpler is better: a comparative
       study of randomized pivoting algorithms for CUR and interpolative
       decompositions", Adv. Comput. Math. 49, 66 (2023).
       arXiv:2104.05877
    .. [5] P. Drineas, R. Kannan and M. W. Mahoney, "Fast Monte Carlo
       algorithms for matrices III: computing a compressed approximate
       matrix decomposition", SIAM J. Comput. 36(1), 184-206 (2006).
       https://doi.org/10.1137/S0097539704442702
    .. [6] S. Voronin and P.-G. Martinsson, "Efficient algorithms for CUR
       and interpolative matrix decompositions", Adv. Comput. Math. 43,
       495-516 (2017). arXiv:1412.8447

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank import cur
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((200, 6)) @ rng.standard_normal((6, 100))
    >>> c, u, r, cols, rows = cur(a, 6)
    >>> c.shape, u.shape, r.shape
    ((200, 6), (6, 6), (6, 100))
    >>> bool(np.allclose(c @ u @ r, a))
    True

    Eight columns and six rows by leverage scores; the intersection middle
    reproduces the selected rows:

    >>> c, u, r, cols, rows = cur(a, 6, n_cols=8, select="leverage",
    ...                           middle="intersection")
    >>> u.shape, bool(np.allclose((c @ u @ r)[rows], a[rows]))
    ((8, 6), True)
    """
    op = as_linear_map(a, check_finite=check_finite)
    m, n = op.shape
    k = check_k(k, min(m, n))
    n_cols = k if n_cols is None else check_k(n_cols, n, "n_cols")
    n_rows = k if n_rows is None else check_k(n_rows, m, "n_rows")
    choose = check_method(select, SELECTIONS, "select")
    form_middle = check_method(middle, MIDDLES, "middle")
    sampling = check_sampling(sampling, select, SAMPLINGS, SCORED_SELECTIONS)
    rng = check_rng(rng)
    if select == "deim":
        check_deim_counts(n_cols, n_rows, op.shape)
    check_operand_kind(
        select,
        operand_kind(op.a),
        SELECTIONS,
        RESTRICTED_OPERANDS,
        name="select",
        needs="the entries of `a`",
    )
    cols, rows = choose(op, k, n_cols, n_rows, sampling, rng)
    cols = np.asarray(cols, dtype=np.intp)
    rows = np.asarray(rows, dtype=np.intp)
    c, r, c_dense, r_dense = _columns_and_rows(op, cols, rows)
    u = form_middle(op, c_dense, r_dense, cols)
    return CURResult(c, u, r, cols, rows)
