"""Approximate matrix products from sampled column/row pairs (CR sampling).

``X Y = sum_i x_i y_i^T`` is a sum of ``n`` outer products of the columns
``x_i`` of X and the rows ``y_i^T`` of Y. Drineas, Kannan & Mahoney (2006)
estimate it from ``r`` terms drawn i.i.d. with replacement with probabilities
``p_i``, each rescaled by ``1 / (r p_i)`` so the estimate is unbiased. With
the weights split as ``(r p_i)^{-1/2}`` between the sampled column and row,
the estimate is the product ``C R`` of an ``M x r`` and an ``r x P`` matrix.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from lowrank._backends.linear_map import as_linear_map
from lowrank._core.results import CRResult
from lowrank._core.validation import (
    check_explicit_matrix,
    check_method,
    check_probabilities,
    check_product_shapes,
    check_rng,
    check_sample_size,
    real_dtype,
)
from lowrank.linalg._pinv import pinv

__all__ = ["sampled_matmul"]


# --------------------------------------------------------------------------
# sampling probabilities
# --------------------------------------------------------------------------


def _sum_of_squares(z, axis):
    if scipy.sparse.issparse(z):
        return np.asarray(abs(z).power(2).sum(axis=axis), dtype=np.float64).ravel()
    # einsum reduces without the temporary |z|^2 that numpy.linalg.norm
    # makes (4x faster on a 100000 x 50 array here).
    spec = "ij,ij->j" if axis == 0 else "ij,ij->i"
    if z.dtype.kind == "c":
        sq = np.einsum(spec, z.real, z.real) + np.einsum(spec, z.imag, z.imag)
    else:
        sq = np.einsum(spec, z, z)
    return sq.astype(np.float64)


def _scaled_norms(z, axis):
    """Column (axis=0) or row (axis=1) norms, each scaled by its largest entry.

    The slow path of `_norms`, for the columns or rows whose squares
    overflowed or underflowed; a sparse `z` stays sparse.
    """
    if z.shape[axis] == 0:  # M = 0 or P = 0: every norm is zero
        return np.zeros(z.shape[1 - axis])
    wide = np.complex128 if z.dtype.kind == "c" else np.float64
    if scipy.sparse.issparse(z):
        z = z.astype(wide)
        big = np.asarray(abs(z).max(axis=axis).todense(), dtype=np.float64).ravel()
        scale = np.where(big > 0, big, 1.0)
        inverse = scipy.sparse.diags_array(1.0 / scale)
        scaled = z @ inverse if axis == 0 else inverse @ z
        squares = np.asarray(abs(scaled).power(2).sum(axis=axis), dtype=np.float64)
        return scale * np.sqrt(squares.ravel())
    big = np.max(np.abs(z), axis=axis).astype(np.float64)
    scale = np.where(big > 0, big, 1.0)
    shape = (1, -1) if axis == 0 else (-1, 1)
    return scale * np.linalg.norm(z.astype(wide) / scale.reshape(shape), axis=axis)


def _norms(z, axis):
    """2-norms of the columns (axis=0) or rows (axis=1) of `z`, as float64.

    The squares are summed in the working precision (one fast pass); the
    columns or rows whose sum overflowed (entries beyond ~1e19 in single or
    ~1e154 in double precision) or came out zero, which for a nonzero
    column means its squares underflowed (entries below ~1e-19 in single
    precision), are recomputed scaled by their largest entry. A pair whose
    norm underflowed to zero would otherwise never be sampled, however
    large its row of Y.
    """
    with np.errstate(over="ignore", under="ignore"):  # both handled below
        norms = np.sqrt(_sum_of_squares(z, axis))
    redo = np.flatnonzero(~(np.isfinite(norms) & (norms > 0)))
    if redo.size:
        if scipy.sparse.issparse(z):
            z = z.tocsc() if axis == 0 else z.tocsr()
        norms[redo] = _scaled_norms(z[:, redo] if axis == 0 else z[redo, :], axis)
    return norms


def _optimal_weights(x, y):
    # The product of norms, not of squares: it cannot overflow in float64.
    return _norms(x, 0) * _norms(y, 1)


def _uniform_weights(x, y):
    return np.ones(x.shape[1])


#: probs name -> function(x, y) -> unnormalised non-negative weights (n,).
PROBABILITIES = {"optimal": _optimal_weights, "uniform": _uniform_weights}


def _probabilities(probs, x, y):
    """Normalised sampling probabilities (float64, shape (n,)).

    `probs` is validated: a `PROBABILITIES` function or the weights.
    """
    n = x.shape[1]
    weights = probs(x, y) if callable(probs) else probs
    total = weights.sum()
    if not total > 0:
        # Every outer product x_i y_i^T is zero (so is X Y): any distribution
        # gives the exact answer; uniform keeps the weights finite.
        return np.full(n, 1.0 / n)
    return weights / total


# --------------------------------------------------------------------------
# diagonal re-fit
# --------------------------------------------------------------------------


def _to_dense(z):
    return z.toarray() if scipy.sparse.issparse(z) else np.asarray(z)


def _scale_columns(c, s):
    if scipy.sparse.issparse(c):
        c = c.tocsc(copy=True)
        c.data *= np.repeat(s, np.diff(c.indptr))
        return c
    return c * s


def _scale_rows(r, s):
    if scipy.sparse.issparse(r):
        r = r.tocsr(copy=True)
        r.data *= np.repeat(s, np.diff(r.indptr))
        return r
    return r * s[:, np.newaxis]


def _refit_diagonal(x, y, c, r, counts):
    """Least-squares weights ``mu`` minimising ``||C diag(mu) R - X Y||_F``.

    C and R hold the distinct sampled pairs (scaled), ``counts`` how often
    each was drawn, so the unbiased estimate is ``mu = counts``. With
    ``K = [vec(c_1 r_1^T), ..., vec(c_u r_u^T)]`` the normal equations are
    ``G mu = b`` with ``G = K^H K = (C^H C) ⊙ conj(R R^H)`` and
    ``b = K^H vec(X Y) = [(C^H X) ⊙ conj(R Y^H)] 1``, so X Y is never formed.
    Returns ``mu``, or None when the re-fit does not lower the error.
    """
    # Balance each pair first: ``c_i / s_i`` and ``s_i r_i`` with
    # ``s_i = sqrt(||c_i|| / ||r_i||)`` have the same outer product (so the
    # same mu) and equal norms, so G and b cannot overflow or underflow
    # merely because X and Y live on different scales (float32 X ~ 1e-25
    # against Y ~ 1e25 overflowed R R^H).
    norms_c, norms_r = _norms(c, 0), _norms(r, 1)
    live_pair = (norms_c > 0) & (norms_r > 0)
    balance = np.sqrt(
        np.divide(norms_c, norms_r, out=np.ones_like(norms_c), where=live_pair)
    )
    real = real_dtype(c.dtype)
    c = _scale_columns(c, (1.0 / balance).astype(real))
    r = _scale_rows(r, balance.astype(real))
    gc = _to_dense(c.conj().T @ c)
    gr = _to_dense(r @ r.conj().T)
    gram = gc * gr.conj()
    # Both factors of b as N x u arrays in one layout, (C^H X)^T = X^T conj(C)
    # and conj(R Y^H)^T = Y R^H: no conjugated copy of X or Y, and the
    # elementwise product runs over contiguous memory (mixing an array with
    # a transposed view was 5x slower).
    xc = _to_dense(x.T @ c.conj())
    yr = _to_dense(y @ r.conj().T)
    rhs = np.sum(xc * yr, axis=0)
    # Jacobi scaling (unit diagonal) before the rank cutoff: within a factor
    # u of the best diagonal scaling for the condition number (van der
    # Sluis). Zero pairs (only possible with explicit or uniform
    # probabilities) keep a zero weight.
    diag = np.sqrt(np.maximum(np.real(np.diagonal(gram)), 0.0))
    live = diag > 0
    d = np.where(live, diag, 1.0)
    scaled = gram / np.outer(d, d)
    mu = (pinv(scaled, hermitian=True, check_finite=False) @ (rhs / d)) / d
    mu = np.where(live, mu, 0)

    # ||C diag(mu) R - XY||^2 - ||XY||^2 = mu^H G mu - 2 Re(b^H mu); the
    # rank cutoff or rounding could in principle leave the re-fit behind the
    # unbiased weights, so keep whichever is smaller.
    def excess(m):
        return float(np.real(np.vdot(m, gram @ m)) - 2 * np.real(np.vdot(rhs, m)))

    unbiased = counts.astype(mu.dtype)
    if not np.all(np.isfinite(mu)) or excess(mu) > excess(unbiased):
        return None
    return mu


#: correction name -> function(x, y, C, R, counts) -> new weights or None.
CORRECTIONS = {"diagonal": _refit_diagonal}


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------


def _as_factor(z, name, check_finite):
    check_explicit_matrix(
        z, name, "sampled_matmul needs access to its columns and rows"
    )
    return as_linear_map(z, check_finite=check_finite, name=name).a


def _cast(z, dtype):
    if z.dtype == dtype:
        return z
    return z.astype(dtype)


# --------------------------------------------------------------------------
# public function
# --------------------------------------------------------------------------


def sampled_matmul(
    x, y, r, *, probs="optimal", correction=None, rng=None, check_finite=True
):
    """Approximate ``x @ y`` by ``C @ R`` from `r` sampled column/row pairs.

    The product ``X Y = sum_i x_i y_i^T`` (``x_i`` the i-th column of X,
    ``y_i^T`` the i-th row of Y) is estimated from `r` of its terms, drawn
    i.i.d. with replacement with probability ``p_i`` each and rescaled by
    ``1 / (r p_i)`` (the CR or "basic matrix multiplication" algorithm of
    Drineas, Kannan & Mahoney [1]_). The estimate is unbiased.

    Parameters
    ----------
    x : array_like (M, N) or scipy.sparse matrix
        Left factor. Integer input is computed in float64, float32/complex64
        in single precision.
    y : array_like (N, P) or scipy.sparse matrix
        Right factor; its number of rows must equal the number of columns of
        `x`.
    r : int
        Number of sampled pairs, ``r >= 1``. It may exceed N (sampling is
        with replacement).
    probs : {"optimal", "uniform"} or array_like (N,), optional
        Sampling distribution. ``"optimal"`` (default):
        ``p_i ∝ ||x_i||_2 ||y_i||_2``, which minimises the expected squared
        Frobenius error; pairs with a zero column or row are never sampled.
        ``"uniform"``: ``p_i = 1 / N``. An array: non-negative finite
        weights, normalised to sum 1; the estimate stays unbiased only if
        every pair with ``x_i y_i^T != 0`` has ``p_i > 0``.
    correction : {None, "diagonal"}, optional
        ``None`` (default): the unbiased weights ``1 / (r p_i)``.
        ``"diagonal"``: re-fit the weight of each sampled pair by least
        squares, minimising ``||C R - X Y||_F`` over diagonal weights for
        the same sample (see Notes). The result is biased but never has a
        larger error than the uncorrected one of the same sample.
    rng : None, int, numpy.random.Generator, optional
        Source of randomness (:func:`numpy.random.default_rng`); the same
        seed gives the same sample.
    check_finite : bool, optional
        Check `x` and `y` entry by entry for NaN/Inf (default); with False
        a cheaper test of their sums is used.

    Returns
    -------
    CRResult
        ``(C, R, idx)``: C of shape (M, r), R of shape (r, P) with the
        weights folded in, so ``C @ R`` is the approximation of ``x @ y``,
        and the sampled indices ``idx`` (ascending, with repetitions). C and
        R are dense arrays, or sparse (CSC and CSR) where `x` or `y` is
        sparse, in the common computing dtype of `x` and `y`. Without
        correction, ``C[:, j] = X[:, idx[j]] / sqrt(r p_idx[j])`` and
        ``R[j] = Y[idx[j]] / sqrt(r p_idx[j])``. If ``N = 0`` then
        ``X Y = 0`` and no pair is sampled: C is (M, 0), R is (0, P).

    Raises
    ------
    ValueError
        If `x` or `y` is not 2-D, contains NaN/Inf, their shapes do not
        chain (``x.shape[1] != y.shape[0]``), ``r < 1``, `probs` is an
        unknown name, has the wrong length, a negative or NaN entry or sums
        to zero, or `correction` is unknown.
    TypeError
        For unsupported dtypes (float16, longdouble, ...), a
        LinearOperator `x` or `y`, a non-integer `r`, complex `probs` or an
        invalid `rng`.

    See Also
    --------
    numpy.matmul : The exact product.
    randomized_svd : Low-rank approximation of a single matrix.

    Notes
    -----
    With ``S = {s_1, ..., s_r}`` the sampled indices, the estimate is
    ``C R = (1/r) sum_j x_{s_j} y_{s_j}^T / p_{s_j}``. For any
    probabilities with ``p_i > 0`` wherever ``x_i y_i^T != 0``,
    ``E[C R] = X Y`` and

    .. math::

        \\mathbb{E} \\| X Y - C R \\|_F^2 = \\frac{1}{r} \\Big(
        \\sum_i \\frac{\\|x_i\\|^2 \\|y_i\\|^2}{p_i} - \\|X Y\\|_F^2 \\Big),

    minimised by ``p_i ∝ ||x_i|| ||y_i||`` [1]_, where it equals

    .. math::

        \\frac{1}{r} \\Big[ \\Big( \\sum_i \\|x_i\\| \\|y_i\\| \\Big)^2
        - \\|X Y\\|_F^2 \\Big] \\le \\frac{1}{r} \\|X\\|_F^2 \\|Y\\|_F^2 .

    With these probabilities, ``||XY - CR||_F <= eta ||X||_F ||Y||_F /
    sqrt(r)`` with probability at least ``1 - delta``, ``eta = 1 +
    sqrt(8 log(1/delta))`` [1]_. The error decays only like
    ``1/sqrt(r)``: the method pays off when N is large and a rough product
    is enough.

    ``correction="diagonal"`` keeps the sample and replaces the weights by
    the least-squares solution ``mu`` of ``min ||C diag(mu) R - X Y||_F``:

    .. math::

        \\mu = \\big[ (C^H C) \\odot \\overline{(R R^H)} \\big]^+
        \\big[ (C^H X) \\odot \\overline{(R Y^H)} \\big] \\mathbf{1}

    (for real data ``[(C^T C) ⊙ (R R^T)]^+ [(C^T X) ⊙ (R Y^T)] 1``),
    fitted over the ``u <= min(r, N)`` distinct sampled pairs by
    :func:`lowrank.pinv` of the Jacobi-scaled u x u matrix; a pair drawn
    several times splits its weight evenly over its copies (the
    minimum-norm solution). The weights may be negative or complex;
    ``mu / sqrt(|mu|)`` is folded into C and ``sqrt(|mu|)`` into R. The
    objective is evaluated from the same u x u quantities, and the unbiased
    weights are kept if the re-fit does not lower it. X Y is never formed.
    The fit solves the normal equations, so in single precision it is
    accurate only to about ``eps cond(G)``; it never does worse than the
    unbiased weights.

    Cost: ``O(N)`` to sample plus one pass over X and Y for the optimal
    probabilities, and ``O((M + P) r)`` to gather and scale C and R. The
    correction adds ``O((M + P) N u + u^3)`` (the products ``C^H X`` and
    ``Y R^H`` and the u x u solve): worthwhile only while ``u`` is well
    below ``min(M, P)``, where it costs less than ``X Y`` itself
    (``2 M N P``). If every pair with a nonzero term is drawn, it
    reproduces X Y exactly.

    References
    ----------
    .. [1] P. Drineas, R. Kannan and M. W. Mahoney, "Fast Monte Carlo
       algorithms for matrices I: Approximating matrix multiplication",
       SIAM J. Comput. 36(1), 132-157 (2006).
       https://doi.org/10.1137/S0097539704442684

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank import sampled_matmul

    The Gram matrix ``A^T A`` of a tall A from 500 of its 5000 rows:

    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((5000, 30)) * rng.lognormal(size=(5000, 1))
    >>> c, r, idx = sampled_matmul(a.T, a, 500, rng=1)
    >>> c.shape, r.shape, idx.shape
    ((30, 500), (500, 30), (500,))
    >>> exact = a.T @ a
    >>> err = np.linalg.norm(c @ r - exact) / np.linalg.norm(exact)
    >>> print(f"{err:.2f}")
    0.22

    The expected relative error is ``sqrt(E||XY - CR||^2) / ||XY|| = 0.23``
    here (Notes). The diagonal correction re-fits the weights of the same
    sample:

    >>> c2, r2, idx2 = sampled_matmul(a.T, a, 500, correction="diagonal", rng=1)
    >>> bool(np.array_equal(idx, idx2))
    True
    >>> err2 = np.linalg.norm(c2 @ r2 - exact) / np.linalg.norm(exact)
    >>> print(f"{err2:.2f}")
    0.09
    """
    x = _as_factor(x, "x", check_finite)
    y = _as_factor(y, "y", check_finite)
    check_product_shapes(x.shape, y.shape)
    r = check_sample_size(r)
    refit = (
        None
        if correction is None
        else check_method(correction, CORRECTIONS, "correction")
    )
    rng = check_rng(rng)
    n = x.shape[1]
    probs = check_probabilities(probs, n, PROBABILITIES)
    dtype = np.result_type(x.dtype, y.dtype)
    x, y = _cast(x, dtype), _cast(y, dtype)
    if n == 0:
        # X Y is exactly zero and there is nothing to sample.
        return CRResult(x[:, :0], y[:0, :], np.empty(0, dtype=np.intp))

    p = _probabilities(probs, x, y)
    idx = np.sort(rng.choice(n, size=r, p=p)).astype(np.intp, copy=False)
    weights = (1.0 / np.sqrt(r * p[idx])).astype(real_dtype(dtype))
    if scipy.sparse.issparse(x):
        c = _scale_columns(x.tocsc()[:, idx], weights)
    else:
        # fancy indexing, not np.take: take copies a non-contiguous x whole
        c = x[:, idx] * weights
    if scipy.sparse.issparse(y):
        rr = _scale_rows(y.tocsr()[idx, :], weights)
    else:
        rr = y[idx, :] * weights[:, np.newaxis]

    if refit is not None:
        # Repeated draws of a pair are one unknown: fit the u distinct pairs
        # (a smaller, generically nonsingular system) and split each weight
        # evenly over its copies, which is the minimum-norm solution of the
        # system with the copies kept apart.
        _, first, counts = np.unique(idx, return_index=True, return_counts=True)
        mu = refit(x, y, c[:, first], rr[first, :], counts)
        if mu is not None:
            mu = np.repeat(mu / counts, counts)  # idx is sorted
            root = np.sqrt(np.abs(mu))
            left = np.divide(mu, root, out=np.zeros_like(mu), where=root > 0)
            c = _scale_columns(c, left.astype(dtype))
            rr = _scale_rows(rr, root.astype(real_dtype(dtype)))
    return CRResult(c, rr, idx)
