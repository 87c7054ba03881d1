"""Checks of the options of the approximation routines.

Counts (`n_iter`, the sample size `r`, `nblocks`, an adapter rank), the
`axis` of an ID, CUR's `sampling`, explicit sampling probabilities, and
which options a method of a registry takes. The names a message offers
come from the caller's registry, never from a list typed here.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse

from lowrank._core.validation.arrays import check_method, check_nonnegative_int


def or_list(names, quote=repr):
    """``'a', 'b' or 'c'``: the names of a registry as a message offers them."""
    shown = [quote(name) for name in names]
    if len(shown) < 2:
        return "".join(shown)
    return f"{', '.join(shown[:-1])} or {shown[-1]}"


def _integer(value, name, what="an integer"):
    """`value` as an int; TypeError ("`name` must be <what>") for anything else."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be {what}, got {type(value).__name__}")
    return int(value)


def check_given(value, name, function):
    """TypeError for a required argument given as None, worded as Python would."""
    if value is None:
        raise TypeError(f"{function}() missing required argument: '{name}'")


def check_n_iter(n_iter, *, auto=True, positive=False):
    """Validate a number of iterations `n_iter`, the one rule for every function.

    An integer ``>= 0`` (power iterations), or ``>= 1`` with
    ``positive=True`` (steps of an estimate that needs one); the string
    ``"auto"`` too when the function has a rule for it (``auto=True``). The
    same bad value gets the same message from every function with the same
    constraint.
    """
    if auto and isinstance(n_iter, str):
        if n_iter != "auto":
            raise ValueError(
                f'`n_iter` must be "auto" or an integer >= {int(positive)}, '
                f"got {n_iter!r}"
            )
        return n_iter
    if not positive:
        return check_nonnegative_int(n_iter, "n_iter")
    n_iter = _integer(n_iter, "n_iter", "a positive integer")
    if n_iter < 1:
        raise ValueError(f"`n_iter` must be a positive integer, got {n_iter}")
    return n_iter


def check_sample_size(r, name="r"):
    """Validate the number of sampled terms of a sampled product: an int >= 1."""
    r = _integer(r, name)
    if r < 1:
        raise ValueError(
            f"`{name}` must be a positive integer (the sample size), got {r}"
        )
    return r


def check_adapter_rank(r, shape, name="r"):
    """Validate a LoRA-GA rank ``0 < r <= min(shape) / 2`` (2r triplets of `g`)."""
    r = _integer(r, name)
    upper = min(shape) // 2
    if not 0 < r <= upper:
        raise ValueError(
            f"`{name}` must satisfy 0 < {name} <= min(g.shape) / 2 = {upper} (the "
            f"initialisation uses 2{name} singular triplets of `g`, shape "
            f"{tuple(shape)}), got {r}"
        )
    return r


def check_nblocks(nblocks, n):
    """Validate a number of Monarch blocks: a divisor of the order `n`."""
    nblocks = _integer(nblocks, "nblocks", "an integer or None")
    if not 0 < nblocks <= n or n % nblocks:
        raise ValueError(
            f"`nblocks` must be a divisor of N = {n} (the order of `a`), got {nblocks}"
        )
    return nblocks


def check_axis(axis):
    """Validate the `axis` of an ID: 1 (columns) or 0 (rows); returns 0 or 1."""
    axis = _integer(axis, "axis")
    if axis not in (-2, -1, 0, 1):
        raise ValueError(
            f"`axis` must be 1 (select columns) or 0 (select rows), got {axis}"
        )
    return axis % 2


def check_applies(option, method, supporting, *, name="method", note=""):
    """Raise ValueError unless `option` applies to `method`.

    `supporting` lists, in registry order, the methods that take the option;
    `note` says why the others do not.
    """
    if method in supporting:
        return
    raise ValueError(
        f"`{option}` is not supported by {name}={method!r}{note}; it applies to "
        f"{name}={or_list(supporting)}"
    )


def check_sampling(sampling, select, samplings, scored):
    """Validate CUR's `sampling` (None -> the first of `samplings`).

    `samplings` are the ways to pick from scores, `scored` the selections
    (in registry order) that rank scores and so take them.
    """
    if sampling is None:
        return samplings[0]
    if sampling not in samplings:
        choices = or_list([*samplings, None], quote=_double_quoted)
        raise ValueError(f"`sampling` must be {choices}, got {sampling!r}")
    check_applies("sampling", select, scored, name="select")
    return sampling


def _double_quoted(name):
    return "None" if name is None else f'"{name}"'


def check_deim_counts(n_cols, n_rows, shape):
    """DEIM takes one index per singular vector: both counts <= min(M, N)."""
    small = min(shape)
    if max(n_cols, n_rows) > small:
        raise ValueError(
            "select='deim' takes one index per singular vector, so `n_cols` "
            f"and `n_rows` must be <= min(M, N) = {small}; got "
            f"n_cols={n_cols}, n_rows={n_rows}"
        )


def check_probabilities(probs, n, registry, name="probs"):
    """Validate sampling probabilities: a name in `registry` or n weights.

    Returns the registry's entry for a name, else the weights as a float64
    array of shape (n,): finite, non-negative, with a positive sum.
    """
    if isinstance(probs, str):
        return check_method(probs, registry, name)
    if scipy.sparse.issparse(probs) or not (
        hasattr(probs, "__array__") or isinstance(probs, list | tuple)
    ):
        choices = [
            *map(_double_quoted, registry),
            "a 1-D array of n non-negative numbers",
        ]
        raise TypeError(
            f"`{name}` must be {or_list(choices, quote=str)}, got "
            f"{type(probs).__name__}"
        )
    p = np.asarray(probs)
    if p.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must be real, got dtype {p.dtype}")
    if p.shape != (n,):
        raise ValueError(
            f"`{name}` must have shape ({n},), one probability per column of "
            f"`x` and row of `y`; got shape {p.shape}"
        )
    p = p.astype(np.float64)
    if not np.all(np.isfinite(p)):
        raise ValueError(f"`{name}` must contain only finite numbers (found NaN/Inf)")
    if np.any(p < 0):
        raise ValueError(
            f"`{name}` must be non-negative, got min({name}) = {p.min():g}"
        )
    if not p.sum() > 0:
        raise ValueError(f"`{name}` must have a positive sum; all entries are zero")
    return p
