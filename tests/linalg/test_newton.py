"""Tests of pinv_newton: the truncated Newton–Schulz pseudo-inverse."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings

import lowrank
from lowrank._core.validation import check_iteration_options as check_newton_options
from lowrank.linalg._newton import _doubling_steps, pinv_newton
from tests.helpers import (
    PINV_CASES,
    assert_close_to_svd_pinv,
    assert_moore_penrose,
    build,
    default_tols,
    eps,
    numerical_rank,
    rank_is_well_defined,
)
from tests.strategies import ALL_DTYPES, matrices

#: Documented accuracy constant C (residuals <= C p eps kappa); measured < 0.2.
ACCURACY = 10.0

#: The rank is compared with the SVD rule's only where no singular value lies
#: within this factor of the cutoff.
RANK_GAP = 100.0


def newton(a, **kwargs):
    """pinv_newton at the default tolerances; it must converge silently."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", lowrank.exceptions.LowrankWarning)
        x, rank, n_iter, converged = pinv_newton(a, *default_tols(a), **kwargs)
    assert converged
    assert isinstance(rank, int)
    assert isinstance(n_iter, int)
    return x, rank, n_iter


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize(("m", "n", "s"), PINV_CASES)
def test_moore_penrose_and_parity(m, n, s, dtype):
    rng = np.random.default_rng(m * 100 + n)
    a = build(rng, m, n, s, dtype)
    a_before = a.copy()
    x, rank, _ = newton(a)
    np.testing.assert_array_equal(a, a_before)
    assert x.shape == (n, m)
    assert x.dtype == a.dtype
    assert rank == len(s)
    assert_moore_penrose(a, x, rank, (ACCURACY, 1))
    assert_close_to_svd_pinv(a, x, rank, ACCURACY)


@pytest.mark.parametrize(
    ("dtype", "log10_cond"),
    [(np.float64, 10), (np.complex128, 10), (np.float32, 3), (np.complex64, 3)],
)
@pytest.mark.parametrize(("m", "n", "r"), [(20, 20, 20), (40, 15, 15), (15, 40, 8)])
def test_ill_conditioned(m, n, r, dtype, log10_cond):
    rng = np.random.default_rng(7)
    a = build(rng, m, n, np.logspace(0, -log10_cond, r), dtype)
    x, rank, _ = newton(a)
    assert rank == r
    assert x.dtype == a.dtype
    assert_moore_penrose(a, x, rank, (ACCURACY, 1))
    assert_close_to_svd_pinv(a, x, rank, ACCURACY)


@settings(max_examples=100)
@given(case=matrices(batch_shapes=((),), min_dim=1))
def test_property_suite(case):
    a = case.a
    a_before = a.copy()
    x, rank, _ = newton(a)
    np.testing.assert_array_equal(a, a_before)
    assert x.dtype == a.dtype
    assert_moore_penrose(a, x, rank, (ACCURACY, 1))


@given(case=matrices(batch_shapes=((),), min_dim=1))
def test_rank_matches_svd_rule_with_a_gap(case):
    assume(rank_is_well_defined(case.a, factor=RANK_GAP))
    _, rank, _ = newton(case.a)
    assert rank == numerical_rank(case.a)


def test_zero_matrix_gives_zeros():
    x, rank, n_iter, converged = pinv_newton(np.zeros((4, 3), np.complex64), 0.0, 1e-6)
    assert (rank, n_iter, converged) == (0, 0, True)
    assert x.shape == (3, 4)
    assert x.dtype == np.complex64
    assert not np.any(x)


def test_tolerances_follow_the_rank_rule():
    a = np.diag([1.0, 0.1, 0.01])
    assert pinv_newton(a, 0.0, 0.5)[1] == 1
    assert pinv_newton(a, 0.0, 0.05)[1] == 2
    assert pinv_newton(a, 0.005, 0.0)[1] == 3
    assert pinv_newton(a, 0.05, 0.06)[1] == 1  # cutoff 0.11 > 0.1
    assert pinv_newton(a, 0.05, 0.04)[1] == 2  # cutoff 0.09 < 0.1
    assert pinv_newton(a, 0.0, 2.0)[1] == 0  # cutoff above s_max
    x, _, _, _ = pinv_newton(a, 0.0, 0.05)
    np.testing.assert_allclose(x, np.diag([1.0, 10.0, 0.0]), atol=1e-13)


