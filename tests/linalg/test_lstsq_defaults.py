"""Defaults of lowrank.lstsq you can trust (issue #17): the sparse default
contract (sketch preconditioner, tolerance near rounding level) and stacks
solved as accurately as a loop over numpy.linalg.lstsq."""

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

import lowrank
from lowrank.exceptions import ConvergenceWarning
from lowrank.linalg._lstsq._api import choose_lstsq_precond
from tests.helpers import eps, random_matrix, with_condition

# --- sparse and operator input: the default contract ------------------------


def _ill_conditioned_sparse(m=4000, n=100, cond=1e6, dtype=np.float64, seed=0):
    """The issue's case, small: random sparse plus identity, columns scaled."""
    rng = np.random.default_rng(seed)
    s = scipy.sparse.random(m, n, density=2e-2, random_state=rng, format="csr")
    s = s + scipy.sparse.eye(m, n, format="csr")
    s = s @ scipy.sparse.diags(np.logspace(0, -np.log10(cond), n))
    x_true = rng.standard_normal(n)
    s = s.tocsr().astype(dtype)
    return s, x_true.astype(dtype), (s @ x_true).astype(dtype)


def _forward(x, x_ref):
    return np.linalg.norm(x - x_ref) / np.linalg.norm(x_ref)


def _backward(a, b, x):
    r = b - a @ x
    return np.linalg.norm(a.conj().T @ r) / (np.linalg.norm(a, 2) * np.linalg.norm(r))


@pytest.mark.parametrize("seed", [0, 1])
def test_sparse_default_converges_to_dense_accuracy(seed):
    """Consistent b, cond 1e6: no warning and forward error within 100x of gelsd's.

    Before issue #17 the default (unpreconditioned LSMR, tol sqrt(eps)) stopped
    at `maxiter` with a ConvergenceWarning and a forward error of 0.6.
    """
    s, x_true, b = _ill_conditioned_sparse(seed=seed)
    res = lowrank.lstsq(s, b, rng=0)  # LowrankWarning is an error in the suite
    x_dense = np.linalg.lstsq(s.toarray(), b, rcond=None)[0]
    dense_error = max(_forward(x_dense, x_true), 100 * eps(np.float64))
    assert res.converged
    assert _forward(res.x, x_true) <= 100 * dense_error
    assert res.residuals == pytest.approx(np.sum((b - s @ res.x) ** 2), abs=1e-20)


def test_sparse_default_inconsistent_backward_error():
    """b with a residual: the backward error is a dense solver's, not sqrt(eps)'s."""
    s, _, b = _ill_conditioned_sparse(seed=2)
    rng = np.random.default_rng(5)
    b = b + 1e-2 * rng.standard_normal(b.shape)
    dense = s.toarray()
    x_dense = np.linalg.lstsq(dense, b, rcond=None)[0]
    res = lowrank.lstsq(s, b, rng=0)
    assert res.converged
    assert _backward(dense, b, res.x) <= 10 * max(
        _backward(dense, b, x_dense), 1e3 * eps(np.float64)
    )
    # The least-squares solution is ill-conditioned (cond^2 ||r||): compare
    # with gelsd's within the standard forward error bound.
    kappa = 1e6
    bound = 100 * eps(np.float64) * kappa**2 * np.linalg.norm(b - dense @ x_dense)
    assert np.linalg.norm(res.x - x_dense) <= bound * 1.0 + 1e-12


def test_sparse_default_several_rhs_and_float32():
    s, x_true, b = _ill_conditioned_sparse(cond=1e3, dtype=np.float32, seed=3)
    rhs = np.stack([b, 2 * b], axis=1)
    res = lowrank.lstsq(s, rhs, rng=0)
    assert res.x.dtype == np.float32
    assert np.all(res.converged)
    x_dense = np.linalg.lstsq(s.toarray(), rhs, rcond=None)[0]
    for j, scale in enumerate([1.0, 2.0]):
        dense_error = max(_forward(x_dense[:, j], scale * x_true), eps(np.float32))
        assert _forward(res.x[:, j], scale * x_true) <= 100 * dense_error


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_sparse_default_damped(dtype):
    """With damp the sketch preconditions [A; d I]: converges, dense accuracy.

    (The R of the sketch of A alone left [A N; d N] with cond ~ d / s_min(A),
    and LSMR stopped at `maxiter`.)
    """
    s, _, _ = _ill_conditioned_sparse(m=3000, n=60, cond=1e4)
    s = s.astype(dtype)
    b = random_matrix((3000, 2), dtype, np.random.default_rng(6))
    d = 0.5
    aug = np.vstack([s.toarray(), d * np.eye(60)])
    rhs = np.vstack([b, np.zeros((60, 2))])
    x_ref = np.linalg.lstsq(aug, rhs, rcond=None)[0]
    res = lowrank.lstsq(s, b, damp=d, rng=0)
    assert np.all(res.converged)
    assert _forward(res.x, x_ref) <= 1e3 * eps(np.float64)


