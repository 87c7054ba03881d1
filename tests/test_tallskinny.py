"""Tests of lowrank.tall_qr and the Cholesky-QR machinery."""

import warnings

import numpy as np
import pytest
from hypothesis import given

import lowrank
from lowrank.exceptions import FallbackWarning
from lowrank.linalg import _tallqr as ts
from tests.helpers import eps
from tests.strategies import haar, matrices, with_layout


def with_condition(rng, m, n, cond, dtype=np.float64, rank=None):
    complex_ = np.dtype(dtype).kind == "c"
    s = np.logspace(0, -np.log10(cond), n)
    if rank is not None:
        s[rank:] = 0
    a = (haar(rng, m, n, complex_) * s) @ haar(rng, n, n, complex_).conj().T
    return a.astype(dtype)


def assert_valid_qr(a, q, r, factor=10.0):
    """The documented bounds: orthogonality and residual <= 10 n eps."""
    n = a.shape[1]
    e = eps(a.dtype)
    q64, r64 = q.astype(np.complex128), r.astype(np.complex128)
    assert q.dtype == r.dtype == a.dtype
    assert q.shape == a.shape
    assert r.shape == (n, n)
    orth = np.linalg.norm(q64.conj().T @ q64 - np.eye(n))
    res = np.linalg.norm(a - q64 @ r64) / max(np.linalg.norm(a), np.finfo(float).tiny)
    assert orth <= factor * n * e, orth / (n * e)
    assert res <= factor * n * e, res / (n * e)
    np.testing.assert_array_equal(r, np.triu(r))
    d = np.diagonal(r)
    assert np.all(d.real >= 0)
    assert np.all(d.imag == 0)


@pytest.mark.parametrize("cond", [1.0, 1e3, 1e6, 1e8, 1e10, 1e12])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_auto_meets_the_bounds_up_to_cond_1e12(cond, dtype):
    rng = np.random.default_rng(int(np.log10(cond)))
    a = with_condition(rng, 3000, 40, cond, dtype)
    q, r = lowrank.tall_qr(a)
    assert_valid_qr(a, q, r)


@pytest.mark.parametrize("cond", [1.0, 1e2, 1e4, 1e7])
@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_auto_single_precision(cond, dtype):
    rng = np.random.default_rng(7)
    a = with_condition(rng, 2000, 30, cond, dtype)
    q, r = lowrank.tall_qr(a)
    assert_valid_qr(a, q, r)


@pytest.mark.parametrize(
    ("cond", "expected"),
    [(1e3, "cholqr2"), (1e10, "scholqr3"), (1e15, "householder")],
)
def test_auto_rule_picks_the_fastest_safe_method(cond, expected):
    rng = np.random.default_rng(1)
    a = with_condition(rng, 3000, 30, cond)
    *_, used = ts.tall_qr_chain(a)
    assert used == expected


@pytest.mark.parametrize(
    ("cond", "expected"),
    [(1.0, "rcholqr"), (1e3, "rcholqr"), (1e10, "rcholqr"), (1e13, "rcholqr")],
)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_auto_rule_for_large_tall_matrices_preconditions_by_a_sketch(
    cond, expected, dtype
):
    m, n = 20000, 30
    assert ts.use_rcholqr((m, n))
    rng = np.random.default_rng(5)
    a = with_condition(rng, m, n, cond, dtype)
    *_, used = ts.tall_qr_implicit(a)
    assert used == expected
    q, r, used = ts.tall_qr_chain(a)
    assert used == expected
    assert_valid_qr(a, q, np.triu(r))


def test_auto_is_deterministic_for_large_tall_matrices():
    a = with_condition(np.random.default_rng(6), 20000, 30, 1e8)
    q1, r1 = lowrank.tall_qr(a)
    q2, r2 = lowrank.tall_qr(a)
    np.testing.assert_array_equal(q1, q2)
    np.testing.assert_array_equal(r1, r2)


def test_rcholqr_goes_straight_to_householder_when_rank_deficient():
    rng = np.random.default_rng(7)
    a = with_condition(rng, 20000, 30, 10.0, rank=20)
    *_, used = ts.tall_qr_chain(a)
    assert used == "householder"
    with pytest.warns(FallbackWarning, match="rcholqr broke down.*used householder"):
        q, r = lowrank.tall_qr(a, method="rcholqr")
    assert_valid_qr(a, q, r)


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_rcholqr_single_precision(dtype):
    a = with_condition(np.random.default_rng(8), 20000, 30, 1e5, dtype)
    *_, used = ts.tall_qr_chain(a)
    assert used == "rcholqr"
    q, r = lowrank.tall_qr(a)
    assert_valid_qr(a, q, r)


def test_rcholqr_rejects_a_badly_preconditioned_pass(monkeypatch):
    # A sketch that does not precondition (cond(Y) above the bound) is
    # detected; the chain moves on to shifted CholeskyQR3.
    monkeypatch.setattr(ts, "PRECONDITIONED_MAX_COND", 1.0)
    a = with_condition(np.random.default_rng(9), 20000, 30, 1e3)
    q, r, used = ts.tall_qr_chain(a)
    assert used == "scholqr3"
    assert_valid_qr(a, q, np.triu(r))


