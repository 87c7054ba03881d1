"""Tests of the fused residual kernel against an exact reference and its numpy twin."""

import numpy as np
import pytest

import lowrank._kernels.residual as residual_mod
from lowrank._kernels._rules import use_residual_kernel
from tests.helpers import eps, random_matrix

residual_normal = residual_mod.residual_normal
residual_normal_numpy = residual_mod.residual_normal_numpy

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


#: Reference precision: double for single, x87 extended (11 more bits) for double.
WIDE = {
    np.dtype(np.float32): np.float64,
    np.dtype(np.float64): np.longdouble,
    np.dtype(np.complex64): np.complex128,
    np.dtype(np.complex128): np.clongdouble,
}


def as_2d(v):
    return v if v.ndim == 2 else v[:, None]


def reference(a, b, x, scale):
    """Exact-enough r, z = A^H r and the bounds on the kernel's errors."""
    a, b, x = np.asarray(a), as_2d(np.asarray(b)), as_2d(np.asarray(x))
    m, n = a.shape
    k = b.shape[1]
    real = np.finfo(a.dtype).dtype
    s = np.ones(k) if scale is None else np.broadcast_to(scale, (k,))
    s = s.astype(real)  # the kernel computes with the scale in a's precision
    w = WIDE[a.dtype]
    aw, bw, xw, sw = (v.astype(w) for v in (a, b, x, s))
    r = bw * sw - aw @ xw
    z = aw.conj().T @ r
    rr = (np.abs(r) ** 2).sum(axis=0)
    size = np.abs(b).astype(float) * np.abs(s) + np.abs(a).astype(float) @ np.abs(x)
    u = eps(a.dtype)
    tiny = np.finfo(np.float64).tiny
    r_tol = 4 * (n + 1) * u * size + tiny
    z_tol = 4 * (m + n + 2) * u * (np.abs(a).astype(float).T @ size) + tiny
    r_abs = np.abs(r).astype(float)
    rr_tol = 4 * (m + 2) * u * rr.astype(float)
    rr_tol += (2 * r_abs * r_tol + r_tol**2).sum(axis=0) + tiny
    return (r, z, rr), (r_tol, z_tol, rr_tol)


def assert_close(result, a, b, x, scale=None):
    """Shapes and dtypes of the contract, and the documented error bounds."""
    a, b, x = np.asarray(a), np.asarray(b), np.asarray(x)
    r, z, rr = result
    n = a.shape[1]
    assert r.shape == b.shape
    assert z.shape == (n, *b.shape[1:])
    assert np.shape(rr) == b.shape[1:]
    assert r.dtype == a.dtype
    assert z.dtype == a.dtype
    assert rr.dtype == np.finfo(a.dtype).dtype
    if b.ndim == 1:
        r, z, rr = r[:, None], z[:, None], np.reshape(rr, 1)
    exact, tols = reference(a, b, x, scale)
    for got, want, tol in zip((r, z, rr), exact, tols, strict=True):
        assert np.all(np.abs(got - want).astype(float) <= tol)


def layout(a, kind):
    if kind == "strided":
        big = np.zeros((a.shape[0], 2 * a.shape[1]), a.dtype)
        big[:, ::2] = a
        return big[:, ::2]
    return np.asarray(a, order=kind)


def operands(shape, k, dtype, rng):
    """A, b and x (1-D for k=None) with b not far from the range of A."""
    m, n = shape
    a = random_matrix(shape, dtype, rng)
    cols = 1 if k is None else k
    x = random_matrix((n, cols), dtype, rng)
    b = a @ x + random_matrix((m, cols), dtype, rng) / 8
    if k is None:
        b, x = b[:, 0], x[:, 0]
    return a, b, x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["C", "F", "strided"])
