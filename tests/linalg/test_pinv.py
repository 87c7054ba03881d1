"""Tests of lowrank.pinv: the Moore–Penrose property suite, parity, bad input."""

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse
from hypothesis import assume, given
from hypothesis import strategies as st

import lowrank
from lowrank._core.stacks import batched
from lowrank.linalg._pinv import DAMPED_METHODS, PINV_METHODS
from tests.helpers import (
    PINV_ACCURACY,
    PINV_RANK_GAP,
    assert_close_pinv,
    assert_moore_penrose,
    build,
    eps,
    numerical_rank,
    pinv_resolution,
    rank_is_well_defined,
)
from tests.strategies import ALL_DTYPES, ALL_LAYOUTS, haar, matrices

METHODS = sorted(PINV_METHODS)


def test_every_method_declares_its_accuracy():
    assert set(PINV_METHODS) <= set(PINV_ACCURACY)


# --- the property suite ------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@given(case=matrices(layouts=ALL_LAYOUTS))
def test_moore_penrose_conditions(method, case):
    a_before = case.a.copy()
    x, rank = lowrank.pinv(case.a, method=method, return_rank=True)
    np.testing.assert_array_equal(case.a, a_before)  # input untouched
    assert x.shape == (*case.a.shape[:-2], case.a.shape[-1], case.a.shape[-2])
    assert x.dtype == case.a.dtype.newbyteorder("=")
    assert np.shape(rank) == case.a.shape[:-2]
    assert_moore_penrose(case.a, x, rank, method)


@given(case=matrices(hermitian=True))
def test_moore_penrose_conditions_hermitian(case):
    x, rank = lowrank.pinv(case.a, hermitian=True, return_rank=True)
    assert x.dtype == case.a.dtype
    assert_moore_penrose(case.a, x, rank, "hermitian")


@given(case=matrices(hermitian=True))
def test_hermitian_agrees_with_svd(case):
    batch = case.a.shape[:-2]
    assume(all(rank_is_well_defined(case.a[i]) for i in np.ndindex(*batch)))
    x_h, rank_h = lowrank.pinv(case.a, hermitian=True, return_rank=True)
    x_s, rank_s = lowrank.pinv(case.a, return_rank=True)
    np.testing.assert_array_equal(rank_h, rank_s)
    assert_close_pinv(x_h, x_s, case.a, rank_s)


@pytest.mark.parametrize("method", METHODS)
@given(case=matrices(batch_shapes=((),)))
def test_rank_matches_the_cutoff_rule(method, case):
    floor = pinv_resolution(method, case.a.shape, case.a.dtype)
    gap = PINV_RANK_GAP.get(method, 10.0)
    assume(rank_is_well_defined(case.a, factor=gap, floor=floor))
    _, rank = lowrank.pinv(case.a, method=method, return_rank=True)
    assert rank == numerical_rank(case.a, floor=floor)


@given(case=matrices(batch_shapes=((),)))
def test_parity_with_scipy(case):
    assume(rank_is_well_defined(case.a))
    x, rank = lowrank.pinv(case.a, return_rank=True)
    x_ref, rank_ref = scipy.linalg.pinv(case.a, return_rank=True)
    assert rank == rank_ref
    assert x.dtype == x_ref.dtype
    assert_close_pinv(x, x_ref, case.a, rank)


def test_parity_with_scipy_on_stack_elementwise():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((50, 7, 5)) @ np.diag([1, 1, 1, 1e-3, 0.0])
    x, ranks = lowrank.pinv(a, return_rank=True)
    for i in range(a.shape[0]):
        x_ref, rank_ref = scipy.linalg.pinv(a[i], return_rank=True)
        assert ranks[i] == rank_ref == 4
        np.testing.assert_allclose(
            x[i], x_ref, rtol=0, atol=1e-10 * np.abs(x_ref).max()
        )


