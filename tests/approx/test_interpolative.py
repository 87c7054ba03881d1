"""Tests of the interpolative decomposition (lowrank.interpolative)."""

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from lowrank import IDResult, choose_interpolative_method, interpolative
from tests.helpers import eps, low_rank_plus_noise, nan_operator, random_matrix
from tests.strategies import haar, with_layout

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
METHODS = ["cpqr", "randomized"]


def with_spectrum(m, n, s, dtype=np.float64, seed=0):
    """``A = U diag(s) V^H`` with Haar U, V (complex for complex dtypes)."""
    rng = np.random.default_rng(seed)
    complex_ = np.issubdtype(dtype, np.complexfloating)
    u = haar(rng, m, len(s), complex_)
    v = haar(rng, n, len(s), complex_)
    return ((u * s) @ v.conj().T).astype(dtype)


def reconstruct(a, idx, coef, axis):
    return a[:, idx] @ coef if axis == 1 else coef @ a[idx, :]


def restricted(coef, idx, axis):
    return coef[:, idx] if axis == 1 else coef[idx, :]


def spectral_error(a, idx, coef, axis):
    wide = np.complex128 if np.iscomplexobj(a) else np.float64
    a = np.asarray(a, dtype=wide)
    return np.linalg.norm(a - reconstruct(a, idx, coef.astype(wide), axis), 2)


# --------------------------------------------------------------------------
# exactness and structure
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("axis", [0, 1])
def test_exact_on_selected_and_on_low_rank(dtype, method, axis):
    rank = 12
    a = with_spectrum(300, 260, np.logspace(0, -2, rank), dtype, seed=1)
    idx, coef = interpolative(a, rank, axis=axis, method=method, rng=0)
    assert idx.dtype == np.intp
    assert idx.shape == (rank,)
    assert len(set(idx.tolist())) == rank
    assert coef.dtype == np.dtype(dtype)
    assert coef.shape == ((rank, 260) if axis == 1 else (300, rank))
    # coef restricted to idx is the identity bit for bit, so the selected
    # columns (rows) are reproduced exactly.
    assert np.array_equal(restricted(coef, idx, axis), np.eye(rank))
    selected = a[:, idx] if axis == 1 else a[idx, :]
    approx = reconstruct(a, idx, coef, axis)
    assert np.array_equal(approx[:, idx] if axis == 1 else approx[idx, :], selected)
    # an exactly rank-12 matrix is reproduced everywhere, to rounding
    error = spectral_error(a, idx, coef, axis)
    assert error <= 100 * 300 * eps(dtype) * np.abs(coef).max()


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32])
def test_cpqr_selects_scipy_pivots(dtype):
    a = random_matrix((120, 90), dtype, np.random.default_rng(3))
    _, _, piv = scipy.linalg.qr(a, pivoting=True)
    idx, _ = interpolative(a, 30, method="cpqr")
    assert np.array_equal(idx, piv[:30])
    _, _, piv_t = scipy.linalg.qr(a.T, pivoting=True)
    assert np.array_equal(interpolative(a, 30, axis=0, method="cpqr").idx, piv_t[:30])


def test_cpqr_error_is_r22_and_coef_is_r11_solve():
    a = low_rank_plus_noise(150, 110, 20, 1e-3, seed=4)
    k = 20
    r, piv = scipy.linalg.qr(a, pivoting=True, mode="r")
    idx, coef = interpolative(a, k, method="cpqr")
    r22 = np.linalg.norm(r[k:, k:], 2)
    assert spectral_error(a, idx, coef, 1) == pytest.approx(r22, rel=1e-10)
    t = np.linalg.solve(r[:k, :k], r[:k, k:])
    np.testing.assert_allclose(coef[:, piv[k:]], t, rtol=1e-10, atol=1e-12)
    # the documented bound ||R22||_2 <= sqrt(N - k) |R_kk|
    assert r22 <= np.sqrt(110 - k) * abs(r[k, k])


