"""Tests of lowrank.lstsq: the property suite, parity with numpy/scipy, methods,
stacks, damping, sparse/operator input, preconditioners and bad input."""

import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg
from hypothesis import assume, given
from hypothesis import strategies as st

import lowrank
from lowrank.exceptions import ConvergenceWarning, FallbackWarning
from lowrank.linalg._lstsq._api import LSTSQ_METHODS
from tests.helpers import (
    PINV_RANK_GAP,
    build,
    eps,
    exact_singular_values,
    numerical_rank,
    random_matrix,
    rank_is_well_defined,
)
from tests.strategies import matrices

#: Methods that determine the rank and aim at a direct solver's accuracy.
RANKED_METHODS = ["svd", "qr", "cholqr", "sketch"]
ITERATIVE = ["lsqr", "lsmr"]
DTYPES = [np.float32, np.float64, np.complex64, np.complex128]

#: Documented accuracy constant C of each rank-determining method:
#:   ||x - A^+ b|| <= C p eps kappa ||b|| / s_r   and
#:   ||U_r^H (b - A x)|| <= C p eps kappa ||b||   (A^H r = 0 on the range)
LSTSQ_ACCURACY = {"svd": 10.0, "qr": 10.0, "cholqr": 10.0, "sketch": 10.0}


def test_every_ranked_method_declares_its_accuracy():
    assert set(LSTSQ_METHODS) - set(ITERATIVE) == set(LSTSQ_ACCURACY)


def _wide(dtype):
    return np.complex128 if np.dtype(dtype).kind == "c" else np.float64


def reference(a, b):
    """A^+ b in double precision with lowrank's default cutoff for a's dtype."""
    a64 = np.asarray(a, dtype=_wide(a.dtype))
    u, s, vh = np.linalg.svd(a64, full_matrices=False)
    cutoff = max(a.shape) * eps(a.dtype) * (s[0] if s.size else 0.0)
    keep = s > cutoff
    u, s, vh = u[:, keep], s[keep], vh[keep]
    return vh.conj().T @ ((u.conj().T @ b) / s[:, None]), u, s


def check_solution(a, b, x, rank, constant):
    """One matrix, b (M, K): rank, closeness to A^+ b and A^H r = 0 on the range."""
    x_ref, u_r, s_r = reference(a, np.asarray(b, dtype=_wide(a.dtype)))
    assert rank == s_r.size
    p = max(a.shape)
    b_norm = np.linalg.norm(b, axis=0)
    if s_r.size == 0:
        assert not np.any(x)
        return
    kappa = s_r[0] / s_r[-1]
    bound = constant * p * eps(a.dtype) * kappa
    tiny = np.finfo(_wide(a.dtype)).tiny
    err = np.linalg.norm(x - x_ref, axis=0)
    assert np.all(err <= bound * b_norm / s_r[-1] + tiny), (err, bound)
    r = np.asarray(b, dtype=_wide(a.dtype)) - a.astype(_wide(a.dtype)) @ x
    on_range = np.linalg.norm(u_r.conj().T @ r, axis=0)
    assert np.all(on_range <= bound * b_norm + tiny), (on_range, bound * b_norm)


def _draw_rhs(data, a, rng):
    k = data.draw(st.sampled_from([None, 1, 3]), label="k")
    shape = a.shape[:-1] if k is None else (*a.shape[:-1], k)
    return random_matrix(shape, a.dtype, rng) if shape else np.zeros(shape, a.dtype)


