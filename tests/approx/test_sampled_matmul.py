"""Tests of sampled_matmul: the CR approximation of a matrix product.

The Monte Carlo tests compare sample means over many draws with the exact
moments of the estimator, computed by enumerating the N possible terms (see
`error_moments`). Their tolerances are derived, not tuned: a sample mean is
accepted within ``Z`` standard errors of the exact mean, ``Z = 5`` (a
two-sided normal tail of 6e-7); the draws come from fixed seeds, so a run
either always passes or always fails.
"""

import math

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg
from hypothesis import given
from hypothesis import strategies as st

from lowrank import CRResult, sampled_matmul
from tests.helpers import eps, random_matrix

#: Standard errors a Monte Carlo mean may stray from the exact mean.
Z = 5.0
#: Draws per Monte Carlo test.
DRAWS = 2000

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def uneven(m, n, p, dtype=np.float64, seed=0, decay=3.0):
    """X (m x n) with column norms spread over `decay` decades, Y (n x p)."""
    rng = np.random.default_rng(seed)
    x = random_matrix((m, n), dtype, rng) * np.logspace(0, -decay, n)
    y = random_matrix((n, p), dtype, rng) * rng.uniform(0.5, 2.0, (n, 1))
    return x.astype(dtype), y.astype(dtype)


def optimal_probabilities(x, y):
    w = np.linalg.norm(x, axis=0) * np.linalg.norm(y, axis=1)
    return w / w.sum()


def error_moments(x, y, p, r):
    """Exact mean and variance of ``||XY - CR||_F^2`` for r i.i.d. draws from p.

    ``CR - XY = (1/r) sum_j D_j`` with ``D_j = x_s y_s^T / p_s - XY`` i.i.d.
    and mean zero (given ``p_i > 0`` wherever ``x_i y_i^T != 0``). Expanding
    ``||sum_j D_j||^2`` and its square, only index patterns in which no index
    appears alone survive:

        E e   = mu2 / r
        E e^2 = [r mu4 + r (r - 1) (mu2^2 + 2 tau)] / r^4

    with ``mu2 = E||D||^2``, ``mu4 = E||D||^4``, ``tau = E[Re<D, D'>^2]`` for
    independent D, D' -- all finite sums over the N outcomes.
    """
    x = np.asarray(x, dtype=np.complex128)
    y = np.asarray(y, dtype=np.complex128)
    m = x @ y
    live = np.flatnonzero(p > 0)
    d = np.stack([(np.outer(x[:, i], y[i]) / p[i] - m).ravel() for i in live])
    pl = p[live]
    g = np.real(d.conj() @ d.T)
    norms2 = np.diagonal(g)
    mu2 = pl @ norms2
    mu4 = pl @ norms2**2
    tau = pl @ g**2 @ pl
    mean = mu2 / r
    second = (r * mu4 + r * (r - 1) * (mu2**2 + 2 * tau)) / r**4
    return mean, second - mean**2


def product(result):
    c, r, _ = result
    c = c.toarray() if scipy.sparse.issparse(c) else c
    r = r.toarray() if scipy.sparse.issparse(r) else r
    wide = np.complex128 if np.iscomplexobj(c) else np.float64
    return c.astype(wide) @ r.astype(wide)


def squared_errors(x, y, r, draws, seed, **kwargs):
    exact = np.asarray(x, np.complex128) @ np.asarray(y, np.complex128)
    gen = np.random.default_rng(seed)
    return np.array(
        [
            np.linalg.norm(product(sampled_matmul(x, y, r, rng=gen, **kwargs)) - exact)
            ** 2
            for _ in range(draws)
        ]
    )