@pytest.mark.parametrize("method", METHODS)
def test_rank_deficient_k_above_rank(method):
    # k = 15 > rank 6: the extra pivots are noise; coefficients stay bounded
    # and A is still reproduced (no division by rounding-level pivots).
    a = with_spectrum(80, 70, np.ones(6), seed=2)
    idx, coef = interpolative(a, 15, method=method, rng=1)
    assert np.all(np.isfinite(coef))
    assert np.abs(coef).max() <= 10
    assert np.array_equal(coef[:, idx], np.eye(15))
    assert spectral_error(a, idx, coef, 1) <= 1e-12


def test_zero_matrix():
    a = np.zeros((5, 4))
    idx, coef = interpolative(a, 2)
    assert np.array_equal(coef[:, idx], np.eye(2))
    assert not np.any(np.delete(coef, idx, axis=1))
    empty = interpolative(a, tol=0.1)
    assert empty.idx.shape == (0,)
    assert empty.coef.shape == (0, 4)


@pytest.mark.parametrize(
    ("shape", "axis", "coef_shape"),
    [
        ((0, 4), 1, (0, 4)),
        ((3, 0), 1, (0, 0)),
        ((0, 4), 0, (0, 0)),
        ((3, 0), 0, (3, 0)),
    ],
)
def test_empty_with_tol(shape, axis, coef_shape):
    idx, coef = interpolative(np.zeros(shape), tol=1e-3, axis=axis)
    assert idx.shape == (0,)
    assert coef.shape == coef_shape


def test_result_type_and_input_untouched():
    a = random_matrix((40, 30), np.float64, np.random.default_rng(0), order="F")
    copy = a.copy()
    result = interpolative(a, 5, method="cpqr")
    assert isinstance(result, IDResult)
    assert result._fields == ("idx", "coef")
    assert np.array_equal(a, copy)
    interpolative(a, 5, method="randomized", rng=0)
    assert np.array_equal(a, copy)


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_layouts_give_the_same_cpqr(layout):
    a = random_matrix((60, 50), np.float64, np.random.default_rng(5))
    ref = interpolative(a, 10, method="cpqr")
    got = interpolative(with_layout(a, layout), 10, method="cpqr")
    assert np.array_equal(got.idx, ref.idx)
    np.testing.assert_allclose(got.coef, ref.coef, rtol=1e-12, atol=1e-12)


def test_integer_input_is_float64():
    a = np.arange(1, 31).reshape(6, 5) ** 2
    idx, coef = interpolative(a, 3)
    assert coef.dtype == np.float64
    assert np.allclose(a[:, idx] @ coef, a)


# --------------------------------------------------------------------------
# accuracy
# --------------------------------------------------------------------------


@pytest.mark.parametrize("sketch", ["gaussian", "sparse_sign"])
@pytest.mark.parametrize("axis", [0, 1])
def test_randomized_matches_cpqr_error(sketch, axis):
    """Low rank plus noise: the sketch's pivots are as good as A's own."""
    a = low_rank_plus_noise(400, 350, 25, 1e-4, seed=6)
    k = 25
    sigma = np.linalg.svd(a, compute_uv=False)
    exact = interpolative(a, k, axis=axis, method="cpqr")
    fast = interpolative(a, k, axis=axis, method="randomized", sketch=sketch, rng=3)
    e_exact = spectral_error(a, *exact, axis)
    e_fast = spectral_error(a, *fast, axis)
    # measured: ratio 1.0000 (all pivots shared) and e / sigma_{k+1} ~ 10
    assert e_fast <= 1.05 * e_exact
    assert e_exact <= 30 * sigma[k]
    assert np.abs(fast.coef).max() <= 2