# --- shapes, dtypes and layouts ---------------------------------------------


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (5, 5), (9, 4), (4, 9), (30, 1), (1, 30)])
def test_shapes_and_dtypes(shape, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    a = a.astype(dtype)
    x = lowrank.pinv(a)
    assert x.shape == shape[::-1]
    assert x.dtype == dtype
    assert_moore_penrose(a, x, min(shape), "svd")


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((0, 4), (4, 0)),
        ((4, 0), (0, 4)),
        ((0, 0), (0, 0)),
        ((3, 0, 5), (3, 5, 0)),
        ((0, 2, 3), (0, 3, 2)),
        ((2, 0, 4, 3), (2, 0, 3, 4)),
    ],
)
def test_empty(shape, expected):
    x, rank = lowrank.pinv(np.ones(shape, dtype=np.float32), return_rank=True)
    assert x.shape == expected
    assert x.dtype == np.float32
    assert np.shape(rank) == shape[:-2]
    assert np.all(rank == 0)


def test_one_by_one():
    assert lowrank.pinv([[4.0]]) == pytest.approx(0.25)
    assert lowrank.pinv([[0.0]]) == 0.0
    x, rank = lowrank.pinv([[-2.0 + 0j]], return_rank=True)
    assert x[0, 0] == pytest.approx(-0.5)
    assert rank == 1
    assert isinstance(rank, int)


def test_zero_matrix():
    x, rank = lowrank.pinv(np.zeros((4, 3)), return_rank=True)
    np.testing.assert_array_equal(x, np.zeros((3, 4)))
    assert rank == 0


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint16, np.bool_])
def test_integer_and_bool_become_float64(dtype):
    a = np.array([[1, 0], [1, 1], [0, 1]], dtype=dtype)
    x = lowrank.pinv(a)
    assert x.dtype == np.float64
    np.testing.assert_allclose(x, np.linalg.pinv(a.astype(float)), atol=1e-14)


def test_array_likes():
    a = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    expected = np.linalg.pinv(np.array(a))
    np.testing.assert_allclose(lowrank.pinv(a), expected, rtol=1e-13)
    with pytest.warns(PendingDeprecationWarning):
        matrix = np.matrix(a)
    x = lowrank.pinv(matrix)
    assert type(x) is np.ndarray
    np.testing.assert_allclose(x, expected, rtol=1e-13)


@pytest.mark.parametrize("layout", ["F", "strided", "transposed"])
def test_layouts_give_the_same_result(layout):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 8, 5)) + 1j * rng.standard_normal((4, 8, 5))
    if layout == "F":
        b = np.asfortranarray(a)
    elif layout == "strided":
        big = np.zeros((4, 16, 15), complex)
        big[:, ::2, ::3] = a
        b = big[:, ::2, ::3]
    else:
        b = np.swapaxes(np.swapaxes(a, -1, -2).copy(), -1, -2)
    np.testing.assert_allclose(lowrank.pinv(b), lowrank.pinv(a), rtol=0, atol=1e-13)


def test_matches_numpy_on_a_stack():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((100, 6, 4))
    np.testing.assert_allclose(lowrank.pinv(a), np.linalg.pinv(a), rtol=0, atol=1e-12)


# --- tolerances ----------------------------------------------------------------


def test_tolerance_rule_is_strictly_greater():
    a = np.diag([1.0, 0.5, 0.25])
    assert lowrank.pinv(a, rtol=0.5, return_rank=True).rank == 1  # 0.5 is cut
    assert lowrank.pinv(a, rtol=0.49, return_rank=True).rank == 2
    assert lowrank.pinv(a, atol=0.25, rtol=0.0, return_rank=True).rank == 2
    assert lowrank.pinv(a, atol=0.1, rtol=0.2, return_rank=True).rank == 2  # 0.3
    np.testing.assert_allclose(
        lowrank.pinv(a, rtol=0.3), np.diag([1.0, 2.0, 0.0]), atol=1e-15
    )


