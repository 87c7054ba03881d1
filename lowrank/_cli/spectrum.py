"""Singular values of an input, and what `lowrank info` says about them."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg
import scipy.sparse

import lowrank
from lowrank._cli.io import dense

__all__ = ["FULL_SPECTRUM_ENTRIES", "LEADING", "Spectrum", "singular_values", "summary"]

#: All singular values are computed when A has at most this many entries and
#: its smaller side is at most FULL_SPECTRUM_SIDE (a dense SVD, values only);
#: otherwise only the LEADING largest, by lowrank.truncated_svd.
FULL_SPECTRUM_ENTRIES = 2e7
FULL_SPECTRUM_SIDE = 3000
LEADING = 100
#: Relative accuracies for which `info` reports the rank needed.
ACCURACIES = (1e-1, 1e-2, 1e-4, 1e-8)


class Spectrum(NamedTuple):
    """Singular values, descending; `complete` if all min(M, N) of them."""

    values: np.ndarray
    complete: bool


def singular_values(a, *, rng=0):
    """The spectrum of `a` (2-D array or sparse), complete when affordable."""
    m, n = a.shape
    if min(m, n) <= FULL_SPECTRUM_SIDE and m * n <= FULL_SPECTRUM_ENTRIES:
        values = scipy.linalg.svdvals(dense(a), check_finite=False)
        return Spectrum(values, True)
    k = min(LEADING, min(m, n))
    return Spectrum(lowrank.truncated_svd(a, k, rng=rng).S, False)


def default_cutoff(shape, dtype, s_max):
    """The library's rank cutoff ``max(M, N) * eps * s_max`` (atol = 0)."""
    return max(shape) * np.finfo(dtype).eps * s_max


def _count_above(spectrum, threshold):
    """``#{s_j > threshold}``, as text ('>= 100' if the tail was not computed)."""
    count = int(np.count_nonzero(spectrum.values > threshold))
    if count == spectrum.values.size and not spectrum.complete:
        return f">= {count}"
    return str(count)


def summary(spectrum, shape, dtype):
    """(label, text) rows on the rank, conditioning and decay."""
    s = spectrum.values
    side = min(shape)
    if s.size == 0 or s[0] == 0:
        return [("rank", "0 (the matrix is zero)")]
    cutoff = default_cutoff(shape, dtype, s[0])
    rank = _count_above(spectrum, cutoff)
    rows = [
        (
            "numerical rank",
            f"{rank} of {side} (singular values > max(M, N) eps s_1 = {cutoff:.2e})",
        )
    ]
    if spectrum.complete:
        if s[-1] > 0:
            condition = f"s_1 / s_{side} = {s[0] / s[-1]:.2e}"
        else:
            condition = "inf (the smallest singular value is 0)"
        r = int(rank)
        if r < side:
            condition += (
                f"; over the numerical rank, s_1 / s_{r} = {s[0] / s[r - 1]:.2e}"
            )
        rows.append(("condition number", condition))
    else:
        rows.append(
            (
                "condition number",
                f"not estimated: only the {s.size} largest singular values were "
                f"computed (matrix too large for a full SVD); s_{s.size} / s_1 = "
                f"{s[-1] / s[0]:.2e}",
            )
        )
    marks = sorted(
        {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, s.size} & set(range(1, s.size + 1))
    )
    rows.append(
        ("singular values", ", ".join(f"s_{j} = {s[j - 1]:.3e}" for j in marks))
    )
    needed = ", ".join(
        f"{tol:.0e}: {_count_above(spectrum, tol * s[0])}" for tol in ACCURACIES
    )
    rows.append(("rank for accuracy", f"{needed}  (smallest k: s_(k+1) <= tol * s_1)"))
    return rows
