"""The boundary layer: the one place where user input becomes trusted arrays.

Public functions call these helpers once, then hand plain, validated ndarrays
(and plain Python/numpy values) to the internal algorithms, which do not
re-validate. Every error message names the offending argument and the
constraint it broke.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np
import scipy.sparse

__all__ = [
    "as_matrix_stack",
    "check_damp",
    "check_finite",
    "check_hermitian",
    "check_iteration_options",
    "check_k",
    "check_k_or_tol",
    "check_method",
    "check_method_options",
    "check_nonnegative_int",
    "check_rng",
    "default_rtol",
    "finite_or_raise",
    "rank_cutoff_tolerances",
    "real_dtype",
    "result_dtype",
]

#: The dtypes lowrank computes in; everything else is promoted or refused.
SUPPORTED_DTYPES = tuple(
    np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128)
)


def result_dtype(dtype, name="a"):
    """Return the dtype lowrank computes in for input of dtype `dtype`.

    float32, float64, complex64 and complex128 are kept; bool and integer
    dtypes become float64, and non-native byte orders (``>f8`` on a
    little-endian machine) their native twin. float16, longdouble,
    clongdouble and non-numeric dtypes raise TypeError: LAPACK has no
    routines for them, and silently changing their precision would
    misreport accuracy.
    """
    dtype = np.dtype(dtype)
    if dtype.kind in "fc" and not dtype.isnative:
        # Byte order is storage, not precision (big-endian data read from a
        # file): compute in the native twin; as_matrix_stack converts.
        dtype = dtype.newbyteorder("=")
    if dtype in SUPPORTED_DTYPES:
        return dtype
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    if dtype.kind in "fc":
        target = "complex128" if dtype.kind == "c" else "float64"
        raise TypeError(
            f"`{name}` has dtype {dtype}, which is not supported; use float32, "
            "float64, complex64 or complex128 (LAPACK has no "
            f"{dtype} routines). Convert with `{name}.astype(np.{target})`."
        )
    raise TypeError(
        f"`{name}` must be an array of numbers, got dtype {dtype}; "
        "supported dtypes are float32, float64, complex64 and complex128"
    )


def real_dtype(dtype):
    """The real dtype matching `dtype` (float32 for complex64, ...)."""
    return np.finfo(np.dtype(dtype)).dtype


def as_matrix_stack(a, name="a", *, check_finite_values=True):
    """Convert `a` to an ndarray of shape ``(..., M, N)`` in a supported dtype.

    The result may share memory with `a`; callers never write into it.

    Raises
    ------
    TypeError
        For sparse matrices, masked arrays, linear operators and unsupported
        dtypes.
    ValueError
        For arrays with fewer than two dimensions, or non-finite entries. With
        ``check_finite_values=False`` the elementwise test is replaced by a
        single sum, so NaN/Inf are still caught (LAPACK may hang on them).
        With ``check_finite_values="deferred"`` there is no test here: the
        caller promises to run `finite_or_raise` on a quantity that is finite
        only if `a` is (a Gram matrix) before using the data otherwise.
    """
    if scipy.sparse.issparse(a):
        raise TypeError(
            f"`{name}` is a scipy.sparse matrix; this function needs a dense "
            f"array. Convert with `{name}.toarray()` if it fits in memory."
        )
    if isinstance(a, np.ma.MaskedArray):
        raise TypeError(
            f"`{name}` is a masked array; masked entries have no meaning for "
            f"this function. Use `{name}.filled(value)` or `{name}.data`."
        )
    if not hasattr(a, "__array__") and not isinstance(a, list | tuple):
        raise TypeError(
            f"`{name}` must be an array-like of numbers, got {type(a).__name__}"
        )
    arr = np.asarray(a)
    if isinstance(arr, np.matrix):
        arr = arr.view(np.ndarray)
    if arr.ndim < 2:
        raise ValueError(
            f"`{name}` must be at least two-dimensional, with shape (..., M, N); "
            f"got shape {arr.shape}"
        )
    dtype = result_dtype(arr.dtype, name)
    if arr.dtype != dtype:
        arr = arr.astype(dtype)
    if check_finite_values == "deferred":
        # The caller tests finiteness itself, fused into its first pass over
        # the data (see `finite_or_raise`), and must do so on every path.
        pass
    elif check_finite_values:
        check_finite(arr, name)
    elif arr.size and not _sum_is_finite(arr):
        # Even unchecked, non-finite input must not reach LAPACK: some builds
        # of gesdd loop forever on Inf. One sum is far cheaper than the
        # elementwise test and is finite unless an entry is NaN/Inf (or the
        # sum overflows, which the full test below then clears).
        check_finite(arr, name)
    return arr


def _sum_is_finite(arr):
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(arr.sum()))


def finite_or_raise(summary, arr, name="a"):
    """The deferred finiteness test: `summary` is finite unless `arr` has NaN/Inf.

    For a summary such as ``A^H A`` (whose diagonal holds the squared column
    norms) a NaN or Inf entry of `arr` always shows; the converse can fail
    only by overflow, which the elementwise test on `arr` then clears. Returns
    whether `summary` is finite (False only for overflow).
    """
    if np.isfinite(summary).all():
        return True
    check_finite(arr, name)
    return False


def check_finite(arr, name="a"):
    """Raise ValueError naming the problem if `arr` has NaN or infinite entries."""
    if np.isfinite(arr).all():
        return
    n_nan = int(np.count_nonzero(np.isnan(arr)))
    n_inf = int(np.count_nonzero(np.isinf(arr)))
    found = []
    if n_nan:
        found.append(f"{n_nan} NaN")
    if n_inf:
        found.append(f"{n_inf} infinite")
    raise ValueError(
        f"`{name}` must contain only finite numbers, found "
        f"{' and '.join(found)} entr{'y' if n_nan + n_inf == 1 else 'ies'}; "
        "pass check_finite=False only if you know the input is finite"
    )


def default_rtol(shape, dtype):
    """The default relative rank tolerance: ``max(M, N) * eps(dtype)``."""
    return max(shape[-2], shape[-1], 1) * np.finfo(dtype).eps


def _nonnegative_tolerance(value, name, batch_shape, dtype):
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must be a real number or array, got {arr.dtype}")
    arr = arr.astype(real_dtype(dtype) if arr.dtype.kind == "f" else np.float64)
    if np.isnan(arr).any():
        raise ValueError(f"`{name}` must not be NaN")
    if (arr < 0).any():
        shown = arr.min()
        raise ValueError(f"`{name}` must be non-negative, got {shown:g}")
    try:
        return np.broadcast_to(arr, batch_shape)
    except ValueError:
        raise ValueError(
            f"`{name}` with shape {arr.shape} does not broadcast to the stack "
            f"shape {batch_shape} (one tolerance per matrix)"
        ) from None


def rank_cutoff_tolerances(atol, rtol, shape, dtype):
    """Validate the rank-cutoff tolerances and broadcast them over the stack.

    The one rank rule of lowrank keeps singular value ``s_i`` iff
    ``s_i > atol + rtol * s_max``. Defaults: ``atol = 0`` and
    ``rtol = max(M, N) * eps(dtype)`` (scipy.linalg.pinv's semantics).

    Returns
    -------
    atol, rtol : ndarray
        Arrays of shape ``shape[:-2]`` (read-only broadcast views).
    """
    batch_shape = tuple(shape[:-2])
    atol = 0.0 if atol is None else atol
    rtol = default_rtol(shape, dtype) if rtol is None else rtol
    return (
        _nonnegative_tolerance(atol, "atol", batch_shape, dtype),
        _nonnegative_tolerance(rtol, "rtol", batch_shape, dtype),
    )


def check_damp(damp, shape, dtype):
    """Validate a Tikhonov damping: finite, >= 0, broadcasting over the stack."""
    arr = _nonnegative_tolerance(damp, "damp", tuple(shape[:-2]), dtype)
    if not np.all(np.isfinite(arr)):
        raise ValueError("`damp` must be finite")
    return arr


def check_iteration_options(tol, maxiter):
    """Validate `tol` (float > 0 or None) and `maxiter` (int > 0 or None)."""
    if tol is not None:
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
            raise TypeError(
                f"`tol` must be a positive real number or None, got "
                f"{type(tol).__name__}"
            )
        tol = float(tol)
        if not (tol > 0.0 and math.isfinite(tol)):
            raise ValueError(f"`tol` must be a positive finite number, got {tol:g}")
    if maxiter is not None:
        if isinstance(maxiter, bool) or not isinstance(maxiter, numbers.Integral):
            raise TypeError(
                f"`maxiter` must be a positive integer or None, got "
                f"{type(maxiter).__name__}"
            )
        maxiter = int(maxiter)
        if maxiter < 1:
            raise ValueError(f"`maxiter` must be a positive integer, got {maxiter}")
    return tol, maxiter


def check_method_options(method, tol, maxiter, damp, *, iterative, damped):
    """Validate the options that only some methods take.

    `tol`/`maxiter` are checked (`check_iteration_options`) for a method in
    `iterative` and must be None otherwise; a nonzero `damp` (already checked
    by `check_damp`) needs a method in `damped`. Returns ``(tol, maxiter)``.
    """
    if method in iterative:
        tol, maxiter = check_iteration_options(tol, maxiter)
    elif tol is not None or maxiter is not None:
        raise ValueError(
            f"`tol` and `maxiter` apply to the iterative methods "
            f"({', '.join(sorted(iterative))}), not to method={method!r}"
        )
    if method not in damped and np.any(damp):
        raise ValueError(
            f"`damp` is not supported by method={method!r}; use one of "
            + ", ".join(repr(name) for name in sorted(damped))
        )
    return tol, maxiter


def check_nonnegative_int(value, name):
    """Validate a count such as `oversample` or `n_iter`: an integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer, got {type(value).__name__}")
    value = int(value)
    if value < 0:
        raise ValueError(f"`{name}` must be >= 0, got {value}")
    return value


def check_k(k, upper, name="k"):
    """Validate a target rank: an integer with ``0 < k <= upper``."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer, got {type(k).__name__}")
    k = int(k)
    if upper == 0:
        raise ValueError(
            f"the matrix is empty (a dimension is 0), so no `{name}` is "
            f"possible; got {name}={k}"
        )
    if not 0 < k <= upper:
        raise ValueError(f"`{name}` must satisfy 0 < {name} <= {upper}, got {k}")
    return k


def check_k_or_tol(k, tol, upper):
    """Validate that exactly one of a rank `k` and an accuracy `tol` is given.

    Returns ``(k, None)`` or ``(None, tol)`` with ``0 < k <= upper`` and
    ``0 < tol < 1`` (tol is relative to the norm of the matrix).
    """
    if (k is None) == (tol is None):
        raise ValueError("give exactly one of `k` (a rank) and `tol` (an accuracy)")
    if k is not None:
        return check_k(k, upper), None
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
        raise TypeError(f"`tol` must be a real number, got {type(tol).__name__}")
    tol = float(tol)
    if not 0.0 < tol < 1.0:
        raise ValueError(f"`tol` must satisfy 0 < tol < 1, got {tol:g}")
    return None, tol


def check_rng(rng):
    """Turn `rng` (None, int, SeedSequence, BitGenerator, Generator) into a Generator.

    Nothing here touches numpy's global random state.
    """
    if isinstance(rng, bool):
        raise TypeError("`rng` must be None, an int, or a numpy.random.Generator")
    if isinstance(rng, np.random.RandomState):
        raise TypeError(
            "`rng` must be None, an int, a SeedSequence, a BitGenerator or a "
            "numpy.random.Generator; legacy RandomState is not accepted"
        )
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as err:
        raise TypeError(
            "`rng` must be None, an int, a SeedSequence, a BitGenerator or a "
            f"numpy.random.Generator, got {rng!r}"
        ) from err


def check_method(method, registry: Mapping, name="method"):
    """Look `method` up in `registry`; unknown keys raise ValueError naming all."""
    if isinstance(method, str) and method in registry:
        return registry[method]
    valid = ", ".join(repr(key) for key in registry)
    raise ValueError(f"`{name}` must be one of {valid}; got {method!r}")


def check_hermitian(a, name="a"):
    """Raise ValueError unless every matrix of the stack `a` is Hermitian.

    The test is ``||A - A^H||_F <= 10 * n * eps * ||A||_F`` per matrix: the
    asymmetry that rounding in a product like ``B @ B.conj().T`` leaves, and no
    more.
    """
    n = a.shape[-1]
    if a.shape[-2] != n:
        raise ValueError(
            f"`{name}` must be square when hermitian=True, got shape {a.shape}"
        )
    asym = np.linalg.norm(a - np.swapaxes(a, -1, -2).conj(), axis=(-2, -1))
    scale = np.linalg.norm(a, axis=(-2, -1))
    bound = 10 * max(n, 1) * np.finfo(a.dtype).eps * scale
    bad = asym > bound
    if np.any(bad):
        worst = float(np.max(asym / np.where(scale > 0, scale, 1)))
        raise ValueError(
            f"`{name}` is not Hermitian (relative asymmetry "
            f"||A - A^H||_F / ||A||_F = {worst:.2e}); pass hermitian=False"
        )
