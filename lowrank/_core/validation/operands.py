"""Checks of the big operands: tall matrices, right-hand sides, dask layouts.

These checks read only shapes, dtypes and chunk sizes, so they run on a
dask array without importing dask (`lowrank._backends.dispatch` then wraps
the checked array in its backend's operand).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from lowrank._core.validation.arrays import as_matrix_stack, result_dtype

__all__ = [
    "as_rhs",
    "check_backend_method",
    "check_backend_option",
    "check_dask_matrix",
    "check_dask_rhs",
    "check_dask_tol_method",
    "check_no_precond_dask",
    "check_not_hermitian_dask",
    "check_operator_2d",
    "check_pinv_pair",
    "check_tall",
]


def check_tall(a, name="a", check_finite=True):
    """`a` as a validated 2-D ndarray with ``M >= N``."""
    a = as_matrix_stack(a, name, check_finite_values=check_finite)
    if a.ndim != 2:
        raise ValueError(f"`{name}` must be a 2-D array, got shape {a.shape}")
    _require_tall(a.shape, name)
    return a


def _require_tall(shape, name):
    if shape[0] < shape[1]:
        raise ValueError(
            f"`{name}` must be tall (M >= N), got shape {shape}; for a wide "
            f"matrix factor its conjugate transpose `{name}.conj().T`"
        )


def as_rhs(b, a_ndim, m):
    """b as an array of shape (..., M, K) and whether it was a stack of vectors.

    ``b.ndim == a.ndim - 1`` means vectors ``(..., M)``; ``b.ndim >= a.ndim``
    means matrices ``(..., M, K)``; batch dimensions broadcast with a's.

    Examples
    --------
    >>> arr, vector = as_rhs([1.0, 2.0, 3.0], 2, 3)
    >>> arr.shape, vector
    ((3, 1), True)
    """
    if scipy.sparse.issparse(b):
        raise TypeError("`b` must be a dense array; convert with `b.toarray()`")
    if isinstance(b, np.ma.MaskedArray):
        raise TypeError("`b` is a masked array; use `b.filled(value)` or `b.data`")
    if not hasattr(b, "__array__") and not isinstance(b, list | tuple):
        raise TypeError(f"`b` must be an array-like of numbers, got {type(b).__name__}")
    arr = np.asarray(b)
    if arr.ndim < a_ndim - 1 or arr.ndim == 0:
        raise ValueError(
            f"`b` must have shape (..., M) (vectors, {a_ndim - 1} dimensions for "
            f"`a` of {a_ndim}) or (..., M, K) (at least {a_ndim} dimensions); "
            f"got shape {arr.shape}"
        )
    vector = arr.ndim == a_ndim - 1
    if vector:
        arr = arr[..., np.newaxis]
    if arr.shape[-2] != m:
        raise ValueError(
            f"`a` has {m} rows but `b` has {arr.shape[-2]}: the shapes "
            f"{'(..., M)' if vector else '(..., M, K)'} of b and (..., M, N) of "
            "a must agree in M"
        )
    result_dtype(arr.dtype, "b")
    return arr, vector


def check_operator_2d(shape, name="a"):
    """A sparse matrix or LinearOperator must be 2-D."""
    if len(shape) != 2:
        raise ValueError(f"`{name}` must be 2-D, got shape {shape}")


def check_pinv_pair(a_shape, x_shape):
    """The stack shape of a matrix `a` and a candidate pseudo-inverse `x`."""
    m, n = a_shape[-2:]
    if x_shape[-2:] != (n, m):
        raise ValueError(
            f"`x` must have shape (..., {n}, {m}) to be a pseudo-inverse of `a` "
            f"with shape {a_shape}; got {x_shape}"
        )
    try:
        return np.broadcast_shapes(a_shape[:-2], x_shape[:-2])
    except ValueError:
        raise ValueError(
            f"the stack shapes of `a` {a_shape[:-2]} and `x` {x_shape[:-2]} "
            "do not broadcast"
        ) from None


def check_backend_method(method, allowed, function, backend="a dask array"):
    """`method` if the backend offers it for `function`, else ValueError."""
    if isinstance(method, str) and method in allowed:
        return method
    raise ValueError(
        f"`method` must be one of {', '.join(repr(x) for x in allowed)} for "
        f"{backend} in {function}(); got {method!r}"
    )


def check_backend_option(value, allowed, name, backend="a dask array"):
    """`value` of option `name` if the backend supports it, else ValueError."""
    if value in allowed:
        return value
    raise ValueError(
        f"`{name}` must be one of {', '.join(repr(x) for x in allowed)} for "
        f"{backend}; got {value!r}"
    )


def check_dask_tol_method(tol, method):
    """`tol` (fixed accuracy) is computed on dask arrays by the exact route only."""
    if tol is not None and method not in ("auto", "dense"):
        raise ValueError(
            f'`tol` is supported for dask arrays by method="dense" (and "auto"), '
            f"not by method={method!r}"
        )


def check_dask_matrix(a, name="a", *, tall=False):
    """A 2-D dask array in the computing dtype, chunked across its long side only.

    Reads only shapes, dtypes and chunks; the cast is lazy.
    """
    if a.ndim != 2:
        raise ValueError(
            f"`{name}` must be a 2-D dask array (M, N), got shape {a.shape}; "
            "stacks are not supported for dask arrays"
        )
    if tall:
        _require_tall(a.shape, name)
    if any(np.isnan(size) for sizes in a.chunks for size in sizes):
        raise ValueError(
            f"`{name}` has unknown chunk sizes; call `{name}.compute_chunk_sizes()`"
        )
    dtype = result_dtype(a.dtype, name)
    if a.dtype != dtype:
        a = a.astype(dtype)
    m, n = a.shape
    short, label = (1, "columns") if m >= n else (0, "rows")
    if a.numblocks[short] > 1:
        long_label = "rows" if short == 1 else "columns"
        raise ValueError(
            f"`{name}` must be chunked along its {long_label} only, with one chunk "
            f"across its {a.shape[short]} {label} (got chunks {a.chunks[short]} "
            f"along them); rechunk with `{name}.rechunk({{{short}: -1}})`"
        )
    return a


def check_not_hermitian_dask(hermitian):
    """``hermitian=True`` needs a square matrix; the dask backend is for tall ones."""
    if hermitian:
        raise ValueError(
            "hermitian=True is not supported for dask arrays (it needs a square "
            "matrix; the dask backend is for tall-skinny ones)"
        )


def check_no_precond_dask(precond):
    """Preconditioners belong to LSQR/LSMR, which dask arrays do not offer."""
    if precond is not None:
        raise ValueError(
            '`precond` applies to methods "lsqr" and "lsmr", which are not '
            "available for dask arrays"
        )


def check_dask_rhs(b, m):
    """A dask right-hand side: ``(b as (M, K), vector)``; no rechunking here."""
    if b.ndim not in (1, 2):
        raise ValueError(
            f"`b` must have shape (M,) or (M, K) for a dask array `a`, got "
            f"shape {b.shape}"
        )
    vector = b.ndim == 1
    if vector:
        b = b[:, np.newaxis]
    if b.shape[0] != m:
        raise ValueError(
            f"`a` has {m} rows but `b` has {b.shape[0]}: the shapes "
            f"{'(M,)' if vector else '(M, K)'} of b and (M, N) of a must agree in M"
        )
    result_dtype(b.dtype, "b")
    return b, vector
