"""Tests of lora_ga_init and lora_pro_gradients.

Oracles: the LoRA-GA residual is compared with the SVD tail and with random
(non-optimal) orthonormal factors; the LoRA-Pro gradients with a brute-force
least-squares solve of the vectorised problem ``min ||H_A B + A H_B - G||_F``
(a Kronecker-product matrix of size NM x (N + M) r), the choice of C with a
brute-force least-squares solve over vec(C) and with
scipy.linalg.solve_sylvester on the formulas of the issue.
"""

import numpy as np
import pytest
import scipy.linalg

from lowrank import LoRAGAResult, LoRAProResult, lora_ga_init, lora_pro_gradients
from lowrank.exceptions import IllConditionedWarning
from tests.helpers import eps, random_matrix

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def wide(x):
    return np.asarray(x, dtype=np.complex128 if np.iscomplexobj(x) else np.float64)


def h(x):
    return x.conj().T


# --------------------------------------------------------------------------
# LoRA-GA
# --------------------------------------------------------------------------


def ga_residual2(g, a0, b0):
    g, a0, b0 = wide(g), wide(a0), wide(b0)
    return float(np.linalg.norm(a0 @ (h(a0) @ g) + (g @ h(b0)) @ b0 - g) ** 2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "r"), [((30, 20), 3), ((20, 30), 5), ((12, 12), 6)])
def test_lora_ga_residual_is_the_svd_tail(dtype, shape, r):
    rng = np.random.default_rng(r)
    g = random_matrix(shape, dtype, rng)
    res = lora_ga_init(g, r)
    assert isinstance(res, LoRAGAResult)
    a0, b0 = res
    assert a0.shape == (shape[0], r)
    assert b0.shape == (r, shape[1])
    assert a0.dtype == np.dtype(dtype)
    assert b0.dtype == np.dtype(dtype)
    n = max(shape)
    t = 20 * n * eps(dtype)
    assert np.linalg.norm(h(wide(a0)) @ wide(a0) - np.eye(r)) <= t
    assert np.linalg.norm(wide(b0) @ h(wide(b0)) - np.eye(r)) <= t
    s = np.linalg.svd(wide(g), compute_uv=False)
    tail = float(np.sum(s[2 * r :] ** 2))
    assert abs(ga_residual2(g, a0, b0) - tail) <= t * float(s[0] ** 2)
    # A0 takes the leading r triplets, B0 the next r
    u, _, vh = np.linalg.svd(wide(g))
    assert np.linalg.norm(h(u[:, :r]) @ wide(a0), 2) >= 1 - t * 10
    assert (
        np.linalg.svd(vh[r : 2 * r] @ h(wide(b0)), compute_uv=False).min() >= 1 - t * 10
    )


def test_lora_ga_beats_other_orthonormal_factors():
    rng = np.random.default_rng(0)
    g = rng.standard_normal((25, 18)) * (0.8 ** np.arange(18))
    r = 3
    best = ga_residual2(g, *lora_ga_init(g, r))
    u, _, vh = np.linalg.svd(g)
    for _ in range(20):
        qa = np.linalg.qr(rng.standard_normal((25, r)))[0]
        qb = np.linalg.qr(rng.standard_normal((18, r)))[0].T
        assert best <= ga_residual2(g, qa, qb)
    # the same split taken twice (both from the leading r) is worse
    assert best < ga_residual2(g, u[:, :r], vh[:r])
    # the paper's split (leading r on the right factor) is equally good
    a1, b1 = lora_ga_init(g.T, r)
    assert np.isclose(ga_residual2(g, b1.T, a1.T), best)


def test_lora_ga_low_rank_gradient_is_reproduced():
    rng = np.random.default_rng(1)
    g = rng.standard_normal((20, 4)) @ rng.standard_normal((4, 16))
    a0, b0 = lora_ga_init(g, 2)
    assert ga_residual2(g, a0, b0) <= 1e-24 * np.linalg.norm(g) ** 2


def test_lora_ga_other_methods():
    rng = np.random.default_rng(2)
    g = rng.standard_normal((60, 50)) * (0.7 ** np.arange(50))
    exact = ga_residual2(g, *lora_ga_init(g, 4))
    for method in ("auto", "randomized", "block_krylov", "lanczos"):
        approx = ga_residual2(g, *lora_ga_init(g, 4, method=method, rng=0))
        assert approx <= exact * (1 + 1e-6)