def as_input(a, kind):
    if kind == "sparse":
        return scipy.sparse.csc_matrix(a)
    if kind == "operator":
        return scipy.sparse.linalg.aslinearoperator(a)
    return a


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("kind", ["dense", "sparse", "operator"])
def test_randomized_coefficients_are_the_least_squares_ones(dtype, axis, kind):
    """coef = A[:, idx]^+ A, so no coef does better with the same columns.

    The sketch's own [I, R11^{-1} R12] fits Q^H A, not A: its coefficients
    were 1e-5 off the least-squares ones here and its spectral error 6e-6
    higher (relative), which put the randomized ID a hair behind scipy's
    interp_decomp (whose rand=True path computes the deterministic ID).
    """
    a = low_rank_plus_noise(300, 250, 20, 1e-3, dtype, seed=21)
    idx, coef = interpolative(
        as_input(a, kind), 20, axis=axis, method="randomized", rng=1
    )
    assert coef.dtype == np.dtype(dtype)
    wide = np.complex128 if np.iscomplexobj(a) else np.float64
    t = a.astype(wide) if axis == 1 else a.astype(wide).T
    z = (coef if axis == 1 else coef.T).astype(wide)
    best = np.linalg.lstsq(t[:, idx], t, rcond=None)[0]
    # measured: 3e-15 in double, 1e-6 in single precision
    np.testing.assert_allclose(z, best, rtol=0, atol=100 * eps(dtype))
    error = np.linalg.norm(t - t[:, idx] @ z, 2)
    optimum = np.linalg.norm(t - t[:, idx] @ best, 2)
    assert error <= optimum * (1 + 1e3 * eps(dtype))


def test_least_squares_coefficients_with_a_poor_preconditioner():
    """Any invertible R11 gives C^+ A; a poor one takes the QR branch."""
    from lowrank._backends.linear_map import DenseMap
    from lowrank.approx._interpolative import (
        _least_squares_coefficients,
        _Options,
        _sketch,
    )

    a = low_rank_plus_noise(200, 150, 10, 1e-3, seed=22)
    op = DenseMap(a)
    options = _Options(5, 0, "gaussian", np.random.default_rng(0), 1e-13)
    r, perm = scipy.linalg.qr(_sketch(op, 15, options), pivoting=True, mode="r")
    k = 10
    best = np.linalg.lstsq(a[:, perm[:k]], a, rcond=None)[0]
    for scale in (np.ones(15), np.logspace(0, 4, 15)):
        # scaled rows of R: W = C R11^{-1} is then far from orthonormal
        coef = _least_squares_coefficients(op, r * scale[:, None], perm, k, 1e-13)
        np.testing.assert_allclose(coef, best, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("dtype", "scale"),
    [
        (np.float32, 1e-25),
        (np.float32, 1e20),
        (np.complex64, 1e-25),
        (np.float64, 1e-170),
        (np.float64, 1e160),
        (np.complex128, 1e-170),
    ],
)
def test_randomized_on_badly_scaled_input(dtype, scale):
    """Squared column norms must not underflow or overflow.

    Before the pivoted QR of the sketch scaled its input, float32 data of
    size 1e-25 had all squares flush to zero (pivots in arbitrary order,
    relative error 1e6) and data of size 1e19 overflowed (NaN coefficients).
    """
    wide = np.complex128 if np.dtype(dtype).kind == "c" else np.float64
    a = (with_spectrum(300, 240, np.logspace(0, -2, 12), wide, seed=23) * scale).astype(
        dtype
    )
    ref = interpolative(a, 12, method="cpqr")
    idx, coef = interpolative(a, 12, method="randomized", rng=0)
    assert np.all(np.isfinite(coef))
    assert set(idx.tolist()) == set(ref.idx.tolist())
    unscaled = a.astype(wide) / scale
    error = np.linalg.norm(unscaled - unscaled[:, idx] @ coef.astype(wide), 2)
    assert error <= 1e3 * eps(dtype) * np.linalg.norm(unscaled, 2)