@pytest.mark.parametrize("k", [None, 1, 3])
def test_matches_exact_and_twin(dtype, kind, k):
    rng = np.random.default_rng(0)
    a, b, x = operands((1003, 7), k, dtype, rng)
    a = layout(a, kind)
    scale = None if k is None else np.linspace(-1.5, 2.0, k)
    got = residual_normal(a, b, x, scale, n_blocks=3)
    assert_close(got, a, b, x, scale)
    twin = residual_normal_numpy(a, b, x, scale)
    assert_close(twin, a, b, x, scale)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_many_chunks_per_block(dtype, order, monkeypatch):
    """Chunks of 5 rows: partial sums over many chunks and a short last one."""
    monkeypatch.setattr(residual_mod, "_MAX_CHUNK", 5)
    rng = np.random.default_rng(1)
    a, b, x = operands((1001, 9), 2, dtype, rng)
    a = np.asarray(a, order=order)
    scale = np.array([0.5, -3.0])
    assert_close(residual_normal(a, b, x, scale, n_blocks=4), a, b, x, scale)
    assert_close(residual_normal(a, b, x, scale, n_blocks=1), a, b, x, scale)


@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
def test_blas_sized_chunks(dtype):
    """n large enough that the chunk is set by the BLAS threshold, not _MAX_CHUNK."""
    rng = np.random.default_rng(2)
    a, b, x = operands((3000, 300), 2, dtype, rng)
    for order in "CF":
        f = np.asarray(a, order=order)
        assert_close(residual_normal(f, b, x, n_blocks=2), f, b, x)


def _no_kernel(*args):
    raise AssertionError("the numba kernel must not run for empty dimensions")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(0, 3), (4, 0), (0, 0)])
@pytest.mark.parametrize("k", [None, 0, 2])
def test_empty_dimensions(dtype, shape, k, monkeypatch):
    monkeypatch.setattr(residual_mod, "_residual_serial", _no_kernel)
    monkeypatch.setattr(residual_mod, "_residual_parallel", _no_kernel)
    rng = np.random.default_rng(3)
    a, b, x = operands(shape, k, dtype, rng)
    scale = None if k is None else np.full(k, 2.0)
    r, z, rr = residual_normal(a, b, x, scale)
    assert_close((r, z, rr), a, b, x, scale)
    if shape[0] == 0:
        assert not np.any(z)  # A^H r with no rows: zeros
    assert_close(residual_normal_numpy(a, b, x, scale), a, b, x, scale)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (5, 1), (2, 3), (70, 2)])
