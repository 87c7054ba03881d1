"""whitened_svd: optimality against brute force, the weighting forms, G's null
space, the rank rules and the argument checks."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lowrank
from lowrank import whitened_svd
from tests.weights._cases import (
    activations,
    eps,
    exact_factor,
    optimum,
    rand,
    weighted_error,
)

DTYPES = [np.float64, np.float32, np.complex128, np.complex64]
SHAPES = [(30, 40), (40, 30), (25, 25)]


def assert_optimal(w, res, l_factor, k, method):
    """The achieved and the reported weighted error are the optimum to rounding."""
    opt, s1 = optimum(w, l_factor, k)
    achieved = weighted_error(w, res.A, res.B, l_factor)
    e = eps(res.A.dtype)
    m = max(w.shape)
    norm_w = np.linalg.norm(np.asarray(w, np.complex128), 2)
    norm_l = np.linalg.norm(l_factor, 2)
    if method == "dense":
        bound = 50 * m * e * norm_w * norm_l
        assert abs(achieved - opt) <= bound
        assert abs(res.weighted_error - opt) <= bound
    else:  # the squared objective, to the rounding of the Gram matrix
        bound = 50 * m * e * s1**2
        assert abs(achieved**2 - opt**2) <= bound
        assert abs(res.weighted_error**2 - opt**2) <= bound


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("form", ["gram", "x", "factor", "diag", "gram-dense"])
def test_weighted_error_is_the_brute_force_optimum(dtype, shape, form):
    rng = np.random.default_rng(sum(shape) + len(form))
    m, n = shape
    k = 7
    w = rand(rng, shape, dtype)
    x = activations(rng, 3 * n, n, dtype=dtype)
    method = "dense"
    if form == "diag":
        d = rng.uniform(0.0, 3.0, n)
        kwargs, l_factor = (
            {"diag": d.astype(np.finfo(dtype).dtype)},
            np.diag(np.sqrt(d)),
        )
    elif form == "factor":
        f = rand(rng, (n, n // 2), dtype)
        kwargs, l_factor = {"factor": f}, f.astype(np.complex128)
    elif form == "x":
        kwargs, l_factor = {"x": x}, x.conj().T.astype(np.complex128)
    else:
        g = x.conj().T @ x
        kwargs, l_factor = {"gram": g}, exact_factor(g)
        if form == "gram":
            method = "gram"
        else:
            kwargs["method"] = "dense"
    res = whitened_svd(w, k, **kwargs)
    assert res.A.dtype == np.dtype(dtype)
    assert res.B.dtype == np.dtype(dtype)
    assert res.A.shape == (m, k)
    assert res.B.shape == (k, n)
    tol = 50 * max(shape) * eps(dtype)
    assert np.allclose(res.A.conj().T @ res.A, np.eye(k), atol=tol)
    assert_optimal(w, res, l_factor, k, method)
    plain = np.linalg.norm(np.asarray(w, np.complex128) - res.A @ res.B)
    assert np.isclose(res.error, plain, rtol=100 * eps(dtype))


@given(
    m=st.integers(1, 12),
    n=st.integers(1, 12),
    t=st.integers(1, 20),
    data=st.data(),
)
def test_optimal_on_random_small_cases(m, n, t, data):
    seed = data.draw(st.integers(0, 2**16))
    k = data.draw(st.integers(1, min(m, n)))
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((m, n))
    x = rng.standard_normal((t, n)) * rng.uniform(0.01, 3.0, n)
    res = whitened_svd(w, k, x=x)
    assert_optimal(w, res, x.T, k, "dense")
    res = whitened_svd(w, k, gram=x.T @ x)
    assert_optimal(w, res, exact_factor(x.T @ x), k, "gram")


def test_no_rank_k_matrix_does_better():
    """Brute force: perturbing the optimum along rank-k directions never helps."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((8, 10))
    x = activations(rng, 40, 10)
    k = 3
    res = whitened_svd(w, k, x=x)
    best = weighted_error(w, res.A, res.B, x.T)
    for _ in range(200):
        a = res.A + 0.05 * rng.standard_normal(res.A.shape)
        b = res.B + 0.05 * rng.standard_normal(res.B.shape)
        assert weighted_error(w, a, b, x.T) >= best - 1e-12
    u, s, vh = np.linalg.svd(w)
    assert weighted_error(w, u[:, :k] * s[:k], vh[:k], x.T) > best