def test_extreme_scaling_does_not_overflow():
    rng = np.random.default_rng(11)
    base = build(rng, 9, 6, [1.0, 0.3, 0.1], np.float64)
    for scale in (1e-150, 1e150):
        x, rank, _ = newton(base * scale)
        assert rank == 3
        assert_moore_penrose(base * scale, x, rank, (ACCURACY, 1))


@pytest.mark.parametrize(("log10_cond", "dtype"), [(3, np.float64), (8, np.float64)])
def test_iteration_count(log10_cond, dtype):
    # Doubling phase K ~ 2 log2(1 / (p eps)), then at most 8 refinement sweeps,
    # then ~2 log2(kappa) + 6 Newton steps on the compressed matrix.
    rng = np.random.default_rng(5)
    m, n = 40, 20
    a = build(rng, m, n, np.logspace(0, -log10_cond, n), dtype)
    _, rank, n_iter = newton(a)
    assert rank == n
    k, _ = _doubling_steps(1.0, max(m, n) * eps(dtype))
    assert abs(k - 2 * math.log2(1 / (max(m, n) * eps(dtype)))) <= 1
    phase3 = 2 * math.log2(10.0**log10_cond)
    assert k + 1 + phase3 <= n_iter <= k + 8 + phase3 + 12


def test_maxiter_warns_and_returns_the_iterate():
    rng = np.random.default_rng(2)
    a = build(rng, 10, 6, np.logspace(0, -2, 6), np.float64)
    with pytest.warns(lowrank.exceptions.ConvergenceWarning, match="maxiter=2"):
        x, rank, n_iter, converged = pinv_newton(a, *default_tols(a), maxiter=2)
    assert n_iter == 2
    assert not converged
    assert x.shape == (6, 10)
    assert np.all(np.isfinite(x))
    # Stopping inside the final phase also warns.
    _, _, full, _ = pinv_newton(a, *default_tols(a))
    with pytest.warns(lowrank.exceptions.ConvergenceWarning):
        _, rank, n_iter, converged = pinv_newton(a, *default_tols(a), maxiter=full - 3)
    assert (rank, n_iter, converged) == (6, full - 3, False)


def test_loose_tol_stops_earlier():
    rng = np.random.default_rng(4)
    a = build(rng, 12, 8, np.logspace(0, -4, 8), np.float64)
    _, _, tight = newton(a)
    x, rank, loose = newton(a, tol=1e-3)
    assert loose < tight
    assert rank == 8
    np.testing.assert_allclose(x, lowrank.pinv(a), rtol=0, atol=1e-2 * np.abs(x).max())


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"maxiter": 0}, ValueError, "`maxiter` must be a positive integer, got 0"),
        ({"maxiter": -3}, ValueError, "`maxiter` must be a positive integer"),
        ({"maxiter": 2.0}, TypeError, "`maxiter` must be a positive integer"),
        ({"maxiter": True}, TypeError, "`maxiter`"),
        ({"tol": 0.0}, ValueError, "`tol` must be a positive finite number, got 0"),
        ({"tol": -1e-3}, ValueError, "`tol` must be a positive"),
        ({"tol": np.nan}, ValueError, "`tol` must be a positive"),
        ({"tol": np.inf}, ValueError, "`tol` must be a positive"),
        ({"tol": "1e-3"}, TypeError, "`tol` must be a positive real number"),
    ],
)
def test_bad_options_raise(kwargs, error, message):
    with pytest.raises(error, match=message):
        pinv_newton(np.eye(3), 0.0, 1e-12, **kwargs)


def test_check_newton_options_normalizes():
    assert check_newton_options(None, None) == (None, None)
    assert check_newton_options(1, np.int64(5)) == (1.0, 5)