def test_default_rtol_depends_on_dtype_and_shape():
    # s = 1e-6 survives in float64 but not in float32 (eps ~ 1.2e-7, p = 10).
    a = np.zeros((10, 3))
    a[0, 0], a[1, 1], a[2, 2] = 1.0, 1e-6, 1.0
    assert lowrank.pinv(a, return_rank=True).rank == 3
    assert lowrank.pinv(a.astype(np.float32), return_rank=True).rank == 2


def test_atol_only_keeps_default_rtol():
    # scipy.linalg.pinv's semantics: the default rtol applies even if atol is set.
    a = np.diag([1.0, 1e-17])
    assert lowrank.pinv(a, atol=1e-20, return_rank=True).rank == 1
    assert lowrank.pinv(a, atol=1e-20, rtol=0, return_rank=True).rank == 2


def test_tolerances_broadcast_over_the_stack():
    a = np.broadcast_to(np.diag([1.0, 0.1, 0.01]), (2, 3, 3, 3))
    rtol = np.array([[0.5, 0.05, 0.005], [0.0, 1.0, 0.2]])
    _, rank = lowrank.pinv(a, rtol=rtol, return_rank=True)
    np.testing.assert_array_equal(rank, [[1, 2, 3], [3, 0, 1]])
    _, rank = lowrank.pinv(a, atol=[0.05, 0.5, 2.0], rtol=0, return_rank=True)
    np.testing.assert_array_equal(rank, [[2, 1, 0], [2, 1, 0]])


def test_pseudo_inverse_of_stack_is_per_matrix():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((6, 5, 3))
    x = lowrank.pinv(a)
    for i in range(6):
        np.testing.assert_allclose(x[i], lowrank.pinv(a[i]), rtol=0, atol=1e-13)


def test_hermitian_inverts_signed_eigenvalues():
    a = np.diag([2.0, -4.0, 0.0])
    x, rank = lowrank.pinv(a, hermitian=True, return_rank=True)
    np.testing.assert_allclose(x, np.diag([0.5, -0.25, 0.0]), atol=1e-15)
    assert rank == 2


def test_hermitian_accepts_rounding_level_asymmetry():
    rng = np.random.default_rng(5)
    b = rng.standard_normal((40, 30))
    g = b.T @ b
    g[0, 1] *= 1 + 4 * np.finfo(float).eps  # the asymmetry rounding leaves
    lowrank.pinv(g, hermitian=True)


def test_result_unpacks_like_a_tuple():
    result = lowrank.pinv(np.eye(3), return_rank=True)
    assert isinstance(result, lowrank.PinvResult)
    x, rank = result
    assert result.X is x
    assert rank == result.rank == 3


# --- bad input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.nan, "1 NaN entry"),
        (np.inf, "1 infinite entry"),
        (-np.inf, "1 infinite entry"),
    ],
)
def test_non_finite_input_raises(bad, message):
    a = np.ones((3, 2))
    a[1, 1] = bad
    with pytest.raises(ValueError, match=message):
        lowrank.pinv(a)
    with pytest.raises(ValueError, match=message):
        lowrank.pinv(a, hermitian=False, method="svd")


def test_non_finite_counts_are_reported():
    a = np.ones((2, 3, 3))
    a[0, 0, 0] = np.nan
    a[1, 1, 1] = np.nan
    a[1, 2, 2] = np.inf
    with pytest.raises(ValueError, match="2 NaN and 1 infinite entries"):
        lowrank.pinv(a)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_with_check_finite_false_raises_not_hangs(bad):
    # gesdd in some OpenBLAS builds (this machine's included) loops forever on
    # Inf; the unchecked path must still keep such input away from LAPACK.
    a = np.ones((4, 3))
    a[0, 0] = bad
    with pytest.raises(ValueError, match="finite"):
        lowrank.pinv(a, check_finite=False)
    with pytest.raises(ValueError, match="finite"):
        lowrank.pinv(np.stack([a, a]).astype(np.complex64), check_finite=False)