def test_power_iterations_help_on_slow_decay():
    s = 1.0 / np.arange(1, 201)
    a = with_spectrum(300, 300, s, seed=7)
    k = 20
    e0 = spectral_error(a, *interpolative(a, k, method="randomized", rng=1), 1)
    e2 = spectral_error(
        a, *interpolative(a, k, method="randomized", n_iter=2, rng=1), 1
    )
    e_cpqr = spectral_error(a, *interpolative(a, k, method="cpqr"), 1)
    assert e2 <= e0
    assert e2 <= 1.5 * e_cpqr
    assert e2 <= 10 * s[k]


SPECTRA = {
    "geometric 0.7": 0.7 ** np.arange(200),
    "geometric 0.9": 0.9 ** np.arange(200),
    "polynomial": 1.0 / np.arange(1, 201) ** 2,
    "step": np.r_[np.ones(30), np.full(170, 1e-9)],
}


@pytest.mark.parametrize("spectrum", list(SPECTRA))
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("tol", [1e-2, 1e-5, 1e-8])
def test_tol_meets_tolerance(spectrum, method, tol):
    s = SPECTRA[spectrum]
    a = with_spectrum(300, 240, s, seed=8)
    for axis in (0, 1):
        idx, coef = interpolative(a, tol=tol, axis=axis, method=method, rng=4)
        k = len(idx)
        n = a.shape[axis]  # the number of candidate columns (rows)
        error = spectral_error(a, idx, coef, axis)
        # the documented guarantee ...
        assert error <= np.sqrt(n - k) * tol * s[0] * (1 + 1e-8)
        # ... and what it gives on these spectra (measured: at most 1.05 tol)
        assert error <= 1.5 * tol * s[0]
        # the rank is not wildly larger than the singular values ask for
        assert k <= np.count_nonzero(s > tol * s[0] / 10)
        assert k >= np.count_nonzero(s > np.sqrt(n) * tol * s[0])


def test_tol_randomized_grows_the_sketch():
    # rank 90 needs three doublings from the initial 32 rows
    s = np.r_[np.ones(90), np.full(60, 1e-10)]
    a = with_spectrum(1000, 400, s, seed=9)
    idx, coef = interpolative(a, tol=1e-6, method="randomized", rng=0)
    assert len(idx) == 90
    assert spectral_error(a, idx, coef, 1) <= 1e-6


def test_tol_float32():
    s = 0.8 ** np.arange(100)
    a = with_spectrum(200, 150, s, np.float32, seed=10)
    for method in METHODS:
        idx, coef = interpolative(a, tol=1e-4, method=method, rng=0)
        assert coef.dtype == np.float32
        assert spectral_error(a, idx, coef, 1) <= 1.5e-4


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(1, 40),
    n=st.integers(1, 40),
    data=st.data(),
    dtype=st.sampled_from(DTYPES),
    method=st.sampled_from(METHODS),
    axis=st.sampled_from([0, 1]),
    seed=st.integers(0, 2**16),
)
def test_property_exact_rank(m, n, data, dtype, method, axis, seed):
    """Any shape, rank r <= k: identity on idx, reconstruction to rounding."""
    small = min(m, n)
    rank = data.draw(st.integers(1, small), label="rank")
    k = data.draw(st.integers(rank, small), label="k")
    s = np.logspace(0, -1, rank)
    a = with_spectrum(m, n, s, dtype, seed=seed)
    idx, coef = interpolative(a, k, axis=axis, method=method, rng=seed)
    assert len(np.unique(idx)) == k
    assert np.array_equal(restricted(coef, idx, axis), np.eye(k))
    bound = 50 * max(m, n) * eps(dtype) * (1 + np.abs(coef).max()) * k
    assert spectral_error(a, idx, coef, axis) <= bound


