"""Tests of the sparse sign sketch kernel against its scipy.sparse twin."""

import math

import numpy as np
import pytest

import lowrank._kernels.sketch as sketch
from tests.helpers import eps, random_matrix

sparse_sign_indices = sketch.sparse_sign_indices
apply_sparse_sign = sketch.apply_sparse_sign
apply_sparse_sign_numpy = sketch.apply_sparse_sign_numpy
sparse_sign_sketch = sketch.sparse_sign_sketch

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def dense_s(rows, signs, d, zeta):
    m = rows.shape[0]
    s = np.zeros((d, m))
    s[rows, np.arange(m)[:, None]] = signs / math.sqrt(zeta)
    return s


def assert_close_to_twin(out, rows, signs, a, d, zeta):
    a = np.asarray(a)
    twin = apply_sparse_sign_numpy(rows, signs, a, d, zeta)
    assert out.shape == twin.shape
    assert out.dtype == a.dtype
    # each entry is a sum of the |a| it touches: bound by c * m * eps * (|S| |A|)
    bound = np.abs(dense_s(rows, signs, d, zeta)) @ np.abs(a).astype(np.float64)
    tol = 4 * max(a.shape[0], 1) * eps(a.dtype) * bound
    assert np.all(np.abs(out - twin) <= tol + np.finfo(np.float64).tiny)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("parallel", [True, False])
def test_matches_twin(dtype, order, parallel):
    rng = np.random.default_rng(0)
    m, n, d, zeta = 1000, 7, 28, 8
    a = random_matrix((m, n), dtype, rng, order)
    rows, signs = sparse_sign_indices(d, m, zeta, rng=1)
    out = apply_sparse_sign(rows, signs, a, d, zeta, parallel=parallel)
    assert_close_to_twin(out, rows, signs, a, d, zeta)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape", [(0, 3), (1, 3), (5, 1), (4, 0), (0,), (9,), (300, 40)]
)
def test_edge_shapes(dtype, shape):
    rng = np.random.default_rng(1)
    a = random_matrix(shape, dtype, rng)
    d, zeta = 6, 3
    rows, signs = sparse_sign_indices(d, shape[0], zeta, rng=2)
    for order in "CF":
        x = np.asarray(a, order=order)
        for parallel in (True, False):
            out = apply_sparse_sign(rows, signs, x, d, zeta, parallel=parallel)
            assert out.shape == (d, *shape[1:])
            assert_close_to_twin(out, rows, signs, x, d, zeta)


def test_non_contiguous_input():
    rng = np.random.default_rng(2)
    a = random_matrix((900, 10), np.complex128, rng)[::3, 1::2]
    rows, signs = sparse_sign_indices(12, 300, 4, rng=3)
    out = apply_sparse_sign(rows, signs, a, 12, 4)
    assert_close_to_twin(out, rows, signs, a, 12, 4)


@pytest.mark.parametrize("dtype", DTYPES)
def test_parallel_serial_orders(dtype):
    """Column blocks (F order) and one row block (C order) are bitwise serial;
    several row blocks differ from it by rounding only."""
    rng = np.random.default_rng(3)
    a = random_matrix((2000, 9), dtype, rng)
    rows, signs = sparse_sign_indices(30, 2000, 8, rng=4)
    ref = apply_sparse_sign(rows, signs, a, 30, 8, parallel=False)
    f = np.asfortranarray(a)
    assert np.array_equal(apply_sparse_sign(rows, signs, f, 30, 8, parallel=False), ref)
    assert np.array_equal(apply_sparse_sign(rows, signs, a, 30, 8, n_blocks=1), ref)
    for n_blocks in (None, 1, 2, 3, 100, 10**6):
        out = apply_sparse_sign(rows, signs, f, 30, 8, n_blocks=n_blocks)
        assert np.array_equal(out, ref)
        out = apply_sparse_sign(rows, signs, a, 30, 8, n_blocks=n_blocks)
        assert_close_to_twin(out, rows, signs, a, 30, 8)
        again = apply_sparse_sign(rows, signs, a, 30, 8, n_blocks=n_blocks)
        assert np.array_equal(out, again)


def test_column_blocks_variant_matches():
    rng = np.random.default_rng(4)
    a = random_matrix((3000, 5), np.complex128, rng)
    rows, signs = sparse_sign_indices(20, 3000, 8, rng=5)
    out = np.zeros((20, 5), a.dtype)
    sketch._sketch_c_columns(rows, signs, 1 / math.sqrt(8), a, out, 2)
    assert_close_to_twin(out, rows, signs, a, 20, 8)


def test_row_partials_variant_matches():
    rng = np.random.default_rng(4)
    a = random_matrix((3000, 5), np.float64, rng)
    rows, signs = sparse_sign_indices(20, 3000, 8, rng=5)
    out = np.zeros((20, 5))
    sketch._sketch_c_rows(rows, signs, 1 / math.sqrt(8), a, out, 3)
    assert_close_to_twin(out, rows, signs, a, 20, 8)


