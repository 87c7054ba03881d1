"""lowrank: pseudo-inverses, least squares and low-rank approximation.

Built on numpy, scipy and numba. The public API is the names in ``__all__``;
warnings and errors live in :mod:`lowrank.exceptions`.
"""

from lowrank import exceptions
from lowrank._diagnostics import moore_penrose_residuals
from lowrank._error_estimate import estimate_spectral_error
from lowrank._lstsq import choose_lstsq_method, lstsq
from lowrank._pinv import choose_pinv_method, pinv
from lowrank._rangefinder import qb, randomized_svd, rangefinder
from lowrank._results import (
    LstsqResult,
    MoorePenroseResiduals,
    PinvResult,
    QBResult,
    QRResult,
    SVDResult,
)
from lowrank._svd import choose_svd_method, svd
from lowrank._tallskinny import tall_qr
from lowrank._truncated_svd import choose_truncated_svd_method, truncated_svd
from lowrank._version import __version__

__all__ = [
    "LstsqResult",
    "MoorePenroseResiduals",
    "PinvResult",
    "QBResult",
    "QRResult",
    "SVDResult",
    "__version__",
    "choose_lstsq_method",
    "choose_pinv_method",
    "choose_svd_method",
    "choose_truncated_svd_method",
    "estimate_spectral_error",
    "exceptions",
    "lstsq",
    "moore_penrose_residuals",
    "pinv",
    "qb",
    "randomized_svd",
    "rangefinder",
    "svd",
    "tall_qr",
    "truncated_svd",
]