def test_sparse_default_rank_deficient_is_quiet_and_minimum_norm():
    """An empty column: no sketch preconditioner, no warning, A^+ b."""
    s = scipy.sparse.random(4000, 100, density=0.02, random_state=1, format="csc")
    s = s + scipy.sparse.eye(4000, 100, format="csc")
    s = (s @ scipy.sparse.diags((np.arange(100) != 5) * 1.0)).tocsr()  # no column 5
    b = np.random.default_rng(0).standard_normal(4000)
    res = lowrank.lstsq(s, b, rng=0)
    x_ref = np.linalg.lstsq(s.toarray(), b, rcond=None)[0]
    assert res.converged
    assert res.x[5] == 0
    assert _forward(res.x, x_ref) <= 1e3 * eps(np.float64)


def test_choose_lstsq_precond_rule():
    assert choose_lstsq_precond((50000, 1000), "sparse") == "sketch"
    assert choose_lstsq_precond((4000, 1000), "sparse") == "sketch"
    assert choose_lstsq_precond((3999, 1000), "sparse") is None  # not tall enough
    assert choose_lstsq_precond((100000, 2001), "sparse") is None  # O(N^3) sketch
    assert choose_lstsq_precond((50000, 1000), "operator") is None
    assert choose_lstsq_precond((100, 1000), "sparse") is None  # wide


def test_operator_default_warning_says_what_to_do():
    """A LinearOperator is not sketched; the warning names the remedies."""
    s, _, b = _ill_conditioned_sparse(m=1000, n=40, cond=1e8)
    op = scipy.sparse.linalg.aslinearoperator(s)
    with pytest.warns(ConvergenceWarning, match="materialise A"):
        res = lowrank.lstsq(op, b, maxiter=20)
    assert not res.converged


def test_sparse_wide_default_warning_says_what_to_do():
    s, _, _ = _ill_conditioned_sparse(m=1000, n=40, cond=1e8)
    wide = s.T.tocsr()
    b = np.random.default_rng(0).standard_normal(wide.shape[0])
    with pytest.warns(ConvergenceWarning, match=r'reached.*"column", or an \(N, N\)'):
        lowrank.lstsq(wide, b, maxiter=10)


def test_explicit_lsmr_keeps_its_documented_default_tol():
    """method="lsmr" without tol still stops at sqrt(eps) (unchanged)."""
    s, _, b = _ill_conditioned_sparse(m=2000, n=40, cond=10)
    explicit = lowrank.lstsq(s, b, method="lsmr")
    auto = lowrank.lstsq(s, b, rng=0)
    assert explicit.converged
    assert auto.converged
    assert explicit.n_iter < auto.n_iter


# --- stacks: equal to a loop over numpy.linalg.lstsq -------------------------


def _numpy_loop(a, b):
    batch = a.shape[:-2]
    x = np.empty((*batch, a.shape[-1], *b.shape[a.ndim - 1 :]), a.dtype)
    for index in np.ndindex(*batch):
        x[index] = np.linalg.lstsq(a[index], b[index], rcond=None)[0]
    return x


