"""Dense linear algebra: pseudo-inverse, least squares, thin SVD, tall-skinny QR.

The functions are also available from the top-level :mod:`lowrank` namespace.

Examples
--------
>>> import numpy as np
>>> from lowrank import linalg
>>> a = np.random.default_rng(0).standard_normal((50, 4))
>>> bool(np.allclose(linalg.pinv(a) @ a, np.eye(4)))
True
"""

from lowrank.linalg._diagnostics import moore_penrose_residuals
from lowrank.linalg._lstsq._api import choose_lstsq_method, lstsq
from lowrank.linalg._pinv import choose_pinv_method, pinv
from lowrank.linalg._svd import choose_svd_method, svd
from lowrank.linalg._tallqr import tall_qr

__all__ = [
    "choose_lstsq_method",
    "choose_pinv_method",
    "choose_svd_method",
    "lstsq",
    "moore_penrose_residuals",
    "pinv",
    "svd",
    "tall_qr",
]
