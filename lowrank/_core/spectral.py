"""The one rank rule of lowrank and the filter factors of (damped) pseudo-inverses.

Every place that decides a numerical rank keeps singular value ``s_i`` iff
``s_i > atol + rtol * s_max`` (the semantics of scipy.linalg.pinv); the
pseudo-inverse, least squares and the spectral solves of every backend use
`spectral_filter` for it.
"""

from __future__ import annotations

import numpy as np

from lowrank._core.arrays import conj_t

__all__ = ["eigh_floor", "spectral_filter", "spectral_solve"]


def spectral_filter(values, magnitudes, atol, rtol, damp, *, floor=0.0):
    """The filter factors of a (damped, truncated) pseudo-inverse.

    Keeps ``magnitudes_i > max(atol + rtol * max(magnitudes), floor * max)``
    (the rank rule of lowrank; `floor` only for methods that cannot resolve
    smaller values) and returns ``values / (values**2 + damp**2)`` there, 0
    elsewhere: ``1 / values`` without damping, the Tikhonov filter
    ``s / (s^2 + d^2)`` with it. Returns ``(factors, rank)``.

    Examples
    --------
    >>> import numpy as np
    >>> f, rank = spectral_filter(np.array([4.0, 2.0, 1e-20]),
    ...                           np.array([4.0, 2.0, 1e-20]), 0.0, 1e-10, 0.0)
    >>> f, int(rank)
    (array([0.25, 0.5 , 0.  ]), 2)
    """
    s_max = magnitudes.max(axis=-1)
    cutoff = np.maximum(atol + rtol * s_max, floor * s_max)
    keep = magnitudes > cutoff[..., np.newaxis]
    damp = np.asarray(damp)[..., np.newaxis]
    # s / (s^2 + d^2) written as 1 / (s + d^2 / s): no overflow of s^2 for
    # huge s (kept values are nonzero, as they exceed a cutoff >= 0).
    denominator = np.ones_like(values)
    with np.errstate(over="ignore"):
        np.add(values, damp * damp / np.where(keep, values, 1), out=denominator)
    factors = np.zeros_like(values)
    np.divide(1, denominator, out=factors, where=keep)
    return factors, np.count_nonzero(keep, axis=-1)


def spectral_solve(u, s, vh, b, atol, rtol, damp):
    """``x = V f(s) U^H b`` with the (damped, truncated) filter factors f of pinv."""
    f, rank = spectral_filter(s, s, atol, rtol, damp)
    coeffs = conj_t(u) @ b
    coeffs *= f[..., np.newaxis].astype(coeffs.dtype, copy=False)
    return conj_t(vh) @ coeffs, rank


def eigh_floor(shape, dtype):
    """Smallest relative singular value the normal equations resolve.

    Forming A^H A rounds its eigenvalues by about p eps lambda_max, so singular
    values below sqrt(p eps) s_max are indistinguishable from zero there.
    """
    return np.sqrt(max(shape[-2:]) * np.finfo(dtype).eps)
