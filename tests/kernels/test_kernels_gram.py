"""Tests of the row-blocked Gram kernel against its numpy twin ``a.conj().T @ a``."""

import numpy as np
import pytest

import lowrank._kernels.gram as gram_mod
from tests.helpers import eps, random_matrix

gram_rowblocked = gram_mod.gram_rowblocked
gram_numpy = gram_mod.gram_numpy
use_gram_kernel = gram_mod.use_gram_kernel

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def assert_gram_close(g, a):
    """|G - A^H A| <= c m eps |A|^H |A| entrywise (Higham §3.1), exactly Hermitian."""
    a = np.asarray(a)
    m, n = a.shape
    assert g.shape == (n, n)
    assert g.dtype == a.dtype
    assert np.array_equal(g, g.conj().T)
    ref = a.astype(np.complex128).conj().T @ a.astype(np.complex128)
    bound = np.abs(a).astype(np.float64).T @ np.abs(a).astype(np.float64)
    tol = 4 * max(m, 1) * eps(a.dtype) * bound + np.finfo(np.float64).tiny
    assert np.all(np.abs(g - ref) <= tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("method", ["blas", "loop"])
def test_matches_numpy_twin(dtype, order, method):
    rng = np.random.default_rng(0)
    a = random_matrix((1003, 7), dtype, rng, order)
    g = gram_rowblocked(a, n_blocks=3, method=method)
    assert_gram_close(g, a)
    twin = gram_numpy(a)
    scale = np.abs(twin).max()
    assert np.abs(g - twin).max() <= 8 * 1003 * eps(dtype) * scale


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape", [(0, 3), (1, 3), (5, 1), (4, 0), (0, 0), (3, 5), (2000, 33)]
)
def test_edge_shapes(dtype, shape):
    rng = np.random.default_rng(1)
    a = random_matrix(shape, dtype, rng)
    for order in "CF":
        x = np.asarray(a, order=order)
        g = gram_rowblocked(x)
        assert_gram_close(g, x)
        g = gram_rowblocked(x, method="loop", n_blocks=7)
        assert_gram_close(g, x)


@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
def test_non_contiguous_input(dtype):
    rng = np.random.default_rng(2)
    big = random_matrix((400, 12), dtype, rng)
    a = big[::3, 1::2]
    assert not a.flags.c_contiguous
    assert not a.flags.f_contiguous
    assert_gram_close(gram_rowblocked(a), a)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", ["blas", "loop"])
def test_parallel_equals_serial_and_orders(dtype, method):
    """With a fixed n_blocks the result does not depend on the threads."""
    rng = np.random.default_rng(3)
    a = random_matrix((5000, 6), dtype, rng)
    ref = gram_rowblocked(a, n_blocks=5, parallel=False, method=method)
    assert np.array_equal(gram_rowblocked(a, n_blocks=5, method=method), ref)
    f = np.asfortranarray(a)
    assert np.array_equal(gram_rowblocked(f, n_blocks=5, method=method), ref)


@pytest.mark.parametrize("n_blocks", [1, 2, 3, 7, 64, 10**6])
def test_n_blocks_variants(n_blocks):
    rng = np.random.default_rng(4)
    a = random_matrix((777, 9), np.complex128, rng)
    g = gram_rowblocked(a, n_blocks=n_blocks)
    assert_gram_close(g, a)
    ref = gram_rowblocked(a, n_blocks=1)
    assert np.abs(g - ref).max() <= 50 * 777 * eps(a.dtype) * np.abs(ref).max()


def test_hermitian_real_diagonal():
    rng = np.random.default_rng(5)
    a = random_matrix((300, 4), np.complex64, rng)
    g = gram_rowblocked(a)
    assert np.all(g.diagonal().imag == 0)
    assert np.all(g.diagonal().real > 0)


def test_input_not_modified():
    rng = np.random.default_rng(6)
    for order in "CF":
        a = random_matrix((500, 5), np.complex128, rng, order)
        before = a.copy(order="A")
        gram_rowblocked(a)
        gram_rowblocked(a, method="loop")
        assert np.array_equal(a, before)


def test_errors():
    with pytest.raises(ValueError, match="2-D"):
        gram_rowblocked(np.ones(3))
    with pytest.raises(TypeError, match="float32"):
        gram_rowblocked(np.ones((3, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="n_blocks"):
        gram_rowblocked(np.ones((3, 2)), n_blocks=0)
    with pytest.raises(ValueError, match="method"):
        gram_rowblocked(np.ones((3, 2)), method="fast")


def test_use_gram_kernel_returns_bool():
    for shape in [(10, 4), (200000, 8), (200000, 100), (10**7, 2)]:
        for dtype in DTYPES:
            assert isinstance(use_gram_kernel(shape, dtype), bool)
    assert not use_gram_kernel((200000, 200))
    assert not use_gram_kernel((100, 4))
    assert use_gram_kernel((200000, 8), np.float32)
    assert not use_gram_kernel((200000, 8), np.complex64)
