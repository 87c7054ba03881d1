"""The sign convention of every SVD lowrank returns.

The entry of largest magnitude in each column of U is real and positive (the
first such entry on ties); the matching row of Vh carries the conjugate
factor, so ``U diag(S) Vh`` is unchanged. Deterministic signs make results
reproducible across methods, backends and runs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["canonical_signs"]


def canonical_signs(u, vh, *, overwrite=False):
    """Fix the sign (phase) of each singular pair deterministically.

    The entry of largest magnitude in each column of U becomes real and
    positive (the first such entry on ties); the matching row of Vh is scaled
    by the conjugate factor, so ``U diag(S) Vh`` is unchanged. With
    ``overwrite=True`` real U and Vh are scaled in place (saving a pass and an
    allocation of the size of U).
    """
    if u.shape[-1] == 0 or u.shape[-2] == 0:
        return u, vh
    if not np.iscomplexobj(u):
        return _real_signs(u, vh, overwrite)
    index = np.argmax(np.abs(u), axis=-2)[..., np.newaxis, :]
    pivot = np.take_along_axis(u, index, axis=-2)  # (..., 1, K)
    magnitude = np.abs(pivot)
    phase = np.where(magnitude > 0, pivot / np.where(magnitude > 0, magnitude, 1), 1)
    u = u * phase.conj()
    vh = vh * np.swapaxes(phase, -1, -2)
    # pivot * conj(pivot / |pivot|) is |pivot| only up to rounding: make the
    # convention exact.
    np.put_along_axis(u, index, magnitude.astype(u.dtype), axis=-2)
    return u, vh


def _real_signs(u, vh, overwrite):
    """canonical_signs for real U without a column-wise argmax.

    Column maxima and minima are row-vectorised reductions, several times
    faster than argmax along a C-ordered array's rows; only exact ties
    (``max == -min``) need the position of the first largest entry.
    """
    col_max = u.max(axis=-2)
    col_min = u.min(axis=-2)
    negative = -col_min > col_max
    for index in zip(*np.nonzero((-col_min == col_max) & (col_max > 0)), strict=True):
        *batch, j = index
        column = u[(*batch, slice(None), j)]
        negative[index] = column[np.argmax(np.abs(column))] < 0
    signs = np.where(negative, -1, 1).astype(u.dtype)[..., np.newaxis, :]
    if overwrite:
        u *= signs
        vh *= np.swapaxes(signs, -1, -2)
        return u, vh
    return u * signs, vh * np.swapaxes(signs, -1, -2)