@pytest.mark.parametrize("method", RANKED_METHODS)
@given(case=matrices(), data=st.data())
def test_solution_is_pinv_times_b(method, case, data):
    """x = A^+ b, and A^H (A x - b) = 0 on the retained range, to C p eps kappa."""
    a = case.a
    if method == "sketch":
        assume(a.shape[-2] >= a.shape[-1])
    rng = np.random.default_rng(case.seed)
    b = _draw_rhs(data, a, rng)
    a_before, b_before = a.copy(), b.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        res = lowrank.lstsq(a, b, method=method, rng=1)
    np.testing.assert_array_equal(a, a_before)
    np.testing.assert_array_equal(b, b_before)
    vector = b.ndim == a.ndim - 1
    _m, n = a.shape[-2:]
    batch = a.shape[:-2]
    assert res.x.shape == (*batch, n) + (() if vector else (b.shape[-1],))
    assert res.x.dtype == a.dtype
    assert np.shape(res.rank) == batch
    gap = PINV_RANK_GAP.get(method, 10.0)
    for index in np.ndindex(*batch):
        ai = a[index]
        if not rank_is_well_defined(ai, factor=gap):
            continue
        bi = b[index][:, None] if vector else b[index]
        xi = res.x[index][:, None] if vector else res.x[index]
        check_solution(ai, bi, xi, np.asarray(res.rank)[index], LSTSQ_ACCURACY[method])


@given(case=matrices(batch_shapes=((), (3,))), data=st.data())
def test_residuals_and_flags(case, data):
    a = case.a
    b = _draw_rhs(data, a, np.random.default_rng(case.seed))
    res = lowrank.lstsq(a, b)
    r = b - (a @ res.x[..., None])[..., 0] if b.ndim == a.ndim - 1 else b - a @ res.x
    axis = -1 if b.ndim == a.ndim - 1 else -2
    expected = np.sum(np.abs(r.astype(_wide(a.dtype))) ** 2, axis=axis)
    scale = np.sum(np.abs(b.astype(_wide(a.dtype))) ** 2, axis=axis)
    np.testing.assert_allclose(res.residuals, expected, atol=1e-3 * scale.max() + 1e-30)
    assert np.shape(res.residuals) == expected.shape
    assert np.all(np.asarray(res.n_iter) == 0)
    assert np.all(res.converged)


# --- parity with numpy / scipy ----------------------------------------------


def _problem(shape, dtype, rank=None, cond=1e3, seed=0, k=None):
    rng = np.random.default_rng(seed)
    m, n = shape
    r = min(m, n) if rank is None else rank
    a = build(rng, m, n, np.logspace(0, -np.log10(cond), r), dtype)
    b = random_matrix((m,) if k is None else (m, k), dtype, rng)
    return a, b


