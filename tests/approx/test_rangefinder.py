"""Tests of the randomized range finder, QB and randomized SVD."""

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

from lowrank.approx._rangefinder import (
    NORMALIZERS,
    SKETCHES,
    QBResult,
    auto_power_iterations,
    qb,
    randomized_svd,
    rangefinder,
)
from tests.helpers import (
    assert_canonical_signs,
    assert_orthonormal,
    eps,
    nan_operator,
    random_orthonormal,
    spectral_error,
)

DECAYS = {
    "fast": lambda n: 0.5 ** np.arange(n),
    "slow": lambda n: 1.0 / np.arange(1, n + 1),
}

#: Measured worst ratios ||A - U S Vh||_2 / s_{k+1} over these tests with the
#: defaults are 1.000000 (fast decay) and 1.000022 (slow decay); Frobenius
#: error / optimal tail at most 1.00017; the bounds leave
#: room for other random draws.
SPECTRAL_FACTOR = {"fast": 1.01, "slow": 1.05}


def with_spectrum(m, n, s, dtype=np.float64, seed=0):
    """``A = U0 diag(s) V0^H`` (complex U0, V0 for complex dtypes), cast to dtype."""
    rng = np.random.default_rng(seed)
    r = len(s)
    complex_ = np.issubdtype(dtype, np.complexfloating)
    u0 = random_orthonormal(rng, m, r, complex_)
    v0 = random_orthonormal(rng, n, r, complex_)
    return ((u0 * s) @ v0.conj().T).astype(dtype)


def assert_svd_shapes(a, k, u, s, vh, dtype):
    m, n = a.shape
    assert u.shape == (m, k)
    assert s.shape == (k,)
    assert vh.shape == (k, n)
    assert u.dtype == vh.dtype == np.dtype(dtype)
    assert s.dtype == np.finfo(dtype).dtype
    assert np.all(np.diff(s) <= 0)
    assert_canonical_signs(u)


# --------------------------------------------------------------------------
# accuracy (Eckart–Young)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("decay", ["fast", "slow"])
@pytest.mark.parametrize("shape", [(400, 300), (300, 500), (300, 300)])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("k", [5, 20])
def test_eckart_young(decay, shape, dtype, k):
    m, n = shape
    s0 = DECAYS[decay](min(m, n))
    a = with_spectrum(m, n, s0, dtype, seed=k)
    u, s, vh = randomized_svd(a, k, rng=1)
    assert_svd_shapes(a, k, u, s, vh, dtype)
    err = spectral_error(a, u, s, vh)
    assert err <= SPECTRAL_FACTOR[decay] * s0[k]
    # Frobenius error against the optimal tail sqrt(sum_{j>k} s_j^2)
    tail = np.sqrt(np.sum(s0[k:] ** 2))
    err_f = np.linalg.norm(a - (u * s) @ vh)
    # (the lower bound up to the rounding of forming A and the residual)
    assert tail - 1e-13 * s0[0] <= err_f <= 1.01 * tail
    # Ritz values underestimate, and are within a few percent of s_{k+1}
    assert np.all(s <= s0[:k] + 1e-13 * s0[0])
    assert np.max(s0[:k] - s) <= 0.01 * s0[k]
    # orthonormal factors
    # measured up to 9.3 eps sqrt(k); 30 leaves room for other draws
    tol = 30 * eps(dtype) * np.sqrt(k)
    assert_orthonormal(u, tol)
    assert_orthonormal(vh.conj().T, tol)


def test_complex_needs_conjugate_transposes():
    # A = U0 diag(s) V0^H with genuinely complex U0, V0: a code path using a
    # plain transpose A^T instead of A^H would sample the wrong space.
    s0 = DECAYS["fast"](60)
    a = with_spectrum(200, 150, s0, np.complex128, seed=3)
    assert np.abs(a.imag).max() > 0.1 * np.abs(a.real).max()
    u, s, vh = randomized_svd(a, 10, rng=0)
    np.testing.assert_allclose(s, s0[:10], rtol=1e-10)
    assert spectral_error(a, u, s, vh) <= 1.01 * s0[10]
    # U diag(S) = A V, which fails if Vh is a transpose instead of a conj. transpose
    np.testing.assert_allclose(a @ vh.conj().T, u * s, atol=1e-10)