# --------------------------------------------------------------------------
# sparse and operator input, reproducibility
# --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("axis", [0, 1])
def test_sparse_and_operator_match_dense(fmt, axis):
    dense = low_rank_plus_noise(200, 150, 10, 1e-5, seed=11)
    dense[np.abs(dense) < 0.3] = 0  # make it genuinely sparse
    sparse = scipy.sparse.csr_matrix(dense).asformat(fmt)
    operator = scipy.sparse.linalg.aslinearoperator(dense)
    ref = interpolative(dense, 12, axis=axis, method="randomized", rng=5)
    for a in (sparse, operator):
        got = interpolative(a, 12, axis=axis, rng=5)  # "auto" -> randomized
        assert np.array_equal(got.idx, ref.idx)
        np.testing.assert_allclose(got.coef, ref.coef, rtol=1e-9, atol=1e-9)


def test_sparse_sign_on_sparse_and_operator():
    dense = low_rank_plus_noise(300, 200, 8, 1e-6, seed=12)
    sigma_next = np.linalg.svd(dense, compute_uv=False)[8]
    for a in (
        scipy.sparse.csc_matrix(dense),
        scipy.sparse.linalg.aslinearoperator(dense),
    ):
        idx, coef = interpolative(a, 8, sketch="sparse_sign", rng=0)
        # measured: 4 sigma_{k+1}
        assert spectral_error(dense, idx, coef, 1) <= 20 * sigma_next


def test_operator_tol_and_complex():
    a = with_spectrum(150, 120, 0.5 ** np.arange(60), np.complex128, seed=13)
    op = scipy.sparse.linalg.aslinearoperator(a)
    idx, coef = interpolative(op, tol=1e-6, rng=0)
    assert coef.dtype == np.complex128
    assert spectral_error(a, idx, coef, 1) <= 1.5e-6


def test_rng_reproducible():
    a = low_rank_plus_noise(300, 280, 15, 1e-2, seed=14)
    for sketch in ("gaussian", "sparse_sign"):
        one = interpolative(a, 15, method="randomized", sketch=sketch, rng=42)
        two = interpolative(a, 15, method="randomized", sketch=sketch, rng=42)
        assert np.array_equal(one.idx, two.idx)
        assert np.array_equal(one.coef, two.coef)
    gen = np.random.default_rng(7)
    three = interpolative(a, tol=1e-3, method="randomized", rng=gen)
    four = interpolative(a, tol=1e-3, method="randomized", rng=np.random.default_rng(7))
    assert np.array_equal(three.coef, four.coef)


# --------------------------------------------------------------------------
# method="auto"
# --------------------------------------------------------------------------


def test_choose_method_rule():
    assert choose_interpolative_method((2000, 2000), 50) == "randomized"
    assert choose_interpolative_method((2000, 2000)) == "randomized"  # tol
    assert choose_interpolative_method((2000, 2000), 500) == "cpqr"
    assert choose_interpolative_method((255, 5000), 5) == "cpqr"
    assert choose_interpolative_method((10, 10), 5, dense=False) == "randomized"
    assert choose_interpolative_method((300, 300), 60, oversample=20) == "cpqr"


def test_auto_small_dense_is_cpqr():
    a = random_matrix((50, 40), np.float64, np.random.default_rng(0))
    assert np.array_equal(
        interpolative(a, 7).idx, interpolative(a, 7, method="cpqr").idx
    )


def test_randomized_falls_back_to_a_when_the_sketch_is_large():
    # k + oversample > M / 2: the sketch would save nothing, A is factored
    a = random_matrix((30, 50), np.float64, np.random.default_rng(1))
    got = interpolative(a, 10, method="randomized", rng=0)
    ref = interpolative(a, 10, method="cpqr")
    assert np.array_equal(got.idx, ref.idx)
    op = scipy.sparse.linalg.aslinearoperator(a)
    assert np.array_equal(interpolative(op, 10, rng=0).idx, ref.idx)


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------