CASES = {
    "tall": ((40, 7), None),
    "wide": ((6, 30), None),
    "square": ((12, 12), None),
    "rank-deficient": ((30, 10), 4),
    "wide-deficient": ((8, 20), 3),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("method", ["svd", "qr", "cholqr"])
def test_matches_numpy_and_scipy(method, case, dtype):
    shape, rank = CASES[case]
    a, b = _problem(shape, dtype, rank, k=2)
    cond_cut = max(shape) * eps(dtype)
    x_np, _, rank_np, _ = np.linalg.lstsq(a, b, rcond=cond_cut)
    x_sp, _, rank_sp, _ = scipy.linalg.lstsq(a, b, cond=cond_cut, lapack_driver="gelsy")
    res = lowrank.lstsq(a, b, method=method)
    assert res.rank == rank_np == rank_sp
    assert res.x.dtype == a.dtype
    tol = 1e-3 if np.finfo(dtype).bits == 32 else 1e-9
    np.testing.assert_allclose(res.x, x_np, rtol=tol, atol=tol * np.abs(x_np).max())
    np.testing.assert_allclose(res.x, x_sp, rtol=tol, atol=tol * np.abs(x_sp).max())


@pytest.mark.parametrize("dtype", DTYPES)
def test_sketch_matches_numpy_tall(dtype):
    a, b = _problem((3000, 40), dtype, cond=1e3 if np.finfo(dtype).bits == 64 else 1e2)
    x_np = np.linalg.lstsq(a, b, rcond=None)[0]
    res = lowrank.lstsq(a, b, method="sketch", rng=0)
    assert res.rank == 40
    assert res.converged
    assert res.n_iter > 0
    assert res.x.dtype == a.dtype
    tol = 1e-3 if np.finfo(dtype).bits == 32 else 1e-9
    assert np.linalg.norm(res.x - x_np) <= tol * np.linalg.norm(x_np)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", ITERATIVE)
def test_iterative_dense_matches_numpy(method, dtype):
    a, b = _problem((200, 15), dtype, cond=10, k=3)
    x_np = np.linalg.lstsq(a, b, rcond=None)[0]
    tol = 1e-5 if np.finfo(dtype).bits == 32 else 1e-12
    res = lowrank.lstsq(a, b, method=method, tol=tol)
    assert res.rank == -1
    assert np.all(res.converged)
    assert res.x.dtype == a.dtype
    scale = 1e2 if np.finfo(dtype).bits == 32 else 1e3
    assert np.linalg.norm(res.x - x_np) <= scale * tol * np.linalg.norm(x_np)


def test_stack_matches_loop_over_numpy():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 3, 9, 5))
    b = rng.standard_normal((4, 3, 9, 2))
    for method in ["svd", "qr", "cholqr", "sketch", "lsqr", "lsmr"]:
        kwargs = {"tol": 1e-13} if method in ITERATIVE else {}
        res = lowrank.lstsq(a, b, method=method, rng=0, **kwargs)
        assert res.x.shape == (4, 3, 5, 2)
        assert res.residuals.shape == (4, 3, 2)
        assert res.n_iter.shape == res.converged.shape == (4, 3, 2)
        assert np.shape(res.rank) == (4, 3)
        for index in np.ndindex(4, 3):
            x_np, r_np, _, _ = np.linalg.lstsq(a[index], b[index], rcond=None)
            np.testing.assert_allclose(res.x[index], x_np, rtol=1e-9, atol=1e-11)
            np.testing.assert_allclose(res.residuals[index], r_np, rtol=1e-9)


def test_broadcasting_and_vector_rhs():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((5, 8, 3))
    b = rng.standard_normal(8)  # one vector for... not allowed: ndim must be 2
    with pytest.raises(ValueError, match="dimensions"):
        lowrank.lstsq(a, b)
    res = lowrank.lstsq(a, b[None, :])  # (1, M) broadcasts against (5,)
    assert res.x.shape == (5, 3)
    for i in range(5):
        np.testing.assert_allclose(res.x[i], np.linalg.lstsq(a[i], b, rcond=None)[0])
    res = lowrank.lstsq(a[0], rng.standard_normal((2, 8, 4)))  # (M, N) with stack of b
    assert res.x.shape == (2, 3, 4)
    assert res.rank.shape == (2,)


def test_single_results_are_python_scalars():
    a, b = _problem((20, 4), np.float64)
    res = lowrank.lstsq(a, b)
    assert isinstance(res.residuals, float)
    assert isinstance(res.rank, int)
    assert isinstance(res.n_iter, int)
    assert isinstance(res.converged, bool)
    res = lowrank.lstsq(a, b[:, None])
    assert res.residuals.shape == (1,)
    assert res.n_iter.shape == (1,)


def test_agrees_with_pinv_with_tolerances():
    rng = np.random.default_rng(5)
    a = build(rng, 30, 8, [1, 0.5, 1e-2, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12], np.float64)
    b = rng.standard_normal(30)
    for rtol in [1e-3, 1e-7, 1e-11]:
        for method in ["svd", "cholqr", "qr"]:
            res = lowrank.lstsq(a, b, method=method, rtol=rtol)
            x_pinv, rank = lowrank.pinv(a, rtol=rtol, return_rank=True)
            assert res.rank == rank
            if rtol >= 1e-7 and method != "qr":
                # kappa <= 1e6: both agree to about kappa eps. (The COD's
                # truncated problem is not the SVD's: its solution differs by
                # about s_{r+1} / s_r, like gelsy's from gelsd's.)
                np.testing.assert_allclose(res.x, x_pinv @ b, rtol=1e-6)
    res = lowrank.lstsq(a, b, atol=1e-3)
    assert res.rank == 3


