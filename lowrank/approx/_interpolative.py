"""Interpolative decomposition (ID): ``A ≈ A[:, idx] @ coef`` from real columns.

Both methods select the columns by a column-pivoted QR ``Y P = Q R`` of a
matrix Y whose columns have the same linear relations as A's (to the accuracy
that matters): with ``R = [[R11, R12], [0, R22]]`` and k pivots,
``idx = P[:k]``. ``"cpqr"`` factors A itself, and then

    ``coef[:, P] = [I, R11^{-1} R12] = A[:, idx]^+ A``,

the least-squares coefficients for those columns, with
``||A - A[:, idx] @ coef||_2 = ||R22||_2`` (Cheng, Gimbutas, Martinsson &
Rokhlin 2005). ``"randomized"`` factors the sketch ``Y = Q^H A`` with
``k + oversample`` rows, Q an orthonormal basis of the randomized range
finder's sample of range(A), and computes the same least-squares
coefficients ``A[:, idx]^+ A`` with one more product of A with k vectors
(preconditioned by the sketch's R11), so that with the same columns both
methods give the same approximation. Either way ``coef`` is exactly the
identity on the selected columns.
The row ID of A is the column ID of ``A^T``: ``A^T ≈ A^T[:, idx] Z`` is
``A ≈ Z^T A[idx, :]`` (a plain transpose: an ID is a linear relation, so no
conjugation is involved), done by transposing the linear map once.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg

from lowrank._backends.linear_map import DenseMap, OperatorMap, SparseMap, as_linear_map
from lowrank._core.arrays import scale_by_power_of_two
from lowrank._core.results import IDResult
from lowrank._core.validation import (
    check_axis,
    check_k_or_tol,
    check_method,
    check_n_iter,
    check_nonnegative_int,
    check_operand_kind,
    check_products_finite,
    check_rng,
    default_rtol,
    operand_kind,
)
from lowrank.approx._block_krylov import orthonormalize
from lowrank.approx._sketch import SKETCHES

__all__ = [
    "choose_interpolative_method",
    "interpolative",
    "select_indices",
]


#: ``method="auto"`` factors a dense A directly unless it has at least this
#: many rows and columns: below it, a pivoted QR of A costs little more than
#: the sketch and is deterministic and as accurate as an ID gets.
AUTO_MIN_SIZE = 256

#: ... and unless the sketch is at most this fraction of min(M, N); a bigger
#: sketch saves too little over factoring A.
AUTO_MAX_SKETCH_FRACTION = 0.25

#: Defaults of the randomized method (also used by `select_indices`).
DEFAULT_OVERSAMPLE = 10
DEFAULT_N_ITER = 0

#: With `tol`, the randomized method starts with a sketch this wide (or
#: 2 * oversample, if larger) and doubles it until the rank it reveals is at
#: least `oversample` rows below the sketch size.
TOL_INITIAL_WIDTH = 32


# --------------------------------------------------------------------------
# the pivoted QR and the coefficients
# --------------------------------------------------------------------------


def _pivoted_qr(y, *, overwrite):
    """Economic R (min(l, n) x n) and pivots (intp) of ``Y P = Q R`` (geqp3).

    ``mode="raw"`` returns the economic R without forming Q; ``mode="r"``
    would return all l rows of a tall R.
    """
    _, r, perm = scipy.linalg.qr(
        y, pivoting=True, mode="raw", overwrite_a=overwrite, check_finite=False
    )
    return r, perm.astype(np.intp, copy=False)


#: Sketches with at most this many rows get their pivoted QR from
#: `_pivoted_qr_short`: on a 60 x 2000 sketch, scipy's geqp3 (BLAS-2 calls
#: in scipy's OpenBLAS pool while numpy's spins, see docs/design.md) took
#: 5 to 60 ms from run to run, the numpy loop a steady 3 ms.
SHORT_SKETCH_ROWS = 128


def _scaled_copy(y):
    """``(Y 2^-e, e)`` with ``max |Y 2^-e|`` in [1/2, 1): exact, never overflows.

    Squared column norms of Y itself overflow beyond ~1e19 (single) or
    ~1e154 (double) and underflow below the square roots of the smallest
    normal numbers; scaled by a power of two, nothing is rounded and only
    columns negligible against the largest entry can underflow.
    """
    big = float(np.max(np.abs(y))) if y.size else 0.0
    out = np.empty_like(y)
    e = int(np.frexp(big)[1]) if big > 0 else 0
    if y.dtype.kind == "c":
        out.real = np.ldexp(y.real, -e)
        out.imag = np.ldexp(y.imag, -e)
    else:
        np.ldexp(y, -e, out=out)
    return out, e


def _unscaled(r, e):
    """``R 2^e`` (the inverse of `_scaled_copy`, exact)."""
    return scale_by_power_of_two(r, e)


def _squared_column_norms(z):
    """Squared 2-norms of the columns of `z`, accumulated in float64."""
    if z.dtype.kind == "c":
        return np.einsum("ij,ij->j", z.real, z.real, dtype=np.float64) + np.einsum(
            "ij,ij->j", z.imag, z.imag, dtype=np.float64
        )
    return np.einsum("ij,ij->j", z, z, dtype=np.float64)


def _pivoted_qr_short(y, steps=None, tol=None):
    """``(R, perm)`` of ``Y P = Q R`` for a short, wide Y, in numpy.

    Householder QR with column pivoting (Businger & Golub 1965): at each
    step the column of largest remaining norm comes next, ties to the first
    in the current order, as in LAPACK's geqp3. Left-looking: the l x l
    ``Q = H_0 ... H_j`` is kept explicitly, only the pivot column is
    brought up to date (``Q^H y_p``, an l-vector), and row j of R is
    ``q_j^H Y``, one pass over Y per step instead of a rank-1 update of the
    trailing block. The remaining column norms are downdated by ``|R_ji|^2``
    and recomputed from ``Q[:, j+1:]^H Y`` once they fall below
    ``sqrt(eps)`` times their last exact value (LAPACK's dlaqp2 rule), so
    cancellation cannot mislead the pivoting. Y is scaled by a power of two
    first, so squares neither overflow nor underflow.

    Runs ``steps`` steps (default ``min(l, n)``); with `tol`, stops after
    the first step with ``|R_jj| <= tol |R_00|``. The rows of R not
    computed are zero.
    """
    rows, n = y.shape
    steps = min(rows, n) if steps is None else min(steps, rows, n)
    ys, e = _scaled_copy(y)
    dtype = ys.dtype
    complex_ = dtype.kind == "c"
    r = np.zeros((steps, n), dtype=dtype)
    perm = np.arange(n)
    active = np.ones(n, dtype=bool)
    q = np.eye(rows, dtype=dtype)
    norms = _squared_column_norms(ys)
    exact = norms.copy()
    limit = np.sqrt(np.finfo(dtype).eps)
    done, top = steps, 0.0
    for j in range(steps):
        p = j + int(np.argmax(norms[perm[j:]]))
        col = perm[p]
        perm[p], perm[j] = perm[j], col
        active[col] = False
        trailing = q[:, j:]
        x = (trailing.conj().T if complex_ else trailing.T) @ ys[:, col]
        alpha = float(np.linalg.norm(x))
        if alpha == 0.0:  # the rest of Y is zero
            done = j
            break
        phase = x[0] / abs(x[0]) if x[0] != 0 else 1.0
        x[0] += phase * alpha
        x /= np.linalg.norm(x)
        # Q <- Q H_j with H_j = I - 2 v v^H acting on coordinates j:
        trailing -= np.outer(trailing @ x, 2.0 * (x.conj() if complex_ else x))
        row = (q[:, j].conj() if complex_ else q[:, j]) @ ys
        r[j] = row
        if j == 0:
            top = alpha
        elif tol is not None and alpha <= tol * top:
            done = j + 1
            break
        if complex_:
            norms -= np.square(row.real, dtype=np.float64)
            norms -= np.square(row.imag, dtype=np.float64)
        else:
            norms -= np.square(row, dtype=np.float64)
        stale = np.flatnonzero((norms <= limit * exact) & active)
        if stale.size:
            rest = q[:, j + 1 :]
            fresh = _squared_column_norms(
                (rest.conj().T if complex_ else rest.T) @ ys[:, stale]
            )
            norms[stale] = fresh
            exact[stale] = fresh
    r = np.triu(r[:, perm])
    r[done:] = 0
    return _unscaled(r, e), perm


def _rank_for_tol(diag, tol):
    """Number of leading ``|R_jj| > tol * |R_00|`` (0 for a zero matrix)."""
    if diag.size == 0 or diag[0] == 0:
        return 0
    below = np.flatnonzero(diag <= tol * diag[0])
    return int(below[0]) if below.size else diag.size


def _numerical_rank(r, k, rtol):
    """How many of the first k pivots lie above the cutoff ``rtol |R_00|``."""
    return _rank_for_tol(np.abs(np.diagonal(r)[:k]), rtol) if k else 0


def _coefficients(r, perm, k, rtol):
    """``coef`` (k x n) with ``coef[:, perm] = [I, R11^{-1} R12]``.

    For the R of A itself this is the least-squares optimum for the selected
    columns: ``A[:, perm[:k]] = Q1 R11``, so ``A[:, perm[:k]]^+ A =
    R11^{-1} Q1^H A P^T = [I, R11^{-1} R12] P^T``. Pivots whose ``|R_jj|``
    fall below the rank cutoff ``rtol * |R_00|`` span nothing new: the
    remaining columns are expressed through the numerically independent
    pivots only (their rows of ``R11^{-1} R12`` are zero) instead of
    dividing by rounding noise.
    """
    n = r.shape[1]
    rank = _numerical_rank(r, k, rtol)
    coef = np.zeros((k, n), dtype=r.dtype)
    coef[np.arange(k), perm[:k]] = 1
    if rank and k < n:
        # numpy's LU solve rather than scipy's trsm: one OpenBLAS pool for
        # the whole call (see docs/design.md); backward stable all the same
        coef[:rank, perm[k:]] = np.linalg.solve(r[:rank, :rank], r[:rank, k:])
    return coef


def _columns(op, cols):
    """``A[:, cols]`` as an ndarray (an operator: products with unit vectors)."""
    if isinstance(op, DenseMap):
        return op.a[:, cols]
    if isinstance(op, SparseMap):
        return op.a[:, cols].toarray()
    units = np.zeros((op.shape[1], cols.size), dtype=op.dtype)
    units[cols, np.arange(cols.size)] = 1
    return check_products_finite(op.matmat(units))


def _least_squares_coefficients(op, r, perm, k, rtol):
    """``coef`` (k x n) minimising ``||A - A[:, perm[:k]] coef||`` exactly.

    `r` is the pivoted-QR factor of the sketch ``Y = Q^H A``. Its
    ``R11^{-1} R12`` is the least-squares fit *of the sketch*, which misses
    the part of the selected columns C outside range(Q) and so loses a
    little against ``C^+ A`` (relative 1e-7 on the benchmark matrix, every
    seed). Here ``C^+ A`` itself is computed, with one more product of A
    with ``rank`` vectors, preconditioned by the sketch: ``Q^H C = Y[:, sel]
    = Q_Y R11``, so ``W = C R11^{-1}`` is orthonormal up to that missing
    part, and ``C^+ A = R11^{-1} (W^H W)^{-1} W^H A``. If
    ``||W^H W - I||_F <= 1/2`` (``cond(W)^2 <= 3``) these normal equations
    are as accurate as a QR; otherwise W is orthonormalised first
    (CholeskyQR2 or Householder). Both products with ``R11^{-1}`` are
    triangular solves, never an explicit inverse: then ``C = W R11`` holds
    to ``O(eps ||C||)`` however ill-conditioned R11 is, which makes this a
    stable QR of C (randomized preconditioned Cholesky-QR, [Fan, Guo & Lin
    2021; Garrison & Ipsen 2024]) and the coefficients backward stable.
    Pivots below the rank cutoff get zero rows, as in `_coefficients`.
    """
    n = op.shape[1]
    coef = np.zeros((k, n), dtype=op.dtype)
    coef[np.arange(k), perm[:k]] = 1
    rank = _numerical_rank(r, k, rtol)
    if not rank or k == n:
        return coef
    rest = perm[k:]
    r11 = r[:rank, :rank]
    w = _right_solve_upper(_columns(op, perm[:rank]), r11)
    gram = w.conj().T @ w
    if np.linalg.norm(gram - np.eye(rank)) <= 0.5:
        y = np.linalg.solve(gram, check_products_finite(op.hmat(w)[:, rest]))
    else:
        q, r_w = orthonormalize(w)
        f = check_products_finite(op.hmat(q)[:, rest])
        y = np.linalg.solve(r_w, f)
    # numpy's LU of an upper triangular matrix pivots nowhere: this is back
    # substitution, on numpy's OpenBLAS pool like the rest of the pipeline.
    coef[:rank, rest] = np.linalg.solve(r11, y)
    return coef


def _right_solve_upper(c, r):
    """``C R^{-1}`` for upper triangular R, by substitution (no inverse).

    Solved as ``R^T W^T = C^T``; reversing the order of rows and columns of
    the lower triangular ``R^T`` makes it upper triangular, so numpy's LU
    solve is plain substitution there too (it pivots nowhere). Substitution
    is backward stable row by row, ``W (R + dR_i) = C``; an explicit
    ``R^{-1}`` is not, and lost 6 digits of the ID on a Hilbert matrix
    (cond(R) ~ 1e13).
    """
    flipped = r.T[::-1, ::-1]
    return np.linalg.solve(flipped, c.T[::-1]).T[:, ::-1]


# --------------------------------------------------------------------------
# the sketch: B = Q^H A with Q an orthonormal basis of A's sampled range
# --------------------------------------------------------------------------


def _upper_cholesky_inverse(gram):
    """``R^{-1}`` for ``gram = R^H R`` (upper Cholesky); LinAlgError if not PD."""
    # the lower factor, transposed: `upper=` needs numpy >= 2.0
    inverse = np.linalg.inv(np.linalg.cholesky(gram).conj().T)
    if not np.isfinite(inverse).all():
        raise np.linalg.LinAlgError("Cholesky factor not invertible")
    return inverse


def _orthonormal(x):
    """Orthonormal basis of range(x), for the products of the sketch.

    CholeskyQR2 in four level-3 products: ``Q1 = X R1^{-1}`` and ``Q =
    Q1 R2^{-1}`` with the inverses of the Cholesky factors applied by gemm
    (any invertible matrix gives a basis of the same range; the second pass
    restores orthonormality to O(eps) once the first is within
    ``||Q1^H Q1 - I||_F <= 1/2``, Yamamoto et al. 2015). X is scaled by a
    power of two first, so its Gram matrix neither overflows nor
    underflows. numpy's LU solves with 2000 right-hand sides cost 2 ms each
    here, the inverse-and-gemm route a few hundred microseconds. Breakdown
    (cond(X) beyond about 1e8) and wide x go to
    `lowrank.approx._block_krylov.orthonormalize` (Householder QR).
    """
    if x.shape[0] < x.shape[1] or x.shape[1] == 0:
        return np.linalg.qr(x, mode="reduced")[0]
    y, _ = _scaled_copy(x)
    try:
        q = y @ _upper_cholesky_inverse(y.conj().T @ y)
        gram = q.conj().T @ q
        if np.linalg.norm(gram - np.eye(gram.shape[0])) <= 0.5:
            return q @ _upper_cholesky_inverse(gram)
    except np.linalg.LinAlgError:
        pass
    return orthonormalize(y)[0]


def _sketch(op, width, options):
    """``B = Q^H A`` (width x N), Q orthonormal with ``range(Q) ≈ range(A)``.

    Q is the randomized range finder's basis for ``A Omega`` after `n_iter`
    power iterations (Halko, Martinsson & Tropp 2011, Alg. 4.4). Because
    ``A ≈ Q B`` with orthonormal Q, the column relations of B are those of
    A up to the range-finder error, and the pivoted QR of B ranks columns as
    that of A does; a plain ``Omega A`` (one pass fewer) also mixes in the
    part of A beyond the leading directions, and its pivots were 4-5x worse
    on a rank-50-plus-noise matrix.
    """
    # NaN/Inf must not reach LAPACK's pivoted QR.
    sample = SKETCHES[options.sketch].sample
    y = check_products_finite(sample(op, width, options.rng))
    for _ in range(options.n_iter):
        z = _orthonormal(check_products_finite(op.rmatmat(_orthonormal(y))))
        y = check_products_finite(op.matmat(z))
    return check_products_finite(op.hmat(_orthonormal(y)))


def _dense_matrix(op):
    """A itself as an ndarray (an operator through ``hmat(I)``)."""
    if isinstance(op, DenseMap):
        return op.a
    if isinstance(op, SparseMap):
        return op.a.toarray()
    return check_products_finite(op.hmat(np.eye(op.shape[0], dtype=op.dtype)))


def _sketch_is_pointless(width, m):
    """A sketch with more than half of A's rows saves too little: factor A."""
    return 2 * width > m


# --------------------------------------------------------------------------
# the two methods: f(op, k, tol, options) -> (idx, coef), column ID
# --------------------------------------------------------------------------


class _Options(NamedTuple):
    oversample: int
    n_iter: int
    sketch: str  # a key of SKETCHES
    rng: np.random.Generator
    rtol: float
    #: False: only the indices are wanted (`select_indices`); coef is None
    coefficients: bool = True


def _id_cpqr(op, k, tol, options):
    # The caller's array is never written to: the pivoted QR gets a copy.
    r, perm = _pivoted_qr(op.a, overwrite=False)
    if k is None:
        k = _rank_for_tol(np.abs(np.diagonal(r)), tol)
    coef = _coefficients(r, perm, k, options.rtol) if options.coefficients else None
    return perm[:k], coef


def _id_randomized(op, k, tol, options):
    m, p = op.shape[0], options.oversample
    width = min(k + p if k is not None else max(TOL_INITIAL_WIDTH, 2 * p), m)
    while True:
        exact = _sketch_is_pointless(width, m)
        if exact and isinstance(op, DenseMap):
            r, perm = _pivoted_qr(op.a, overwrite=False)
        else:
            y = _dense_matrix(op) if exact else _sketch(op, width, options)
            if y.shape[0] <= SHORT_SKETCH_ROWS:
                r, perm = _pivoted_qr_short(y, steps=k, tol=tol)
            else:
                r, perm = _pivoted_qr(y, overwrite=True)
        rank = k if k is not None else _rank_for_tol(np.abs(np.diagonal(r)), tol)
        # With tol, a rank that reaches into the last `oversample` rows of the
        # sketch may be the sketch's limit rather than A's: sample again.
        if k is not None or exact or rank + max(p, 1) <= width:
            break
        width = min(2 * width, m)
    if not options.coefficients:
        return perm[:rank], None
    if exact:  # Y = A: R11^{-1} R12 is already the least-squares optimum
        return perm[:rank], _coefficients(r, perm, rank, options.rtol)
    return perm[:rank], _least_squares_coefficients(op, r, perm, rank, options.rtol)


#: method name -> function(op, k, tol, options) -> (idx, coef): the column ID
#: of a validated, non-empty 2-D linear map; exactly one of k, tol is None;
#: coef is None when ``options.coefficients`` is False. The command and the
#: docs read it.
ID_METHODS = {"cpqr": _id_cpqr, "randomized": _id_randomized}

#: The methods that do not take every kind of operand -> the kinds they take:
#: "cpqr" factors the array itself.
RESTRICTED_OPERANDS = {"cpqr": ("dense",)}


# --------------------------------------------------------------------------
# boundary
# --------------------------------------------------------------------------


def _transposed(op):
    """The linear map of ``A^T`` (no conjugation: an ID is a linear relation)."""
    if isinstance(op, DenseMap):
        return DenseMap(op.a.T)
    if isinstance(op, SparseMap):
        return SparseMap(op.a.T)
    return OperatorMap(op.a.T, op.dtype)


def choose_interpolative_method(
    shape, k=None, *, dense=True, oversample=DEFAULT_OVERSAMPLE
):
    """The rule of ``method="auto"`` for :func:`interpolative`, in one place.

    * A scipy.sparse matrix or a LinearOperator (``dense=False``):
      ``"randomized"``, the only method that does not densify it.
    * A dense A with ``min(M, N) < 256``: ``"cpqr"``; the pivoted QR of A
      is cheap there, deterministic, and the most accurate ID.
    * A dense A with a rank ``k`` whose sketch would have more than
      ``min(M, N) / 4`` rows (``k + oversample > min(M, N) / 4``):
      ``"cpqr"``; the sketch would save too little.
    * Otherwise (large dense A, small ``k`` or a ``tol``): ``"randomized"``.
      With `tol` the sketch grows until it reveals the rank, and a sketch
      that would exceed half the rows of A is replaced by A itself, so a
      large rank costs at most about twice ``"cpqr"``.

    Parameters
    ----------
    shape : tuple of int
        ``(M, N)``, the shape of A (the rule is symmetric in M and N).
    k : int or None, optional
        The rank asked for, or None when `tol` decides it.
    dense : bool, optional
        False for a scipy.sparse matrix or a LinearOperator.
    oversample : int, optional
        The oversampling of the randomized method.

    Returns
    -------
    str
        ``"cpqr"`` or ``"randomized"``.

    Examples
    --------
    >>> from lowrank import choose_interpolative_method
    >>> choose_interpolative_method((2000, 2000), 50)
    'randomized'
    >>> choose_interpolative_method((2000, 2000), 500)
    'cpqr'
    >>> choose_interpolative_method((200, 100), 5), choose_interpolative_method(
    ...     (200, 100), 5, dense=False)
    ('cpqr', 'randomized')
    """
    small = min(shape)
    if not dense:
        return "randomized"
    if small < AUTO_MIN_SIZE:
        return "cpqr"
    if k is not None and k + oversample > AUTO_MAX_SKETCH_FRACTION * small:
        return "cpqr"
    return "randomized"


def interpolative(
    a,
    k=None,
    *,
    tol=None,
    axis=1,
    method="auto",
    oversample=DEFAULT_OVERSAMPLE,
    n_iter=DEFAULT_N_ITER,
    sketch="gaussian",
    rng=None,
    check_finite=True,
):
    """Interpolative decomposition: A from k of its own columns (or rows).

    Parameters
    ----------
    a : array_like (M, N), scipy.sparse matrix or LinearOperator
        The matrix. Sparse matrices and LinearOperators (used only through
        ``matmat`` and ``rmatmat``) need ``method="randomized"`` (what
        ``"auto"`` picks for them). Integer input is computed in float64,
        float32/complex64 in single precision.
    k : int, optional
        The number of columns (rows) to select, ``1 <= k <= min(M, N)``.
        Give exactly one of `k` and `tol`.
    tol : float, optional
        Relative accuracy, ``0 < tol < 1``: the rank is the number of
        leading diagonal entries of the pivoted QR's R (of A, or of the
        sketch) with ``|R_jj| > tol * |R_00|`` (see Notes for what that
        guarantees).
    axis : {1, 0}, optional
        1 (default): select columns, ``A ≈ A[:, idx] @ coef``. 0: select
        rows, ``A ≈ coef @ A[idx, :]``.
    method : {"auto", "cpqr", "randomized"}, optional
        ``"cpqr"``: column-pivoted QR of A (LAPACK geqp3), deterministic; the
        selected columns are exactly those of
        ``scipy.linalg.qr(a, pivoting=True)``. ``"randomized"``: pivoted QR
        of the sketch ``Y = Q^H A`` with ``l = k + oversample`` rows, where
        Q is an orthonormal basis of ``(A A^H)^q A Omega``, then the
        least-squares coefficients for the selected columns (see Notes).
        ``"auto"`` (default): the rule of :func:`choose_interpolative_method`
        (randomized for sparse, operator and large dense input with a small
        rank; cpqr otherwise).
    oversample : int, optional
        Extra sketch rows ``p >= 0`` (default 10); randomized method only.
    n_iter : int, optional
        Power iterations ``q >= 0`` of the range finder (default 0), each
        two more products with A; randomized method only. They help when
        the singular values decay slowly beyond k.
    sketch : {"gaussian", "sparse_sign"}, optional
        The N x l test matrix Omega: Gaussian (complex for complex A;
        default) or a sparse sign embedding with 8 nonzeros per row,
        applied by a numba kernel to dense A (``8 M N`` operations instead
        of ``2 M N l``), as in :func:`rangefinder`.
    rng : None, int, numpy.random.Generator, optional
        Source of randomness (:func:`numpy.random.default_rng`); the same
        seed gives the same result. Unused by ``"cpqr"``.
    check_finite : bool, optional
        Check a dense or sparse `a` for NaN/Inf elementwise (default); with
        False a cheaper sum test is used.

    Returns
    -------
    IDResult
        ``(idx, coef)``: `idx` (k,) the selected columns or rows, most
        important first; `coef` (k, N) for ``axis=1`` or (M, k) for
        ``axis=0``, in the computing dtype of `a`, equal to the identity on
        `idx` exactly. With `tol` and an all-zero A, k = 0.

    Raises
    ------
    ValueError
        If `a` is not 2-D or has NaN/Inf, not exactly one of `k` and `tol`
        is given, ``k`` is outside ``[1, min(M, N)]`` or `tol` outside
        ``(0, 1)``, `axis` is not 0 or 1, `oversample` or `n_iter` is
        negative, `method` or `sketch` is unknown, or the products with a
        LinearOperator are not finite.
    TypeError
        For unsupported dtypes (float16, longdouble, ...), non-integer `k`,
        `axis`, `oversample` or `n_iter`, an invalid `rng`, or
        ``method="cpqr"`` with a sparse matrix or LinearOperator.

    See Also
    --------
    choose_interpolative_method : The rule of ``method="auto"``.
    cur : Columns and rows together, ``A ≈ C U R``.
    scipy.linalg.interpolative.interp_decomp : The ID of id_dist (float64
        and complex128 dense arrays and LinearOperators only).
    scipy.linalg.qr : With ``pivoting=True``, the pivoted QR behind
        ``"cpqr"``.

    Notes
    -----
    Column-pivoted QR ``A P = Q R``, ``R = [[R11, R12], [0, R22]]`` with
    R11 k x k, gives ``idx = P[:k]`` and ``coef[:, P] = [I, R11^{-1} R12]``
    [1]_, [2]_. These are the least-squares coefficients for the selected
    columns, ``coef = A[:, idx]^+ A``, so no other ``coef`` gives a smaller
    error with these columns, in the spectral or the Frobenius norm, and

    .. math::

        \\| A - A_{:, idx}\\, coef \\|_2 = \\| R_{22} \\|_2
        \\le \\sqrt{N - k}\\, |R_{kk}|,

    because every column of R22 is at most as long as its first (the next
    pivot). Pivoted QR is not a strong rank-revealing QR, so in the worst
    case (Kahan's matrix) ``||R22||_2 / sigma_{k+1}`` and ``max |coef|``
    grow like ``2^k``; in practice the error is a modest multiple of the
    optimum ``sigma_{k+1}`` and ``max |coef| <= 2``. Measured in
    ``benchmarks/bench_columns.py`` (2000 x 2000, rank 50 plus noise,
    k = 50): error ``13 sigma_{k+1}``, ``max |coef| = 1.1``, for both
    methods. An estimate of ``max |coef|`` is ``np.abs(coef).max()``.

    **tol.** The rank is the number of leading ``|R_jj| > tol |R_00|``.
    Since ``|R_00|`` is the largest column norm, ``<= ||A||_2``, the bound
    above gives ``||A - A[:, idx] coef||_2 <= sqrt(N - k) tol ||A||_2`` for
    ``"cpqr"`` (for ``"randomized"``, R is the sketch's and the range-finder
    term below adds to it): `tol` bounds the relative spectral error only up
    to the usual pivoted-QR factor ``sqrt(N - k)``, which on matrices with
    decaying spectra is far from attained (at most ``1.05 tol`` in the
    tests, on geometric, polynomial and step spectra).
    This is the convention of scipy.linalg.interpolative's ``eps``.

    **Randomized.** The randomized range finder [3]_ gives an orthonormal
    Q (M x l, ``l = k + p``) with ``A ≈ Q Q^H A``; the pivoted QR of the
    small ``Y = Q^H A`` (l x N, ``O(l^2 N)``) then selects the columns
    [4]_, [5]_. The sketch's own coefficients ``Z = [I, R11(Y)^{-1}
    R12(Y)]`` fit Y, not A, and lose a little against the least-squares
    ones (relative ``1e-7`` in the benchmark, for every seed), so `coef` is
    computed as ``A[:, idx]^+ A`` with one more product of A with k vectors,
    the selected columns preconditioned by the sketch's R11 (then nearly
    orthonormal, so normal equations are accurate) through triangular
    solves, a randomized preconditioned Cholesky-QR of the columns [6]_ that
    keeps the coefficients backward stable however ill-conditioned the
    columns are. It is at least as good
    as Z: since
    ``A - A[:, idx] Z = (I - Q Q^H)(A - A[:, idx] Z) + Q (Y - Y[:, idx] Z)``,

    .. math::

        \\| A - A_{:, idx} Z \\|_2 \\le \\| R_{22}(Y) \\|_2
        + (1 + \\| Z \\|_2) \\, \\| A - Q Q^H A \\|_2 ,

    where for ``p >= 2`` the range-finder error is in expectation at most
    ``[1 + 4 sqrt(l min(M, N)) / (p - 1)]^{1/(2q+1)} sigma_{k+1}``
    (Halko, Martinsson & Tropp [3]_), and ``||R22(Y)||_2 <= ||R22(A)||_2``
    in practice: because Q is orthonormal, Y has A's column norms and
    relations up to that error, and the pivots usually coincide with those
    of ``"cpqr"``. In the benchmark all 50 did for each of 20 seeds, and
    the error equalled that of ``"cpqr"`` (and of scipy's
    ``interp_decomp``) to ``1e-14`` relative. A plain ``Omega A`` sketch
    (one product fewer) mixes the tail of A into every row and picks other
    columns: its error there was 4.6x larger with its own coefficients and
    still 1.3x with least-squares ones (medians of 20 seeds).
    With `tol` the sketch starts at ``max(32, 2p)`` rows and is redrawn
    twice as large until the rank it reveals lies at least ``max(p, 1)``
    rows below its size; a sketch that would need more than half the rows
    of A is replaced by A itself.
    Cost: ``2q + 2`` products of A with l vectors and one with k vectors,
    plus ``O((M + N) l^2)``; a LinearOperator also gives its k selected
    columns through products with unit vectors.

    scipy.linalg.interpolative computes in float64/complex128 only, and
    needs dense arrays or LinearOperators; here float32 and complex64 stay
    in single precision and scipy.sparse input is used as is.

    References
    ----------
    .. [1] H. Cheng, Z. Gimbutas, P.-G. Martinsson and V. Rokhlin, "On the
       compression of low rank matrices", SIAM J. Sci. Comput. 26(4),
       1389-1404 (2005). https://doi.org/10.1137/030602678
    .. [2] M. Gu and S. C. Eisenstat, "Efficient algorithms for computing a
       strong rank-revealing QR factorization", SIAM J. Sci. Comput. 17(4),
       848-869 (1996). https://doi.org/10.1137/0917055
    .. [3] N. Halko, P.-G. Martinsson and J. A. Tropp, "Finding structure
       with randomness: probabilistic algorithms for constructing
       approximate matrix decompositions", SIAM Review 53(2), 217-288
       (2011). https://doi.org/10.1137/090771806
    .. [4] S. Voronin and P.-G. Martinsson, "Efficient algorithms for CUR
       and interpolative matrix decompositions", Adv. Comput. Math. 43,
       495-516 (2017). arXiv:1412.8447
    .. [5] Y. Dong and P.-G. Martinsson, "Simpler is better: a comparative
       study of randomized pivoting algorithms for CUR and interpolative
       decompositions", Adv. Comput. Math. 49, 66 (2023).
       arXiv:2104.05877
    .. [6] Y. Fan, Y. Guo and T. Lin, "A novel randomized XR-based
       preconditioned CholeskyQR algorithm", arXiv:2111.11148 (2021);
       J. E. Garrison and I. C. F. Ipsen, "A randomized preconditioned
       Cholesky-QR algorithm", arXiv:2406.11751 (2024).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank import interpolative
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((300, 8)) @ rng.standard_normal((8, 200))
    >>> idx, coef = interpolative(a, 8)
    >>> idx.shape, coef.shape
    ((8,), (8, 200))
    >>> bool(np.allclose(a[:, idx] @ coef, a))
    True
    >>> bool(np.array_equal(coef[:, idx], np.eye(8)))
    True
    >>> bool(np.abs(coef).max() <= 2)
    True

    Rows instead of columns, and the rank from a tolerance:

    >>> idx, coef = interpolative(a, tol=1e-8, axis=0, method="randomized", rng=0)
    >>> len(idx), bool(np.allclose(coef @ a[idx], a))
    (8, True)
    """
    axis = check_axis(axis)
    check_method(method, {"auto": None, **ID_METHODS})
    check_method(sketch, SKETCHES, "sketch")
    oversample = check_nonnegative_int(oversample, "oversample")
    n_iter = check_n_iter(n_iter, auto=False)
    rng = check_rng(rng)
    op = as_linear_map(a, check_finite=check_finite)
    if axis == 0:
        op = _transposed(op)
    m, n = op.shape
    k, tol = check_k_or_tol(k, tol, min(m, n))
    kind = operand_kind(op.a)
    if method == "auto":
        method = choose_interpolative_method(
            op.shape, k, dense=kind == "dense", oversample=oversample
        )
    else:
        check_operand_kind(method, kind, ID_METHODS, RESTRICTED_OPERANDS)
    if m == 0 or n == 0:  # only reachable with tol: the empty ID
        idx, coef = np.zeros(0, np.intp), np.zeros((0, n), op.dtype)
    else:
        options = _Options(
            oversample, n_iter, sketch, rng, default_rtol(op.shape, op.dtype)
        )
        idx, coef = ID_METHODS[method](op, k, tol, options)
    return IDResult(idx, coef.T if axis == 0 else coef)


def select_indices(op, k, rng, *, axis=1):
    """The `k` columns (axis=1) or rows (axis=0) ``interpolative(a, k)`` selects.

    The internal entry point for :func:`lowrank.cur`: `op` is a validated
    linear map, ``1 <= k <= min(M, N)``, `rng` a Generator; the defaults of
    :func:`interpolative` (``method="auto"``) apply.
    """
    if axis == 0:
        op = _transposed(op)
    method = choose_interpolative_method(op.shape, k, dense=isinstance(op, DenseMap))
    options = _Options(
        DEFAULT_OVERSAMPLE,
        DEFAULT_N_ITER,
        "gaussian",
        rng,
        default_rtol(op.shape, op.dtype),
        coefficients=False,
    )
    return ID_METHODS[method](op, k, None, options)[0]