def _assert_stack_matches_numpy(a, b, res, kappa):
    """Each member: x within the forward bound of gelsd's, residual equal."""
    x_np = _numpy_loop(a, b)
    unit = eps(a.dtype)
    n = a.shape[-1]
    for index in np.ndindex(*a.shape[:-2]):
        ai, bi, xi = a[index], b[index], res.x[index]
        r_np = bi - ai @ x_np[index]
        norm_a = np.linalg.norm(ai, 2)
        rel_r = np.linalg.norm(r_np) / (norm_a * np.linalg.norm(x_np[index]))
        bound = 30 * n * unit * (kappa[index] + kappa[index] ** 2 * rel_r)
        assert _forward(xi, x_np[index]) <= bound, index
        r = bi - ai @ xi
        # The residual's perturbation bound (Golub & Van Loan 5.3.7):
        # ||r - r_opt|| <= c eps (1 + 2 kappa) ||b||.
        slack = 30 * n * unit * (1 + 2 * kappa[index]) * np.linalg.norm(bi)
        assert np.linalg.norm(r) <= np.linalg.norm(r_np) + slack
        rr = np.sum((r * r.conj()).real, axis=0)
        np.testing.assert_allclose(
            res.residuals[index], rr, rtol=1e3 * unit * kappa[index], atol=0
        )


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32])
def test_tall_stack_matches_numpy_loop(dtype):
    """Few tall problems (the batched semi-normal route) against gelsd."""
    rng = np.random.default_rng(1)
    a = random_matrix((3, 2500, 20), dtype, rng)
    b = random_matrix((3, 2500), dtype, rng)
    assert lowrank.choose_lstsq_method(a.shape) == "cholqr"  # was "svd"
    res = lowrank.lstsq(a, b)
    kappa = np.linalg.cond(a.astype(np.complex128))
    assert np.all(res.rank == 20)
    assert np.all(res.n_iter >= 1)  # refinement ran: the semi-normal route
    _assert_stack_matches_numpy(a, b, res, kappa)


def test_tall_stack_with_bad_members():
    """Rank-deficient and ill-conditioned members take the QR route, alone."""
    rng = np.random.default_rng(2)
    a = np.stack(
        [
            random_matrix((3000, 20), np.float64, rng),
            with_condition(rng, 3000, 20, 1e9),  # beyond 0.1 / sqrt(eps)
            random_matrix((3000, 20), np.float64, rng),
            with_condition(rng, 3000, 20, 1e3),
        ]
    )
    a[2, :, -1] = a[2, :, 0]  # rank 19
    b = rng.standard_normal((4, 3000, 2))
    res = lowrank.lstsq(a, b)
    np.testing.assert_array_equal(res.rank, [20, 20, 19, 20])
    np.testing.assert_array_equal(res.n_iter[[1, 2]], 0)  # the QR route
    assert np.all(res.n_iter[[0, 3]] >= 1)
    kappa = np.array([np.linalg.cond(m) for m in a])
    kappa[2] = 10.0  # the rank-19 problem's own condition is modest
    _assert_stack_matches_numpy(a, b, res, kappa)


def test_tall_stack_damped_and_broadcast():
    """damp per member and a shared b: as the single-matrix solver."""
    rng = np.random.default_rng(3)
    a = random_matrix((2, 3, 2000, 30), np.float64, rng)
    b = rng.standard_normal((2000, 2))
    damp = np.array([[0.0, 0.5, 3.0], [1.0, 0.0, 10.0]])
    res = lowrank.lstsq(a, b[np.newaxis, np.newaxis], damp=damp)
    for index in np.ndindex(2, 3):
        one = lowrank.lstsq(a[index], b, damp=damp[index], method="svd")
        np.testing.assert_allclose(res.x[index], one.x, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(res.residuals[index], one.residuals, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32])
def test_tiny_stack_matches_numpy_loop(dtype):
    """Many tiny problems (batched SVD) against gelsd, with a rank-deficient one."""
    rng = np.random.default_rng(4)
    a = random_matrix((500, 12, 5), dtype, rng)
    a[7, :, 4] = a[7, :, 0]
    b = random_matrix((500, 12), dtype, rng)
    res = lowrank.lstsq(a, b)
    assert res.rank[7] == 4
    assert np.all(np.delete(res.rank, 7) == 5)
    kappa = np.linalg.cond(a.astype(np.complex128))
    kappa[7] = 10.0
    _assert_stack_matches_numpy(a, b, res, np.minimum(kappa, 1e3))


def test_tall_stack_extreme_scales_take_the_qr_route():
    """Members whose Gram matrix overflows or underflows are not trusted to it."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((3, 2500, 20))
    b = rng.standard_normal((3, 2500))
    a[1] *= 1e160  # A^H A overflows
    a[2] *= 1e-160  # A^H A is subnormal
    res = lowrank.lstsq(a, b)
    np.testing.assert_array_equal(res.n_iter, [1, 0, 0])
    np.testing.assert_array_equal(res.rank, 20)
    for i in range(3):
        x_np = np.linalg.lstsq(a[i], b[i], rcond=None)[0]
        scale = np.abs(x_np).max()
        np.testing.assert_allclose(res.x[i] / scale, x_np / scale, atol=1e-12)
        r_np = np.sum((b[i] - a[i] @ x_np) ** 2)
        np.testing.assert_allclose(res.residuals[i], r_np, rtol=1e-12)