def test_empty_inputs():
    for shape in [(0, 3), (4, 0), (0, 0)]:
        a = np.zeros(shape)
        b = np.ones(shape[0])
        res = lowrank.lstsq(a, b)
        assert res.x.shape == (shape[1],)
        assert res.residuals == shape[0]
        assert res.rank == 0
    res = lowrank.lstsq(np.ones((2, 3, 2)), np.ones((2, 3, 0)))
    assert res.x.shape == (2, 2, 0)
    assert res.residuals.shape == (2, 0)


# --- the Cholesky and sketch routes ---------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_cholqr_refines_on_big_tall(dtype):
    cond = 1e3 if np.finfo(dtype).bits == 64 else 30.0
    a, b = _problem((30000, 20), dtype, cond=cond, k=2)
    res = lowrank.lstsq(a, b)  # auto -> cholqr
    assert lowrank.choose_lstsq_method(a.shape) == "cholqr"
    assert np.all(res.n_iter >= 1)
    assert np.all(res.converged)
    x_ref = np.linalg.lstsq(a.astype(_wide(dtype)), b.astype(_wide(dtype)), rcond=None)[
        0
    ]
    err = np.linalg.norm(res.x - x_ref) / np.linalg.norm(x_ref)
    assert err <= 10 * 30000 * eps(dtype) * cond
    r = b - a @ res.x
    backward = np.linalg.norm(a.conj().T @ r) / (
        np.linalg.norm(a, 2) * np.linalg.norm(r)
    )
    assert backward <= 100 * np.sqrt(30000) * eps(dtype)


@pytest.mark.parametrize("cond", [1e10, 1e14])
def test_cholqr_falls_back_when_ill_conditioned(cond):
    a, b = _problem((5000, 30), np.float64, cond=cond)
    res = lowrank.lstsq(a, b, method="cholqr")
    ref = lowrank.lstsq(a, b, method="svd")
    assert res.rank == ref.rank
    assert res.n_iter == 0
    check_solution(a, b[:, None], res.x[:, None], res.rank, 10.0)


def test_cholqr_rank_deficient_and_wide_match_pinv():
    a, b = _problem((5000, 30), np.complex128, rank=12)
    res = lowrank.lstsq(a, b, method="cholqr")
    assert res.rank == 12
    check_solution(a, b[:, None], res.x[:, None], 12, 10.0)
    a, b = _problem((20, 3000), np.float64, rank=15)
    res = lowrank.lstsq(a, b, method="cholqr")
    assert res.rank == 15
    check_solution(a, b[:, None], res.x[:, None], 15, 10.0)


def test_sketch_is_reproducible_and_warns_on_fallback():
    a, b = _problem((4000, 30), np.float64)
    x1 = lowrank.lstsq(a, b, method="sketch", rng=7).x
    x2 = lowrank.lstsq(a, b, method="sketch", rng=np.random.default_rng(7)).x
    np.testing.assert_array_equal(x1, x2)
    deficient, b = _problem((4000, 30), np.float64, rank=10)
    with pytest.warns(FallbackWarning, match="svd") as record:
        res = lowrank.lstsq(deficient, b, method="sketch", rng=0)
    assert record[0].filename == __file__  # points at the caller
    small, b_small = _problem((60, 30), np.float64, rank=10)  # no sketch: M < 16 N
    with pytest.warns(FallbackWarning, match="svd") as record:
        lowrank.lstsq(small, b_small, method="sketch")
    assert record[0].filename == __file__
    assert res.rank == 10
    check_solution(deficient, b[:, None], res.x[:, None], 10, 10.0)


def test_sketch_rejects_wide():
    with pytest.raises(ValueError, match="M >= N"):
        lowrank.lstsq(np.ones((3, 5)), np.ones(3), method="sketch")


