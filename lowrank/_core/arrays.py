"""Small array helpers every layer shares."""

from __future__ import annotations

import numpy as np

__all__ = ["conj_t", "scale_by_power_of_two"]


def conj_t(a):
    """The conjugate transpose of a matrix or of each matrix in a stack.

    A view for real input (numpy's ``conj`` of a real array returns it); the
    lazy equivalent for dask arrays; a scipy.sparse matrix stays sparse.

    Examples
    --------
    >>> import numpy as np
    >>> conj_t(np.array([[1 + 2j, 3j]]))
    array([[1.-2.j],
           [0.-3.j]])
    """
    if a.ndim == 2:
        return a.conj().T
    return np.swapaxes(a, -1, -2).conj()


def scale_by_power_of_two(a, e):
    """``a * 2**e`` exactly (no rounding), complex input included.

    `e` is an integer array broadcast against `a`. numpy's ``ldexp`` takes
    real input only, so a complex `a` is scaled part by part.

    Examples
    --------
    >>> import numpy as np
    >>> scale_by_power_of_two(np.array([1.5 + 3j, 0.25j]), np.array(2))
    array([6.+12.j, 0. +1.j])
    """
    if a.dtype.kind != "c":
        return np.ldexp(a, e)
    out = np.empty_like(a)
    out.real = np.ldexp(a.real, e)
    out.imag = np.ldexp(a.imag, e)
    return out
