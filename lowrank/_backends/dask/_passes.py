"""Passes over a row-chunked dask array: map-reduce to small results, lazy maps.

A *pass* applies a `lowrank._backends.dask._chunks` function to every block of rows
(with the matching blocks of b) in one `dask.compute`: its small outputs are
packed into one row per block and either summed by dask's tree reduction
(`row_sum`: Gram matrices, ``Q^H A``, norms) or fetched block by block
(`row_stack`: TSQR triangles, sign pivots). Only these small arrays reach
the client. Tall results are built lazily by `lazy_rows` with the input's
row chunks. The scheduler is whatever dask uses by default (a
``distributed.Client`` if one is active, else dask's threads).
"""

from __future__ import annotations

import functools
import math

import dask
import dask.array as da
import numpy as np

from lowrank._backends.dask import _chunks

__all__ = ["lazy_rows", "per_block", "raise_if_not_finite", "row_stack", "row_sum"]


def _shapes_size(shapes):
    return sum(math.prod(shape) for shape in shapes)


def _unpack(vector, shapes):
    out, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        out.append(vector[start : start + size].reshape(shape))
        start += size
    return out


def _packed_rows(function, arrays, shapes, dtype, params):
    """The (blocks x size) dask array of packed per-block outputs."""
    size = _shapes_size(shapes)
    args = []
    for j, x in enumerate(arrays):
        args += [x, ("i", f"j{j}")]
    return da.blockwise(
        functools.partial(_chunks.pack, function, dtype=dtype),
        ("i", "c"),
        *args,
        new_axes={"c": size},
        adjust_chunks={"i": 1},
        dtype=dtype,
        meta=np.empty((0, 0), dtype=dtype),
        concatenate=True,
        # block i of every array goes with block i of A; the arrays have A's
        # row blocks by construction (some with other sizes: per-block
        # parameters), so they must not be rechunked to common chunks
        align_arrays=False,
        **params,
    )


def row_sum(function, arrays, shapes, dtype, **params):
    """``sum_i function(a_i, b_i, ..., **params)`` over the row blocks, as numpy arrays.

    `arrays` are 2-D dask arrays with the same row chunks and one chunk
    across their columns; `shapes` are the shapes of the function's outputs.
    The sum is dask's tree reduction, so no worker holds more than a few
    blocks' outputs.
    """
    rows = _packed_rows(function, arrays, shapes, dtype, params)
    (total,) = dask.compute(rows.sum(axis=0))
    return _unpack(np.asarray(total), shapes)


def row_stack(function, arrays, shapes, dtype, **params):
    """``[function(a_i, ...) for each row block i]``, each a list of numpy arrays."""
    rows = _packed_rows(function, arrays, shapes, dtype, params)
    (stacked,) = dask.compute(rows)
    return [_unpack(row, shapes) for row in np.asarray(stacked)]


def per_block(blocks, row_chunks):
    """A dask array whose i-th row block is ``blocks[i]`` (small per-block parameters).

    Passed next to A to `lazy_rows`, block i of A meets block i of it, so each
    task receives only its own parameters.
    """
    stacked = np.concatenate(blocks, axis=0)
    rows = tuple(block.shape[0] for block in blocks)
    if len(rows) != len(row_chunks):
        raise AssertionError("one parameter block per row block")
    return da.from_array(stacked, chunks=(rows, (stacked.shape[1],)))


def lazy_rows(kernel, a, width, dtype, *extra, **params):
    """The lazy tall result ``kernel(a_i, extra_i, **params)`` (rows x `width`)."""
    return da.map_blocks(
        kernel,
        a,
        *extra,
        chunks=(a.chunks[0], (width,)),
        dtype=dtype,
        meta=np.empty((0, 0), dtype=dtype),
        **params,
    )


def raise_if_not_finite(summary, arrays):
    """The deferred finiteness test of a first pass (see `_validation.finite_or_raise`).

    `summary` (a Gram matrix, ``A^H b``, norms) is finite unless an entry of
    one of `arrays` (name -> dask array) is NaN/Inf; then they are counted in
    one more pass and a ValueError names the array. Returns False if
    `summary` overflowed although the arrays are finite.
    """
    if all(np.isfinite(x).all() for x in summary):
        return True
    names = list(arrays)
    counts = dask.compute(
        *[
            (da.isnan(arrays[name]).sum(), da.isinf(arrays[name]).sum())
            for name in names
        ]
    )
    for name, (n_nan, n_inf) in zip(names, counts, strict=True):
        if n_nan or n_inf:
            # the message of `lowrank._core.validation.check_finite`
            found = [
                f"{n} {kind}" for n, kind in ((n_nan, "NaN"), (n_inf, "infinite")) if n
            ]
            raise ValueError(
                f"`{name}` must contain only finite numbers, found "
                f"{' and '.join(found)} entr{'y' if n_nan + n_inf == 1 else 'ies'}; "
                "pass check_finite=False only if you know the input is finite"
            )
    return False