A = np.random.default_rng(0).standard_normal((20, 15))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, ValueError, "exactly one of `k`"),
        ({"k": 3, "tol": 0.1}, ValueError, "exactly one of `k`"),
        ({"k": 0}, ValueError, "0 < k <= 15"),
        ({"k": 16}, ValueError, "0 < k <= 15"),
        ({"k": 2.0}, TypeError, "`k` must be an integer"),
        ({"k": True}, TypeError, "`k` must be an integer"),
        ({"tol": 0.0}, ValueError, "0 < tol < 1"),
        ({"tol": 1.5}, ValueError, "0 < tol < 1"),
        ({"tol": "small"}, TypeError, "`tol` must be a real number"),
        ({"k": 3, "axis": 2}, ValueError, "`axis` must be 1"),
        ({"k": 3, "axis": 1.0}, TypeError, "`axis` must be an integer"),
        ({"k": 3, "axis": True}, TypeError, "`axis` must be an integer"),
        ({"k": 3, "method": "svd"}, ValueError, "`method` must be one of"),
        ({"k": 3, "sketch": "srft"}, ValueError, "`sketch` must be one of"),
        ({"k": 3, "oversample": -1}, ValueError, "`oversample` must be >= 0"),
        ({"k": 3, "oversample": 2.5}, TypeError, "`oversample` must be an integer"),
        ({"k": 3, "n_iter": -1}, ValueError, "`n_iter` must be >= 0"),
        ({"k": 3, "rng": "seed"}, TypeError, "`rng` must be"),
        ({"k": 3, "rng": np.random.RandomState(0)}, TypeError, "RandomState"),
    ],
)
def test_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        interpolative(A, **kwargs)


@pytest.mark.parametrize(
    ("a", "error", "match"),
    [
        (np.ones(5), ValueError, "two-dimensional"),
        (np.ones((2, 3, 4)), ValueError, "stacks are not supported"),
        (np.ones((4, 3), np.float16), TypeError, "float16"),
        (np.array([["a", "b"]]), TypeError, "array of numbers"),
        (np.ma.masked_array(np.ones((3, 3))), TypeError, "masked"),
    ],
)
def test_input_errors(a, error, match):
    with pytest.raises(error, match=match):
        interpolative(a, 1)


@pytest.mark.parametrize("check_finite", [True, False])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input(check_finite, bad):
    a = A.copy()
    a[3, 4] = bad
    with pytest.raises(ValueError, match="finite"):
        interpolative(a, 3, check_finite=check_finite)
    with pytest.raises(ValueError, match="finite"):
        interpolative(scipy.sparse.csr_matrix(a), 3, check_finite=check_finite)


def test_operator_returning_nan():
    op = nan_operator(40, 30)
    with pytest.raises(ValueError, match="non-finite"):
        interpolative(op, 3, rng=0)


@pytest.mark.parametrize(
    "a",
    [scipy.sparse.csr_matrix(A), scipy.sparse.linalg.aslinearoperator(A)],
    ids=["sparse", "operator"],
)
def test_cpqr_needs_dense(a):
    with pytest.raises(TypeError, match="method='cpqr' needs a dense array"):
        interpolative(a, 3, method="cpqr")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("shape", [(60, 500), (20, 20), (5, 40)])