@pytest.mark.parametrize(
    ("g", "r", "error", "match"),
    [
        (np.ones((10, 7)), 4, ValueError, r"0 < r <= min\(g.shape\) / 2 = 3"),
        (np.ones((10, 7)), 0, ValueError, "0 < r"),
        (np.ones((10, 7)), -1, ValueError, "0 < r"),
        (np.ones((1, 7)), 1, ValueError, "= 0"),
        (np.ones((10, 7)), 2.0, TypeError, "integer"),
        (np.ones((10, 7)), True, TypeError, "integer"),
        (np.ones(7), 1, ValueError, "two-dimensional"),
        (np.ones((2, 10, 7)), 1, ValueError, "2-D"),
        (np.ones((10, 7), dtype=np.float16), 1, TypeError, "float16"),
    ],
)
def test_lora_ga_bad_arguments(g, r, error, match):
    with pytest.raises(error, match=match):
        lora_ga_init(g, r)


def test_lora_ga_nan_and_method():
    g = np.ones((10, 7))
    g[2, 3] = np.inf
    with pytest.raises(ValueError, match="finite"):
        lora_ga_init(g, 2)
    with pytest.raises(ValueError, match="method"):
        lora_ga_init(np.ones((10, 7)), 2, method="qr")


def test_lora_ga_integer_input_and_no_modification():
    g = np.arange(48).reshape(8, 6) % 5
    before = g.copy()
    a0, _b0 = lora_ga_init(g, 2)
    assert a0.dtype == np.float64
    np.testing.assert_array_equal(g, before)


# --------------------------------------------------------------------------
# LoRA-Pro: brute force
# --------------------------------------------------------------------------


def lstsq_operator(a, b):
    """Matrix of (vec H_A, vec H_B) -> vec(H_A B + A H_B), column-major vec."""
    n, _r = a.shape
    m = b.shape[1]
    # vec(H_A B) = (B^T kron I_N) vec(H_A); vec(A H_B) = (I_M kron A) vec(H_B)
    return np.hstack([np.kron(b.T, np.eye(n)), np.kron(np.eye(m), a)])


def brute_force(a, b, g):
    """Minimal residual and min-norm solution of ``min ||H_A B + A H_B - G||``."""
    a, b, g = wide(a), wide(b), wide(g)
    n, r = a.shape
    m = b.shape[1]
    op = lstsq_operator(a, b)
    x = np.linalg.lstsq(op, g.ravel(order="F"), rcond=None)[0]
    res = op @ x - g.ravel(order="F")
    return (
        float(np.linalg.norm(res)),
        x[: n * r].reshape((n, r), order="F"),
        x[n * r :].reshape((r, m), order="F"),
    )


def residual(a, b, g, h_a, h_b):
    a, b, g, h_a, h_b = (wide(x) for x in (a, b, g, h_a, h_b))
    return float(np.linalg.norm(h_a @ b + a @ h_b - g))


def distance2(a, b, g, h_a, h_b):
    """``||H_A - G_A||^2 + ||H_B - G_B||^2`` with G_A = G B^H, G_B = A^H G."""
    a, b, g, h_a, h_b = (wide(x) for x in (a, b, g, h_a, h_b))
    return float(
        np.linalg.norm(h_a - g @ h(b)) ** 2 + np.linalg.norm(h_b - h(a) @ g) ** 2
    )


def family(a, b, g):
    """The minimisers as a function of C (pseudo-inverses in the singular case)."""
    a, b, g = wide(a), wide(b), wide(g)
    a_pinv, b_pinv = np.linalg.pinv(a), np.linalg.pinv(b)
    base_a = g @ b_pinv
    base_b = a_pinv @ g @ (np.eye(b.shape[1]) - b_pinv @ b)
    return lambda c: (base_a + a @ c, base_b - c @ b)


def best_c_brute_force(a, b, g):
    """The minimum-norm C minimising distance2 over the family, by lstsq on vec C."""
    a, b, g = wide(a), wide(b), wide(g)
    r = a.shape[1]
    fam = family(a, b, g)
    k_a, k_b = fam(np.zeros((r, r)))
    # ||K_A + A C - G_A||^2 + ||K_B - C B - G_B||^2, linear in vec(C)
    op = np.vstack([np.kron(np.eye(r), a), -np.kron(b.T, np.eye(r))])
    rhs = np.concatenate(
        [(g @ h(b) - k_a).ravel(order="F"), (h(a) @ g - k_b).ravel(order="F")]
    )
    c = np.linalg.lstsq(op, rhs, rcond=None)[0].reshape((r, r), order="F")
    return c, fam(c)