# --------------------------------------------------------------------------
# the statistics of the estimator (Drineas, Kannan & Mahoney 2006)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("r", [3, 12])
def test_expected_error_matches_theory_for_optimal_probabilities(dtype, r):
    x, y = uneven(10, 40, 8, dtype, seed=1)
    p = optimal_probabilities(x, y)
    mean, var = error_moments(x, y, p, r)
    # the closed form of the issue: (1/r)[(sum ||x_i|| ||y_i||)^2 - ||XY||^2]
    total = np.sum(np.linalg.norm(x, axis=0) * np.linalg.norm(y, axis=1))
    closed = (total**2 - np.linalg.norm(x @ y) ** 2) / r
    assert math.isclose(mean, closed, rel_tol=1e-10)

    e = squared_errors(x, y, r, DRAWS, seed=r)
    standard_error = math.sqrt(var / DRAWS)
    assert abs(e.mean() - mean) <= Z * standard_error
    # the spread agrees too (a loose check: the variance of a variance
    # estimate needs fourth moments of e, not computed here)
    assert 0.5 * var <= e.var() <= 2.0 * var


@pytest.mark.parametrize(
    "probs",
    ["uniform", "explicit"],
)
def test_expected_error_matches_theory_for_other_probabilities(probs):
    x, y = uneven(10, 30, 8, seed=2, decay=1.0)
    r = 5
    if probs == "uniform":
        p = np.full(30, 1 / 30)
        arg = "uniform"
    else:
        # proportional to ||x_i||^2: valid, unbiased and not optimal
        arg = np.linalg.norm(x, axis=0) ** 2
        p = arg / arg.sum()
    mean, var = error_moments(x, y, p, r)
    e = squared_errors(x, y, r, DRAWS, seed=7, probs=arg)
    assert abs(e.mean() - mean) <= Z * math.sqrt(var / DRAWS)


def test_uniform_sampling_is_not_better_than_optimal():
    x, y = uneven(10, 40, 8, seed=3, decay=3.0)
    r = 8
    mean_opt, var_opt = error_moments(x, y, optimal_probabilities(x, y), r)
    mean_uni, var_uni = error_moments(x, y, np.full(40, 1 / 40), r)
    # Cauchy-Schwarz: (sum ||x_i|| ||y_i||)^2 <= n sum ||x_i||^2 ||y_i||^2
    assert mean_opt <= mean_uni
    e_opt = squared_errors(x, y, r, DRAWS, seed=11)
    e_uni = squared_errors(x, y, r, DRAWS, seed=12, probs="uniform")
    gap = e_uni.mean() - e_opt.mean()
    assert gap > Z * math.sqrt((var_opt + var_uni) / DRAWS)
    # and each mean is where theory puts it
    assert abs(e_opt.mean() - mean_opt) <= Z * math.sqrt(var_opt / DRAWS)
    assert abs(e_uni.mean() - mean_uni) <= Z * math.sqrt(var_uni / DRAWS)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("probs", ["optimal", "uniform"])
def test_unbiased(dtype, probs):
    # Averaging D draws: N ||mean - XY||^2 tends to a Gaussian quadratic form
    # whose expectation is E1 = E||CR - XY||^2 (one draw). For such forms
    # P(Q >= t E Q) <= P(chi2_1 >= t) once t >= 1.54 (Szekely & Bakirov
    # 2003); t = 25 gives 6e-7. A bias b shows as ||b||^2 on the left.
    # a Gram matrix A^H A with a strong common component: ||XY|| is large
    # against the sampling error, so a small bias is visible
    rng = np.random.default_rng(4)
    a = random_matrix((30, 6), dtype, rng) * rng.uniform(0.2, 2.0, (30, 1)) + 2
    x, y = a.conj().T, a
    r = 16
    p = optimal_probabilities(x, y) if probs == "optimal" else np.full(30, 1 / 30)
    e1, _ = error_moments(x, y, p, r)
    gen = np.random.default_rng(5)
    total = sum(
        product(sampled_matmul(x, y, r, probs=probs, rng=gen)) for _ in range(DRAWS)
    )
    deviation = np.linalg.norm(total / DRAWS - x @ y) ** 2
    assert DRAWS * deviation <= 25 * e1
    # the check has power: a bias of 5% of XY would fail it
    assert DRAWS * np.linalg.norm(0.05 * x @ y) ** 2 > 25 * e1