def test_auto_n_iter_rule():
    # q = 0 when the sketch spans the whole range; otherwise 3-7 at usual sizes
    assert auto_power_iterations((100, 50), 45, 50) == 0
    assert auto_power_iterations((300, 300), 10, 20) == 3
    assert auto_power_iterations((10**5, 10**4), 100, 110) == 4
    assert auto_power_iterations((10**6, 10**6), 1000, 1010) == 7
    # without enough oversampling the bound is taken with p - 1 = 1
    assert auto_power_iterations((300, 300), 10, 10) >= 3


# --------------------------------------------------------------------------
# rangefinder, qb
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_rangefinder_and_qb(dtype):
    s0 = DECAYS["slow"](200)
    a = with_spectrum(300, 200, s0, dtype, seed=4)
    q = rangefinder(a, 8, rng=0)
    assert q.shape == (300, 18)
    assert q.dtype == np.dtype(dtype)
    assert_orthonormal(q, 100 * eps(dtype))
    res = qb(a, 8, rng=0)
    assert isinstance(res, QBResult)
    np.testing.assert_array_equal(res.Q, q)  # same seed, same basis
    assert res.B.shape == (18, 200)
    assert res.B.dtype == np.dtype(dtype)
    a64 = a.astype(np.complex128)
    exact_b = q.astype(np.complex128).conj().T @ a64
    assert np.linalg.norm(res.B - exact_b) <= 100 * eps(dtype) * np.linalg.norm(a64)
    projection_error = np.linalg.norm(a64 - res.Q @ res.B, 2)
    assert projection_error <= 1.05 * s0[8] + 100 * eps(dtype)


def test_oversample_clipped_to_min_shape():
    a = np.random.default_rng(0).standard_normal((50, 12))
    assert rangefinder(a, 5, rng=0).shape == (50, 12)
    assert rangefinder(a, 5, oversample=0, rng=0).shape == (50, 5)
    assert rangefinder(a.T, 5, oversample=3, rng=0).shape == (12, 8)


@pytest.mark.parametrize("shape", [(60, 40), (40, 60), (50, 50)])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_full_rank_k_is_exact(shape, dtype):
    rng = np.random.default_rng(5)
    a = rng.standard_normal(shape) + (
        1j * rng.standard_normal(shape) if dtype == np.complex128 else 0
    )
    k = min(shape)
    u, s, vh = randomized_svd(a, k, rng=0)
    assert_svd_shapes(a, k, u, s, vh, dtype)
    np.testing.assert_allclose(s, np.linalg.svd(a, compute_uv=False), rtol=1e-12)
    np.testing.assert_allclose((u * s) @ vh, a, atol=1e-12 * s[0])


# --------------------------------------------------------------------------
# options: sketches, normalizers, dtypes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("sketch", list(SKETCHES))
@pytest.mark.parametrize("normalizer", list(NORMALIZERS))
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape", [(400, 300), (300, 400)])
def test_sketches_and_normalizers(sketch, normalizer, dtype, shape):
    s0 = DECAYS["slow"](300)
    a = with_spectrum(*shape, s0, dtype, seed=6)
    k = 10
    u, s, vh = randomized_svd(a, k, sketch=sketch, normalizer=normalizer, rng=2)
    assert_svd_shapes(a, k, u, s, vh, dtype)
    assert spectral_error(a, u, s, vh) <= 1.05 * s0[k]
    assert np.max(s0[:k] - s) <= 0.01 * s0[k]


@pytest.mark.parametrize("sketch", list(SKETCHES))
@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_single_precision(sketch, dtype):
    s0 = DECAYS["fast"](100)
    a = with_spectrum(300, 200, s0, dtype, seed=7)
    k = 8
    u, s, vh = randomized_svd(a, k, sketch=sketch, rng=0)
    assert_svd_shapes(a, k, u, s, vh, dtype)
    e = eps(dtype)
    assert spectral_error(a, u, s, vh) <= 1.01 * s0[k] + 100 * e * s0[0]
    np.testing.assert_allclose(s, s0[:k], atol=100 * e * s0[0])
    assert_orthonormal(u, 100 * e)
    assert_orthonormal(vh.conj().T, 100 * e)