def rel_tol(dtype, *arrays):
    n = max(max(x.shape) for x in arrays)
    return 100 * n * eps(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", ["symmetric", "lora_pro"])
@pytest.mark.parametrize(("n", "m", "r"), [(9, 7, 2), (6, 10, 3), (5, 5, 1)])
def test_lora_pro_reaches_the_least_squares_minimum(dtype, variant, n, m, r):
    rng = np.random.default_rng(n + m + r)
    a = random_matrix((n, r), dtype, rng)
    b = random_matrix((r, m), dtype, rng)
    g = random_matrix((n, m), dtype, rng)
    res = lora_pro_gradients(a, b, g, variant=variant)
    assert isinstance(res, LoRAProResult)
    h_a, h_b = res
    assert h_a.shape == (n, r)
    assert h_b.shape == (r, m)
    assert h_a.dtype == np.dtype(dtype)
    assert h_b.dtype == np.dtype(dtype)
    best, x_a, x_b = brute_force(a, b, g)
    t = rel_tol(dtype, a, b, g) * np.linalg.norm(wide(g))
    assert abs(residual(a, b, g, h_a, h_b) - best) <= t
    # same fitted matrix as the brute-force solution, and the difference of
    # the solutions is (A C0, -C0 B): the null space of the problem
    fit = wide(h_a) @ wide(b) + wide(a) @ wide(h_b)
    fit_bf = x_a @ wide(b) + wide(a) @ x_b
    assert np.linalg.norm(fit - fit_bf) <= t
    c0 = np.linalg.lstsq(wide(a), wide(h_a) - x_a, rcond=None)[0]
    scale = np.linalg.norm(wide(h_a)) + np.linalg.norm(wide(h_b))
    assert np.linalg.norm(wide(a) @ c0 - (wide(h_a) - x_a)) <= 10 * t * scale
    assert np.linalg.norm(-c0 @ wide(b) - (wide(h_b) - x_b)) <= 10 * t * scale


def issue_formulas(a, b, g, variant):
    """The issue's formulas, literally, with inverses and solve_sylvester."""
    a, b, g = wide(a), wide(b), wide(g)
    ata, bbt = h(a) @ a, b @ h(b)
    g_a, g_b = g @ h(b), h(a) @ g
    ata_inv, bbt_inv = np.linalg.inv(ata), np.linalg.inv(bbt)
    if variant == "symmetric":
        c = -0.5 * ata_inv @ g_b @ h(b) @ bbt_inv
    else:
        c = scipy.linalg.solve_sylvester(ata, bbt, -h(a) @ g_a @ bbt_inv)
    h_a = g_a @ bbt_inv + a @ c
    h_b = ata_inv @ g_b @ (np.eye(b.shape[1]) - h(b) @ bbt_inv @ b) - c @ b
    return h_a, h_b


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("variant", ["symmetric", "lora_pro"])
def test_lora_pro_equals_the_issue_formulas(dtype, variant):
    rng = np.random.default_rng(11)
    a = random_matrix((40, 4), dtype, rng)
    b = random_matrix((4, 30), dtype, rng)
    g = random_matrix((40, 30), dtype, rng)
    got = lora_pro_gradients(a, b, g, variant=variant)
    for x, y in zip(got, issue_formulas(a, b, g, variant), strict=True):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-12 * np.linalg.norm(y))