def test_small_shapes(dtype, shape):
    rng = np.random.default_rng(4)
    for k in (None, 1, 4):
        a, b, x = operands(shape, k, dtype, rng)
        for order in "CF":
            f = np.asarray(a, order=order)
            assert_close(residual_normal(f, b, x, n_blocks=7), f, b, x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_parallel_equals_serial(dtype):
    """With n_blocks fixed (or the default, from m only) the threads do not matter."""
    rng = np.random.default_rng(5)
    a, b, x = operands((9000, 6), 2, dtype, rng)
    scale = np.array([1.0, -0.25])
    for order in "CF":
        f = np.asarray(a, order=order)
        for n_blocks in (None, 5):
            got = residual_normal(f, b, x, scale, n_blocks=n_blocks)
            ref = residual_normal(f, b, x, scale, n_blocks=n_blocks, parallel=False)
            for g, want in zip(got, ref, strict=True):
                assert np.array_equal(g, want)


@pytest.mark.parametrize("n_blocks", [1, 2, 7, 64, 10**6])
def test_n_blocks_variants(n_blocks):
    rng = np.random.default_rng(6)
    a, b, x = operands((777, 9), 3, np.complex128, rng)
    assert_close(residual_normal(a, b, x, n_blocks=n_blocks), a, b, x)


def test_vector_outputs():
    rng = np.random.default_rng(7)
    a, b, x = operands((500, 4), None, np.complex64, rng)
    r, z, rr = residual_normal(a, b, x, 2.0)
    assert r.shape == (500,)
    assert z.shape == (4,)
    assert np.ndim(rr) == 0
    assert rr.dtype == np.float32
    r2, z2, rr2 = residual_normal(a, b[:, None], x[:, None], np.array([2.0]))
    assert np.array_equal(r, r2[:, 0])
    assert np.array_equal(z, z2[:, 0])
    assert rr == rr2[0]


def test_scalar_scale_broadcasts():
    rng = np.random.default_rng(8)
    a, b, x = operands((300, 5), 3, np.float64, rng)
    got = residual_normal(a, b, x, -0.5)
    ref = residual_normal(a, b, x, np.full(3, -0.5))
    for g, want in zip(got, ref, strict=True):
        assert np.array_equal(g, want)


def test_operands_converted_to_dtype_of_a():
    rng = np.random.default_rng(9)
    a = random_matrix((400, 3), np.float32, rng)
    b = rng.standard_normal((400, 2))  # float64
    x = np.array([[1, 2], [0, -1], [3, 1]])  # int64
    r, z, rr = residual_normal(a, b, x, [1, 2])
    assert r.dtype == z.dtype == rr.dtype == np.float32
    assert_close((r, z, rr), a, b.astype(np.float32), x.astype(np.float32), [1, 2])
    # Real b and x for complex A.
    c = random_matrix((400, 3), np.complex128, rng)
    r, z, rr = residual_normal(c, b, x)
    assert r.dtype == np.complex128
    assert rr.dtype == np.float64
    assert_close((r, z, rr), c, b.astype(c.dtype), x.astype(c.dtype))


def test_inputs_not_modified_and_not_aliased():
    rng = np.random.default_rng(10)
    for order in "CF":
        a, b, x = operands((600, 5), 2, np.complex128, rng)
        a = np.asarray(a, order=order)
        copies = [v.copy(order="A") for v in (a, b, x)]
        r, z, _ = residual_normal(a, b, x, np.ones(2))
        for v, before in zip((a, b, x), copies, strict=True):
            assert np.array_equal(v, before)
        assert not np.shares_memory(r, b)
        assert not np.shares_memory(z, x)


def test_nan_propagates():
    rng = np.random.default_rng(11)
    a, b, x = operands((5000, 4), 2, np.float64, rng)
    b[1234, 1] = np.nan
    r, z, rr = residual_normal(a, b, x)
    assert np.isnan(r[1234, 1])
    assert np.all(np.isfinite(r[:, 0]))
    assert np.all(np.isnan(z[:, 1]))
    assert np.isnan(rr[1])
    assert np.isfinite(rr[0])


def test_errors():
    a = np.ones((4, 2))
    b, x = np.ones((4, 3)), np.ones((2, 3))
    with pytest.raises(ValueError, match="2-D"):
        residual_normal(np.ones(4), b, x)
    with pytest.raises(TypeError, match="float32"):
        residual_normal(a.astype(np.int64), b, x)
    with pytest.raises(TypeError, match="`b`"):
        residual_normal(a, b + 1j, x)
    with pytest.raises(TypeError, match="`x`"):
        residual_normal(a, b, x.astype(object))
    with pytest.raises(ValueError, match="1-D or both 2-D"):
        residual_normal(a, b[:, 0], x)
    with pytest.raises(ValueError, match="1-D or both 2-D"):
        residual_normal(a, b[..., None], x[..., None])
    with pytest.raises(ValueError, match="do not match"):
        residual_normal(a, b[:3], x)
    with pytest.raises(ValueError, match="do not match"):
        residual_normal(a, b, x[:, :2])
    with pytest.raises(ValueError, match="do not match"):
        residual_normal(a, b[:, 0], np.ones(3))
    with pytest.raises(TypeError, match="`scale` must be real"):
        residual_normal(a, b, x, np.ones(3) * 1j)
    with pytest.raises(ValueError, match="`scale`"):
        residual_normal(a, b, x, np.ones(2))
    with pytest.raises(ValueError, match="n_blocks"):
        residual_normal(a, b, x, n_blocks=0)
    with pytest.raises(ValueError, match="do not match"):
        residual_normal_numpy(a, b[:3], x)


def test_use_residual_kernel():
    for shape in [(10, 4), (100000, 100), (200000, 500), (10**7, 2), (2000, 2000)]:
        for dtype in DTYPES:
            for order in "CF":
                assert isinstance(use_residual_kernel(shape, dtype, order=order), bool)
    assert use_residual_kernel((100000, 100))
    assert use_residual_kernel((100000, 100), np.complex64)
    assert not use_residual_kernel((100000, 100), order="F")
    assert use_residual_kernel((100000, 100), k=2, order="F")
    assert not use_residual_kernel((100000, 100), np.complex128, k=2, order="F")
    assert not use_residual_kernel((2000, 20))
    assert not use_residual_kernel((4000, 1000))
    assert not use_residual_kernel((100000, 100), k=0)
    with pytest.raises(ValueError, match="order"):
        use_residual_kernel((100000, 100), order="A")
