"""Thin QR of a row-chunked tall dask array: the Cholesky-QR chain, then TSQR.

The chain (randomized preconditioned CholeskyQR or CholeskyQR2, shifted
CholeskyQR3, Householder) and every decision in it are those of
`lowrank.linalg._tallqr` (`tall_qr_implicit`): the same order (`_chain_from`),
the same sketch size and acceptance test, the same shift, the same
condition-estimate threshold for skipping CholeskyQR2, the same check of
the final pass (`FINAL_PASS_DEFECT`), the same breakdown tests, all
imported from there. Only the passes over the tall matrix differ: each Gram matrix is a
map-reduce over the row blocks (`_passes.row_sum`), and the n x n work
(Cholesky, condition estimate, products of triangles) runs once on the
client. Q is never formed during the factorization: `TallQR` describes it
implicitly and builds it, or ``Q W``, as a lazy dask array.

The Householder fallback (numerically rank-deficient input) is TSQR: each
block is factored by LAPACK (``Y_i = Q_i R_i``), the stacked triangles
(one n x n triangle per block) are factored on the client
(``[R_1; R_2; ...] = Q_2 R``), and block i of Q is ``Q_i Q_{2,i}``, with
``Q_i`` recomputed by the same call when Q is needed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from lowrank._backends.dask import _chunks
from lowrank._backends.dask._passes import (
    lazy_rows,
    per_block,
    raise_if_not_finite,
    row_stack,
    row_sum,
)
from lowrank._core.blas import matmul
from lowrank.exceptions import FallbackWarning
from lowrank.linalg._tallqr import (
    FINAL_PASS_DEFECT,
    PRECONDITIONED_MAX_COND,
    SKETCH_NONZEROS,
    SKETCH_ROWS_PER_COLUMN,
    SKETCH_SEED,
    CholeskyBreakdown,
    _chain_from,
    _cholesky_upper,
    _condition_estimate,
    _phase_normalised,
    _positive_diagonal,
    _trusted_cond,
    cholqr2_threshold,
    shift_for,
)

__all__ = ["TallQR", "first_gram", "tall_qr_chain"]


@dataclass
class TallQR:
    """``Y = Q R`` for the tall operand ``Y = A Z`` (``Y = A`` if `z` is None).

    ``kind == "chol"``: ``Q = Y solves[0]^{-1} solves[1]^{-1} ... r_last^{-1}``.
    ``kind == "tsqr"``: block i of Q is ``Q_i q2[i]`` (`q2` a per-block dask
    array). `carried` holds ``Q^H A`` ("a") and ``Q^H b`` ("b") when asked for.
    """

    a: object
    z: np.ndarray | None
    r: np.ndarray
    method: str
    kind: str
    solves: tuple = ()
    r_last: np.ndarray | None = None
    q2: object = None
    carried: dict = field(default_factory=dict)

    @property
    def width(self):
        return self.r.shape[0]

    def _kernel_and_args(self, w, pivots):
        if self.kind == "chol":
            if w is None:  # Q itself: the last factor by a trsm, as on one machine
                solves, w = (*self.solves, self.r_last), None
            else:
                solves = self.solves
                # r_last^{-1} W: Q W = q_prev (r_last^{-1} W), as _svd._svd_tall_qr
                w = scipy.linalg.solve_triangular(self.r_last, w, check_finite=False)
            params = {"z": self.z, "solves": solves, "w": w, "pivots": pivots}
            return _chunks.apply_block, (), params
        params = {"z": self.z, "w": w, "pivots": pivots}
        return _chunks.tsqr_apply_block, (self.q2,), params

    def apply(self, w=None, pivots=None):
        """The lazy ``Q W`` (``Q`` if W is None), with A's row chunks.

        `pivots` (block index -> (rows, columns, values)) overwrites single
        entries after the product (the exact sign convention of complex U).
        """
        width = self.width if w is None else w.shape[1]
        kernel, extra, params = self._kernel_and_args(w, pivots)
        return lazy_rows(kernel, self.a, width, self.a.dtype, *extra, **params)

    def column_signs(self, w):
        """Per column of ``U = Q W``: the first entry of largest magnitude.

        One pass over A, running the very kernel `apply` runs, so the entries
        seen here are bitwise those of the returned U. Real W: returns the
        signs (+-1) of those entries. Complex W: ``(values, blocks, rows)``,
        the entries and where they are (block index, row within the block).
        """
        kernel, extra, params = self._kernel_and_args(w, None)
        k = w.shape[1]
        complex_ = np.iscomplexobj(w)
        stacked = row_stack(
            _chunks.sign_block,
            [self.a, *extra],
            [(k,), (k,), (k,)],
            np.complex128 if complex_ else np.float64,
            kernel=kernel,
            **params,
        )
        first, second, third = (np.stack([s[i] for s in stacked]) for i in range(3))
        if not complex_:
            return _real_signs(first, second, third)
        magnitude = first.real
        block = np.argmax(magnitude, axis=0)  # first block with the maximum
        cols = np.arange(k)
        rows = third.real.astype(np.intp)[block, cols]
        return second[block, cols].astype(self.a.dtype), block, rows


def _real_signs(high, low, tie_sign):
    """Signs of each column's first largest-magnitude entry, from block max/min."""
    top, bottom = high.max(axis=0), low.min(axis=0)
    magnitude = np.maximum(top, -bottom)
    signs = np.where(-bottom > top, -1.0, 1.0)
    for col in np.flatnonzero((top == -bottom) & (magnitude > 0)):
        # a tie between +x and -x: the first block holding an entry of magnitude
        # x decides, and within it the first such entry
        for b in range(high.shape[0]):
            has_high, has_low = (
                high[b, col] == magnitude[col],
                low[b, col] == -magnitude[col],
            )
            if has_high and has_low:
                signs[col] = tie_sign[b, col]
            elif has_high or has_low:
                signs[col] = 1.0 if has_high else -1.0
            else:
                continue
            break
    return signs