def test_lora_pro_equals_the_papers_parametrisation():
    # Wang et al. put the projector on the other factor: H_A = (I - Q_A) G B^+
    # - A X, H_B = A^+ G + X B, with A^H A X + X B B^H = -(A^H A)^-1 G_B B^H.
    rng = np.random.default_rng(21)
    a = random_matrix((20, 3), np.complex128, rng)
    b = random_matrix((3, 15), np.complex128, rng)
    g = random_matrix((20, 15), np.complex128, rng)
    ata = h(a) @ a
    x = scipy.linalg.solve_sylvester(
        ata, b @ h(b), -np.linalg.solve(ata, h(a) @ g) @ h(b)
    )
    a_pinv, b_pinv = np.linalg.pinv(a), np.linalg.pinv(b)
    h_a = (np.eye(20) - a @ a_pinv) @ g @ b_pinv - a @ x
    h_b = a_pinv @ g + x @ b
    got = lora_pro_gradients(a, b, g, variant="lora_pro")
    np.testing.assert_allclose(got.H_A, h_a, atol=1e-12)
    np.testing.assert_allclose(got.H_B, h_b, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lora_pro_variant_minimises_the_distance_to_lora_gradients(dtype):
    rng = np.random.default_rng(12)
    a = random_matrix((12, 3), dtype, rng)
    b = random_matrix((3, 9), dtype, rng)
    g = random_matrix((12, 9), dtype, rng)
    pro = lora_pro_gradients(a, b, g, variant="lora_pro")
    sym = lora_pro_gradients(a, b, g, variant="symmetric")
    _, best = best_c_brute_force(a, b, g)
    d_pro = distance2(a, b, g, *pro)
    d_best = distance2(a, b, g, *best)
    t = rel_tol(dtype, a, b, g) * float(np.linalg.norm(wide(g)) ** 2) * 10
    assert abs(d_pro - d_best) <= t
    assert d_pro <= distance2(a, b, g, *sym) + t
    # and every other member of the family is farther
    fam = family(a, b, g)
    c_pro = np.linalg.lstsq(wide(a), wide(pro[0]) - fam(np.zeros((3, 3)))[0])[0]
    for _ in range(10):
        dc = 1e-2 * random_matrix(
            (3, 3), np.complex128 if np.iscomplexobj(a) else np.float64, rng
        )
        assert distance2(a, b, g, *fam(c_pro + dc)) >= d_pro - t


# --------------------------------------------------------------------------
# LoRA-Pro: singular A^H A or B B^H
# --------------------------------------------------------------------------


def rank_deficient(shape, rank, dtype, rng):
    left = random_matrix((shape[0], rank), dtype, rng)
    return (left @ random_matrix((rank, shape[1]), dtype, rng)).astype(dtype)


def truncated(x):
    """``x`` (in double) without the singular values below lowrank's default cutoff.

    A rank-deficient product rounded to single precision has rank r in
    double precision, with tiny singular values that the rank rule (in the
    input's precision) drops; the oracle must drop them too.
    """
    u, s, vh = np.linalg.svd(wide(x), full_matrices=False)
    keep = s > max(x.shape) * eps(x.dtype) * s[0]
    return (u[:, keep] * s[keep]) @ vh[keep]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("which", ["a", "b", "both"])
def test_lora_pro_singular_grams(dtype, which):
    rng = np.random.default_rng(13)
    n, m, r = 10, 8, 3
    a = rank_deficient((n, r), 1, dtype, rng) if which != "b" else None
    b = rank_deficient((r, m), 2, dtype, rng) if which != "a" else None
    a = random_matrix((n, r), dtype, rng) if a is None else a
    b = random_matrix((r, m), dtype, rng) if b is None else b
    g = random_matrix((n, m), dtype, rng)
    ta, tb = truncated(a), truncated(b)
    best, _, _ = brute_force(ta, tb, g)
    t = rel_tol(dtype, a, b, g) * np.linalg.norm(wide(g))
    results = {}
    for variant in ("symmetric", "lora_pro"):
        with pytest.warns(IllConditionedWarning, match="numerical rank") as record:
            results[variant] = lora_pro_gradients(a, b, g, variant=variant)
        assert len(record) == (2 if which == "both" else 1)
        h_a, h_b = results[variant]
        assert np.all(np.isfinite(h_a))
        assert np.all(np.isfinite(h_b))
        # every variant reaches the same minimal residual
        assert abs(residual(a, b, g, h_a, h_b) - best) <= t
    # "lora_pro" is still the closest member of the (pseudo-inverse) family
    _, closest = best_c_brute_force(ta, tb, g)
    d_pro = distance2(ta, tb, g, *results["lora_pro"])
    tt = 10 * t * np.linalg.norm(wide(g))
    assert abs(d_pro - distance2(ta, tb, g, *closest)) <= tt
    assert d_pro <= distance2(ta, tb, g, *results["symmetric"]) + tt


def test_lora_pro_rank_larger_than_dimensions():
    rng = np.random.default_rng(14)
    a, b, g = (
        rng.standard_normal((3, 5)),
        rng.standard_normal((5, 4)),
        rng.standard_normal((3, 4)),
    )
    with pytest.warns(IllConditionedWarning) as record:
        h_a, h_b = lora_pro_gradients(a, b, g, variant="lora_pro")
    assert len(record) == 2
    # A has full row rank: the fit is exact
    assert residual(a, b, g, h_a, h_b) <= 1e-13 * np.linalg.norm(g)


def test_lora_pro_tolerances_decide_the_rank():
    rng = np.random.default_rng(15)
    a = rng.standard_normal((10, 3)) @ np.diag([1.0, 1.0, 1e-9])
    b = rng.standard_normal((3, 8))
    g = rng.standard_normal((10, 8))
    lora_pro_gradients(a, b, g)  # full rank by the default rule: no warning
    with pytest.warns(IllConditionedWarning, match="`a` has numerical rank 2"):
        lora_pro_gradients(a, b, g, rtol=1e-6)
    with pytest.warns(IllConditionedWarning, match="`a` has numerical rank 2"):
        lora_pro_gradients(a, b, g, atol=1e-6)


def test_lora_pro_zero_factors():
    g = np.random.default_rng(16).standard_normal((6, 5))
    with pytest.warns(IllConditionedWarning) as record:
        h_a, h_b = lora_pro_gradients(np.zeros((6, 2)), np.zeros((2, 5)), g)
    assert len(record) == 2
    np.testing.assert_array_equal(h_a, 0)
    np.testing.assert_array_equal(h_b, 0)


def test_lora_pro_empty():
    h_a, h_b = lora_pro_gradients(np.ones((4, 0)), np.ones((0, 3)), np.ones((4, 3)))
    assert h_a.shape == (4, 0)
    assert h_b.shape == (0, 3)
    with pytest.warns(IllConditionedWarning):
        h_a, h_b = lora_pro_gradients(np.ones((0, 2)), np.ones((2, 3)), np.ones((0, 3)))
    assert h_a.shape == (0, 2)
    assert h_b.shape == (2, 3)
    np.testing.assert_array_equal(h_b, 0)


# --------------------------------------------------------------------------
# LoRA-Pro: arguments
# --------------------------------------------------------------------------


def test_lora_pro_dtype_promotion_and_no_modification():
    rng = np.random.default_rng(17)
    a = rng.standard_normal((6, 2)).astype(np.float32)
    b = rng.standard_normal((2, 5)).astype(np.float32)
    g = (rng.standard_normal((6, 5)) + 1j * rng.standard_normal((6, 5))).astype(
        np.complex64
    )
    before = [x.copy() for x in (a, b, g)]
    h_a, h_b = lora_pro_gradients(a, b, g)
    assert h_a.dtype == np.complex64
    assert h_b.dtype == np.complex64
    for x, y in zip((a, b, g), before, strict=True):
        np.testing.assert_array_equal(x, y)
    h_a, h_b = lora_pro_gradients(a, b, np.ones((6, 5), dtype=int))
    assert h_a.dtype == np.float64
    h_a, _ = lora_pro_gradients(np.asfortranarray(a), b[:, ::-1][:, ::-1], g)
    assert h_a.dtype == np.complex64


@pytest.mark.parametrize(
    ("shapes", "kwargs", "error", "match"),
    [
        (((6, 2), (3, 5), (6, 5)), {}, ValueError, r"\(N, r\), \(r, M\) and \(N, M\)"),
        (((6, 2), (2, 5), (6, 4)), {}, ValueError, "shapes"),
        (((6, 2), (2, 5), (5, 5)), {}, ValueError, "shapes"),
        (((6, 2), (2, 5), (6, 5)), {"variant": "pro"}, ValueError, "'symmetric'"),
        (((6, 2), (2, 5), (6, 5)), {"variant": None}, ValueError, "variant"),
        (((6, 2), (2, 5), (6, 5)), {"atol": -1.0}, ValueError, "atol"),
        (((6, 2), (2, 5), (6, 5)), {"rtol": -1.0}, ValueError, "rtol"),
        (((6,), (2, 5), (6, 5)), {}, ValueError, "two-dimensional"),
        (((2, 6, 2), (2, 5), (6, 5)), {}, ValueError, "2-D"),
    ],
)
def test_lora_pro_bad_arguments(shapes, kwargs, error, match):
    a, b, g = (np.ones(s) for s in shapes)
    with pytest.raises(error, match=match):
        lora_pro_gradients(a, b, g, **kwargs)


def test_lora_pro_nan_and_dtype():
    a, b, g = np.ones((6, 2)), np.ones((2, 5)), np.ones((6, 5))
    g[0, 0] = np.nan
    for kwargs in ({}, {"check_finite": False}):
        with pytest.raises(ValueError, match="`g` must contain only finite"):
            lora_pro_gradients(a, b, g, **kwargs)
    with pytest.raises(TypeError, match="float16"):
        lora_pro_gradients(a.astype(np.float16), b, np.ones((6, 5)))