def test_integer_input_computes_in_float64():
    a = np.arange(1, 61).reshape(12, 5) % 7
    u, s, vh = randomized_svd(a, 5, rng=0)
    assert u.dtype == np.float64
    np.testing.assert_allclose((u * s) @ vh, a, atol=1e-12)


# --------------------------------------------------------------------------
# sparse matrices and LinearOperators
# --------------------------------------------------------------------------


def sparse_test_matrix(fmt, dtype=np.float64):
    # a decaying diagonal plus sparse noise: a spectrum with a clear top k
    a = scipy.sparse.random(400, 250, density=0.05, format=fmt, random_state=1)
    a = 1e-2 * a + scipy.sparse.diags(0.8 ** np.arange(250), shape=(400, 250))
    if np.issubdtype(dtype, np.complexfloating):
        a = a + 1e-2j * scipy.sparse.random(400, 250, density=0.05, random_state=2)
    return a.astype(dtype).asformat(fmt)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("sketch", list(SKETCHES))
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_sparse_matches_dense(fmt, sketch, dtype):
    a = sparse_test_matrix(fmt, dtype)
    dense = a.toarray()
    k = 10
    u, s, vh = randomized_svd(a, k, sketch=sketch, rng=3)
    assert_svd_shapes(dense, k, u, s, vh, dtype)
    s_true = np.linalg.svd(dense, compute_uv=False)
    assert spectral_error(dense, u, s, vh) <= 1.05 * s_true[k]
    q, b = qb(a, k, sketch=sketch, rng=3)
    np.testing.assert_allclose(b, q.conj().T @ dense, atol=1e-12 * s_true[0])


def test_sparse_array_input():
    a = scipy.sparse.csr_array(sparse_test_matrix("csr"))
    s = randomized_svd(a, 5, rng=0).S
    s_true = np.linalg.svd(a.toarray(), compute_uv=False)
    np.testing.assert_allclose(s, s_true[:5], rtol=1e-6)


class RecordingOperator(scipy.sparse.linalg.LinearOperator):
    """A LinearOperator that records the width of every product it is asked for.

    Only block products are implemented; a densifying caller (``A @ eye(N)``)
    would show up as a product with N columns.
    """

    def __init__(self, a):
        super().__init__(dtype=a.dtype, shape=a.shape)
        self.a = a
        self.widths = []

    def _matmat(self, x):
        self.widths.append(x.shape[1])
        return self.a @ x

    def _rmatmat(self, x):
        self.widths.append(x.shape[1])
        return self.a.conj().T @ x

    def _matvec(self, x):
        raise AssertionError("matvec must not be used")

    def _rmatvec(self, x):
        raise AssertionError("rmatvec must not be used")


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("sketch", list(SKETCHES))
def test_linear_operator_never_densified(dtype, sketch):
    s0 = DECAYS["slow"](300)
    a = with_spectrum(400, 300, s0, dtype, seed=8)
    op = RecordingOperator(a)
    k = 10
    u, s, vh = randomized_svd(op, k, sketch=sketch, rng=4)
    assert_svd_shapes(a, k, u, s, vh, dtype)
    assert spectral_error(a, u, s, vh) <= 1.05 * s0[k]
    assert max(op.widths) == k + 10
    # 1 sample + 2 per power iteration + 1 for B
    q = auto_power_iterations(a.shape, k, k + 10)
    assert len(op.widths) == 2 * q + 2
    # the same seed gives the dense result
    s_d = randomized_svd(a, k, sketch=sketch, rng=4).S
    np.testing.assert_allclose(s, s_d, rtol=1e-12)


def test_linear_operator_nonfinite_products():
    op = nan_operator(30, 20)
    with pytest.raises(ValueError, match="non-finite"):
        randomized_svd(op, 3, rng=0)


# --------------------------------------------------------------------------
# reproducibility
# --------------------------------------------------------------------------