def first_gram(a, name="a", *, extra_finite=None):
    """The Gram matrix ``A^H A`` by one pass, with the deferred finiteness test.

    Returns ``(g, finite)``; `finite` is False only if G overflowed.
    """
    (g,) = row_sum(_chunks.gram_block, [a], [(a.shape[1],) * 2], a.dtype)
    finite = raise_if_not_finite([g], {name: a, **(extra_finite or {})})
    return g, finite


def _pass_layout(a, z, b, carry_a):
    """``(arrays, shapes)`` of a pass: the blocks read and the small results."""
    width = a.shape[1] if z is None else z.shape[1]
    shapes = [(width, width)]
    if carry_a:
        shapes.append((width, a.shape[1]))
    arrays = [a]
    if b is not None:
        shapes.append((width, b.shape[1]))
        arrays.append(b)
    return arrays, shapes


def _gram_pass(a, z, solves, b=None, carry_a=False):
    """``(Q^H Q, carried)`` for ``Q = Y solves^{-1}``: one pass, optional carries."""
    arrays, shapes = _pass_layout(a, z, b, carry_a)
    out = row_sum(
        _chunks.gram_block, arrays, shapes, a.dtype, z=z, solves=solves, carry_a=carry_a
    )
    carried = {}
    if carry_a:
        carried["a"] = out[1]
    if b is not None:
        carried["b"] = out[-1]
    return out[0], carried


def _final_pass(a, z, solves, b, carry_a):
    """The last Cholesky-QR pass, trusted only if its input is near orthonormal.

    Returns ``(r_last, carried)`` with the carried ``Q^H X`` already multiplied
    by ``r_last^{-H}``.
    """
    g, carried = _gram_pass(a, z, solves, b, carry_a)
    defect = np.linalg.norm(g - np.eye(g.shape[0], dtype=g.dtype))
    if not defect <= FINAL_PASS_DEFECT:
        raise CholeskyBreakdown
    r_last = _cholesky_upper(g)
    if not np.all(np.isfinite(r_last)):
        raise CholeskyBreakdown
    # Q^H X = r_last^{-H} (q_prev^H X)
    carried = {
        key: scipy.linalg.solve_triangular(r_last, value, trans="C", check_finite=False)
        for key, value in carried.items()
    }
    return r_last, carried