def test_weights_are_inverse_square_roots_of_r_p():
    x, y = uneven(7, 20, 5, seed=5)
    r = 9
    c, rr, idx = sampled_matmul(x, y, r, rng=3)
    p = optimal_probabilities(x, y)
    w = 1 / np.sqrt(r * p[idx])
    np.testing.assert_allclose(c, x[:, idx] * w, rtol=1e-14)
    np.testing.assert_allclose(rr, y[idx] * w[:, None], rtol=1e-14)
    assert np.all(np.diff(idx) >= 0)


# --------------------------------------------------------------------------
# the diagonal correction
# --------------------------------------------------------------------------


def best_diagonal_error(x, y, idx):
    """min over mu of ||X[:, idx] diag(mu) Y[idx] - XY||_F^2, by brute force."""
    x = np.asarray(x, np.complex128)
    y = np.asarray(y, np.complex128)
    k = np.stack([np.outer(x[:, i], y[i]).ravel() for i in idx], axis=1)
    target = (x @ y).ravel()
    mu = np.linalg.lstsq(k, target, rcond=None)[0]
    return np.linalg.norm(k @ mu - target) ** 2


@given(
    m=st.integers(1, 9),
    n=st.integers(1, 25),
    p=st.integers(1, 9),
    r=st.integers(1, 30),
    dtype=st.sampled_from(DTYPES),
    probs=st.sampled_from(["optimal", "uniform"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_diagonal_correction_never_increases_the_error(m, n, p, r, dtype, probs, seed):
    x, y = uneven(m, n, p, dtype, seed=seed, decay=2.0)
    exact = np.asarray(x, np.complex128) @ np.asarray(y, np.complex128)
    plain = sampled_matmul(x, y, r, probs=probs, rng=seed)
    fitted = sampled_matmul(x, y, r, probs=probs, correction="diagonal", rng=seed)
    np.testing.assert_array_equal(plain.idx, fitted.idx)
    assert fitted.C.dtype == fitted.R.dtype == np.dtype(dtype)
    e_plain = np.linalg.norm(product(plain) - exact) ** 2
    e_fit = np.linalg.norm(product(fitted) - exact) ** 2
    # rounding of the factors in the working precision only
    scale = (np.linalg.norm(exact) + np.linalg.norm(product(plain))) ** 2
    assert e_fit <= e_plain + 10 * (r + n) * eps(dtype) * scale
    if np.dtype(dtype).itemsize >= 16 or dtype == np.float64:
        # ... and it is the least-squares optimum over diagonal weights
        best = best_diagonal_error(x, y, plain.idx)
        # (measured: at most 0.03 (r + n) eps scale over 3000 random cases)
        assert e_fit <= best + 100 * (r + n) * eps(dtype) * scale


def test_diagonal_correction_gains_on_a_typical_sample():
    x, y = uneven(30, 200, 20, seed=6, decay=1.0)
    exact = x @ y
    e_plain, e_fit = [], []
    for seed in range(20):
        e_plain.append(
            np.linalg.norm(product(sampled_matmul(x, y, 40, rng=seed)) - exact)
        )
        fit = sampled_matmul(x, y, 40, correction="diagonal", rng=seed)
        e_fit.append(np.linalg.norm(product(fit) - exact))
    assert np.all(np.array(e_fit) <= np.array(e_plain))
    assert np.median(np.array(e_fit) / np.array(e_plain)) < 0.9


def test_diagonal_correction_shares_the_weight_of_repeated_samples():
    x, y = uneven(6, 4, 5, seed=7, decay=0.5)
    c, r, idx = sampled_matmul(x, y, 20, correction="diagonal", rng=0)
    assert len(np.unique(idx)) < len(idx)
    for i in np.unique(idx):
        cols = np.flatnonzero(idx == i)
        np.testing.assert_allclose(c[:, cols], c[:, cols[:1]].repeat(len(cols), 1))
        np.testing.assert_allclose(r[cols], r[cols[:1]].repeat(len(cols), 0))
    # with every pair present the fit reproduces XY exactly
    assert set(idx) == set(range(4))
    np.testing.assert_allclose(c @ r, x @ y, atol=1e-12 * np.linalg.norm(x @ y))


# --------------------------------------------------------------------------
# zero pairs, empty and zero input, sparse input
# --------------------------------------------------------------------------


def test_zero_pairs_are_never_sampled():
    x, y = uneven(5, 12, 4, seed=8, decay=0.0)
    x[:, [0, 3, 7]] = 0
    y[[1, 3, 11]] = 0
    for seed in range(50):
        _, _, idx = sampled_matmul(x, y, 10, rng=seed)
        assert not set(idx) & {0, 1, 3, 7, 11}


def tiny_times_huge(dtype, sparse=False):
    """Float32 X and Y on opposite scales: pair 0 is 1e-25 x 1e25."""
    rng = np.random.default_rng(19)
    x = random_matrix((4, 6), dtype, rng)
    y = random_matrix((6, 3), dtype, rng)
    x[:, 0] *= 1e-25
    y[0] *= 1e25
    if sparse:
        return scipy.sparse.csc_matrix(x), scipy.sparse.csr_matrix(y)
    return x, y


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
@pytest.mark.parametrize("sparse", [False, True])
def test_norms_that_underflow_still_get_their_probability(dtype, sparse):
    """||x_0|| ~ 1e-25 squares to zero in float32, yet x_0 y_0^T ~ 1.

    The pair had probability zero and was never drawn: the estimate was
    biased (off by 50% in the two-pair case this test grew from).
    """
    x, y = tiny_times_huge(dtype, sparse)
    dense_x = x.toarray() if sparse else x
    dense_y = y.toarray() if sparse else y
    expected = optimal_probabilities(
        dense_x.astype(np.complex128), dense_y.astype(np.complex128)
    )
    assert expected[0] > 0.05
    draws = np.concatenate([sampled_matmul(x, y, 50, rng=s).idx for s in range(4)])
    assert np.mean(draws == 0) == pytest.approx(expected[0], abs=0.1)
    c, _, idx = sampled_matmul(x, y, 50, rng=0)
    w = 1 / np.sqrt(50 * expected[idx])
    c = c.toarray() if sparse else c
    np.testing.assert_allclose(c, dense_x[:, idx] * w, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_diagonal_correction_with_factors_on_opposite_scales(dtype):
    """R R^H overflowed in float32 (||y_0|| ~ 1e25): pinv got NaN and raised.

    Every pair is drawn here, so the re-fit must reproduce X Y.
    """
    x, y = tiny_times_huge(dtype)
    exact = x.astype(np.complex128) @ y.astype(np.complex128)
    c, r, idx = sampled_matmul(x, y, 60, correction="diagonal", rng=0)
    assert set(idx.tolist()) == set(range(6))
    assert np.all(np.isfinite(c))
    assert np.all(np.isfinite(r))
    approx = c.astype(np.complex128) @ r.astype(np.complex128)
    assert np.linalg.norm(approx - exact) <= 100 * eps(dtype) * np.linalg.norm(exact)


def test_explicit_probabilities_with_zeros_are_respected():
    x, y = uneven(5, 6, 4, seed=9)
    probs = [0, 1, 0, 2, 0, 1]  # unnormalised weights are accepted
    c, _, idx = sampled_matmul(x, y, 50, probs=probs, rng=0)
    assert set(idx) <= {1, 3, 5}
    p = np.array(probs) / 4
    np.testing.assert_allclose(c, x[:, idx] / np.sqrt(50 * p[idx]))


@pytest.mark.parametrize("correction", [None, "diagonal"])
@pytest.mark.parametrize("probs", ["optimal", "uniform"])
def test_all_zero_input_gives_the_exact_zero_product(correction, probs):
    x = np.zeros((4, 6))
    y = np.ones((6, 3))
    c, r, idx = sampled_matmul(x, y, 5, probs=probs, correction=correction, rng=0)
    assert c.shape == (4, 5)
    assert r.shape == (5, 3)
    assert idx.shape == (5,)
    assert np.all(np.isfinite(c))
    assert np.all(np.isfinite(r))
    np.testing.assert_array_equal(c @ r, np.zeros((4, 3)))


def test_empty_inner_dimension():
    x = np.ones((3, 0))
    y = np.ones((0, 4))
    c, r, idx = sampled_matmul(x, y, 5, rng=0)
    assert c.shape == (3, 0)
    assert r.shape == (0, 4)
    assert idx.shape == (0,)
    np.testing.assert_array_equal(c @ r, x @ y)


@pytest.mark.parametrize("shape", [(0, 5, 3), (3, 5, 0)])
def test_empty_outer_dimensions(shape):
    m, n, p = shape
    c, r, idx = sampled_matmul(np.ones((m, n)), np.ones((n, p)), 4, rng=0)
    assert c.shape == (m, 4)
    assert r.shape == (4, p)
    assert idx.shape == (4,)


def test_r_larger_than_n_and_r_one():
    x, y = uneven(4, 3, 5, seed=10)
    assert sampled_matmul(x, y, 100, rng=0).C.shape == (4, 100)
    c, _, idx = sampled_matmul(x, y, 1, rng=0)
    assert c.shape == (4, 1)
    assert idx.shape == (1,)


@pytest.mark.parametrize("correction", [None, "diagonal"])
@pytest.mark.parametrize(
    ("x_sparse", "y_sparse"), [(True, True), (True, False), (False, True)]
)
@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
def test_sparse_input_matches_dense(x_sparse, y_sparse, correction, dtype):
    rng = np.random.default_rng(11)
    xs = scipy.sparse.random_array((20, 50), density=0.2, rng=rng, format="csr")
    ys = scipy.sparse.random_array((50, 15), density=0.2, rng=rng, format="csc")
    xs, ys = xs.astype(dtype), ys.astype(dtype)
    xd, yd = xs.toarray(), ys.toarray()
    dense = sampled_matmul(xd, yd, 30, correction=correction, rng=4)
    mixed = sampled_matmul(
        xs if x_sparse else xd, ys if y_sparse else yd, 30, correction=correction, rng=4
    )
    np.testing.assert_array_equal(dense.idx, mixed.idx)
    assert scipy.sparse.issparse(mixed.C) == x_sparse
    assert scipy.sparse.issparse(mixed.R) == y_sparse
    if x_sparse:
        assert mixed.C.format == "csc"
    if y_sparse:
        assert mixed.R.format == "csr"
    assert mixed.C.dtype == mixed.R.dtype == np.dtype(dtype)
    tol = 100 * eps(dtype) * np.linalg.norm(xd) * np.linalg.norm(yd)
    np.testing.assert_allclose(product(mixed), product(dense), atol=tol)


# --------------------------------------------------------------------------
# dtypes, layouts, determinism, inputs untouched
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dx", [*DTYPES, np.int64, np.bool_])
@pytest.mark.parametrize("dy", [np.float32, np.complex128, np.int32])
def test_dtypes(dx, dy):
    rng = np.random.default_rng(12)
    x = (rng.standard_normal((5, 7)) * 3).astype(dx)
    y = (rng.standard_normal((7, 4)) * 3).astype(dy)
    c, r, idx = sampled_matmul(x, y, 6, rng=0)
    expected = np.result_type(
        np.float64 if np.dtype(dx).kind in "biu" else dx,
        np.float64 if np.dtype(dy).kind in "biu" else dy,
    )
    assert c.dtype == r.dtype == expected
    assert idx.dtype == np.intp


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_single_precision_is_computed_in_single_precision(dtype):
    x, y = uneven(20, 60, 10, dtype, seed=13, decay=1.0)
    lo = sampled_matmul(x, y, 30, correction="diagonal", rng=2)
    wide = np.complex128 if np.dtype(dtype).kind == "c" else np.float64
    hi = sampled_matmul(
        x.astype(wide), y.astype(wide), 30, correction="diagonal", rng=2
    )
    assert lo.C.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(lo.idx, hi.idx)
    scale = np.linalg.norm(x) * np.linalg.norm(y)
    assert np.linalg.norm(product(lo) - product(hi)) <= 1e3 * eps(dtype) * scale


def test_layouts_give_the_same_result():
    x, y = uneven(9, 20, 7, seed=14)
    ref = sampled_matmul(x, y, 8, correction="diagonal", rng=1)
    xs = np.zeros((9, 40))
    xs[:, ::2] = x
    for xx, yy in [
        (np.asfortranarray(x), np.asfortranarray(y)),
        (xs[:, ::2], y),
    ]:
        out = sampled_matmul(xx, yy, 8, correction="diagonal", rng=1)
        np.testing.assert_array_equal(out.idx, ref.idx)
        np.testing.assert_allclose(out.C @ out.R, ref.C @ ref.R, rtol=1e-12)


def test_reproducible_with_the_same_rng():
    x, y = uneven(6, 30, 5, seed=15)
    a = sampled_matmul(x, y, 10, rng=42)
    b = sampled_matmul(x, y, 10, rng=np.random.default_rng(42))
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    c = sampled_matmul(x, y, 10, rng=43)
    assert not np.array_equal(a.idx, c.idx)


def test_inputs_are_not_modified():
    x, y = uneven(6, 30, 5, seed=16)
    x0, y0 = x.copy(), y.copy()
    sampled_matmul(x, y, 10, correction="diagonal", rng=0)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


def test_result_is_a_named_tuple():
    x, y = uneven(3, 5, 2, seed=17)
    res = sampled_matmul(x, y, 2, rng=0)
    assert isinstance(res, CRResult)
    assert res._fields == ("C", "R", "idx")


def test_non_finite_with_check_finite_false_still_raises():
    x, y = uneven(3, 5, 2, seed=18)
    x[1, 1] = np.inf
    with pytest.raises(ValueError, match="finite"):
        sampled_matmul(x, y, 2, check_finite=False)


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------


X, Y = np.ones((3, 4)), np.ones((4, 2))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"y": np.ones((5, 2))}, ValueError, "do not chain"),
        ({"r": 0}, ValueError, "`r` must be a positive integer"),
        ({"r": -3}, ValueError, "`r` must be a positive integer"),
        ({"r": 2.5}, TypeError, "`r` must be an integer"),
        ({"r": True}, TypeError, "`r` must be an integer"),
        ({"probs": "best"}, ValueError, "`probs` must be one of"),
        ({"probs": [0.5, 0.5]}, ValueError, r"shape \(4,\)"),
        ({"probs": [0.5, -0.1, 0.3, 0.3]}, ValueError, "non-negative"),
        ({"probs": [0.5, np.nan, 0.3, 0.3]}, ValueError, "finite"),
        ({"probs": [0, 0, 0, 0]}, ValueError, "positive sum"),
        ({"probs": np.ones(4, complex)}, TypeError, "real"),
        ({"probs": 3}, TypeError, "probs"),
        ({"correction": "full"}, ValueError, "`correction` must be one of"),
        ({"x": np.full((3, 4), np.nan)}, ValueError, "`x` must contain only finite"),
        ({"y": np.ones(4)}, ValueError, "`y` must be at least two-dimensional"),
        ({"x": np.ones((2, 3, 4))}, ValueError, "`x` must be a single matrix"),
        ({"x": np.ones((3, 4), np.float16)}, TypeError, "float16"),
        (
            {"x": scipy.sparse.linalg.aslinearoperator(np.ones((3, 4)))},
            TypeError,
            "LinearOperator",
        ),
        ({"rng": "seed"}, TypeError, "`rng`"),
    ],
)
def test_validation(kwargs, error, match):
    args = {"x": X, "y": Y, "r": 3} | kwargs
    x, y, r = args.pop("x"), args.pop("y"), args.pop("r")
    with pytest.raises(error, match=match):
        sampled_matmul(x, y, r, **args)
