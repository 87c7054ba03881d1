"""Tests of the block LSQR / LSMR solvers in lowrank.linalg._lstsq._krylov."""

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from lowrank.linalg._lstsq._krylov import Stop, block_lsmr, block_lsqr, converged_codes
from tests.helpers import build, eps, random_matrix
from tests.strategies import haar

SOLVERS = {"lsqr": block_lsqr, "lsmr": block_lsmr}
TIGHT = {"atol": 1e-12, "btol": 1e-12}


def operators(a):
    """matmat and rmatmat of a dense matrix (BLAS products on the block)."""
    ah = a.conj().T
    return (lambda v: a @ v), (lambda u: ah @ u)


def columnwise_operators(a):
    """matmat and rmatmat applied one column at a time.

    A column's product then does not depend on the other columns, so the
    solver's results can be compared bitwise with solving each column alone.
    """
    ah = a.conj().T

    def apply(m, block):
        out = np.empty((m.shape[0], block.shape[1]), dtype=np.result_type(m, block))
        for j in range(block.shape[1]):
            out[:, j] = m @ np.ascontiguousarray(block[:, j])
        return out

    return (lambda v: apply(a, v)), (lambda u: apply(ah, u))


def numpy_fused(a):
    """The fused Golub–Kahan step (W, A^H W) with W = A V - U alpha."""
    ah = a.conj().T

    def fused(v, u, alpha):
        w = a @ v - u * alpha
        return w, ah @ w

    return fused


def well_conditioned(rng, m, n, dtype, cond=10.0):
    """An m x n matrix with singular values spread evenly in log from 1 to 1/cond."""
    return build(rng, m, n, np.logspace(0, -np.log10(cond), min(m, n)), dtype)


def rhs(rng, a, k, consistent):
    """k right-hand sides: in the range of `a` (consistent) or generic."""
    m, n = a.shape
    if consistent:
        return a @ random_matrix((n, k), a.dtype, rng)
    return random_matrix((m, k), a.dtype, rng)


def solve(method, a, b, **options):
    matmat, rmatmat = operators(a)
    return SOLVERS[method](matmat, rmatmat, b, **options)


def relative_error(x, x_ref):
    return np.linalg.norm(x - x_ref) / np.linalg.norm(x_ref)


def scipy_solve(method, a, b, damp, maxiter, conlim):
    """scipy's lsqr/lsmr on one column: (x, istop, itn, normr)."""
    if method == "lsqr":
        out = scipy.sparse.linalg.lsqr(
            a, b, damp=damp, iter_lim=maxiter, conlim=conlim, **TIGHT
        )
        return out[0], out[1], out[2], out[4]  # r2norm: the augmented residual
    out = scipy.sparse.linalg.lsmr(
        a, b, damp=damp, maxiter=maxiter, conlim=conlim, **TIGHT
    )
    return out[0], out[1], out[2], out[3]