def _next_factor(a, z, solves):
    """A Cholesky-QR pass that is not the last one: ``chol(q_prev^H q_prev)``."""
    g, _ = _gram_pass(a, z, solves)
    r = _cholesky_upper(g)
    if not np.all(np.isfinite(r)):
        raise CholeskyBreakdown
    return r


def _cholqr2(a, z, g, b, carry_a, skip_if_hopeless):
    r1 = _cholesky_upper(g)
    if not np.all(np.isfinite(r1)):
        raise CholeskyBreakdown
    if skip_if_hopeless and _condition_estimate(r1) > cholqr2_threshold(a.dtype):
        raise CholeskyBreakdown
    r_last, carried = _final_pass(a, z, (r1,), b, carry_a)
    return (r1,), r_last, matmul(r_last, r1), carried


def _scholqr3(a, z, g, b, carry_a):
    m, width = a.shape[0], g.shape[0]
    shift = shift_for(np.real(np.trace(g)), m, width, a.dtype)
    r1 = _cholesky_upper(g + shift * np.eye(width, dtype=g.dtype))
    if not np.all(np.isfinite(r1)):
        raise CholeskyBreakdown
    r2 = _next_factor(a, z, (r1,))
    r_last, carried = _final_pass(a, z, (r1, r2), b, carry_a)
    return (r1, r2), r_last, matmul(r_last, matmul(r2, r1)), carried


def _tsqr(a, z, b, carry_a):
    """TSQR: Householder QR of each block, then of the stacked triangles."""
    arrays, shapes = _pass_layout(a, z, b, carry_a)
    width = shapes[0][0]
    blocks = row_stack(
        _chunks.tsqr_block, arrays, shapes, a.dtype, z=z, carry_a=carry_a
    )
    stack = np.concatenate([block[0] for block in blocks], axis=0)
    q2, r = np.linalg.qr(stack, mode="reduced")
    q2, r = _positive_diagonal(q2, r)
    carried = {}
    position = 1
    for key, wanted in (("a", carry_a), ("b", b is not None)):
        if wanted:
            rows = np.concatenate([block[position] for block in blocks], axis=0)
            carried[key] = matmul(q2.conj().T, rows)
            position += 1
    # Block i's rows of Q2: those of its triangle that exist (a block with
    # fewer rows than `width` has a shorter Q_i).
    row_counts = [min(rows, width) for rows in a.chunks[0]]
    parts = [q2[i * width : i * width + count] for i, count in enumerate(row_counts)]
    return per_block(parts, a.chunks[0]), r, carried


def _sketch_seeds(a):
    """One seed per row block (a per-block dask array), derived from SKETCH_SEED."""
    blocks = [np.array([[i]], dtype=np.int64) for i in range(a.numblocks[0])]
    return per_block(blocks, a.chunks[0])