@pytest.mark.parametrize("sketch", list(SKETCHES))
def test_same_seed_bitwise_identical(sketch):
    a = with_spectrum(200, 150, DECAYS["slow"](150), seed=9)
    first = randomized_svd(a, 7, sketch=sketch, rng=42)
    second = randomized_svd(a, 7, sketch=sketch, rng=np.random.default_rng(42))
    for x, y in zip(first, second, strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(
        rangefinder(a, 7, sketch=sketch, rng=42),
        rangefinder(a, 7, sketch=sketch, rng=42),
    )
    other = rangefinder(a, 7, sketch=sketch, rng=43)
    assert not np.array_equal(other, rangefinder(a, 7, sketch=sketch, rng=42))


def test_does_not_touch_global_random_state():
    np.random.seed(0)  # noqa: NPY002 (the legacy global state is the point)
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    randomized_svd(np.eye(20), 3, rng=0)
    after = np.random.get_state()[1]  # noqa: NPY002
    np.testing.assert_array_equal(after, before)


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------

A = np.random.default_rng(0).standard_normal((20, 10))


@pytest.mark.parametrize("func", [rangefinder, qb, randomized_svd])
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"k": 0}, ValueError, "0 < k <= 10"),
        ({"k": 11}, ValueError, "0 < k <= 10"),
        ({"k": 2.5}, TypeError, "integer"),
        ({"oversample": -1}, ValueError, "oversample"),
        ({"oversample": 1.5}, TypeError, "oversample"),
        ({"n_iter": -1}, ValueError, "n_iter"),
        ({"n_iter": "fast"}, ValueError, "n_iter"),
        ({"normalizer": "householder"}, ValueError, "'qr', 'lu', 'none'"),
        ({"sketch": "srht"}, ValueError, "'gaussian', 'sparse_sign'"),
        ({"rng": np.random.RandomState(0)}, TypeError, "RandomState"),
    ],
)
def test_invalid_options(func, kwargs, error, match):
    kwargs = {"k": 3, **kwargs}
    k = kwargs.pop("k")
    with pytest.raises(error, match=match):
        func(A, k, **kwargs)


@pytest.mark.parametrize(
    ("a", "error", "match"),
    [
        (np.ones((3, 4, 5)), ValueError, "single matrix"),
        (np.ones(5), ValueError, "two-dimensional"),
        (np.ones((5, 4), np.float16), TypeError, "float16"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), ValueError, "NaN"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), ValueError, "infinite"),
        (
            scipy.sparse.csr_matrix(np.array([[1.0, np.inf], [0.0, 1.0]])),
            ValueError,
            "infinite",
        ),
        (
            scipy.sparse.csr_matrix(np.ones((4, 3), np.longdouble)),
            TypeError,
            "not supported",
        ),
    ],
)
def test_invalid_input(a, error, match):
    with pytest.raises(error, match=match):
        randomized_svd(a, 1)


def test_nonfinite_caught_without_elementwise_check():
    a = np.array([[1.0, np.nan], [0.0, 1.0]])
    with pytest.raises(ValueError, match="NaN"):
        randomized_svd(a, 1, check_finite=False)
    with pytest.raises(ValueError, match="NaN"):
        randomized_svd(scipy.sparse.csc_matrix(a), 1, check_finite=False)


def _inputs(a):
    """The same matrix as every kind of operand the randomized pipeline takes."""
    import dask.array as da

    return {
        "dense": a,
        "sparse": scipy.sparse.csr_array(a),
        "operator": scipy.sparse.linalg.aslinearoperator(a),
        "dask": da.from_array(a, chunks=(a.shape[0] // 4, a.shape[1])),
    }


@pytest.mark.parametrize("kind", ["dense", "sparse", "operator", "dask"])
@pytest.mark.parametrize(
    "call",
    [
        lambda x: randomized_svd(x, 3, rng=0),
        lambda x: rangefinder(x, 3, rng=0),
        lambda x: qb(x, 3, rng=0),
    ],
    ids=["randomized_svd", "rangefinder", "qb"],
)
def test_one_hmt_driver_for_every_operand(kind, call, monkeypatch):
    # Halko et al.'s range finder is written once (`_tall_svd.randomized`)
    # and every backend runs it: count its calls.
    import lowrank.approx._rangefinder as rangefinder_module
    import lowrank.approx._tall_svd as tall_svd

    calls = []
    driver = tall_svd.randomized

    def counted(*args, **kwargs):
        calls.append(type(args[0]).__name__)
        return driver(*args, **kwargs)

    monkeypatch.setattr(tall_svd, "randomized", counted)
    monkeypatch.setattr(rangefinder_module, "randomized", counted)
    a = np.random.default_rng(1).standard_normal((80, 30))
    call(_inputs(a)[kind])
    assert len(calls) == 1
