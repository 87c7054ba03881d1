"""lowrank: pseudo-inverses, least squares and low-rank approximation.

Built on numpy, scipy and numba. The public API is the names in ``__all__``;
warnings and errors live in :mod:`lowrank.exceptions`, test matrices in
:mod:`lowrank.datasets`.
"""

from lowrank import approx, datasets, exceptions, linalg, structured, weights
from lowrank._core.results import (
    AdapterSplitResult,
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
    SharedBasisResult,
    SVDResult,
    WhitenedSVDResult,
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
from lowrank.weights import adapter_split, shared_basis, whitened_svd

__all__ = [
    "AdapterSplitResult",
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
    "SharedBasisResult",
    "WhitenedSVDResult",
    "__version__",
    "adapter_split",
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
    "shared_basis",
    "structured",
    "svd",
    "tall_qr",
    "truncated_svd",
    "weights",
    "whitened_svd",
]
