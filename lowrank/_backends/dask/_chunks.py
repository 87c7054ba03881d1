"""What runs on the workers: plain-numpy functions of one block of rows.

Nothing here imports dask. Every function takes the row block ``a_i`` of the
tall matrix A (and the matching block of b where there is one) plus small
parameters (n x n or n x l matrices, computed once on the client), and
returns either small arrays that the caller sums over all blocks (Gram
matrices, ``Q_i^H A_i``, residual norms) or the block of a tall result.

The tall operand of a factorization is ``Y = A Z`` (``Z`` None: ``Y = A``),
formed block by block and never stored; ``q_prev = Y R_1^{-1} R_2^{-1} ...``
is the Q of the Cholesky-QR passes so far (one trsm per factor, as in
`lowrank.linalg._tallqr`), so every pass over A reads each block once and keeps
at most a few blocks' worth of memory.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.linalg import get_lapack_funcs

from lowrank._backends.ndarray import gram, right_solve_upper
from lowrank._core.blas import matmul

__all__ = [
    "adjoint_block",
    "apply_block",
    "gram_block",
    "gram_extremes_block",
    "normal_block",
    "pack",
    "residual_block",
    "sign_block",
    "sketch_block",
    "tsqr_apply_block",
    "tsqr_block",
]


def hdot(q, x):
    """``Q^H X`` by one gemm; for real input neither operand is copied."""
    return matmul(q.T, x.conj()).conj()


def tall_block(a, z):
    """The block ``Y_i = A_i Z`` of the tall operand (``A_i`` itself if Z is None)."""
    return a if z is None else matmul(a, z)


def q_prev_block(a, z, solves):
    """``Y_i R_1^{-1} R_2^{-1} ...``: one trsm per triangular factor in `solves`.

    The input block belongs to dask and is never overwritten; the products
    made here are solved in place.
    """
    y = tall_block(a, z)
    own = z is not None
    if solves and not y.flags.f_contiguous:
        # trsm runs faster on column-major data: for a 125000 x 100 block a
        # copy (35 ms) and an in-place solve (58 ms) cost what the solve of
        # the row-major block did (99 ms), and every later solve, product
        # and Gram matrix of the copy is faster (66 ms per trsm, not 99).
        y = np.asfortranarray(y)
        own = True
    for r in solves:
        y = right_solve_upper(y, r, overwrite_a=own)
        own = True
    return y


def pack(function, *blocks, dtype, **params):
    """Run `function` and pack its small outputs into one row ``(1, size)``.

    The caller sums (or stacks) these rows over the blocks and unpacks them
    (`lowrank._backends.dask._passes`), so one reduction carries several results.
    """
    outputs = function(*blocks, **params)
    flat = [np.ravel(np.asarray(x)).astype(dtype, copy=False) for x in outputs]
    return np.concatenate(flat)[np.newaxis, :]


def gram_block(a, b=None, *, z=None, solves=(), carry_a=False):
    """``[Q_i^H Q_i, (Q_i^H A_i), (Q_i^H b_i)]`` for ``Q_i = q_prev_block(...)``.

    With no solves and no Z this is the block's share ``A_i^H A_i`` of the
    Gram matrix (syrk/herk); the optional products carry A or b through the
    final pass of a QR (``B = Q^H A`` of a randomized SVD, ``Q^H b`` of a
    least-squares solve).
    """
    q = q_prev_block(a, z, solves)
    out = [gram(q)]
    if carry_a:
        out.append(hdot(q, a))
    if b is not None:
        out.append(hdot(q, b))
    return out


def gram_extremes_block(a, *, z):
    """``[U_i^H U_i, (column maxima, column minima)]`` of ``U_i = A_i Z``.

    The extremes (real input only) let the client certify the signs of U
    without a further pass (`lowrank._backends.dask._svd._certain_signs`).
    """
    u = tall_block(a, z)
    out = [gram(u)]
    if not np.iscomplexobj(u):
        if u.shape[0] == 0:
            k = u.shape[1]
            return [*out, np.full(k, -np.inf), np.full(k, np.inf)]
        out += [u.max(axis=0), u.min(axis=0)]
    return out


def adjoint_block(a, *, z, solves):
    """``[A_i^H Q_i]`` with ``Q_i = Y_i R^{-1}``: the A^H half of a power iteration."""
    return [hdot(a, q_prev_block(a, z, solves))]


def normal_block(a, b):
    """``[A_i^H A_i, A_i^H b_i, ||b_i||^2 per column]``: the first pass of lstsq."""
    return [gram(a), hdot(a, b), np.sum((b * b.conj()).real, axis=0)]


def residual_block(a, b, *, x):
    """``[A_i^H r_i, ||r_i||^2 per column]`` for ``r_i = b_i - A_i x``, one pass."""
    r = b - matmul(a, x)
    return [hdot(a, r), np.sum((r * r.conj()).real, axis=0)]


def sketch_block(a, seed_block, *, z=None, rows, zeta, seed):
    """``[S_i Y_i]``: this block's share of a sparse sign sketch ``S Y``.

    ``S_i`` (rows x block rows, `zeta` nonzeros per column) is drawn from
    ``(seed, block index)``, the index held by `seed_block`; the serial numba
    kernel of the one-machine sketch applies it.
    """
    from lowrank._kernels.sketch import sparse_sign_sketch

    rng = np.random.default_rng([seed, int(seed_block[0, 0])])
    y = tall_block(a, z)
    return [sparse_sign_sketch(y, rows, zeta=zeta, rng=rng, parallel=False)]


def _padded(x, rows):
    """`x` with zero rows appended up to `rows` rows."""
    if x.shape[0] == rows:
        return x
    out = np.zeros((rows, *x.shape[1:]), dtype=x.dtype)
    out[: x.shape[0]] = x
    return out


def _householder(y):
    """LAPACK's Householder QR of a block in raw form: ``((h, tau), R)`` (geqrf).

    scipy's LAPACK, the same call wherever a block is factored, so the
    reflectors used when Q is applied are bitwise those whose R went into
    the stack.
    """
    return scipy.linalg.qr(y, mode="raw", check_finite=False)


def _apply_reflectors(h, tau, c, adjoint):
    """``Q_full^H c`` (`adjoint`) or ``Q_full c`` from the reflectors (ormqr)."""
    complex_ = np.iscomplexobj(h)
    (ormqr,) = get_lapack_funcs(("unmqr" if complex_ else "ormqr",), (h, c))
    trans = ("C" if complex_ else "T") if adjoint else "N"
    lwork = max(1, 64 * c.shape[1])
    # the reflectors are the first len(tau) columns of h (fewer than h's
    # columns for a block with fewer rows than columns)
    out, _, info = ormqr("L", trans, h[:, : tau.shape[0]], tau, c, lwork)
    if info != 0:
        raise np.linalg.LinAlgError(f"ormqr failed (info={info})")
    return out


def tsqr_block(a, b=None, *, z=None, carry_a=False):
    """Householder QR ``Y_i = Q_i R_i``: ``[R_i, (Q_i^H A_i), (Q_i^H b_i)]``.

    Q_i is not formed: the reflectors are applied to A_i or b_i (ormqr).
    ``R_i`` (and the carried products) are padded with zero rows to ``l``
    rows when the block has fewer rows than Y has columns, so every block
    contributes an ``l x l`` triangle to the stack the client factors.
    """
    y = tall_block(a, z)
    width = y.shape[1]
    dtype = np.result_type(y, a)
    carries = [a] if carry_a else []
    if b is not None:
        carries.append(b)
    if y.shape[0] == 0:
        return [np.zeros((width, width), dtype)] + [
            np.zeros((width, x.shape[1]), dtype) for x in carries
        ]
    (h, tau), r = _householder(y)
    rows = r.shape[0]
    out = [_padded(r, width)]
    for x in carries:
        product = _apply_reflectors(h, tau, np.asarray(x, dtype=h.dtype), True)
        out.append(_padded(product[:rows], width))
    return out


def _finish(u, pivots, block_id):
    """Make the pivot entries of the sign convention exactly real and positive.

    `pivots` maps a block index to ``(rows, columns, magnitudes)`` of the
    entries that `lowrank.linalg._svd.canonical_signs` would set to their magnitude.
    """
    if pivots and block_id is not None and block_id[0] in pivots:
        rows, cols, values = pivots[block_id[0]]
        u[rows, cols] = values
    return u


def apply_block(a, *, z=None, solves=(), w=None, pivots=None, block_id=None):
    """Block ``q_prev_i W`` of ``Q W``, Q from Cholesky-QR (W None: ``q_prev_i``).

    Callers fold the last triangular factor into W (``W = r_last^{-1} W'``,
    the implicit-Q saving of `lowrank.linalg._tallqr.tall_qr_implicit`) or, for
    Q itself, pass it as the last of `solves` (a trsm, as on one machine).
    """
    q = q_prev_block(a, z, solves)
    u = q if w is None else matmul(q, w)
    return _finish(u, pivots, block_id)


def tsqr_apply_block(a, q2, *, z=None, w=None, pivots=None, block_id=None):
    """The block of ``Q W`` for the TSQR Q: ``Q_i (Q2_i W)``.

    The block's reflectors are recomputed by the same LAPACK call as in
    `tsqr_block` (the blocks of Q are never stored) and applied to
    ``Q2_i W`` (`q2` is this block's rows of the stack's Q).
    """
    y = tall_block(a, z)
    small = q2 if w is None else matmul(q2, w)
    out = np.zeros((y.shape[0], small.shape[1]), dtype=np.result_type(y, small))
    if y.shape[0] == 0:
        return out
    (h, tau), r = _householder(y)
    out[: r.shape[0]] = small[: r.shape[0]]
    u = _apply_reflectors(h, tau, out, False)
    return _finish(np.ascontiguousarray(u), pivots, block_id)


def sign_block(*blocks, kernel, **params):
    """What the sign convention needs to know about the block ``U_i`` of U.

    Complex U: per column the largest magnitude, the entry of the first row
    with it, and that row. Real U (cheaper: column maxima and minima are
    row-vectorised reductions, see `lowrank.linalg._svd._real_signs`): per column
    the maximum, the minimum and, only where both have the same magnitude,
    the sign of the first entry of that magnitude (else 0). The client
    combines the blocks in order, so ties go to the first row of the whole
    column, as in `lowrank.linalg._svd.canonical_signs`.
    """
    u = kernel(*blocks, **params)
    k = u.shape[1]
    if not np.iscomplexobj(u):
        if u.shape[0] == 0:
            return [np.full(k, -np.inf), np.full(k, np.inf), np.zeros(k)]
        high, low = u.max(axis=0), u.min(axis=0)
        tie_sign = np.zeros(k)
        for col in np.flatnonzero((high == -low) & (high > 0)):
            column = u[:, col]
            tie_sign[col] = np.sign(column[np.argmax(np.abs(column))])
        return [high, low, tie_sign]
    if u.shape[0] == 0:
        return [np.full(k, -1.0), np.zeros(k, u.dtype), np.zeros(k)]
    magnitude = np.abs(u)
    rows = np.argmax(magnitude, axis=0)
    cols = np.arange(k)
    return [magnitude[rows, cols], u[rows, cols], rows.astype(np.float64)]