# --- damping ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("method", ["svd", "cholqr", "sketch", "lsqr", "lsmr"])
@pytest.mark.parametrize("shape", [(300, 12), (2000, 40)])
def test_damped_solution(method, dtype, shape):
    a, b = _problem(shape, dtype, cond=1e4, k=2)
    d = 0.05
    n = shape[1]
    direct = np.linalg.solve(a.conj().T @ a + d * d * np.eye(n), a.conj().T @ b)
    kwargs = {"tol": 1e-14} if method in ("lsqr", "lsmr", "sketch") else {}
    res = lowrank.lstsq(a, b, method=method, damp=d, rng=0, **kwargs)
    np.testing.assert_allclose(res.x, direct, rtol=1e-7, atol=1e-9)


def test_damp_per_matrix_in_stack():
    rng = np.random.default_rng(6)
    a = rng.standard_normal((3, 10, 4))
    b = rng.standard_normal((3, 10))
    damp = np.array([0.0, 0.5, 2.0])
    res = lowrank.lstsq(a, b, damp=damp)
    for i in range(3):
        x = np.linalg.solve(a[i].T @ a[i] + damp[i] ** 2 * np.eye(4), a[i].T @ b[i])
        np.testing.assert_allclose(res.x[i], x, rtol=1e-10)


# --- sparse matrices, operators, preconditioners ---------------------------