@pytest.mark.parametrize("form", ["x", "gram", "diag"])
def test_beats_the_plain_truncated_svd_unless_g_is_a_multiple_of_identity(form):
    rng = np.random.default_rng(4)
    m, n, k = 40, 50, 8
    w = rng.standard_normal((m, n))
    u, s, vh = np.linalg.svd(w, full_matrices=False)
    plain = (u[:, :k] * s[:k]) @ vh[:k]
    if form == "diag":
        d = np.geomspace(10, 0.1, n)
        kwargs, l_factor = {"diag": d}, np.diag(np.sqrt(d))
    else:
        x = activations(rng, 200, n)
        kwargs = {"x": x} if form == "x" else {"gram": x.T @ x}
        l_factor = x.T
    res = whitened_svd(w, k, **kwargs)
    assert res.weighted_error < 0.99 * weighted_error(w, plain, np.eye(n), l_factor)
    # G = c I: the plain truncated SVD, weighted error = sqrt(c) plain error
    res = whitened_svd(w, k, gram=4.0 * np.eye(n))
    assert np.allclose(res.A @ res.B, plain, atol=1e-12)
    assert np.isclose(res.weighted_error, 2 * res.error, rtol=1e-6)


def test_the_four_forms_agree():
    rng = np.random.default_rng(5)
    m, n, k = 30, 20, 5
    w = rng.standard_normal((m, n))
    x = activations(rng, 100, n, decay=0.1)
    g = x.T @ x
    ref = whitened_svd(w, k, x=x)
    for kwargs in (
        {"gram": g},
        {"gram": g, "method": "dense"},
        {"factor": x.T},
        {"factor": np.linalg.cholesky(g)},
    ):
        res = whitened_svd(w, k, **kwargs)
        assert np.allclose(res.A @ res.B, ref.A @ ref.B, atol=1e-8)
        assert np.isclose(res.weighted_error, ref.weighted_error, rtol=1e-8)
    d = rng.uniform(0.5, 2.0, n)
    a = whitened_svd(w, k, diag=d)
    b = whitened_svd(w, k, gram=np.diag(d), method="dense")
    c = whitened_svd(w, k, factor=np.diag(np.sqrt(d)))
    for other in (b, c):
        assert np.allclose(a.A @ a.B, other.A @ other.B, atol=1e-10)


def test_no_weighting_is_the_truncated_svd():
    rng = np.random.default_rng(6)
    w = rng.standard_normal((30, 20))
    res = whitened_svd(w, 4)
    u, s, vh = np.linalg.svd(w, full_matrices=False)
    assert np.allclose(res.A @ res.B, (u[:, :4] * s[:4]) @ vh[:4], atol=1e-12)
    assert np.isclose(res.error, np.sqrt(np.sum(s[4:] ** 2)))
    assert res.weighted_error == res.error


# -- G's null space, rank-deficient and ill-conditioned G ------------------------


def _deficient(rng, m=30, n=40, t=10):
    w = rng.standard_normal((m, n))
    x = rng.standard_normal((t, n))  # G = X^T X has rank t < n
    null = np.linalg.svd(x)[2][t:].T  # (n, n - t): an orthonormal basis of null(G)
    return w, x, null


@pytest.mark.parametrize("form", ["x", "gram", "gram-dense", "factor"])
def test_rank_deficient_g_project_keeps_w_in_the_null_space(form):
    rng = np.random.default_rng(7)
    w, x, null = _deficient(rng)
    kwargs = {
        "x": {"x": x},
        "gram": {"gram": x.T @ x},
        "gram-dense": {"gram": x.T @ x, "method": "dense"},
        "factor": {"factor": x.T},
    }[form]
    # k below G's rank: optimal, and W's null-space part projected onto A
    res = whitened_svd(w, 6, **kwargs)
    assert_optimal(w, res, x.T, 6, "gram" if form == "gram" else "dense")
    a = res.A
    assert np.allclose(res.B @ null, a.T @ w @ null, atol=1e-10)
    # k above G's rank (10): weighted error 0, the rest of the rank spent on
    # the plain error, so it beats the "zero" rule's
    res = whitened_svd(w, 15, **kwargs)
    zero = whitened_svd(w, 15, null_space="zero", **kwargs)
    assert res.A.shape == (30, 15)
    assert zero.A.shape == (30, 10)  # capped at W L's rank
    assert weighted_error(w, res.A, res.B, x.T) <= 1e-9 * np.linalg.norm(w @ x.T)
    assert res.weighted_error <= 1e-6 * np.linalg.norm(w @ x.T)
    assert res.error < zero.error
    assert np.allclose(zero.B @ null, 0, atol=1e-10)  # nothing in null(G)
    assert np.allclose(res.A.T @ res.A, np.eye(15), atol=1e-12)


