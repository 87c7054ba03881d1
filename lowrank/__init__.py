"""lowrank: pseudo-inverses, least squares and low-rank approximation.

Built on numpy, scipy and numba. The public API is the names in ``__all__``;
warnings and errors live in :mod:`lowrank.exceptions`.
"""

from lowrank import exceptions
from lowrank._diagnostics import moore_penrose_residuals
from lowrank._pinv import pinv
from lowrank._results import MoorePenroseResiduals, PinvResult
from lowrank._version import __version__

__all__ = [
    "MoorePenroseResiduals",
    "PinvResult",
    "__version__",
    "exceptions",
    "moore_penrose_residuals",
    "pinv",
]