def test_indices_properties():
    d, m, zeta = 11, 5000, 8
    rows, signs = sparse_sign_indices(d, m, zeta, rng=6)
    assert rows.shape == signs.shape == (m, zeta)
    assert rows.min() >= 0
    assert rows.max() < d
    assert np.all(np.diff(np.sort(rows, axis=1), axis=1) > 0)  # distinct per column
    assert set(np.unique(signs).tolist()) == {-1, 1}
    # uniform rows: each row appears with frequency zeta / d per column
    counts = np.bincount(rows.ravel(), minlength=d) / m
    assert np.allclose(counts, zeta / d, atol=0.03)
    assert abs(signs.mean()) < 0.03
    # zeta == d: every row exactly once
    rows, _ = sparse_sign_indices(5, 100, 5, rng=7)
    assert np.all(np.sort(rows, axis=1) == np.arange(5))


def test_same_seed_same_sketch():
    rng = np.random.default_rng(8)
    a = random_matrix((500, 4), np.float64, rng)
    r1, s1 = sparse_sign_indices(16, 500, 8, rng=42)
    r2, s2 = sparse_sign_indices(16, 500, 8, rng=42)
    assert np.array_equal(r1, r2)
    assert np.array_equal(s1, s2)
    assert np.array_equal(
        sparse_sign_sketch(a, 16, rng=42), sparse_sign_sketch(a, 16, rng=42)
    )
    assert not np.array_equal(
        sparse_sign_sketch(a, 16, rng=42), sparse_sign_sketch(a, 16, rng=43)
    )
    gen = np.random.default_rng(42)
    assert np.array_equal(
        sparse_sign_sketch(a, 16, rng=gen), sparse_sign_sketch(a, 16, rng=42)
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_exact_entries(dtype):
    """S @ I recovers S: entries exactly +-1/sqrt(zeta) in the dtype."""
    d, m, zeta = 9, 40, 4
    rows, signs = sparse_sign_indices(d, m, zeta, rng=9)
    s = apply_sparse_sign(rows, signs, np.eye(m, dtype=dtype), d, zeta)
    value = np.finfo(dtype).dtype.type(1 / math.sqrt(zeta))
    assert np.array_equal(np.abs(s[s != 0]), np.full(m * zeta, value))
    assert np.array_equal(s, dense_s(rows, signs, d, zeta).astype(dtype))
    assert np.all(np.count_nonzero(s, axis=0) == zeta)


def test_zeta_clipped_to_d():
    a = np.eye(30)
    s = sparse_sign_sketch(a, 3, zeta=8, rng=0)
    assert np.allclose(np.abs(s), 1 / math.sqrt(3))


def test_isotropy_on_average():
    """E[S^T S] = I: the average over seeds approaches I at rate 1/sqrt(trials)."""
    d, m, zeta, trials = 8, 12, 3, 400
    acc = np.zeros((m, m))
    for seed in range(trials):
        rows, signs = sparse_sign_indices(d, m, zeta, rng=seed)
        s = dense_s(rows, signs, d, zeta)
        acc += s.T @ s
    acc /= trials
    assert np.allclose(np.diag(acc), 1.0)  # each column has norm exactly 1
    assert np.abs(acc - np.eye(m)).max() < 0.15


@pytest.mark.parametrize("dtype", DTYPES)
def test_subspace_embedding(dtype):
    """Singular values of S Q (Q orthonormal, 2000 x 10, d = 40) near [0.5, 1.5].

    For d = 4n the Marchenko-Pastur edges of a Gaussian sketch are exactly
    1 -+ sqrt(n/d) = 0.5 and 1.5, so single draws cross them slightly; the
    medians over seeds must lie inside and every draw well inside [0.3, 1.8].
    With d = 8n (edges 0.65, 1.35) every draw must lie in [0.5, 1.5].
    """
    rng = np.random.default_rng(10)
    q, _ = np.linalg.qr(random_matrix((2000, 10), dtype, rng).astype(np.complex128))
    q = (q if np.iscomplexobj(np.empty(0, dtype)) else q.real).astype(dtype)
    if not np.iscomplexobj(q):
        q, _ = np.linalg.qr(rng.standard_normal((2000, 10)))
        q = q.astype(dtype)
    lo, hi = [], []
    for seed in range(20):
        s = np.linalg.svd(sparse_sign_sketch(q, 40, rng=seed), compute_uv=False)
        lo.append(s.min())
        hi.append(s.max())
        s = np.linalg.svd(sparse_sign_sketch(q, 80, rng=seed), compute_uv=False)
        assert s.min() >= 0.5
        assert s.max() <= 1.5
    assert np.median(lo) >= 0.5
    assert np.median(hi) <= 1.5
    assert min(lo) >= 0.3
    assert max(hi) <= 1.8


def test_input_not_modified():
    rng = np.random.default_rng(11)
    for order in "CF":
        a = random_matrix((300, 6), np.complex64, rng, order)
        before = a.copy(order="A")
        sparse_sign_sketch(a, 24, rng=0)
        sparse_sign_sketch(a, 24, rng=0, parallel=False)
        assert np.array_equal(a, before)


def test_errors():
    with pytest.raises(ValueError, match="zeta"):
        sparse_sign_indices(4, 10, 5, rng=0)
    with pytest.raises(ValueError, match="`d`"):
        sparse_sign_indices(0, 10, 1, rng=0)
    with pytest.raises(ValueError, match="`d`"):
        sparse_sign_sketch(np.ones((3, 2)), 0)
    with pytest.raises(TypeError, match="float32"):
        sparse_sign_sketch(np.ones((3, 2), dtype=np.int64), 2)
    rows, signs = sparse_sign_indices(4, 10, 2, rng=0)
    with pytest.raises(ValueError, match="shape"):
        apply_sparse_sign(rows, signs, np.ones((11, 2)), 4, 2)
