"""Empty and non-finite weights: one clear error naming the argument, for every
function of the weights family (byte order: tests/core/test_byte_order.py)."""

import re

import numpy as np
import pytest

import lowrank

CALLS = {
    "whitened_svd k": (lambda w: lowrank.whitened_svd(w, 1), "`w`"),
    "whitened_svd tol": (lambda w: lowrank.whitened_svd(w, tol=0.1), "`w`"),
    "adapter_split": (lambda w: lowrank.adapter_split(w, 1), "`w`"),
    "shared_basis": (lambda w: lowrank.shared_basis([w, w], 1), "`ws[0]`"),
}


@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize("shape", [(0, 4), (3, 0)])
def test_empty_weights_say_so(name, shape):
    call, _ = CALLS[name]
    with pytest.raises(ValueError, match="empty"):
        call(np.zeros(shape))


@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("dtype", [np.float32, np.complex128])
def test_non_finite_weights_name_the_argument(name, bad, dtype):
    call, argument = CALLS[name]
    w = np.ones((3, 4), dtype=dtype)
    w[1, 2] = bad
    with pytest.raises(
        ValueError, match=re.escape(f"{argument} must contain only finite")
    ):
        call(w)
