"""lowrank: pseudo-inverses, least squares and low-rank approximation.

Built on numpy, scipy and numba. The public API is the names in ``__all__``;
warnings and errors live in :mod:`lowrank.exceptions`, test matrices in
:mod:`lowrank.datasets`.
"""

from lowrank import datasets, exceptions
from lowrank._cur import cur
from lowrank._diagnostics import moore_penrose_residuals
from lowrank._error_estimate import estimate_spectral_error
from lowrank._interpolative import choose_interpolative_method, interpolative
from lowrank._lora import lora_ga_init, lora_pro_gradients
from lowrank._lstsq import choose_lstsq_method, lstsq
from lowrank._monarch import monarch
from lowrank._nystrom import nystrom
from lowrank._pinv import choose_pinv_method, pinv
from lowrank._rangefinder import qb, randomized_svd, rangefinder
from lowrank._results import (
    CRResult,
    CURResult,
    IDResult,
    LoRAGAResult,
    LoRAProResult,
    LstsqResult,
    MonarchResult,
    MoorePenroseResiduals,
    NystromResult,
    PinvResult,
    QBResult,
    QRResult,
    SVDResult,
)
from lowrank._sampled_matmul import sampled_matmul
from lowrank._svd import choose_svd_method, svd
from lowrank._tallskinny import tall_qr
from lowrank._truncated_svd import choose_truncated_svd_method, truncated_svd
from lowrank._version import __version__

__all__ = [
    "CRResult",
    "CURResult",
    "IDResult",
    "LoRAGAResult",
    "LoRAProResult",
    "LstsqResult",
    "MonarchResult",
    "MoorePenroseResiduals",
    "NystromResult",
    "PinvResult",
    "QBResult",
    "QRResult",
    "SVDResult",
    "__version__",
    "choose_interpolative_method",
    "choose_lstsq_method",
    "choose_pinv_method",
    "choose_svd_method",
    "choose_truncated_svd_method",
    "cur",
    "datasets",
    "estimate_spectral_error",
    "exceptions",
    "interpolative",
    "lora_ga_init",
    "lora_pro_gradients",
    "lstsq",
    "monarch",
    "moore_penrose_residuals",
    "nystrom",
    "pinv",
    "qb",
    "randomized_svd",
    "rangefinder",
    "sampled_matmul",
    "svd",
    "tall_qr",
    "truncated_svd",
]
