"""Random test matrices for sketches, range finders and Krylov starts."""

from __future__ import annotations

import numpy as np

__all__ = ["random_test_matrix"]


def random_test_matrix(rng, n, width, dtype):
    """An n x width standard Gaussian matrix, complex Gaussian for complex dtype.

    A complex A needs a complex Omega: with a real one, ``A Omega`` only
    samples the range of A restricted to real vectors (Halko, Martinsson &
    Tropp 2011, §4.1).
    """
    real = np.finfo(dtype).dtype
    omega = rng.standard_normal((n, width), dtype=real)
    if np.issubdtype(dtype, np.complexfloating):
        omega = omega + 1j * rng.standard_normal((n, width), dtype=real)
    return omega.astype(dtype, copy=False)