def test_rank_deficient_falls_back_to_householder():
    rng = np.random.default_rng(2)
    a = with_condition(rng, 1000, 20, 10.0, rank=12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q, r = lowrank.tall_qr(a)  # "auto" falls back silently
    assert_valid_qr(a, q, r)
    with pytest.warns(FallbackWarning, match="cholqr2 broke down.*used householder"):
        q, r = lowrank.tall_qr(a, method="cholqr2")
    assert_valid_qr(a, q, r)


def test_explicit_cholqr2_on_ill_conditioned_input_warns_and_stays_orthogonal():
    rng = np.random.default_rng(3)
    a = with_condition(rng, 2000, 20, 1e11)
    with pytest.warns(FallbackWarning, match="cholqr2 broke down.*used scholqr3"):
        q, r = lowrank.tall_qr(a, method="cholqr2")
    assert_valid_qr(a, q, r)


@pytest.mark.parametrize("method", ["rcholqr", "cholqr2", "scholqr3", "householder"])
def test_each_method_on_well_conditioned_input(method):
    rng = np.random.default_rng(4)
    a = with_condition(rng, 500, 25, 100.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q, r = lowrank.tall_qr(a, method=method)
    assert_valid_qr(a, q, r)
    r_ref = np.linalg.qr(a)[1]
    signs = np.sign(np.diagonal(r_ref))
    np.testing.assert_allclose(r, r_ref * signs[:, None], atol=1e-12)


@given(case=matrices(batch_shapes=((),), min_dim=1, max_dim=12, rank_deficient=True))
def test_property_any_tall_matrix(case):
    a = case.a if case.a.shape[0] >= case.a.shape[1] else case.a.conj().T
    a_before = a.copy()
    q, r = lowrank.tall_qr(a)
    np.testing.assert_array_equal(a, a_before)
    assert_valid_qr(a, q, r)


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_layouts(layout):
    rng = np.random.default_rng(5)
    a = with_condition(rng, 400, 10, 1e4, np.complex128)
    q, r = lowrank.tall_qr(with_layout(a, layout))
    assert_valid_qr(a, q, r)


def test_edge_shapes():
    q, r = lowrank.tall_qr(np.ones((5, 0)))
    assert q.shape == (5, 0)
    assert r.shape == (0, 0)
    q, r = lowrank.tall_qr(np.zeros((0, 0), np.float32))
    assert q.shape == (0, 0)
    assert q.dtype == np.float32
    q, r = lowrank.tall_qr([[3.0], [4.0]])
    np.testing.assert_allclose(q, [[0.6], [0.8]])
    np.testing.assert_allclose(r, [[5.0]])
    q, r = lowrank.tall_qr(np.zeros((6, 2)))  # zero matrix: Householder, R = 0
    assert_valid_qr(np.zeros((6, 2)), q, r)


def test_integer_input():
    q, r = lowrank.tall_qr(np.arange(12).reshape(6, 2))
    assert q.dtype == np.float64
    np.testing.assert_allclose(q @ r, np.arange(12).reshape(6, 2), atol=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="must be tall"):
        lowrank.tall_qr(np.ones((2, 5)))
    with pytest.raises(ValueError, match="must be a 2-D array"):
        lowrank.tall_qr(np.ones((2, 5, 3)))
    with pytest.raises(ValueError, match="at least two-dimensional"):
        lowrank.tall_qr(np.ones(5))
    with pytest.raises(ValueError, match="1 NaN entry"):
        lowrank.tall_qr(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="infinite"):
        lowrank.tall_qr(np.array([[1.0], [np.inf]]), check_finite=False)
    with pytest.raises(
        ValueError, match="`method` must be one of 'auto', 'rcholqr', 'cholqr2'"
    ):
        lowrank.tall_qr(np.ones((3, 2)), method="tsqr")
    with pytest.raises(TypeError, match="not supported"):
        lowrank.tall_qr(np.ones((3, 2), np.float16))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("order", ["C", "F", "strided"])
def test_gram_matches_numpy(dtype, order):
    rng = np.random.default_rng(6)
    a = rng.standard_normal((300, 7))
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal((300, 7))
    a = with_layout(a.astype(dtype), order)
    g = ts.gram(a)
    expected = a.conj().T.astype(np.complex128) @ a.astype(np.complex128)
    assert g.dtype == dtype
    np.testing.assert_allclose(g, expected, rtol=0, atol=300 * eps(dtype) * 300)
    np.testing.assert_array_equal(g, g.conj().T)


@pytest.mark.parametrize("order", ["C", "F"])
def test_right_solve_upper(order):
    rng = np.random.default_rng(8)
    a = rng.standard_normal((50, 6)) + 1j * rng.standard_normal((50, 6))
    a = np.asfortranarray(a) if order == "F" else a
    r = np.triu(rng.standard_normal((6, 6))) + 5 * np.eye(6)
    before = a.copy()
    np.testing.assert_allclose(ts.right_solve_upper(a, r) @ r, a, atol=1e-12)
    np.testing.assert_array_equal(a, before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_few_columns_take_the_gram_kernel_and_stay_accurate(dtype):
    from lowrank._kernels._rules import use_gram_kernel

    rng = np.random.default_rng(9)
    a = with_condition(rng, 20000, 8, 1e2, dtype)
    assert use_gram_kernel(a.shape, a.dtype)
    g = ts.gram(a)
    a64 = a.astype(np.float64)
    np.testing.assert_allclose(g, a64.T @ a64, rtol=0, atol=100 * eps(dtype))
    q, r = lowrank.tall_qr(a)
    assert_valid_qr(a, q, r)