# --- Agreement with scipy and numpy -------------------------------------------


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
@pytest.mark.parametrize("shape", [(60, 20), (20, 60)], ids=["tall", "wide"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("consistent", [True, False], ids=["consistent", "ls"])
@pytest.mark.parametrize("damp", [0.0, 0.5, "per-column"])
def test_matches_scipy_column_by_column(method, shape, dtype, consistent, damp):
    rng = np.random.default_rng([*shape, consistent])
    a = well_conditioned(rng, *shape, dtype, cond=10.0)
    b = rhs(rng, a, 3, consistent)
    damps = np.array([0.0, 0.3, 1.0]) if damp == "per-column" else np.full(3, damp)
    res = solve(method, a, b, damp=damps, maxiter=200, conlim=1e8, **TIGHT)
    assert res.converged.all()
    for j in range(3):
        x_ref, istop, itn, normr = scipy_solve(method, a, b[:, j], damps[j], 200, 1e8)
        assert istop in (1, 2)
        assert relative_error(res.x[:, j], x_ref) <= 1e-10
        assert abs(int(res.n_iter[j]) - itn) <= 2, (res.n_iter[j], itn)
        # A residual that is not at rounding level is estimated accurately.
        if normr > 1e-6 * np.linalg.norm(b[:, j]):
            assert res.normr[j] == pytest.approx(normr, rel=1e-8)


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
@pytest.mark.parametrize("shape", [(80, 25), (25, 80), (40, 40)])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_matches_numpy_lstsq(method, shape, dtype):
    # From x0 = 0 the iterates stay in range(A^H): the minimum-norm solution.
    rng = np.random.default_rng(sum(shape))
    a = well_conditioned(rng, *shape, dtype)
    b = rhs(rng, a, 4, consistent=False)
    res = solve(method, a, b, maxiter=200, **TIGHT)
    x_ref = np.linalg.lstsq(a, b, rcond=None)[0]
    assert res.converged.all()
    for j in range(4):
        assert relative_error(res.x[:, j], x_ref[:, j]) <= 1e-10


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
def test_damped_solution_is_the_augmented_least_squares_solution(method):
    rng = np.random.default_rng(5)
    a = random_matrix((30, 12), np.complex128, rng)
    b = rhs(rng, a, 3, consistent=False)
    damp = np.array([0.0, 0.1, 3.0])
    res = solve(method, a, b, damp=damp, maxiter=200, **TIGHT)
    for j in range(3):
        aug = np.vstack([a, damp[j] * np.eye(12)])
        x_ref = np.linalg.lstsq(aug, np.r_[b[:, j], np.zeros(12)], rcond=None)[0]
        assert relative_error(res.x[:, j], x_ref) <= 1e-10


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_single_precision_stays_single(method, dtype):
    rng = np.random.default_rng(7)
    a = well_conditioned(rng, 60, 15, dtype)
    b = rhs(rng, a, 3, consistent=False)
    tol = 10 * eps(dtype)
    res = solve(method, a, b, atol=tol, btol=tol, maxiter=100, damp=0.1)
    real = np.finfo(dtype).dtype
    assert res.x.dtype == dtype
    assert res.normr.dtype == res.normar.dtype == res.norma.dtype == real
    assert res.converged.all()
    aug = np.vstack([a, 0.1 * np.eye(15)]).astype(np.complex128)
    x_ref = np.linalg.lstsq(aug, np.r_[b, np.zeros((15, 3))], rcond=None)[0]
    assert relative_error(res.x, x_ref) <= 1000 * eps(dtype)


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
def test_operator_output_is_cast_to_the_dtype_of_b(method):
    rng = np.random.default_rng(8)
    a = well_conditioned(rng, 30, 10, np.float64)
    b = rhs(rng, a, 2, consistent=False).astype(np.float32)
    res = solve(method, a, b, atol=1e-5, btol=1e-5, maxiter=50)  # a is float64
    assert res.x.dtype == np.float32
    assert res.normr.dtype == np.float32
    assert res.converged.all()


# --- Freezing and compression of the active block ------------------------------


def staggered_problem(rng, dtype=np.float64):
    """Columns that stop at very different iterations (and two at once).

    A = U diag(s) V^H with s from 1 to 1/10 and row 7 of U zero, so that
    A^H e_7 = 0 exactly and b = u_1 + u_2 is solved in two iterations.
    """
    m, n = 50, 20
    complex_ = np.dtype(dtype).kind == "c"
    u = np.insert(haar(rng, m - 1, n, complex_), 7, 0, axis=0)
    a = ((u * np.logspace(0, -1, n)) @ haar(rng, n, n, complex_).conj().T).astype(dtype)
    b = random_matrix((m, 6), dtype, rng)
    b[:, 1] = u[:, 0] + u[:, 1]
    b[:, 2] = 0
    b[:, 3] = 0
    b[7, 3] = 1  # A^H b = 0
    b[:, 4] *= 1e-3  # scaling is irrelevant for the tests
    return a, b


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_block_equals_each_column_alone_bitwise(method, dtype):
    rng = np.random.default_rng(11)
    a, b = staggered_problem(rng, dtype)
    matmat, rmatmat = columnwise_operators(a)
    damp = np.array([0.0, 0.2, 0.0, 0.0, 0.0, 1e-3])
    options = {"maxiter": 200, "conlim": 1e12, **TIGHT}
    res = SOLVERS[method](matmat, rmatmat, b, damp=damp, **options)
    assert len(set(res.n_iter.tolist())) >= 3  # columns really were dropped
    for j in range(b.shape[1]):
        alone = SOLVERS[method](
            matmat, rmatmat, b[:, [j]], damp=damp[j : j + 1], **options
        )
        for got, expected in zip(res, alone, strict=True):
            np.testing.assert_array_equal(got[..., j], expected[..., 0])


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
def test_block_equals_each_column_alone_with_blas_products(method):
    # gemm on the block and gemv on one column round differently, which
    # perturbs the trajectory: x agrees to the accuracy the tolerances ask for.
    rng = np.random.default_rng(12)
    a, b = staggered_problem(rng, np.complex128)
    res = solve(method, a, b, maxiter=200, **TIGHT)
    for j in range(b.shape[1]):
        alone = solve(method, a, b[:, [j]], maxiter=200, **TIGHT)
        assert abs(int(res.n_iter[j]) - int(alone.n_iter[0])) <= 1
        assert res.istop[j] == alone.istop[0]
        np.testing.assert_allclose(res.x[:, j], alone.x[:, 0], rtol=1e-10, atol=0)


@settings(max_examples=25)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    k=st.integers(1, 5),
    method=st.sampled_from(["lsqr", "lsmr"]),
    maxiter=st.integers(0, 30),
    complex_=st.booleans(),
)
def test_block_equals_columns_alone_property(seed, shape, k, method, maxiter, complex_):
    rng = np.random.default_rng(seed)
    dtype = np.complex128 if complex_ else np.float64
    a = random_matrix(shape, dtype, rng)
    b = random_matrix((shape[0], k), dtype, rng) * np.logspace(0, 3, k)
    b[:, rng.random(k) < 0.2] = 0
    damp = rng.choice([0.0, 0.5], size=k)
    matmat, rmatmat = columnwise_operators(a)
    options = {"maxiter": maxiter, "atol": 1e-8, "btol": 1e-8}
    res = SOLVERS[method](matmat, rmatmat, b, damp=damp, **options)
    assert np.all(res.n_iter <= maxiter)
    for j in range(k):
        alone = SOLVERS[method](
            matmat, rmatmat, b[:, [j]], damp=damp[j : j + 1], **options
        )
        for got, expected in zip(res, alone, strict=True):
            np.testing.assert_array_equal(got[..., j], expected[..., 0])


# --- The fused step -------------------------------------------------------------


class CountingOperators:
    """Dense operators that count their calls."""

    def __init__(self, a):
        self.a, self.ah = a, a.conj().T
        self.calls = {"matmat": 0, "rmatmat": 0, "fused": 0}

    def matmat(self, v):
        self.calls["matmat"] += 1
        return self.a @ v

    def rmatmat(self, u):
        self.calls["rmatmat"] += 1
        return self.ah @ u

    def fused(self, v, u, alpha):
        self.calls["fused"] += 1
        w = self.a @ v - u * alpha
        return w, self.ah @ w


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
def test_fused_path_equals_unfused_path(method, dtype):
    rng = np.random.default_rng(13)
    a, b = staggered_problem(rng, dtype)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    options = {"maxiter": 100, "atol": tol, "btol": tol, "damp": 0.01}
    plain = CountingOperators(a)
    res = SOLVERS[method](plain.matmat, plain.rmatmat, b, **options)
    fused = CountingOperators(a)
    res_fused = SOLVERS[method](
        fused.matmat, fused.rmatmat, b, fused=fused.fused, **options
    )
    # The same arithmetic: bitwise equal.
    for got, expected in zip(res_fused, res, strict=True):
        np.testing.assert_array_equal(got, expected)
    n = int(res.n_iter.max())
    assert plain.calls == {"matmat": n, "rmatmat": n + 1, "fused": 0}
    assert fused.calls == {"matmat": 0, "rmatmat": 1, "fused": n}


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
def test_fused_kernel_with_different_rounding_agrees_to_rounding(method):
    rng = np.random.default_rng(14)
    a = well_conditioned(rng, 70, 20, np.complex128)
    b = rhs(rng, a, 3, consistent=False)
    a_f = np.asfortranarray(a)

    def fused(v, u, alpha):
        # Another evaluation order: A^H W = A^H (A V) - (A^H U) alpha.
        av = a_f @ v
        return av - u * alpha, a_f.conj().T @ av - (a_f.conj().T @ u) * alpha

    matmat, rmatmat = operators(a)
    res = SOLVERS[method](matmat, rmatmat, b, maxiter=100, **TIGHT)
    res_fused = SOLVERS[method](matmat, rmatmat, b, maxiter=100, fused=fused, **TIGHT)
    # Both stop at the tolerance 1e-12: the x differ by about cond(A) times that.
    np.testing.assert_allclose(res_fused.x, res.x, rtol=1e-10, atol=0)
    assert np.all(np.abs(res_fused.n_iter - res.n_iter) <= 1)


# --- Stopping and reporting ------------------------------------------------------


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
def test_maxiter_reached_is_not_converged(method):
    rng = np.random.default_rng(15)
    a = well_conditioned(rng, 40, 30, np.float64, cond=1e3)
    b = rhs(rng, a, 2, consistent=False)
    res = solve(method, a, b, maxiter=7, **TIGHT)
    assert res.n_iter.tolist() == [7, 7]
    assert not res.converged.any()
    assert res.istop.tolist() == [Stop.MAXITER] * 2
    # The iterate after 7 steps of the same recurrence.
    longer = solve(method, a, b, maxiter=8, **TIGHT)
    assert not np.array_equal(res.x, longer.x)


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
def test_maxiter_zero_returns_zero(method):
    rng = np.random.default_rng(16)
    a = random_matrix((10, 4), np.float64, rng)
    b = random_matrix((10, 2), np.float64, rng)
    res = solve(method, a, b, maxiter=0, **TIGHT)
    assert not res.x.any()
    assert res.n_iter.tolist() == [0, 0]
    assert res.istop.tolist() == [Stop.MAXITER] * 2
    np.testing.assert_allclose(res.normr, np.linalg.norm(b, axis=0))


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
def test_trivial_columns(method):
    rng = np.random.default_rng(17)
    a, b = staggered_problem(rng)
    res = solve(method, a, b, maxiter=100, **TIGHT)
    for j in (2, 3):  # b = 0 and A^H b = 0
        assert not res.x[:, j].any()
        assert res.converged[j]
        assert res.n_iter[j] == 0
        assert res.istop[j] == Stop.TRIVIAL
        assert res.normar[j] == 0
    assert res.normr[2] == 0
    assert res.normr[3] == 1  # ||b||: nothing of b is reachable
    assert res.converged.all()


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
@pytest.mark.parametrize(("m", "n", "k"), [(5, 3, 0), (0, 3, 2), (4, 0, 2), (0, 0, 0)])
def test_empty_shapes(method, m, n, k):
    a = np.ones((m, n))
    res = solve(method, a, np.ones((m, k)), maxiter=10, **TIGHT)
    assert res.x.shape == (n, k)
    assert not res.x.any()
    for field in res[1:]:
        assert field.shape == (k,)
    assert res.converged.all()
    assert np.all(res.istop == Stop.TRIVIAL)


def test_converged_codes_match_the_converged_field():
    assert converged_codes() == (0, 1, 2)
    rng = np.random.default_rng(24)
    a, b = staggered_problem(rng)
    res = solve("lsqr", a, b, maxiter=5, **TIGHT)
    assert len(set(res.istop.tolist())) >= 2
    np.testing.assert_array_equal(res.converged, np.isin(res.istop, converged_codes()))


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unreachable_tolerance_stops_at_rounding_level(method, dtype):
    rng = np.random.default_rng(18)
    a = well_conditioned(rng, 80, 20, dtype)
    b = rhs(rng, a, 3, consistent=False)
    b[:, 1] = rhs(rng, a, 1, consistent=True)[:, 0]
    res = solve(method, a, b, atol=0.0, btol=0.0, maxiter=500)
    assert np.all(res.istop == Stop.ROUNDING)
    assert not res.converged.any()
    assert np.all(res.n_iter < 60)  # well before maxiter
    # and the answer is as good as the precision allows
    x_ref = np.linalg.lstsq(a.astype(np.float64), b.astype(np.float64), rcond=None)[0]
    assert relative_error(res.x, x_ref) <= 100 * eps(dtype)


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
def test_conlim_stops_not_converged(method):
    rng = np.random.default_rng(19)
    a = well_conditioned(rng, 60, 30, np.float64, cond=1e10)
    b = rhs(rng, a, 2, consistent=False)
    res = solve(method, a, b, maxiter=500, conlim=1e4, **TIGHT)
    assert np.all(res.istop == Stop.CONDITION)
    assert not res.converged.any()
    free = solve(method, a, b, maxiter=500, **TIGHT)
    assert np.all(free.n_iter > res.n_iter)
    assert not np.any(free.istop == Stop.CONDITION)


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
def test_condition_estimate_compared_with_scipy(method):
    # LSQR's estimate is the paper's (and scipy's); LSMR's leaves out the
    # starting value rhobar_0 = 1 that scipy includes, so may trigger later.
    rng = np.random.default_rng(20)
    a = well_conditioned(rng, 60, 30, np.float64, cond=1e8)
    b = rhs(rng, a, 1, consistent=False)
    res = solve(method, a, b, maxiter=500, conlim=1e3, **TIGHT)
    _, istop, itn, _ = scipy_solve(method, a, b[:, 0], 0.0, 500, 1e3)
    assert istop == 3
    assert res.istop[0] == Stop.CONDITION
    if method == "lsqr":
        assert abs(int(res.n_iter[0]) - itn) <= 1
    else:
        assert res.n_iter[0] >= itn - 1


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
def test_breakdown_keeps_the_last_finite_iterate(method):
    rng = np.random.default_rng(21)
    a = well_conditioned(rng, 40, 15, np.float64)
    b = rhs(rng, a, 2, consistent=False)
    matmat, rmatmat = operators(a)
    calls = []

    def failing_matmat(v):
        calls.append(v.shape[1])
        out = matmat(v)
        if len(calls) == 4:
            out[0, 1] = np.nan  # column 1 breaks down in iteration 4
        return out

    res = SOLVERS[method](failing_matmat, rmatmat, b, maxiter=100, **TIGHT)
    three = solve(method, a, b, maxiter=3, **TIGHT)
    assert res.istop[1] == Stop.BREAKDOWN
    assert not res.converged[1]
    assert res.n_iter[1] == 3
    np.testing.assert_allclose(res.x[:, 1], three.x[:, 1], rtol=1e-14)
    assert res.converged[0]
    assert calls[4:] == [1] * (len(calls) - 4)  # column 1 dropped


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
def test_breakdown_at_the_start(method):
    a = np.eye(3)
    b = np.ones((3, 2))

    def rmatmat(u):
        out = a.T @ u
        if u.shape[1] == 2:  # the first call: A^H b
            out[:, 0] = np.inf
        return out

    res = SOLVERS[method](lambda v: a @ v, rmatmat, b, maxiter=10, **TIGHT)
    assert res.istop.tolist() == [Stop.BREAKDOWN, Stop.RESIDUAL]
    assert res.converged.tolist() == [False, True]
    assert res.n_iter[0] == 0
    assert not res.x[:, 0].any()
    np.testing.assert_allclose(res.x[:, 1], 1.0)


# --- Norm estimates --------------------------------------------------------------


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
@pytest.mark.parametrize("damp", [0.0, 0.7])
@pytest.mark.parametrize("maxiter", [1, 5, 12, 200])
def test_norm_estimates_match_true_values(method, damp, maxiter):
    rng = np.random.default_rng(22)
    a = well_conditioned(rng, 50, 25, np.complex128, cond=1e3)
    b = rhs(rng, a, 3, consistent=False)
    res = solve(method, a, b, damp=damp, maxiter=maxiter, **TIGHT)
    if maxiter <= 5:
        assert not res.converged.any()
    if maxiter == 200:
        assert res.converged.all()
    r = b - a @ res.x
    xnorm = np.linalg.norm(res.x, axis=0)
    normr = np.sqrt(np.linalg.norm(r, axis=0) ** 2 + damp**2 * xnorm**2)
    normar = np.linalg.norm(a.conj().T @ r - damp**2 * res.x, axis=0)
    norm_aug = np.sqrt(np.linalg.norm(a) ** 2 + a.shape[1] * damp**2)
    # Down to the rounding level of evaluating the true values themselves.
    floor = 10 * eps(a.dtype) * norm_aug * xnorm
    assert np.all(np.abs(res.normr - normr) <= 1e-10 * normr + floor)
    assert np.all(np.abs(res.normar - normar) <= 1e-8 * normar + norm_aug * floor)
    # ||B_k||_F <= ||A||_F only while the Lanczos vectors stay orthogonal:
    # once Ritz values converge, B_k gains copies of them and the estimate
    # can exceed ||A||_F (here by 3x after 50 iterations).
    if maxiter <= 5:
        assert np.all(res.norma <= norm_aug * (1 + 1e-12))
    assert np.all(res.norma > 0)


# --- The caller's use: right preconditioning by R from a QR of A ------------------


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_right_preconditioned_by_qr_converges_at_once(method, dtype):
    rng = np.random.default_rng(23)
    a = well_conditioned(rng, 200, 30, dtype, cond=1e6)
    b = rhs(rng, a, 4, consistent=False)
    r = np.linalg.qr(a, mode="r")

    def matmat(v):
        return a @ scipy.linalg.solve_triangular(r, v)

    def rmatmat(u):
        return scipy.linalg.solve_triangular(r, a.conj().T @ u, trans="C")

    res = SOLVERS[method](matmat, rmatmat, b, maxiter=50, **TIGHT)
    assert res.converged.all()
    assert np.all(res.n_iter <= 5), res.n_iter
    x = scipy.linalg.solve_triangular(r, res.x)
    x_ref = np.linalg.lstsq(a, b, rcond=None)[0]
    assert relative_error(x, x_ref) <= 1e-9
