"""lowrank._core.blas: products on scipy's BLAS for every memory layout."""

import numpy as np
import pytest

from lowrank._core.blas import matmul, svd_small


def _layout(x, order):
    if order == "C":
        return np.ascontiguousarray(x)
    if order == "F":
        return np.asfortranarray(x)
    # Neither: every other column of a wider array.
    wide = np.zeros((x.shape[0], 2 * x.shape[1]), x.dtype)
    wide[:, ::2] = x
    return wide[:, ::2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("order_a", ["C", "F", "strided"])
@pytest.mark.parametrize("order_b", ["C", "F", "strided"])
def test_matmul_matches_numpy(dtype, order_a, order_b):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((7, 5)).astype(dtype)
    b = rng.standard_normal((5, 4)).astype(dtype)
    if np.iscomplexobj(a):
        a = a + 1j * rng.standard_normal(a.shape).astype(dtype)
        b = b - 1j * rng.standard_normal(b.shape).astype(dtype)
    got = matmul(_layout(a, order_a), _layout(b, order_b))
    assert got.dtype == dtype
    rtol = 1e-5 if np.finfo(dtype).eps > 1e-10 else 1e-13
    np.testing.assert_allclose(got, a @ b, rtol=rtol, atol=rtol)


def test_matmul_keeps_c_order_of_c_operands():
    a = np.ones((6, 3))
    assert matmul(a, np.ones((3, 2))).flags.c_contiguous


@pytest.mark.parametrize(
    ("sa", "sb"), [((0, 3), (3, 2)), ((4, 0), (0, 2)), ((4, 3), (3, 0))]
)
def test_matmul_empty(sa, sb):
    got = matmul(np.ones(sa), np.ones(sb))
    assert got.shape == (sa[0], sb[1])
    assert not got.any()


def test_matmul_shape_mismatch():
    with pytest.raises(ValueError, match="do not match"):
        matmul(np.ones((2, 3)), np.ones((2, 3)))


def test_svd_small():
    a = np.random.default_rng(1).standard_normal((6, 6))
    u, s, vh = svd_small(a)
    np.testing.assert_allclose((u * s) @ vh, a, atol=1e-13)