def test_short_pivoted_qr_matches_lapack(dtype, shape):
    """The numpy pivoted QR of short sketches agrees with geqp3."""
    from lowrank.approx._interpolative import _pivoted_qr_short

    rng = np.random.default_rng(3)
    m, n = shape
    y = rng.standard_normal(shape) * np.logspace(0, -4, n)
    if np.dtype(dtype).kind == "c":
        y = y + 1j * rng.standard_normal(shape) * np.logspace(0, -4, n)
    y = y.astype(dtype)
    r, perm = _pivoted_qr_short(y)
    _, r_ref, perm_ref = scipy.linalg.qr(y, pivoting=True, mode="economic")
    steps = min(m, n)
    assert r.shape == (steps, n)
    assert np.array_equal(perm[: steps // 2], perm_ref[: steps // 2])
    assert np.allclose(np.triu(r), r)
    # R is a QR factor of Y P: R^H R = (Y P)^H (Y P)
    yp = y[:, perm].astype(np.complex128)
    gram = r.conj().T.astype(np.complex128) @ r
    tol = 100 * eps(dtype) * np.linalg.norm(y) ** 2
    assert np.linalg.norm(gram - yp.conj().T @ yp) <= tol
    diag = np.abs(np.diagonal(r))
    assert np.all(np.diff(diag) <= 10 * eps(dtype) * diag[0])
    half = steps // 2
    ref = np.abs(np.diagonal(r_ref))[:half]
    assert np.allclose(diag[:half], ref, rtol=1e-3, atol=100 * eps(dtype) * ref[0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_short_pivoted_qr_partial_steps_and_tol(dtype):
    """`steps` stops after k pivots, `tol` after the first small |R_jj|."""
    from lowrank.approx._interpolative import _pivoted_qr_short

    rng = np.random.default_rng(4)
    y = random_matrix((40, 300), dtype, rng) * np.logspace(0, -6, 300)
    full, perm = _pivoted_qr_short(y)
    part, perm_k = _pivoted_qr_short(y, steps=12)
    assert part.shape == (12, 300)
    assert np.array_equal(perm_k[:12], perm[:12])
    np.testing.assert_allclose(part[:, :12], full[:12, :12], rtol=10 * eps(dtype))
    diag = np.abs(np.diagonal(full))
    rank = 10
    tol = (diag[rank - 1] + diag[rank]) / 2 / diag[0]
    cut, perm_t = _pivoted_qr_short(y, tol=tol)
    assert np.array_equal(perm_t[: rank + 1], perm[: rank + 1])
    got = np.abs(np.diagonal(cut))
    assert np.all(got[:rank] > tol * got[0])
    assert got[rank] <= tol * got[0]
    assert not np.any(cut[rank + 1 :])


def test_short_pivoted_qr_zero_and_rank_deficient():
    from lowrank.approx._interpolative import _pivoted_qr_short

    r, perm = _pivoted_qr_short(np.zeros((5, 8)))
    assert not np.any(r)
    assert np.array_equal(perm, np.arange(8))
    y = np.outer(np.arange(1.0, 6.0), np.arange(1.0, 9.0))  # rank 1
    r, perm = _pivoted_qr_short(y)
    assert perm[0] == 7
    assert abs(r[0, 0]) == pytest.approx(np.linalg.norm(y[:, 7]))
    assert np.abs(r[1:]).max() <= 10 * eps(np.float64) * abs(r[0, 0])


@pytest.mark.parametrize("seed", range(4))
def test_randomized_coefficients_are_backward_stable(seed):
    """Ill-conditioned selected columns keep the accuracy of the columns.

    On the 300 x 300 Hilbert matrix with k = 20 (sigma_21 = 1.8e-13, the 20
    selected columns have condition ~1e13) the randomized ID had errors of
    1e-8 to 9e-8, against 2.3e-14 for the deterministic ID and for a plain
    least-squares fit on the same columns.
    """
    a = scipy.linalg.hilbert(300)
    idx_det, coef_det = interpolative(a, 20, method="cpqr")
    det = np.linalg.norm(a - a[:, idx_det] @ coef_det, 2)
    idx, coef = interpolative(a, 20, method="randomized", rng=seed)
    err = np.linalg.norm(a - a[:, idx] @ coef, 2)
    fit = np.linalg.lstsq(a[:, idx], a, rcond=None)[0]
    best = np.linalg.norm(a - a[:, idx] @ fit, 2)
    assert err <= 4 * max(det, best)
    assert err <= 1e-12
