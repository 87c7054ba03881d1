"""Tests of lowrank.linalg._cod.pinv_cod: pseudo-inverse by complete orthogonal
decomposition."""

import numpy as np
import pytest
from hypothesis import assume, given, settings

from lowrank.linalg._cod import pinv_cod
from tests.helpers import (
    PINV_CASES,
    assert_close_to_svd_pinv,
    assert_moore_penrose,
    build,
    default_tols,
    numerical_rank,
    rank_is_well_defined,
)
from tests.strategies import ALL_DTYPES, matrices

#: Documented accuracy constant C (residuals <= C p eps kappa); measured < 0.5.
ACCURACY = 10.0

#: The rank is compared with the SVD rule's only where no singular value lies
#: within this factor of the cutoff.
RANK_GAP = 100.0


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize(("m", "n", "s"), PINV_CASES)
def test_moore_penrose_and_parity(m, n, s, dtype):
    rng = np.random.default_rng(m * 100 + n)
    a = build(rng, m, n, s, dtype)
    a_before = a.copy()
    x, rank = pinv_cod(a, *default_tols(a))
    np.testing.assert_array_equal(a, a_before)
    assert x.shape == (n, m)
    assert x.dtype == a.dtype
    assert isinstance(rank, int)
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
    x, rank = pinv_cod(a, *default_tols(a))
    assert rank == r
    assert x.dtype == a.dtype
    assert_moore_penrose(a, x, rank, (ACCURACY, 1))
    assert_close_to_svd_pinv(a, x, rank, ACCURACY)


@settings(max_examples=100)
@given(case=matrices(batch_shapes=((),), min_dim=1))
def test_property_suite(case):
    a = case.a
    a_before = a.copy()
    x, rank = pinv_cod(a, *default_tols(a))
    np.testing.assert_array_equal(a, a_before)
    assert x.dtype == a.dtype
    assert_moore_penrose(a, x, rank, (ACCURACY, 1))
    if rank_is_well_defined(a, factor=RANK_GAP):
        assert rank == numerical_rank(a)


@given(case=matrices(batch_shapes=((),), min_dim=1))
def test_rank_matches_svd_rule_with_a_gap(case):
    assume(rank_is_well_defined(case.a, factor=RANK_GAP))
    _, rank = pinv_cod(case.a, *default_tols(case.a))
    assert rank == numerical_rank(case.a)


def test_zero_matrix_gives_zeros():
    x, rank = pinv_cod(np.zeros((4, 3), np.complex64), 0.0, 1e-6)
    assert rank == 0
    assert x.shape == (3, 4)
    assert x.dtype == np.complex64
    assert not np.any(x)


def test_tolerances_follow_the_rank_rule():
    a = np.diag([1.0, 0.1, 0.01])
    assert pinv_cod(a, 0.0, 0.5)[1] == 1
    assert pinv_cod(a, 0.0, 0.05)[1] == 2
    assert pinv_cod(a, 0.005, 0.0)[1] == 3
    assert pinv_cod(a, 0.05, 0.06)[1] == 1  # cutoff 0.11 > 0.1
    assert pinv_cod(a, 0.05, 0.04)[1] == 2  # cutoff 0.09 < 0.1
    x, _ = pinv_cod(a, 0.0, 0.05)
    np.testing.assert_allclose(x, np.diag([1.0, 10.0, 0.0]), atol=1e-14)


def test_accepts_zero_dim_array_tolerances():
    a = np.eye(3)
    x, rank = pinv_cod(a, np.array(0.0), np.array(1e-12))
    assert rank == 3
    np.testing.assert_allclose(x, np.eye(3), atol=1e-15)


def test_layouts():
    rng = np.random.default_rng(3)
    a = build(rng, 9, 5, [1.0, 0.5, 0.1], np.float64)
    big = np.zeros((18, 15))
    big[::2, ::3] = a
    for b in (np.asfortranarray(a), big[::2, ::3]):
        x, rank = pinv_cod(b, *default_tols(a))
        assert rank == 3
        assert_moore_penrose(a, x, rank, (ACCURACY, 1))