def _sparse_problem(m=3000, n=60, cond=1e4, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    s = scipy.sparse.random(m, n, density=0.05, random_state=seed, format="csr")
    s = s + scipy.sparse.eye(m, n)
    s = s @ scipy.sparse.diags(np.logspace(0, -np.log10(cond), n))
    s = s.astype(dtype)
    b = random_matrix((m, 2), dtype, rng)
    return s.tocsr(), b


@pytest.mark.parametrize("method", ITERATIVE)
def test_sparse_matches_scipy_per_column(method):
    s, b = _sparse_problem(cond=10)
    res = lowrank.lstsq(s, b, method=method, tol=1e-12)
    if method == "lsqr":
        solve = lambda v: scipy.sparse.linalg.lsqr(  # noqa: E731
            s, v, atol=1e-12, btol=1e-12, iter_lim=1000
        )
    else:
        solve = lambda v: scipy.sparse.linalg.lsmr(  # noqa: E731
            s, v, atol=1e-12, btol=1e-12, maxiter=1000
        )
    for j in range(2):
        out = solve(b[:, j])
        np.testing.assert_allclose(res.x[:, j], out[0], rtol=1e-8, atol=1e-10)
        assert abs(int(res.n_iter[j]) - out[2]) <= 3


@pytest.mark.parametrize(
    "precond", ["column", "sketch", "triangular", "dense", "sparse", "operator"]
)
def test_preconditioners_give_the_same_solution(precond):
    s, b = _sparse_problem(cond=1e5)
    dense = s.toarray()
    x_ref = np.linalg.lstsq(dense, b, rcond=None)[0]
    n = s.shape[1]
    r = np.linalg.qr(dense, mode="r")
    if precond == "triangular":
        p = r
    elif precond == "dense":
        p = r + np.tril(np.full((n, n), 1e-3), -1)  # not triangular: LU route
    elif precond == "sparse":
        p = scipy.sparse.csr_matrix(r)
    elif precond == "operator":
        p = scipy.sparse.linalg.aslinearoperator(np.linalg.inv(r))
    else:
        p = precond
    res = lowrank.lstsq(s, b, method="lsqr", precond=p, tol=1e-12, rng=0)
    assert np.all(res.converged)
    np.testing.assert_allclose(res.x, x_ref, rtol=1e-6, atol=1e-8 * np.abs(x_ref).max())
    plain = lowrank.lstsq(s, b, method="lsqr", tol=1e-12, maxiter=100000)
    if precond != "column":
        assert res.n_iter.max() * 5 <= plain.n_iter.min()


def test_sparse_float32_stays_float32():
    s, b = _sparse_problem(cond=10, dtype=np.float32)
    res = lowrank.lstsq(s, b, method="lsmr", tol=1e-5)
    assert res.x.dtype == np.float32
    assert np.all(res.converged)
    a64, x64 = s.toarray().astype(float), res.x.astype(float)
    r = b - a64 @ x64
    backward = np.linalg.norm(a64.T @ r, axis=0) / (
        np.linalg.norm(a64) * np.linalg.norm(r, axis=0)
    )
    assert np.all(backward <= 10 * 1e-5)


def test_linear_operator_input():
    s, b = _sparse_problem(cond=10)
    op = scipy.sparse.linalg.aslinearoperator(s)
    res = lowrank.lstsq(op, b[:, 0], tol=1e-12)
    x_ref = np.linalg.lstsq(s.toarray(), b[:, 0], rcond=None)[0]
    assert np.linalg.norm(res.x - x_ref) <= 1e-8 * np.linalg.norm(x_ref)
    assert res.rank == -1


def test_not_converged_warns():
    s, b = _sparse_problem(cond=1e6)
    with pytest.warns(ConvergenceWarning, match="maxiter"):
        res = lowrank.lstsq(s, b, method="lsqr", maxiter=3)
    assert not np.any(res.converged)
    assert np.all(res.n_iter == 3)


# --- bad input ---------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_raises(bad):
    a, b = _problem((10, 3), np.float64)
    a_bad, b_bad = a.copy(), b.copy()
    a_bad[2, 1] = bad
    b_bad[4] = bad
    for method in ["svd", "lsqr"]:
        with pytest.raises(ValueError, match="finite"):
            lowrank.lstsq(a_bad, b, method=method)
        with pytest.raises(ValueError, match="finite"):
            lowrank.lstsq(a, b_bad, method=method)
        with pytest.raises(ValueError, match="finite"):
            lowrank.lstsq(a, b_bad, method=method, check_finite=False)
    s = scipy.sparse.csr_matrix(a_bad)
    with pytest.raises(ValueError, match="finite"):
        lowrank.lstsq(s, b)
    with pytest.raises(ValueError, match="finite"):
        lowrank.lstsq(scipy.sparse.csr_matrix(a), b_bad)


def test_bad_arguments():
    a, b = _problem((10, 3), np.float64)
    with pytest.raises(ValueError, match="method"):
        lowrank.lstsq(a, b, method="gelsd")
    with pytest.raises(ValueError, match="rows"):
        lowrank.lstsq(a, b[:9])
    with pytest.raises(ValueError, match="dimensions"):
        lowrank.lstsq(np.ones((2, 2, 10, 3)), np.ones(10))
    with pytest.raises(ValueError, match="two-dimensional"):
        lowrank.lstsq(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="damp"):
        lowrank.lstsq(a, b, method="qr", damp=1.0)
    with pytest.raises(ValueError, match="damp"):
        lowrank.lstsq(a, b, damp=-1.0)
    with pytest.raises(ValueError, match="tol"):
        lowrank.lstsq(a, b, method="svd", tol=1e-3)
    with pytest.raises(ValueError, match="precond"):
        lowrank.lstsq(a, b, method="cholqr", precond="column")
    with pytest.raises(ValueError, match="rank"):
        lowrank.lstsq(a, b, method="lsqr", rtol=1e-3)
    with pytest.raises(ValueError, match="tol"):
        lowrank.lstsq(a, b, method="lsqr", tol=-1.0)
    with pytest.raises(TypeError, match="maxiter"):
        lowrank.lstsq(a, b, method="lsmr", maxiter=2.5)
    with pytest.raises(ValueError, match="precond"):
        lowrank.lstsq(a, b, method="lsqr", precond="jacobi")
    with pytest.raises(ValueError, match="shape"):
        lowrank.lstsq(a, b, method="lsqr", precond=np.eye(4))
    with pytest.raises(ValueError, match="singular"):
        lowrank.lstsq(a, b, method="lsqr", precond=np.diag([1.0, 0.0, 1.0]))
    with pytest.raises(TypeError, match="dense"):
        lowrank.lstsq(scipy.sparse.csr_matrix(a), b, method="svd")
    with pytest.raises(TypeError, match="float16"):
        lowrank.lstsq(a, b.astype(np.float16))
    with pytest.raises(TypeError, match="masked"):
        lowrank.lstsq(a, np.ma.masked_array(b))
    with pytest.raises(TypeError, match="dense"):
        lowrank.lstsq(a, scipy.sparse.csr_matrix(b[:, None]))
    with pytest.raises(ValueError, match="kind"):
        lowrank.choose_lstsq_method((3, 3), kind="banded")


def test_dtype_promotion():
    a, b = _problem((10, 3), np.float32)
    assert lowrank.lstsq(a, b).x.dtype == np.float32
    assert lowrank.lstsq(a, b.astype(np.float64)).x.dtype == np.float64
    assert lowrank.lstsq(a, b.astype(np.complex64)).x.dtype == np.complex64
    assert lowrank.lstsq(np.arange(6).reshape(3, 2), [1, 2, 3]).x.dtype == np.float64


def test_numerical_rank_helper_agrees():
    a, b = _problem((30, 10), np.float64, rank=4)
    assert lowrank.lstsq(a, b).rank == numerical_rank(a) == 4
    assert exact_singular_values(a).size == 10


@pytest.mark.parametrize("check", [True, False])
def test_deferred_finite_check_on_the_cholesky_route(check):
    """The Cholesky route tests NaN/Inf on its Gram matrix: still a ValueError."""
    a, b = _problem((20000, 10), np.float64)
    assert lowrank.choose_lstsq_method(a.shape) == "cholqr"
    for bad in [np.nan, np.inf, -np.inf]:
        a_bad = a.copy()
        a_bad[12345, 3] = bad
        with pytest.raises(ValueError, match="finite"):
            lowrank.lstsq(a_bad, b, check_finite=check)
        with pytest.raises(ValueError, match="finite"):
            lowrank.lstsq(a_bad.T.copy(), b[:10], method="cholqr", check_finite=check)


def test_overflowing_gram_matrix_is_not_mistaken_for_non_finite_input():
    a, b = _problem((20000, 10), np.float64)
    big = a * 1e160  # finite, but A^T A overflows
    res = lowrank.lstsq(big, b)
    np.testing.assert_allclose(res.x * 1e160, lowrank.lstsq(a, b).x, rtol=1e-8)


@pytest.mark.parametrize("method", ITERATIVE)
@pytest.mark.parametrize("precond", ["sketch", "column", "triangular"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_damped_with_preconditioner(method, precond, dtype):
    """damp with a preconditioner: the augmented operator [A N; d N] penalises x."""
    rng = np.random.default_rng(8)
    a = random_matrix((400, 12), dtype, rng) @ np.diag(np.logspace(0, -3, 12))
    b = random_matrix((400, 2), dtype, rng)
    d = 0.01
    direct = np.linalg.solve(a.conj().T @ a + d * d * np.eye(12), a.conj().T @ b)
    p = np.linalg.qr(a, mode="r") if precond == "triangular" else precond
    res = lowrank.lstsq(a, b, method=method, damp=d, precond=p, tol=1e-13, rng=0)
    assert np.all(res.converged)
    np.testing.assert_allclose(res.x, direct, rtol=1e-8, atol=1e-10)
    sparse = lowrank.lstsq(
        scipy.sparse.csr_matrix(a),
        b,
        method=method,
        damp=d,
        precond=p,
        tol=1e-13,
        rng=0,
    )
    np.testing.assert_allclose(sparse.x, direct, rtol=1e-8, atol=1e-10)


# --- empty shapes against numpy.linalg.lstsq ---------------------------------

EMPTY_SHAPES = [
    (m, n, k)
    for m in (0, 4)
    for n in (0, 2)
    for k in (None, 0, 3)  # None: b is a vector
    if 0 in (m, n) or k == 0
]


def _numpy_lstsq(a, b):
    x, residuals, rank, s = np.linalg.lstsq(a, b, rcond=None)
    return x, residuals, int(rank), s


@pytest.mark.parametrize("method", LSTSQ_METHODS)
@pytest.mark.parametrize(("m", "n", "k"), EMPTY_SHAPES)
def test_empty_shapes_agree_with_numpy(method, m, n, k):
    """x, residuals and rank for every empty combination of A and b.

    The rank is A's numerical rank, also when b has no columns (A 4 x 2 of
    full rank and b 4 x 0: rank 2). lowrank always returns the residuals,
    ``||b - A x||^2`` per column, where numpy returns them only for M > N
    at full rank; where numpy has them, they agree.
    """
    if method == "sketch" and m < n:
        pytest.skip('"sketch" refuses wide matrices (tested elsewhere)')
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, n))
    b = rng.standard_normal((m,) if k is None else (m, k))
    x_ref, res_ref, rank_ref, s_ref = _numpy_lstsq(a, b)
    assert s_ref.shape == (min(m, n),)
    res = lowrank.lstsq(a, b, method=method)
    assert res.x.shape == x_ref.shape
    np.testing.assert_array_equal(res.x, x_ref)
    if method in ITERATIVE:
        assert res.rank == -1
    else:
        assert res.rank == rank_ref
    expected = np.sum(np.abs(b) ** 2, axis=0)  # x = 0
    assert np.shape(res.residuals) == np.shape(expected)
    np.testing.assert_allclose(res.residuals, expected)
    if np.size(res_ref):
        np.testing.assert_allclose(res.residuals, res_ref)


@pytest.mark.filterwarnings("ignore::lowrank.exceptions.FallbackWarning")
@pytest.mark.parametrize("method", ["svd", "qr", "cholqr", "sketch"])
def test_rank_is_a_property_of_a_when_b_has_no_columns(method):
    a = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]])
    assert lowrank.lstsq(a, np.zeros((4, 0)), method=method).rank == 2
    deficient = np.outer([1.0, 2.0, 3.0, 4.0], [1.0, 1.0])
    assert lowrank.lstsq(deficient, np.zeros((4, 0)), method=method).rank == 1
    stack = np.stack([a, deficient, np.zeros((4, 2))])
    ranks = lowrank.lstsq(stack, np.zeros((3, 4, 0)), method=method).rank
    np.testing.assert_array_equal(ranks, [2, 1, 0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("m", "n"), [(3, 2), (2, 3), (6, 4), (32, 32), (40, 3)])
@pytest.mark.parametrize("method", ["qr", "cholqr"])
def test_batched_stack_equals_per_matrix_results(method, m, n, dtype):
    """Stacks of small matrices take the batched routes; same x and rank."""
    rng = np.random.default_rng(m + 7 * n)
    k = min(m, n)
    count = 2 * k + 3
    a = np.stack(
        [build(rng, m, n, np.logspace(0, -2, i % (k + 1)), dtype) for i in range(count)]
    )
    b = random_matrix((count, m, 2), dtype, rng)
    damp = 0.1 if method == "cholqr" else 0.0
    res = lowrank.lstsq(a, b, method=method, damp=damp)
    assert res.x.dtype == a.dtype
    for i in range(count):
        one = lowrank.lstsq(a[i], b[i], method=method, damp=damp)
        assert res.rank[i] == one.rank
        scale = 100 * max(m, n) * eps(dtype) * (1e2 if not damp else 10.0)
        np.testing.assert_allclose(res.x[i], one.x, atol=scale * np.linalg.norm(b[i]))
        np.testing.assert_allclose(
            res.residuals[i], one.residuals, atol=scale * np.sum(np.abs(b[i]) ** 2)
        )