@pytest.mark.parametrize("a", [np.ones(3), np.float64(2.0), [1.0, 2.0]])
def test_fewer_than_two_dimensions_raises(a):
    with pytest.raises(ValueError, match="at least two-dimensional"):
        lowrank.pinv(a)


@pytest.mark.parametrize("dtype", [np.float16, np.longdouble, np.clongdouble])
def test_unsupported_float_dtypes_raise(dtype):
    if np.dtype(dtype) in (np.dtype(np.float64), np.dtype(np.complex128)):
        pytest.skip("longdouble is float64 on this platform")
    with pytest.raises(TypeError, match="not supported"):
        lowrank.pinv(np.eye(3, dtype=dtype))


@pytest.mark.parametrize(
    "a", [np.array([["a", "b"], ["c", "d"]]), np.array([[None, 1]])]
)
def test_non_numeric_raises(a):
    with pytest.raises(TypeError, match="must be an array of numbers"):
        lowrank.pinv(a)


def test_sparse_and_masked_raise():
    with pytest.raises(TypeError, match="sparse"):
        lowrank.pinv(scipy.sparse.eye(3, format="csr"))
    with pytest.raises(TypeError, match="masked"):
        lowrank.pinv(np.ma.masked_array(np.eye(3), mask=np.eye(3)))


def test_unknown_method_lists_valid_ones():
    with pytest.raises(ValueError, match=r"`method` must be one of 'svd', .*got 'lu'"):
        lowrank.pinv(np.eye(3), method="lu")
    with pytest.raises(ValueError, match="must be one of"):
        lowrank.pinv(np.eye(3), method=None)


@pytest.mark.parametrize("name", ["atol", "rtol"])
def test_negative_tolerance_raises(name):
    with pytest.raises(ValueError, match=f"`{name}` must be non-negative, got -0.1"):
        lowrank.pinv(np.eye(3), **{name: -0.1})
    with pytest.raises(ValueError, match=f"`{name}` must be non-negative"):
        lowrank.pinv(np.ones((2, 3, 3)), **{name: [0.1, -1.0]})
    with pytest.raises(ValueError, match=f"`{name}` must not be NaN"):
        lowrank.pinv(np.eye(3), **{name: np.nan})


def test_tolerance_that_does_not_broadcast_raises():
    with pytest.raises(
        ValueError, match=r"`rtol` with shape \(3,\) does not broadcast"
    ):
        lowrank.pinv(np.ones((2, 3, 3)), rtol=[0.1, 0.2, 0.3])