def _rcholqr(a, z, b, carry_a, name):
    """Randomized preconditioned CholeskyQR (`_tallskinny._rcholqr`), distributed.

    Pass 1: the sparse sign sketch ``S A = sum_i S_i A_i``, each block with
    its own independent ``S_i`` (seeded from `SKETCH_SEED` and the block
    index; the blocks side by side are a sparse sign matrix of the same
    law as the one-machine sketch). ``R_s`` from a QR of the sketch, on the
    client. Pass 2: the Gram matrix of ``Y = A R_s^{-1}``, with the same
    acceptance test as on one machine.
    """
    width = a.shape[1] if z is None else z.shape[1]
    rows = SKETCH_ROWS_PER_COLUMN * width
    (sketch,) = row_sum(
        _chunks.sketch_block,
        [a, _sketch_seeds(a)],
        [(rows, width)],
        a.dtype,
        z=z,
        rows=rows,
        zeta=SKETCH_NONZEROS,
        seed=SKETCH_SEED,
    )
    if not raise_if_not_finite([sketch], {name: a}):
        raise CholeskyBreakdown(rank_deficient=True)  # overflow: Householder
    r_s = scipy.linalg.qr(sketch, mode="r", check_finite=False)[0][:width]
    if not (np.all(np.isfinite(r_s)) and _condition_estimate(r_s) <= _trusted_cond(a)):
        raise CholeskyBreakdown(rank_deficient=True)
    r_s = _phase_normalised(r_s)
    g_y, carried = _gram_pass(a, z, (r_s,), b, carry_a)
    r_last = _cholesky_upper(g_y)
    if not np.all(np.isfinite(r_last)):
        raise CholeskyBreakdown
    s = scipy.linalg.svdvals(r_last, check_finite=False)
    if not s[-1] * PRECONDITIONED_MAX_COND >= s[0]:
        raise CholeskyBreakdown
    carried = {
        key: scipy.linalg.solve_triangular(r_last, value, trans="C", check_finite=False)
        for key, value in carried.items()
    }
    return (r_s,), r_last, matmul(r_last, r_s), carried


def tall_qr_chain(
    a, start="auto", *, warn=False, g=None, z=None, b=None, carry_a=False, name="a"
):
    """Thin QR of the tall operand ``Y = A Z`` (or A) along `QR_CHAIN` from `start`.

    The rule is that of `lowrank.linalg._tallqr.tall_qr_implicit` (its
    `_chain_from` decides the steps): "auto" starts with randomized
    preconditioned CholeskyQR for large, clearly tall operands
    (`use_rcholqr`), else with CholeskyQR2, which is used if ``chol(G)``
    exists, its condition estimate is below `cholqr2_threshold` (unless
    `warn`, i.e. the method was chosen explicitly) and the final pass's
    check passes; then shifted CholeskyQR3 on the same G; then TSQR, at once
    if the sketch shows Y numerically rank deficient. `g` may pass in
    ``Y^H Y`` (already checked for NaN/Inf); `b` (a dask array with A's
    row chunks) and `carry_a` ask for ``Q^H b`` and ``Q^H A``, computed in
    the final pass at no extra pass. NaN/Inf in A raise ValueError from
    the first pass (the finiteness test is deferred to it).

    Passes over A: 2 for rCholeskyQR and for CholeskyQR2 (1 if `g` is given),
    3 for shifted CholeskyQR3 (2), 1 for TSQR; a breakdown adds the passes
    already made, and a Gram matrix is formed once for the whole chain.
    """
    width = a.shape[1] if z is None else z.shape[1]
    start, chain = _chain_from(start, (a.shape[0], width))
    result, used = None, "householder"
    for step in chain[:-1]:  # the Cholesky-based steps; TSQR is last
        if g is None and step != "rcholqr":
            g, _ = _gram_pass(a, z, ())
            if not raise_if_not_finite([g], {name: a}):
                break  # an overflowing Gram matrix is no use to Cholesky
        try:
            if step == "rcholqr":
                result = _rcholqr(a, z, b, carry_a, name)
            elif step == "cholqr2":
                result = _cholqr2(a, z, g, b, carry_a, skip_if_hopeless=not warn)
            else:
                result = _scholqr3(a, z, g, b, carry_a)
        except CholeskyBreakdown as breakdown:
            if breakdown.rank_deficient:
                break
            continue
        used = step
        break
    if warn and used != start:
        warnings.warn(
            f"{start} broke down (cond(A) too large for it); used {used} instead",
            FallbackWarning,
            stacklevel=5,
        )
    if result is None:
        q2, r, carried = _tsqr(a, z, b, carry_a)
        return TallQR(a, z, r, used, "tsqr", q2=q2, carried=carried)
    solves, r_last, r, carried = result
    return TallQR(a, z, r, used, "chol", solves=solves, r_last=r_last, carried=carried)
