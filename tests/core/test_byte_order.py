"""Non-native byte order is storage, not precision: every public function
that takes a matrix gives the native-order result for byte-swapped input
(big-endian data as read from many files), instead of refusing the dtype.
"""

import dataclasses

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

import lowrank
from lowrank._core import validation as v
from tests.helpers import random_matrix
from tests.strategies import ALL_DTYPES, with_layout

SWAPPED = "byteswapped"


def _psd(n, dtype, rng):
    g = random_matrix((n, 5), dtype, rng)
    return g @ g.conj().T


def _native_sparse(a):
    # scipy.sparse itself refuses non-native dtypes, so only the dense
    # operands of the sparse routes can arrive byte-swapped.
    return scipy.sparse.csr_matrix(a.astype(a.dtype.newbyteorder("=")))


def _factors(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return u[:, :3], s[:3], vh[:3]


#: name -> (function of the inputs, builder of the inputs from (dtype, rng)).
#: Every public function of `lowrank.__all__` that takes a matrix.
CALLS = {
    "pinv": (lambda a: lowrank.pinv(a), lambda d, r: [random_matrix((9, 6), d, r)]),
    "pinv-stack": (
        lambda a: lowrank.pinv(a, method="qr"),
        lambda d, r: [random_matrix((4, 5, 3), d, r)],
    ),
    "svd": (lambda a: lowrank.svd(a), lambda d, r: [random_matrix((9, 6), d, r)]),
    "lstsq": (
        lambda a, b: lowrank.lstsq(a, b),
        lambda d, r: [random_matrix((9, 6), d, r), random_matrix((9, 2), d, r)],
    ),
    "lstsq-lsmr-sparse": (
        lambda a, b: lowrank.lstsq(_native_sparse(a), b, method="lsmr"),
        lambda d, r: [random_matrix((9, 6), d, r), random_matrix((9,), d, r)],
    ),
    "tall_qr": (
        lambda a: lowrank.tall_qr(a),
        lambda d, r: [random_matrix((9, 6), d, r)],
    ),
    "moore_penrose_residuals": (
        lambda a, x: lowrank.moore_penrose_residuals(a, x),
        lambda d, r: [random_matrix((9, 6), d, r), random_matrix((6, 9), d, r)],
    ),
    "truncated_svd": (
        lambda a: lowrank.truncated_svd(a, 3, rng=0),
        lambda d, r: [random_matrix((12, 8), d, r)],
    ),
    "truncated_svd-lanczos": (
        lambda a: lowrank.truncated_svd(a, 3, method="lanczos", rng=0),
        lambda d, r: [random_matrix((12, 8), d, r)],
    ),
    "truncated_svd-operator": (
        lambda a: lowrank.truncated_svd(
            scipy.sparse.linalg.aslinearoperator(a), 3, rng=0
        ),
        lambda d, r: [random_matrix((12, 8), d, r)],
    ),
    "randomized_svd": (
        lambda a: lowrank.randomized_svd(a, 3, rng=0),
        lambda d, r: [random_matrix((12, 8), d, r)],
    ),
    "qb": (
        lambda a: lowrank.qb(a, 3, rng=0),
        lambda d, r: [random_matrix((12, 8), d, r)],
    ),
    "rangefinder": (
        lambda a: lowrank.rangefinder(a, 3, rng=0),
        lambda d, r: [random_matrix((12, 8), d, r)],
    ),
    "interpolative": (
        lambda a: lowrank.interpolative(a, 3, rng=0),
        lambda d, r: [random_matrix((12, 8), d, r)],
    ),
    "interpolative-randomized": (
        lambda a: lowrank.interpolative(a, 3, method="randomized", rng=0),
        lambda d, r: [random_matrix((40, 30), d, r)],
    ),
    "cur": (
        lambda a: lowrank.cur(a, 3, rng=0),
        lambda d, r: [random_matrix((12, 8), d, r)],
    ),
    "estimate_spectral_error": (
        lambda a, u, s, vh: lowrank.estimate_spectral_error(a, u, s, vh, rng=0),
        lambda d, r: [a := random_matrix((12, 8), d, r), *_factors(a)],
    ),
    "nystrom": (lambda a: lowrank.nystrom(a, 3, rng=0), lambda d, r: [_psd(10, d, r)]),
    "sampled_matmul": (
        lambda x, y: lowrank.sampled_matmul(x, y, 4, rng=0),
        lambda d, r: [random_matrix((5, 8), d, r), random_matrix((8, 4), d, r)],
    ),
    "monarch": (
        lambda a: lowrank.monarch(a, 4).to_dense(),
        lambda d, r: [random_matrix((16, 16), d, r)],
    ),
    "lora_ga_init": (
        lambda g: lowrank.lora_ga_init(g, 2),
        lambda d, r: [random_matrix((10, 8), d, r)],
    ),
    "lora_pro_gradients": (
        lambda a, b, g: lowrank.lora_pro_gradients(a, b, g),
        lambda d, r: [
            random_matrix((10, 2), d, r),
            random_matrix((2, 8), d, r),
            random_matrix((10, 8), d, r),
        ],
    ),
    "whitened_svd": (
        lambda w, g: lowrank.whitened_svd(w, 3, gram=g),
        lambda d, r: [random_matrix((10, 8), d, r), _psd(8, d, r)],
    ),
    "whitened_svd-x": (
        lambda w, x: lowrank.whitened_svd(w, 3, x=x),
        lambda d, r: [random_matrix((10, 8), d, r), random_matrix((20, 8), d, r)],
    ),
    "shared_basis": (
        lambda w1, w2: lowrank.shared_basis([w1, w2], 3),
        lambda d, r: [random_matrix((6, 8), d, r), random_matrix((5, 8), d, r)],
    ),
    "adapter_split": (
        lambda w: lowrank.adapter_split(w, 2),
        lambda d, r: [random_matrix((10, 8), d, r)],
    ),
    "adapter_split-bottom": (
        lambda w: lowrank.adapter_split(w, 2, which="bottom"),
        lambda d, r: [random_matrix((10, 8), d, r)],
    ),
}


def _leaves(result):
    """The arrays (and numbers) of a result, in a fixed order."""
    if isinstance(result, np.ndarray) or np.isscalar(result):
        return [np.asarray(result)]
    if dataclasses.is_dataclass(result):
        result = [getattr(result, f.name) for f in dataclasses.fields(result)]
    return [leaf for item in result for leaf in _leaves(item)]


def test_every_public_matrix_function_is_covered():
    takes_matrices = {
        name
        for name in lowrank.__all__
        if callable(getattr(lowrank, name))
        and not name.startswith("choose_")
        and not name[0].isupper()
    }
    covered = {name.split("-")[0] for name in CALLS}
    assert takes_matrices == covered


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("name", sorted(CALLS))
def test_byteswapped_input_gives_the_native_result(name, dtype):
    call, build = CALLS[name]
    inputs = build(dtype, np.random.default_rng(0))
    swapped = [with_layout(x, SWAPPED) for x in inputs]
    assert all(not x.dtype.isnative for x in swapped)
    expected = _leaves(call(*inputs))
    got = _leaves(call(*swapped))
    assert len(got) == len(expected)
    tol = 1e-12 if np.finfo(dtype).bits > 32 and dtype != np.complex64 else 1e-5
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == e.dtype
        assert g.dtype.isnative
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol * np.abs(e).max(initial=0))


@pytest.mark.parametrize("dtype", [">f4", ">f8", ">c8", ">c16", "<f8", "<c16"])
def test_result_dtype_is_native(dtype):
    given = np.dtype(dtype)
    got = v.result_dtype(given)
    assert got.isnative
    assert got == given.newbyteorder("=")
    a = np.ones((3, 2), dtype)
    converted = v.as_matrix_stack(a)
    assert converted.dtype.isnative
    np.testing.assert_array_equal(converted, a)
