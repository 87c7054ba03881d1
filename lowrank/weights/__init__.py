"""Data-aware low rank and model-weight compression.

Whitened (activation-aware) truncated SVD, a shared basis for several
matrices, and residual-exact SVD-based adapter initialisation (PiSSA,
MiLoRA, CorDA-style). The functions are also available from the top-level
:mod:`lowrank` namespace; the user guide is :doc:`/weights`.

Examples
--------
>>> import numpy as np
>>> from lowrank import weights
>>> rng = np.random.default_rng(0)
>>> w = rng.standard_normal((30, 40))
>>> res = weights.whitened_svd(w, 5, diag=np.linspace(1.0, 2.0, 40))
>>> res.A.shape, res.B.shape
((30, 5), (5, 40))
"""

from lowrank.weights._adapter import adapter_split
from lowrank.weights._shared_basis import shared_basis
from lowrank.weights._whitened_svd import whitened_svd

__all__ = ["adapter_split", "shared_basis", "whitened_svd"]
