"""The dask backend's operand: the passes of the protocol over a row-chunked array.

`DaskTall` is the operand ``Y = A Z R_1^{-1} R_2^{-1} ...`` of
`lowrank._backends.protocol.TallOperand` for a tall dask array A chunked by
rows (one chunk across its columns). Y is never stored: every pass
recomputes each block of it (`_chunks.q_prev_block`) and reduces the small
results over the blocks (`_passes.row_sum`), so only n x n and n x k arrays
reach the client; tall results (``Y W``) are lazy dask arrays with A's row
chunks.

The Householder step is TSQR: each block is factored by LAPACK
(``Y_i = Q_i R_i``), the stacked triangles are factored on the client
(``[R_1; R_2; ...] = Q_2 R``), and block i of Q is ``Q_i Q_{2,i}``, with
``Q_i`` recomputed by the same call when Q is needed.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from lowrank._backends.dask import _chunks
from lowrank._backends.dask._passes import (
    lazy_rows,
    per_block,
    raise_if_not_finite,
    row_stack,
    row_sum,
)
from lowrank._backends.ndarray import positive_diagonal
from lowrank._core.blas import matmul

__all__ = ["DaskTall"]


@dataclasses.dataclass(frozen=True)
class DaskTall:
    """The operand ``Y = A Z R_1^{-1} ...`` (``Y = A`` if `z` is None) of a dask A.

    ``kind == "tsqr"``: Y is the Q of a TSQR, block i being ``Q_i q2[i]``
    (`q2` a per-block dask array). `name` and `extra` (name -> dask array)
    are what the deferred finiteness test covers and names.

    Examples
    --------
    >>> import numpy as np
    >>> import dask.array as da
    >>> a = da.from_array(np.arange(12.0).reshape(6, 2), chunks=(3, 2))
    >>> g, _ = DaskTall(a).gram()
    >>> bool(np.allclose(g, a.compute().T @ a.compute()))
    True
    """

    #: the drivers' small steps on scipy's LAPACK, as the numpy tall routes
    pool: ClassVar[str] = "scipy"

    a: object
    z: np.ndarray | None = None
    solves: tuple = ()
    name: str = "a"
    extra: dict | None = None
    kind: str = "chol"
    q2: object = None

    @property
    def shape(self):
        return (self.a.shape[0], self.width)

    @property
    def width(self):
        return self.a.shape[1] if self.z is None else self.z.shape[1]

    @property
    def dtype(self):
        return self.a.dtype

    def align(self, b):
        """A right-hand side (numpy or dask, M x K) as a dask array with A's rows."""
        if isinstance(b, np.ndarray):
            import dask.array as da

            return da.from_array(b, chunks=(self.a.chunks[0], (b.shape[1],)))
        if b.chunks[0] != self.a.chunks[0] or b.numblocks[1] != 1:
            b = b.rechunk({0: self.a.chunks[0], 1: -1})
        return b

    def with_rhs(self, b):
        """``(operand, b)``: b aligned with A's rows and covered by `finite`."""
        b = self.align(b)
        return dataclasses.replace(self, extra={**(self.extra or {}), "b": b}), b

    def gram_extremes(self):
        """``(Y^H Y, column maxima, column minima)`` of ``Y = A Z`` in one pass.

        The extremes (real input only; None for complex) let a driver
        certify the signs of ``Y D`` without a further pass.
        """
        k = self.width
        real = not np.issubdtype(self.dtype, np.complexfloating)
        shapes = [(k, k)] + ([(k,), (k,)] if real else [])
        blocks = row_stack(
            _chunks.gram_extremes_block, [self.a], shapes, self.dtype, z=self.z
        )
        g = sum(block[0] for block in blocks)
        if not real:
            return g, None, None
        high = np.max([block[1] for block in blocks], axis=0)
        low = np.min([block[2] for block in blocks], axis=0)
        return g, high, low

    def gram(self, *, b=None, carry_a=False):
        """``(Y^H Y, carried)`` in one pass; see `TallOperand.gram`."""
        arrays, shapes = _pass_layout(self.a, self.z, b, carry_a)
        out = row_sum(
            _chunks.gram_block,
            arrays,
            shapes,
            self.dtype,
            z=self.z,
            solves=self.solves,
            carry_a=carry_a,
        )
        carried = {}
        if carry_a:
            carried["a"] = out[1]
        if b is not None:
            carried["b"] = out[-1]
        return out[0], carried

    def normal_equations(self, b):
        n, k = self.a.shape[1], b.shape[1]
        return tuple(
            row_sum(
                _chunks.normal_block,
                [self.a, b],
                [(n, n), (n, k), (k,)],
                self.dtype,
            )
        )

    def residual(self, b, x):
        n, k = x.shape
        z, rr = row_sum(
            _chunks.residual_block,
            [self.a, b],
            [(n, k), (k,)],
            self.dtype,
            x=np.asarray(x),
        )
        return z, rr.real

    def sketch(self, rows, zeta, seed):
        # Each block gets its own independent S_i, seeded from (seed, block
        # index): side by side they are a sparse sign matrix of the same law
        # as the one-machine sketch.
        (sketch,) = row_sum(
            _chunks.sketch_block,
            [self.a, _block_indices(self.a)],
            [(rows, self.width)],
            self.dtype,
            z=self.z,
            rows=rows,
            zeta=zeta,
            seed=seed,
        )
        return sketch

    def solve(self, r):
        return dataclasses.replace(self, solves=(*self.solves, r))

    def times(self, z):
        return dataclasses.replace(self, z=z, solves=())

    def householder(self, *, b=None, carry_a=False):
        q2, r, carried = _tsqr(self.a, self.z, b, carry_a)
        return dataclasses.replace(self, kind="tsqr", q2=q2, solves=()), r, carried

    def _kernel_and_args(self, w, pivots):
        if self.kind == "chol":
            params = {"z": self.z, "solves": self.solves, "w": w, "pivots": pivots}
            return _chunks.apply_block, (), params
        params = {"z": self.z, "w": w, "pivots": pivots}
        return _chunks.tsqr_apply_block, (self.q2,), params

    def apply(self, w=None, pivots=None):
        """The lazy ``Y W`` (``Y`` if W is None), with A's row chunks.

        `pivots` (block index -> (rows, columns, values)) overwrites single
        entries after the product (the exact sign convention of complex U).
        """
        width = self.width if w is None else w.shape[1]
        kernel, extra, params = self._kernel_and_args(w, pivots)
        return lazy_rows(kernel, self.a, width, self.dtype, *extra, **params)

    def apply_h(self, w):
        return _lazy_conj_t(self.apply(w))

    def adjoint_times(self):
        (w,) = row_sum(
            _chunks.adjoint_block,
            [self.a],
            [(self.a.shape[1], self.width)],
            self.dtype,
            z=self.z,
            solves=self.solves,
        )
        return w

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

    def signed_apply(self, w, vh, signs=None):
        """``U = Y W`` (lazy) and Vh with the sign convention of `canonical_signs`.

        Unless the `signs` of real U are already known, one pass finds, per
        column of U, the first entry of largest magnitude; its sign (phase)
        is folded into W (for real input exactly: a sign change commutes
        with rounding) and into the rows of Vh; for complex input the pivot
        entries are then set to their magnitude, as `canonical_signs` does.
        """
        if w.shape[1] == 0:
            return self.apply(w), vh
        if not np.iscomplexobj(w):
            if signs is None:
                signs = self.column_signs(w)
            signs = np.asarray(signs).astype(w.dtype)
            return self.apply(w * signs), vh * signs[:, np.newaxis]
        value, block, rows = self.column_signs(w)
        magnitude = np.abs(value)
        safe = np.where(magnitude > 0, magnitude, 1)
        phase = np.where(magnitude > 0, value / safe, 1).astype(w.dtype)
        pivots = {}
        for col in range(w.shape[1]):
            entry = pivots.setdefault(int(block[col]), ([], [], []))
            entry[0].append(int(rows[col]))
            entry[1].append(col)
            entry[2].append(magnitude[col])
        pivots = {
            key: (np.array(r, np.intp), np.array(c, np.intp), np.array(v, w.dtype))
            for key, (r, c, v) in pivots.items()
        }
        return self.apply(w * phase.conj(), pivots), vh * phase[:, np.newaxis]

    def finite(self, summaries):
        return raise_if_not_finite(summaries, {self.name: self.a, **(self.extra or {})})


def _lazy_conj_t(x):
    """Lazy conjugate transpose (no copy for real dtypes)."""
    return x.conj().T if np.issubdtype(x.dtype, np.complexfloating) else x.T


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


def _tsqr(a, z, b, carry_a):
    """TSQR: Householder QR of each block, then of the stacked triangles."""
    arrays, shapes = _pass_layout(a, z, b, carry_a)
    width = shapes[0][0]
    blocks = row_stack(
        _chunks.tsqr_block, arrays, shapes, a.dtype, z=z, carry_a=carry_a
    )
    stack = np.concatenate([block[0] for block in blocks], axis=0)
    q2, r = np.linalg.qr(stack, mode="reduced")
    q2, r = positive_diagonal(q2, r)
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


def _block_indices(a):
    """One index per row block (a per-block dask array), for per-block seeds."""
    blocks = [np.array([[i]], dtype=np.int64) for i in range(a.numblocks[0])]
    return per_block(blocks, a.chunks[0])
