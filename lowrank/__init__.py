"""lowrank: pseudo-inverses, least squares and low-rank approximation.

Built on numpy, scipy and numba. The public API is the names in ``__all__``;
warnings and errors live in :mod:`lowrank.exceptions`, test matrices in
:mod:`lowrank.datasets`.
"""

from lowrank import approx, datasets, exceptions, linalg, structured
from lowrank._core.results import (
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
from lowrank._version import __version__
from lowrank.approx import (
    choose_interpolative_method,
    choose_truncated_svd_method,
    cur,
    estimate_spectral_error,
    interpolative,
    nystrom,
    qb,
    randomized_svd,
    rangefinder,
    sampled_matmul,
    truncated_svd,
)
from lowrank.linalg import (
    choose_lstsq_method,
    choose_pinv_method,
    choose_svd_method,
    lstsq,
    moore_penrose_residuals,
    pinv,
    svd,
    tall_qr,
)
from lowrank.structured import lora_ga_init, lora_pro_gradients, monarch

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
    "approx",
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
    "linalg",
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
    "structured",
    "svd",
    "tall_qr",
    "truncated_svd",
]
