"""Low-rank approximation: truncated and randomized SVD, ID, CUR, CR, Nyström.

The functions are also available from the top-level :mod:`lowrank` namespace.

Examples
--------
>>> import numpy as np
>>> from lowrank import approx
>>> a = np.random.default_rng(0).standard_normal((60, 5)) @ np.ones((5, 40))
>>> u, s, vh = approx.truncated_svd(a, 5)
>>> bool(np.allclose(u * s @ vh, a))
True
"""

from lowrank.approx._cur import cur
from lowrank.approx._error_estimate import estimate_spectral_error
from lowrank.approx._interpolative import choose_interpolative_method, interpolative
from lowrank.approx._nystrom import nystrom
from lowrank.approx._rangefinder import qb, randomized_svd, rangefinder
from lowrank.approx._sampled_matmul import sampled_matmul
from lowrank.approx._truncated_svd import choose_truncated_svd_method, truncated_svd

__all__ = [
    "choose_interpolative_method",
    "choose_truncated_svd_method",
    "cur",
    "estimate_spectral_error",
    "interpolative",
    "nystrom",
    "qb",
    "randomized_svd",
    "rangefinder",
    "sampled_matmul",
    "truncated_svd",
]
