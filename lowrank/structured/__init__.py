"""Structured and adapted weights: Monarch factorization, LoRA-GA and LoRA-Pro.

The functions are also available from the top-level :mod:`lowrank` namespace.

Examples
--------
>>> import numpy as np
>>> from lowrank import structured
>>> w = np.random.default_rng(0).standard_normal((16, 16))
>>> m = structured.monarch(w)
>>> (m @ np.eye(16)).shape, m.parameters < w.size
((16, 16), True)
"""

from lowrank.structured._lora import lora_ga_init, lora_pro_gradients
from lowrank.structured._monarch import monarch

__all__ = ["lora_ga_init", "lora_pro_gradients", "monarch"]
