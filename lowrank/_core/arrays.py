"""Small array helpers every layer shares."""

from __future__ import annotations

import numpy as np

__all__ = ["conj_t"]


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