def test_non_hermitian_raises():
    a = np.array([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="not Hermitian"):
        lowrank.pinv(a, hermitian=True)
    # complex symmetric is not Hermitian
    with pytest.raises(ValueError, match="not Hermitian"):
        lowrank.pinv(np.array([[1.0, 1j], [1j, 1.0]]), hermitian=True)
    with pytest.raises(ValueError, match="must be square"):
        lowrank.pinv(np.ones((3, 2)), hermitian=True)


@given(st.integers(1, 6), st.sampled_from(ALL_DTYPES))
def test_nan_never_silently_returned(n, dtype):
    a = np.full((n, n), np.nan, dtype=dtype)
    with pytest.raises(ValueError, match="NaN"):
        lowrank.pinv(a)


# --- damping and the auto rule ---------------------------------------------------


@pytest.mark.parametrize("method", sorted(DAMPED_METHODS))
@pytest.mark.parametrize("shape", [(40, 6), (6, 40), (7, 7)])
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_damped_inverse_matches_the_normal_equations(method, shape, dtype):
    rng = np.random.default_rng(11)
    a = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    a = a.astype(dtype)
    d = 0.7
    a64 = a.astype(np.complex128)
    n = shape[1]
    expected = np.linalg.solve(a64.conj().T @ a64 + d**2 * np.eye(n), a64.conj().T)
    x = lowrank.pinv(a, method=method, damp=d)
    assert x.dtype == a.dtype
    err = np.linalg.norm(x - expected) / np.linalg.norm(expected)
    assert err <= 100 * max(shape) * eps(dtype)


def test_damping_is_stable_where_the_normal_equations_are_not():
    # cond(A) = 1e12: A^T A + d^2 I is fine to write down but the filter
    # factors are what keep small singular values from polluting the result.
    rng = np.random.default_rng(12)
    u = np.linalg.qr(rng.standard_normal((60, 8)))[0]
    v = np.linalg.qr(rng.standard_normal((8, 8)))[0]
    s = np.logspace(0, -12, 8)
    a = (u * s) @ v.T
    d = 1e-3
    expected = (v * (s / (s**2 + d**2))) @ u.T
    for method in ("svd", "cholqr"):
        x = lowrank.pinv(a, method=method, damp=d)
        assert np.linalg.norm(x - expected) / np.linalg.norm(expected) < 1e-10


def test_damp_to_zero_gives_the_pseudo_inverse():
    rng = np.random.default_rng(13)
    a = rng.standard_normal((9, 5)) @ np.diag([1, 1, 1, 1e-2, 0])
    x0 = lowrank.pinv(a)
    for d in (1e-4, 1e-6, 1e-8):
        x = lowrank.pinv(a, damp=d)
        assert np.linalg.norm(x - x0) / np.linalg.norm(x0) < 1e5 * d**2


def test_damp_broadcasts_over_the_stack():
    a = np.broadcast_to(np.diag([2.0, 1.0]), (3, 2, 2))
    x = lowrank.pinv(a, damp=[0.0, 1.0, 2.0])
    np.testing.assert_allclose(x[0], np.diag([0.5, 1.0]))
    np.testing.assert_allclose(x[1], np.diag([2 / 5, 1 / 2]))
    np.testing.assert_allclose(x[2], np.diag([2 / 8, 1 / 5]))
    x = lowrank.pinv(np.diag([2.0, -1.0]), damp=1.0, hermitian=True)
    np.testing.assert_allclose(x, np.diag([2 / 5, -1 / 2]))


def test_damp_refused_by_methods_without_it():
    with pytest.raises(ValueError, match="`damp` is not supported by method='qr'"):
        lowrank.pinv(np.eye(3), method="qr", damp=0.1)
    with pytest.raises(ValueError, match="`damp` is not supported by method='newton'"):
        lowrank.pinv(np.eye(3), method="newton", damp=0.1)


def test_tol_and_maxiter_only_for_iterative_methods():
    with pytest.raises(ValueError, match="apply to the iterative methods"):
        lowrank.pinv(np.eye(3), tol=1e-8)
    with pytest.raises(ValueError, match="apply to the iterative methods"):
        lowrank.pinv(np.eye(3), method="svd", maxiter=5)
    with pytest.raises(ValueError, match="`maxiter` must be a positive integer"):
        lowrank.pinv(np.eye(3), method="newton", maxiter=0)
    x = lowrank.pinv(np.diag([2.0, 4.0]), method="newton", tol=1e-12, maxiter=500)
    np.testing.assert_allclose(x, np.diag([0.5, 0.25]), rtol=1e-12)


def test_newton_not_converging_warns():
    a = np.random.default_rng(15).standard_normal((30, 10))
    with pytest.warns(lowrank.exceptions.ConvergenceWarning):
        lowrank.pinv(a, method="newton", maxiter=3)


def test_bad_damp():
    with pytest.raises(ValueError, match="`damp` must be non-negative, got -1"):
        lowrank.pinv(np.eye(2), damp=-1.0)
    with pytest.raises(ValueError, match="`damp` must be finite"):
        lowrank.pinv(np.eye(2), damp=np.inf)
    with pytest.raises(
        ValueError, match=r"`damp` with shape \(2,\) does not broadcast"
    ):
        lowrank.pinv(np.ones((3, 2, 2)), damp=[1.0, 2.0])


def test_auto_rule():
    assert lowrank.choose_pinv_method((100000, 100)) == "cholqr"
    assert lowrank.choose_pinv_method((200, 100000)) == "cholqr"
    assert lowrank.choose_pinv_method((1000, 1000)) == "svd"
    assert lowrank.choose_pinv_method((200, 20)) == "svd"  # too small to pay
    assert lowrank.choose_pinv_method((5, 100000, 10)) == "svd"  # stacks


@pytest.mark.parametrize("cond", [1.0, 1e3, 1e8, 1e12, 1e15])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_cholqr_route_on_big_tall_matrices(cond, dtype):
    # Large enough for "auto" to take the Cholesky-QR route, across the whole
    # fallback chain (CholeskyQR2, shifted CholeskyQR3, Householder).
    rng = np.random.default_rng(14)
    complex_ = np.dtype(dtype).kind == "c"
    u = haar(rng, 2000, 30, complex_)
    v = haar(rng, 30, 30, complex_)
    a = ((u * np.logspace(0, -np.log10(cond), 30)) @ v.conj().T).astype(dtype)
    assert lowrank.choose_pinv_method(a.shape) == "cholqr"
    x, rank = lowrank.pinv(a, return_rank=True)
    assert_moore_penrose(a, x, rank, "cholqr")
    x_t, rank_t = lowrank.pinv(a.conj().T, return_rank=True)
    assert rank_t == rank
    assert_moore_penrose(a.conj().T, x_t, rank_t, "cholqr")
    x_svd, rank_svd = lowrank.pinv(a, method="svd", return_rank=True)
    if rank_is_well_defined(a):
        assert rank == rank_svd
        assert_close_pinv(x, x_svd, a, rank)


@pytest.mark.parametrize("cond", [1e3, 1e10])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32])
@pytest.mark.parametrize("wide", [False, True])
def test_auto_on_large_tall_matrices_meets_moore_penrose(cond, dtype, wide):
    # Large enough for "auto" to take the sketch-preconditioned CholeskyQR.
    rng = np.random.default_rng(11)
    complex_ = np.dtype(dtype).kind == "c"
    if np.finfo(dtype).eps > 1e-10:
        cond = min(cond, 1e2)  # the default rtol is 20000 eps = 2.4e-3
    s = np.logspace(0, -np.log10(cond), 30)
    a = (haar(rng, 20000, 30, complex_) * s) @ haar(rng, 30, 30, complex_).conj().T
    a = a.astype(dtype)
    if wide:
        a = a.conj().T
    x, rank = lowrank.pinv(a, return_rank=True)
    assert rank == 30
    assert_moore_penrose(a, x, rank, "cholqr")
    reference = lowrank.pinv(a, method="svd")
    tolerance = 100 * 30 * eps(dtype) * cond
    assert np.linalg.norm(x - reference) <= tolerance * np.linalg.norm(reference)


# --- stacks of small matrices: the batched routes of "qr" and "cholqr" -------


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize(("m", "n"), [(3, 2), (2, 3), (6, 4), (32, 32), (40, 3)])
@pytest.mark.parametrize("method", ["qr", "cholqr"])
def test_batched_stack_equals_per_matrix_results(method, m, n, dtype):
    rng = np.random.default_rng(m + 7 * n)
    k = min(m, n)
    a = np.stack(
        [
            build(rng, m, n, np.logspace(0, -2, i % (k + 1)), dtype)
            for i in range(2 * k + 3)
        ]
    )
    assert batched(a.shape)
    damp = 0.1 if method == "cholqr" else 0.0
    x, rank = lowrank.pinv(a, method=method, damp=damp, return_rank=True)
    assert x.dtype == a.dtype
    for i in range(a.shape[0]):
        x_i, rank_i = lowrank.pinv(a[i], method=method, damp=damp, return_rank=True)
        assert rank[i] == rank_i
        if damp:
            np.testing.assert_allclose(x[i], x_i, atol=100 * m * eps(dtype))
        else:
            assert_close_pinv(x[i], x_i, a[i], rank_i)
