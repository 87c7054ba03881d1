"""Tests of lowrank.svd (thin SVD, QR-first for tall-skinny input)."""

import numpy as np
import pytest
from hypothesis import given

import lowrank
from lowrank.linalg._svd import canonical_signs
from tests.helpers import assert_valid_svd, eps, with_condition
from tests.strategies import matrices


@pytest.mark.parametrize("method", ["gesdd", "qr", "auto"])
@given(case=matrices(batch_shapes=((),)))
def test_property_single_matrices(method, case):
    u, s, vh = lowrank.svd(case.a, method=method)
    assert_valid_svd(case.a, u, s, vh, canonical_signs=True)


@given(case=matrices())
def test_property_stacks(case):
    u, s, vh = lowrank.svd(case.a)
    assert_valid_svd(case.a, u, s, vh, canonical_signs=True)


QR_ROUTE_CASES = [
    (dtype, cond)
    for dtype in (np.float64, np.complex128)
    for cond in (1.0, 1e3, 1e8, 1e12, 1e16)
] + [(np.float32, 1.0), (np.float32, 1e3), (np.complex64, 1e2)]


@pytest.mark.parametrize(("dtype", "cond"), QR_ROUTE_CASES)
@pytest.mark.parametrize("shape", [(2000, 30), (30, 2000)])
def test_qr_route_on_tall_and_wide(cond, shape, dtype):
    rng = np.random.default_rng(0)
    a = with_condition(rng, max(shape), min(shape), cond, dtype)
    if shape[0] < shape[1]:
        a = a.conj().T
    assert lowrank.choose_svd_method(a.shape) == "qr"
    u, s, vh = lowrank.svd(a)
    assert_valid_svd(a, u, s, vh, canonical_signs=True)
    s_ref = np.linalg.svd(a, compute_uv=False)
    assert np.max(np.abs(s - s_ref)) <= 10 * min(shape) * eps(dtype) * s_ref[0]


def test_same_result_as_gesdd_up_to_rounding():
    rng = np.random.default_rng(1)
    a = with_condition(rng, 3000, 20, 1e2)
    u1, s1, vh1 = lowrank.svd(a, method="qr")
    u2, s2, vh2 = lowrank.svd(a, method="gesdd")
    np.testing.assert_allclose(s1, s2, rtol=1e-13)
    np.testing.assert_allclose(np.abs(u1.T @ u2), np.eye(20), atol=1e-10)
    # deterministic signs make the vectors themselves agree
    np.testing.assert_allclose(u1, u2, atol=1e-10)
    np.testing.assert_allclose(vh1, vh2, atol=1e-10)


def test_auto_rule():
    assert lowrank.choose_svd_method((100000, 100)) == "qr"
    assert lowrank.choose_svd_method((100, 100000)) == "qr"
    assert lowrank.choose_svd_method((1000, 1000)) == "gesdd"
    assert lowrank.choose_svd_method((100, 20)) == "gesdd"  # too small
    assert lowrank.choose_svd_method((10, 100000, 100)) == "gesdd"  # stack
    assert lowrank.choose_svd_method((20000, 6, 4)) == "jacobi"
    assert lowrank.choose_svd_method((20000, 6, 6), np.complex128) == "gesdd"
    assert lowrank.choose_svd_method((4, 6, 4)) == "gesdd"  # too few


def test_canonical_signs_keep_the_product():
    rng = np.random.default_rng(2)
    u = rng.standard_normal((3, 6, 4)) + 1j * rng.standard_normal((3, 6, 4))
    vh = rng.standard_normal((3, 4, 5)) + 1j * rng.standard_normal((3, 4, 5))
    u2, vh2 = canonical_signs(u, vh)
    np.testing.assert_allclose(u2 @ vh2, u @ vh, atol=1e-13)
    np.testing.assert_allclose(np.abs(u2), np.abs(u))


def test_empty_and_bad_input():
    u, s, vh = lowrank.svd(np.zeros((0, 3), np.complex64))
    assert u.shape == (0, 0)
    assert s.shape == (0,)
    assert s.dtype == np.float32
    assert vh.shape == (0, 3)
    with pytest.raises(ValueError, match='method="qr" takes a single matrix'):
        lowrank.svd(np.ones((2, 3, 3)), method="qr")
    with pytest.raises(
        ValueError, match="`method` must be one of 'auto', 'gesdd', 'jacobi', 'qr'"
    ):
        lowrank.svd(np.ones((3, 3)), method="lanczos")
    with pytest.raises(ValueError, match="NaN"):
        lowrank.svd(np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="at least two-dimensional"):
        lowrank.svd(np.ones(3))
    with pytest.raises(TypeError, match="not supported"):
        lowrank.svd(np.ones((3, 3), np.float16))
    with pytest.raises(ValueError, match="infinite"):
        lowrank.svd(np.full((3, 3), np.inf), check_finite=False)


def test_sign_convention_on_exact_ties():
    # Hadamard columns: every entry has the largest magnitude; the first one
    # decides, as documented.
    h = np.array([[-1.0, 1.0], [1.0, 1.0]]) / np.sqrt(2)
    u, vh = canonical_signs(h.copy(), np.eye(2))
    np.testing.assert_array_equal(u[0], [1 / np.sqrt(2), 1 / np.sqrt(2)])
    np.testing.assert_allclose(u @ vh, h)
    u_stack, _ = canonical_signs(np.stack([h, -h]), np.stack([np.eye(2)] * 2))
    assert np.all(u_stack[:, 0, :] > 0)
    u_c, _ = canonical_signs(h.astype(complex), np.eye(2, dtype=complex))
    np.testing.assert_allclose(u_c, u)


@pytest.mark.parametrize("cond", [1e3, 1e12])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_qr_route_on_large_tall_matrices(cond, dtype):
    # Large enough for the QR to take the sketch-preconditioned CholeskyQR.
    rng = np.random.default_rng(12)
    m, n = 20000, 30
    complex_ = np.dtype(dtype).kind == "c"
    g = rng.standard_normal((m, n)) + (
        1j * rng.standard_normal((m, n)) if complex_ else 0
    )
    u0 = np.linalg.qr(g)[0]
    s0 = np.logspace(0, -np.log10(cond), n)
    a = ((u0 * s0) @ np.linalg.qr(rng.standard_normal((n, n)))[0]).astype(dtype)
    u, s, vh = lowrank.svd(a)
    e = np.finfo(dtype).eps
    assert np.max(np.abs(s - np.linalg.svd(a, compute_uv=False))) <= 10 * n * e * s[0]
    assert np.linalg.norm(u.conj().T @ u - np.eye(n)) <= 10 * n * e
    assert np.linalg.norm(a - (u * s) @ vh) <= 10 * n * e * np.linalg.norm(a)
