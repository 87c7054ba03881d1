"""Tests of lowrank.linalg._cod.pinv_cod: pseudo-inverse by complete orthogonal
decomposition."""

import numpy as np
import pytest
import scipy.linalg
from hypothesis import assume, given, settings

import lowrank
from lowrank.linalg._cod import cod_apply, cod_apply_stack, pinv_cod, pivoted_rank
from tests.helpers import (
    PINV_CASES,
    assert_close_pinv,
    assert_close_to_svd_pinv,
    assert_moore_penrose,
    build,
    default_tols,
    numerical_rank,
    random_matrix,
    rank_is_well_defined,
)
from tests.strategies import ALL_DTYPES, haar, matrices

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


# --- the cutoff is the SVD rule's: rtol times s_1, not |R_11| -----------------


def _aligned(m, n, seed):
    """Columns of norm ~ 45 whatever m, all nearly parallel, plus a noise of norm 4.

    ``s_1 ~ sqrt(n) |R_11|``: the largest column is far shorter than A's norm.
    """
    rng = np.random.default_rng(seed)
    noise = haar(rng, m, n, False) * 4.0
    return 10.0 * np.sqrt(20 / m) * np.ones((m, n)) + noise


@pytest.mark.parametrize(
    ("m", "n", "batch"), [(20, 16, ()), (20, 16, (3,)), (200, 16, (2,))]
)
def test_qr_rank_uses_the_largest_singular_value(m, n, batch):
    """|R_11| << s_1: a singular value the SVD rule drops was kept by "qr".

    (The issue's example: |R_11| = 56.8, s_1 = 116.9, s_2 = 4.23 kept.)
    Stacks of small matrices take the batched route, larger ones the
    per-matrix one; both must follow the rule.
    """
    a = np.stack([_aligned(m, n, seed) for seed in range(int(np.prod(batch)))])
    a = a.reshape(*batch, m, n)
    rtol = 0.05
    for index in np.ndindex(*batch):
        one = a[index]
        s = np.linalg.svd(one, compute_uv=False)
        r = scipy.linalg.qr(one, mode="r", pivoting=True)[0]
        diag = np.abs(np.diagonal(r))
        # the premise: |R_11| rtol < |R_22| < s_1 rtol, and s_2 < s_1 rtol
        assert rtol * diag[0] < diag[1] < rtol * s[0]
        assert s[1] < rtol * s[0]
        assert diag[0] < s[0] / 2
    for method in ("qr", "svd", "cholqr"):
        _, rank = lowrank.pinv(a, method=method, rtol=rtol, return_rank=True)
        np.testing.assert_array_equal(rank, 1)
        b = np.ones((*batch, m, 2))
        assert np.all(lowrank.lstsq(a, b, method=method, rtol=rtol).rank == 1)


@pytest.mark.parametrize("seed", range(20))
def test_pivoted_rank_equals_the_rule_with_the_exact_norm(seed):
    """Also where the cheap bounds on s_1 leave the decision open."""
    rng = np.random.default_rng(seed)
    m, n = rng.integers(1, 9, size=2)
    a = rng.standard_normal((m, n)) * np.logspace(0, -rng.uniform(0, 8), n)
    r = scipy.linalg.qr(a, mode="r", pivoting=True)[0][: min(m, n)]
    diag = np.abs(np.diagonal(r))
    s_1 = np.linalg.norm(r, 2)
    # a tolerance that puts one diagonal entry right between |R_11| rtol
    # and s_1 rtol, and one that is arbitrary
    j = rng.integers(0, diag.size)
    tolerances = [10.0 ** rng.uniform(-8, 0)]
    if s_1 > (1 + 1e-6) * diag[0]:  # else both cutoffs are one, up to rounding
        tolerances.append(diag[j] / np.sqrt(diag[0] * s_1))
    for rtol in tolerances:
        above = diag > rtol * s_1
        expected = int(np.argmin(above)) if not above.all() else diag.size
        assert pivoted_rank(r, 0.0, rtol) == expected
        stack = np.stack([r, r])
        np.testing.assert_array_equal(pivoted_rank(stack, 0.0, rtol), expected)


# --- the batched COD of stacks of small matrices ------------------------------

STACK_SHAPES = [(3, 2), (2, 3), (6, 4), (4, 6), (5, 5), (32, 32), (1, 4), (4, 1)]


def _stack(count, m, n, dtype, rng):
    """Random matrices with every rank from 0 to min(m, n), spread over the stack."""
    k = min(m, n)
    mats = []
    for i in range(count):
        rank = i % (k + 1)
        mats.append(build(rng, m, n, np.logspace(0, -3, rank), dtype))
    return np.stack(mats)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize(("m", "n"), STACK_SHAPES)
def test_batched_cod_equals_the_per_matrix_cod(m, n, dtype):
    rng = np.random.default_rng(m * 10 + n)
    a = _stack(12, m, n, dtype, rng)
    b = random_matrix((12, m, 3), dtype, rng)
    atol, rtol = 0.0, max(m, n) * np.finfo(dtype).eps
    a_before = a.copy()
    x, rank = cod_apply_stack(a, b, atol, rtol)
    x_inv, rank_inv = cod_apply_stack(a, None, atol, rtol)
    np.testing.assert_array_equal(a, a_before)
    assert x.dtype == x_inv.dtype == a.dtype
    assert x.shape == (12, n, 3)
    assert x_inv.shape == (12, n, m)
    for i in range(12):
        x_i, rank_i = cod_apply(a[i], b[i], atol, rtol)
        inv_i, _ = cod_apply(a[i], None, atol, rtol)
        assert rank[i] == rank_inv[i] == rank_i == min(i % (min(m, n) + 1), n)
        assert_moore_penrose(a[i], x_inv[i], rank_i, (ACCURACY, 1))
        assert_close_pinv(x_inv[i], inv_i, a[i], rank_i)
        scale = np.linalg.norm(inv_i) * np.linalg.norm(b[i]) + 1.0
        tol = 100 * max(m, n) * np.finfo(dtype).eps * 1e3 * scale
        np.testing.assert_allclose(x[i], x_i, atol=tol)


def test_batched_cod_per_matrix_tolerances_and_zero_matrices():
    a = np.stack([np.diag([1.0, 0.1, 0.01])] * 3 + [np.zeros((3, 3))])
    _, rank = cod_apply_stack(
        a, None, np.array([0.0, 0.0, 0.05, 0.0]), np.array([0.5, 0.05, 0.0, 0.1])
    )
    np.testing.assert_array_equal(rank, [1, 2, 2, 0])
