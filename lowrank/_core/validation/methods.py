"""Checks of method-dependent arguments: which options a method takes.

The registries (which methods are iterative, damped, rankless, tall-only)
belong to each public function's module; these checks take them as
arguments, so one rule and one message serve every function.
"""

from __future__ import annotations

import numpy as np

from lowrank._core.validation.arrays import (
    check_damp,
    check_finite,
    check_method_options,
    rank_cutoff_tolerances,
    real_dtype,
)

__all__ = [
    "check_choice",
    "check_dense_finite",
    "check_dense_only_method",
    "check_preconditioner",
    "check_single_matrix_method",
    "check_solver_options",
    "check_tall_only",
    "solver_rank_tolerances",
]


def check_dense_finite(arr, name, elementwise):
    """NaN/Inf -> ValueError: elementwise, or by one sum (exact for detection).

    Examples
    --------
    >>> import numpy as np
    >>> check_dense_finite(np.ones(3), "b", elementwise=False)
    >>> check_dense_finite(np.array([1.0, np.nan]), "b", elementwise=False)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: `b` must contain only finite numbers, found 1 NaN entry; ...
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if elementwise or (arr.size and not np.isfinite(arr.sum())):
            check_finite(arr, name)


def solver_rank_tolerances(method, atol, rtol, shape, dtype, *, rankless):
    """``(atol, rtol)`` of the rank rule, or zeros for a method in `rankless`.

    A method that determines no rank (LSQR, LSMR) rejects `atol`/`rtol`.
    """
    if method in rankless:
        if atol is not None or rtol is not None:
            raise ValueError(
                f"method={method!r} does not determine a rank, so `atol` and "
                "`rtol` do not apply; its accuracy is set by `tol`"
            )
        batch = shape[:-2]
        return np.zeros(batch), np.zeros(batch)
    return rank_cutoff_tolerances(atol, rtol, shape, dtype)


def check_solver_options(
    method,
    tol,
    maxiter,
    precond,
    damp,
    shape,
    dtype,
    *,
    preconditioned,
    iterative,
    damped,
):
    """``(tol, maxiter, damp)`` checked against what `method` takes."""
    if precond is not None and method not in preconditioned:
        names = " and ".join(f'"{m}"' for m in preconditioned)
        raise ValueError(
            f"`precond` applies to methods {names}, not to method={method!r}"
        )
    damp = check_damp(damp, shape, real_dtype(dtype))
    tol, maxiter = check_method_options(
        method, tol, maxiter, damp, iterative=iterative, damped=damped
    )
    return tol, maxiter, damp


def check_tall_only(method, shape, tall_only, alternatives):
    """A method in `tall_only` needs ``M >= N``."""
    if method in tall_only and shape[-2] < shape[-1]:
        raise ValueError(
            f"method={method!r} needs M >= N, got a of shape {tuple(shape)}; use "
            f"{alternatives} for wide matrices"
        )


def check_choice(value, allowed, name):
    """`value` if it is one of the strings `allowed`, else ValueError naming `name`."""
    if isinstance(value, str) and value in allowed:
        return value
    choices = ", ".join(f'"{x}"' for x in allowed[:-1]) + f' or "{allowed[-1]}"'
    raise ValueError(f"`{name}` must be {choices}, got {value!r}")


def check_single_matrix_method(method, shape, single_only, alternatives):
    """A method in `single_only` takes one matrix, not a stack."""
    if method in single_only and len(shape) != 2:
        raise ValueError(
            f'method="{method}" takes a single matrix, got shape {tuple(shape)}; '
            f"use {alternatives} for stacks"
        )


def check_dense_only_method(method, kind, allowed, alternatives):
    """A method outside `allowed` needs a dense `a` (not sparse, not an operator)."""
    if method not in allowed:
        what = "scipy.sparse matrix" if kind == "sparse" else "LinearOperator"
        raise TypeError(
            f"method={method!r} needs a dense array, but `a` is a {what}; "
            f"use {alternatives} (or convert with `a.toarray()`)"
        )


def check_preconditioner(precond, n, dtype, named):
    """``(kind, value)`` of a user's preconditioner for an N-column problem.

    `kind` is ``"none"``, ``"named"`` (one of the strings `named`),
    ``"operator"`` (a LinearOperator), ``"sparse"`` (a finite sparse
    matrix) or ``"dense"`` (a finite numeric array in the computing dtype
    `dtype` or wider; triangular ones must have a nonzero diagonal).

    Examples
    --------
    >>> import numpy as np
    >>> check_preconditioner(None, 3, np.float64, ("column",))
    ('none', None)
    >>> kind, p = check_preconditioner(np.eye(3), 3, np.float64, ("column",))
    >>> kind, p.shape
    ('dense', (3, 3))
    """
    import scipy.sparse
    import scipy.sparse.linalg

    if precond is None:
        return "none", None
    if isinstance(precond, str):
        if precond in named:
            return "named", precond
        raise ValueError(
            f"`precond` must be None, {', '.join(map(repr, named))}, an "
            f"(N, N) array or sparse matrix, or a LinearOperator; got {precond!r}"
        )
    if getattr(precond, "shape", None) != (n, n):
        raise ValueError(
            f"`precond` must have shape (N, N) = ({n}, {n}), got "
            f"{getattr(precond, 'shape', None)}"
        )
    if isinstance(precond, scipy.sparse.linalg.LinearOperator):
        return "operator", precond
    if scipy.sparse.issparse(precond):
        if not np.all(np.isfinite(precond.data)):
            raise ValueError("`precond` must contain only finite numbers")
        return "sparse", precond
    p = np.asarray(precond)
    if p.dtype.kind not in "biufc":
        raise TypeError(f"`precond` must be numeric, got dtype {p.dtype}")
    p = p.astype(np.result_type(p.dtype, dtype, np.float32))
    if not np.all(np.isfinite(p)):
        raise ValueError("`precond` must contain only finite numbers")
    triangular = np.array_equal(p, np.triu(p)) or np.array_equal(p, np.tril(p))
    if triangular and not np.all(np.diagonal(p)):
        raise ValueError("`precond` is singular (a zero on its diagonal)")
    return "dense", p