def test_zero_gram_gives_the_plain_truncated_svd():
    rng = np.random.default_rng(8)
    w = rng.standard_normal((20, 25))
    res = whitened_svd(w, 5, gram=np.zeros((25, 25)))
    ref = whitened_svd(w, 5)
    assert np.allclose(res.A @ res.B, ref.A @ ref.B, atol=1e-12)
    zero = whitened_svd(w, 5, gram=np.zeros((25, 25)), null_space="zero")
    assert zero.A.shape == (20, 0)
    assert zero.B.shape == (0, 25)
    assert np.isclose(zero.error, np.linalg.norm(w))


@pytest.mark.parametrize("method", ["gram", "dense"])
def test_ill_conditioned_g_needs_no_shift(method):
    """cond(G) = 1e30: no inverse, no warning, the optimum of the exact L."""
    rng = np.random.default_rng(9)
    n, m, k = 40, 30, 6
    v = np.linalg.qr(rng.standard_normal((n, n)))[0]
    lam = np.geomspace(1.0, 1e-30, n)
    g = (v * lam) @ v.T
    g = (g + g.T) / 2
    w = rng.standard_normal((m, n))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = whitened_svd(w, k, gram=g, method=method)
    l_exact = v * np.sqrt(lam)
    opt, s1 = optimum(w, l_exact, k)
    achieved = weighted_error(w, res.A, res.B, l_exact)
    # G is known to eps ||G||: the objective is defined to that level
    assert abs(achieved**2 - opt**2) <= 1e3 * n * eps(np.float64) * s1**2
    assert np.all(np.isfinite(res.B))
    assert np.linalg.norm(res.B) <= 2 * np.linalg.norm(w)  # nothing blew up


def test_zero_rule_uses_the_rank_rule_of_g():
    """Eigenvalues below G's resolution count as null space ("zero" rule)."""
    rng = np.random.default_rng(10)
    n = 20
    v = np.linalg.qr(rng.standard_normal((n, n)))[0]
    lam = np.r_[np.ones(10), np.full(10, 1e-20)]
    g = (v * lam) @ v.T
    w = rng.standard_normal((15, n))
    res = whitened_svd(w, 12, gram=g, null_space="zero")
    assert res.A.shape[1] == 10
    assert np.allclose(res.B @ v[:, 10:], 0, atol=1e-12)
    # a larger rtol moves the cutoff
    res = whitened_svd(
        w,
        12,
        factor=v * np.sqrt(np.r_[np.ones(5), np.full(15, 1e-3)]),
        null_space="zero",
        rtol=0.1,
    )
    assert res.A.shape[1] == 5


# -- the rank rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "ratio"),
    [((64, 64), 0.25), ((100, 30), 0.5), ((30, 100), 1.0), ((7, 9), 0.3)],
)
def test_ratio_is_a_parameter_budget(shape, ratio):
    rng = np.random.default_rng(11)
    m, n = shape
    w = rng.standard_normal(shape)
    res = whitened_svd(w, ratio=ratio, diag=rng.uniform(0.1, 1.0, n))
    k = res.A.shape[1]
    assert k * (m + n) <= ratio * m * n < (k + 1) * (m + n)


@pytest.mark.parametrize("method", ["dense", "gram"])
@pytest.mark.parametrize("tol", [0.5, 0.1, 1e-3])
def test_tol_gives_the_least_rank_meeting_it(method, tol):
    rng = np.random.default_rng(12)
    w = rng.standard_normal((40, 50)) * np.geomspace(1, 1e-4, 50)
    x = activations(rng, 200, 50, decay=0.1)
    res = whitened_svd(w, tol=tol, gram=x.T @ x, method=method)
    k = res.A.shape[1]
    norm = np.linalg.norm(w @ x.T)
    assert weighted_error(w, res.A, res.B, x.T) <= tol * norm * (1 + 1e-6)
    opt_less, _ = optimum(w, x.T, k - 1)
    assert opt_less > tol * norm


