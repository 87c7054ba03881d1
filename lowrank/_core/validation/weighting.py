"""Checks of the data-aware (weighted) low-rank functions' arguments.

The weight matrix W (M x N), the weighting of its columns given one of four
ways (a Gram matrix G, activations X with ``G = X^H X``, a factor L with
``G = L L^H``, or the diagonal of G), the rank target (`k`, `tol` on the
weighted error, or a parameter budget `ratio`), lists of matrices for a
shared basis, and the options of the adapter split.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from lowrank._core.validation.arrays import check_finite, check_k, result_dtype
from lowrank._core.validation.operators import as_dense_matrix, check_hermitian_psd

__all__ = [
    "ADAPTER_TRIPLETS",
    "WEIGHTING_KINDS",
    "Weighting",
    "as_weight_matrix",
    "as_weighting",
    "as_weighting_list",
    "check_adapter_split",
    "check_matrix_list",
    "check_rank_target",
    "check_scaling",
]

#: The keyword arguments that give the weighting, and what each one is.
WEIGHTING_KINDS = {
    "gram": "G itself, (N, N) Hermitian positive semidefinite",
    "x": "activations X, (T, N) one sample per row, G = X^H X",
    "factor": "a factor L, (N, r) with G = L L^H",
    "diag": "the diagonal of a diagonal G, (N,) non-negative",
}


class Weighting(NamedTuple):
    """A validated weighting: `kind` (a key of WEIGHTING_KINDS) and its array."""

    kind: str
    array: np.ndarray


def _real_number(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"`{name}` must not be NaN")
    return value


def check_rank_target(k, tol, ratio, shape):
    """Exactly one of `k`, `tol`, `ratio`; returns ``(k, tol)``.

    `ratio` is a parameter budget: the fraction of the ``M N`` entries of W
    kept as the ``k (M + N)`` entries of the factors, so
    ``k = floor(ratio M N / (M + N))``; it must leave ``k >= 1``. `tol` is
    relative to the weighted norm of W, ``0 < tol < 1``.
    """
    given = [
        name for name, v in (("k", k), ("tol", tol), ("ratio", ratio)) if v is not None
    ]
    if len(given) != 1:
        shown = f"got {' and '.join(given)}" if given else "got none"
        raise ValueError(
            "give exactly one of `k` (a rank), `tol` (a relative weighted error) "
            f"and `ratio` (a parameter budget); {shown}"
        )
    m, n = shape
    if k is not None:
        return check_k(k, min(m, n)), None
    if tol is not None:
        tol = _real_number(tol, "tol")
        if not 0.0 < tol < 1.0:
            raise ValueError(f"`tol` must satisfy 0 < tol < 1, got {tol:g}")
        if m == 0 or n == 0:
            raise ValueError(f"`w` is empty (shape {shape}); no rank is possible")
        return None, tol
    ratio = _real_number(ratio, "ratio")
    if not 0.0 < ratio <= 1.0:
        raise ValueError(
            f"`ratio` must satisfy 0 < ratio <= 1 (the fraction of W's entries "
            f"kept), got {ratio:g}"
        )
    k = math.floor(ratio * m * n / (m + n)) if m + n else 0
    if k < 1:
        raise ValueError(
            f"`ratio` = {ratio:g} keeps {ratio * m * n:.0f} of the {m * n} entries "
            f"of the {m} x {n} `w`, fewer than the {m + n} that one rank-1 term "
            "needs"
        )
    return k, None


def as_weighting(n, *, check_finite_values=True, **given):
    """The one weighting among `given` (gram, x, factor, diag), validated.

    Returns None when none is given (plain Frobenius norm). `n` is the
    number of columns of W, which every form must match.
    """
    present = {name: value for name, value in given.items() if value is not None}
    if len(present) > 1:
        raise ValueError(
            f"give at most one of `gram`, `x`, `factor` and `diag`; got "
            f"{' and '.join(f'`{name}`' for name in present)}"
        )
    if not present:
        return None
    ((kind, value),) = present.items()
    return Weighting(kind, _weighting_array(kind, value, n, check_finite_values))


def _weighting_array(kind, value, n, check):
    if kind == "diag":
        arr = np.asarray(value) if hasattr(value, "__array__") else value
        arr = np.asarray(arr)
        if arr.ndim != 1 or arr.shape[0] != n:
            raise ValueError(
                f"`diag` must be a vector of the N = {n} diagonal entries of G, "
                f"got shape {arr.shape}"
            )
        if arr.dtype.kind == "c":
            raise TypeError("`diag` must be real (the diagonal of a PSD G)")
        arr = arr.astype(result_dtype(arr.dtype, "diag"), copy=False)
        if check or not np.isfinite(arr.sum()):
            check_finite(arr, "diag")
        if arr.size and arr.min() < 0:
            i = int(np.argmin(arr))
            raise ValueError(
                f"`diag` must be non-negative (the diagonal of a positive "
                f"semidefinite G), got diag[{i}] = {arr[i]:.3g}"
            )
        return arr
    arr = as_dense_matrix(value, kind, check_finite=check)
    if kind == "gram":
        if arr.shape != (n, n):
            raise ValueError(
                f"`gram` must be N x N with N = {n} (the columns of `w`), got "
                f"shape {arr.shape}"
            )
        check_hermitian_psd(arr, "gram", "the weighted norm")
    elif kind == "x" and arr.shape[1] != n:
        raise ValueError(
            f"`x` must hold one activation of length N = {n} per row (shape "
            f"(T, {n}), G = X^H X), got shape {arr.shape}"
        )
    elif kind == "factor" and arr.shape[0] != n:
        raise ValueError(
            f"`factor` must have N = {n} rows (shape ({n}, r), G = L L^H), got "
            f"shape {arr.shape}"
        )
    return arr


def check_matrix_list(ws, axis, check_finite_values=True):
    """The matrices of a shared basis: 2-D, agreeing along the shared side.

    ``axis=0`` stacks them as rows (a common number of columns N);
    ``axis=1`` side by side (a common number of rows M).
    """
    if isinstance(axis, bool) or axis not in (0, 1):
        raise ValueError(f"`axis` must be 0 or 1, got {axis!r}")
    if hasattr(ws, "__array__") and np.ndim(ws) == 3:
        ws = list(ws)
    if not isinstance(ws, list | tuple) or len(ws) == 0:
        raise TypeError(
            "`ws` must be a non-empty list of 2-D arrays (or a 3-D array, one "
            f"matrix per entry of its first axis), got {type(ws).__name__}"
        )
    arrays = [
        as_dense_matrix(w, f"ws[{i}]", check_finite=check_finite_values)
        for i, w in enumerate(ws)
    ]
    shared = 1 - axis
    sizes = {a.shape[shared] for a in arrays}
    if len(sizes) != 1:
        side = "columns" if axis == 0 else "rows"
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise ValueError(
            f"with axis={axis} every matrix of `ws` must have the same number of "
            f"{side}; got shapes {shapes}"
        )
    return arrays


def as_weighting_list(weightings, count, axis, sizes, check_finite_values=True):
    """Per-matrix weightings for a shared basis, validated.

    `weightings` maps a kind (gram, x, factor, diag) to its value: for
    ``axis=0`` one value (the matrices share their input space, so one G);
    for ``axis=1`` a list of `count` values, None entries meaning no
    weighting for that matrix. `sizes` are the N_i of the matrices.
    """
    present = {k: v for k, v in weightings.items() if v is not None}
    if len(present) > 1:
        raise ValueError(
            f"give at most one of `gram`, `x`, `factor` and `diag`; got "
            f"{' and '.join(f'`{name}`' for name in present)}"
        )
    if not present:
        return [None] * (1 if axis == 0 else count)
    ((kind, value),) = present.items()
    if axis == 0:
        if isinstance(value, list | tuple):
            raise ValueError(
                f"with axis=0 the matrices share their input space, so `{kind}` "
                "must be one weighting (per-matrix weightings of a shared right "
                "basis have no closed-form optimum); give one, or use axis=1"
            )
        return [
            as_weighting(
                sizes[0], check_finite_values=check_finite_values, **{kind: value}
            )
        ]
    if not isinstance(value, list | tuple) or len(value) != count:
        raise ValueError(
            f"with axis=1 `{kind}` must be a list of {count} weightings, one per "
            "matrix (None for none)"
        )
    return [
        None
        if v is None
        else as_weighting(n_i, check_finite_values=check_finite_values, **{kind: v})
        for v, n_i in zip(value, sizes, strict=True)
    ]


def check_scaling(scaling):
    """The adapter scaling (LoRA's ``alpha / r``): a finite number > 0."""
    scaling = _real_number(scaling, "scaling")
    if not (scaling > 0.0 and math.isfinite(scaling)):
        raise ValueError(f"`scaling` must be finite and > 0, got {scaling:g}")
    return scaling


#: ``which`` of the adapter split: the triplets the adapter takes.
ADAPTER_TRIPLETS = ("top", "bottom")


def check_adapter_split(which, method, methods):
    """`which` ("top"/"bottom") and `method`; the bottom triplets need "dense".

    Randomized and Krylov methods find the leading triplets; the trailing
    ones are exactly where they fail, so "bottom" takes only the exact
    LAPACK route ("auto" or "dense").
    """
    if not isinstance(which, str) or which not in ADAPTER_TRIPLETS:
        raise ValueError(f'`which` must be "top" or "bottom", got {which!r}')
    if not isinstance(method, str) or method not in methods:
        shown = ", ".join(f'"{m}"' for m in methods)
        raise ValueError(f"`method` must be one of {shown}, got {method!r}")
    if which == "bottom" and method not in ("auto", "dense"):
        raise ValueError(
            f'which="bottom" needs the exact SVD (method="auto" or "dense"), got '
            f"method={method!r}: the trailing singular triplets are where "
            "iterative and Gram-based methods lose accuracy"
        )


def as_weight_matrix(w, check_finite_values=True):
    """W as a dense 2-D array in a supported dtype."""
    return as_dense_matrix(w, "w", check_finite=check_finite_values)