def test_inputs_are_not_modified_and_results_do_not_alias():
    rng = np.random.default_rng(13)
    w = rng.standard_normal((20, 30))
    x = rng.standard_normal((50, 30))
    g = x.T @ x
    d = rng.uniform(size=30)
    copies = [a.copy() for a in (w, x, g, d)]
    for kwargs in ({"x": x}, {"gram": g}, {"diag": d}, {"factor": x.T}):
        res = whitened_svd(w, 5, **kwargs)
        res.B[...] = 0
    for original, copy in zip((w, x, g, d), copies, strict=True):
        assert np.array_equal(original, copy)


def test_fortran_and_strided_inputs():
    rng = np.random.default_rng(14)
    w = rng.standard_normal((40, 60))
    x = rng.standard_normal((100, 60))
    ref = whitened_svd(w, 5, x=x)
    res = whitened_svd(np.asfortranarray(w), 5, x=np.asfortranarray(x))
    assert np.allclose(res.A @ res.B, ref.A @ ref.B, atol=1e-10)
    big = np.zeros((80, 120))
    big[::2, ::2] = w
    res = whitened_svd(big[::2, ::2], 5, x=x)
    assert np.allclose(res.A @ res.B, ref.A @ ref.B, atol=1e-10)


def test_signs_are_canonical_and_deterministic():
    rng = np.random.default_rng(15)
    w = rng.standard_normal((20, 30))
    a = whitened_svd(w, 4, diag=np.linspace(1, 2, 30))
    b = whitened_svd(w, 4, diag=np.linspace(1, 2, 30))
    assert np.array_equal(a.A, b.A)
    idx = np.argmax(np.abs(a.A), axis=0)
    assert np.all(a.A[idx, np.arange(4)] > 0)


# -- argument checks ---------------------------------------------------------------

W = np.ones((6, 8))


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({}, ValueError, "exactly one of `k`"),
        ({"k": 2, "tol": 0.1}, ValueError, "exactly one of `k`"),
        ({"k": 2, "ratio": 0.5}, ValueError, "exactly one of `k`"),
        ({"k": 7}, ValueError, "0 < k <= 6"),
        ({"k": 2.0}, TypeError, "`k` must be an integer"),
        ({"tol": 1.5}, ValueError, "0 < tol < 1"),
        ({"ratio": 0.0}, ValueError, "0 < ratio <= 1"),
        ({"ratio": 1.5}, ValueError, "0 < ratio <= 1"),
        ({"ratio": 0.01}, ValueError, "one rank-1 term"),
        ({"ratio": "half"}, TypeError, "`ratio` must be a real number"),
        ({"k": 2, "method": "svd"}, ValueError, "`method` must be"),
        ({"k": 2, "null_space": "keep"}, ValueError, "`null_space` must be"),
        ({"k": 2, "gram": np.eye(7)}, ValueError, "`gram` must be N x N"),
        ({"k": 2, "gram": np.triu(np.ones((8, 8)))}, ValueError, "not Hermitian"),
        ({"k": 2, "gram": -np.eye(8)}, ValueError, "positive semidefinite"),
        ({"k": 2, "x": np.ones((5, 7))}, ValueError, "`x` must hold"),
        ({"k": 2, "factor": np.ones((7, 3))}, ValueError, "`factor` must have N = 8"),
        ({"k": 2, "diag": np.ones(7)}, ValueError, "`diag` must be a vector"),
        ({"k": 2, "diag": -np.ones(8)}, ValueError, "non-negative"),
        ({"k": 2, "diag": np.ones(8) * 1j}, TypeError, "`diag` must be real"),
        (
            {"k": 2, "x": np.ones((3, 8)), "diag": np.ones(8)},
            ValueError,
            "at most one of",
        ),
        ({"k": 2, "gram": np.full((8, 8), np.nan)}, ValueError, "`gram` must contain"),
        ({"k": 2, "x": np.ones((3, 8), np.float16)}, TypeError, "float16"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, fragment):
    with pytest.raises(error, match=fragment.replace("(", r"\(")):
        whitened_svd(W, **kwargs)


def test_nan_in_w_and_non_matrix_w():
    w = W.copy()
    w[0, 0] = np.nan
    with pytest.raises(ValueError, match="`w` must contain only finite"):
        whitened_svd(w, 2)
    with pytest.raises(ValueError, match="`w` must be 2-D"):
        whitened_svd(np.ones((2, 3, 4)), 2)


def test_exported():
    assert lowrank.whitened_svd is lowrank.weights.whitened_svd
    for name in (
        "whitened_svd",
        "shared_basis",
        "adapter_split",
        "WhitenedSVDResult",
        "SharedBasisResult",
        "AdapterSplitResult",
    ):
        assert name in lowrank.__all__
