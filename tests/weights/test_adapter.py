"""adapter_split: residual exactness, PiSSA/MiLoRA/CorDA-style triplets."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowrank import adapter_split, lora_ga_init, whitened_svd
from tests.weights._cases import activations, rand


def assert_residual_exact(w, res, scaling):
    """residual + scaling B A == W to the rounding of two operations."""
    product = scaling * (res.B @ res.A)
    total = res.residual + product
    e = np.finfo(res.residual.dtype).eps
    bound = 2 * e * (np.abs(w) + np.abs(product) + np.abs(res.residual))
    assert np.all(np.abs(total - w) <= bound)


CASES = [
    ("top", {}),
    ("bottom", {}),
    ("top", {"x": True}),
    ("bottom", {"x": True}),
    ("top", {"gram": True}),
    ("top", {"diag": True}),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
@pytest.mark.parametrize(("which", "weighting"), CASES)
@pytest.mark.parametrize("scaling", [1.0, 2.0, 0.125])
def test_the_residual_is_exact(dtype, which, weighting, scaling):
    rng = np.random.default_rng(0)
    w = rand(rng, (30, 24), dtype)
    x = activations(rng, 80, 24, dtype=dtype)
    kwargs = {}
    if "x" in weighting:
        kwargs["x"] = x
    if "gram" in weighting:
        kwargs["gram"] = x.conj().T @ x
    if "diag" in weighting:
        kwargs["diag"] = np.linspace(0.5, 2.0, 24)
    res = adapter_split(w, 5, which=which, scaling=scaling, **kwargs)
    assert res.B.shape == (30, 5)
    assert res.A.shape == (5, 24)
    assert res.residual.dtype == np.dtype(dtype)
    assert_residual_exact(w, res, scaling)
    # balanced: B and A carry the same singular values
    assert np.allclose(
        np.linalg.norm(res.B, axis=0), np.linalg.norm(res.A, axis=1), rtol=1e-4
    )


@given(m=st.integers(1, 10), n=st.integers(1, 10), data=st.data())
def test_residual_exact_on_random_cases(m, n, data):
    r = data.draw(st.integers(1, min(m, n)))
    which = data.draw(st.sampled_from(["top", "bottom"]))
    scale = data.draw(st.sampled_from([1.0, 3.0, 1e-3]))
    w = np.random.default_rng(data.draw(st.integers(0, 999))).standard_normal((m, n))
    w *= data.draw(st.sampled_from([1.0, 1e-8, 1e8]))
    assert_residual_exact(w, adapter_split(w, r, which=which, scaling=scale), scale)


def test_top_is_pissa():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((40, 30))
    u, s, vh = np.linalg.svd(w, full_matrices=False)
    res = adapter_split(w, 6, scaling=4.0)
    assert np.allclose(4.0 * res.B @ res.A, (u[:, :6] * s[:6]) @ vh[:6], atol=1e-12)
    assert np.allclose(res.residual, (u[:, 6:] * s[6:]) @ vh[6:], atol=1e-12)


def test_bottom_is_milora_and_exact_for_tiny_singular_values():
    """The trailing triplets, even far below sqrt(eps) s_1, from the exact SVD."""
    rng = np.random.default_rng(2)
    m, n = 50, 40
    u = np.linalg.qr(rng.standard_normal((m, n)))[0]
    v = np.linalg.qr(rng.standard_normal((n, n)))[0]
    s = np.r_[np.geomspace(1.0, 1e-3, n - 4), 1e-12 * np.array([4.0, 3.0, 2.0, 1.0])]
    w = (u * s) @ v.T
    res = adapter_split(w, 4, which="bottom")
    ref = (u[:, -4:] * s[-4:]) @ v[:, -4:].T
    # the bottom part is 1e-12; it is found to within eps ||W|| / gap ~ 1e-13
    # relative to itself
    assert np.linalg.norm(res.B @ res.A - ref) <= 1e-3 * np.linalg.norm(ref)
    assert_residual_exact(w, res, 1.0)
    # randomized methods cannot be asked for the bottom triplets
    with pytest.raises(ValueError, match="needs the exact SVD"):
        adapter_split(w, 4, which="bottom", method="gram")


def test_whitened_top_is_the_whitened_svd():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((25, 35))
    x = activations(rng, 100, 35, decay=0.01)
    res = adapter_split(w, 5, x=x)
    ref = whitened_svd(w, 5, x=x)
    assert np.allclose(res.B @ res.A, ref.A @ ref.B, atol=1e-10)


def test_whitened_bottom_takes_the_trailing_whitened_directions():
    rng = np.random.default_rng(4)
    w = rng.standard_normal((20, 30))
    x = activations(rng, 100, 30, decay=0.1)
    res = adapter_split(w, 3, which="bottom", x=x)
    u, _, _ = np.linalg.svd(w @ x.T, full_matrices=False)
    ub = u[:, -3:]
    assert np.allclose(res.B @ res.A, ub @ (ub.T @ w), atol=1e-10)


def test_lora_ga_factors_make_an_exact_residual_the_same_way():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((20, 16))
    g = rng.standard_normal((20, 16))
    a0, b0 = lora_ga_init(g, 3)
    residual = w - 2.0 * (a0 @ b0)
    assert np.allclose(residual + 2.0 * (a0 @ b0), w, rtol=0, atol=4e-16 * 8)


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"r": 0}, ValueError, "0 < r <= 6"),
        ({"r": 7}, ValueError, "0 < r <= 6"),
        ({"r": 2, "which": "middle"}, ValueError, "`which` must be"),
        ({"r": 2, "scaling": 0.0}, ValueError, "`scaling` must be"),
        ({"r": 2, "scaling": -1.0}, ValueError, "`scaling` must be"),
        ({"r": 2, "method": "lanczos"}, ValueError, "`method` must be one of"),
        ({"r": 2.5}, TypeError, "`r` must be an integer"),
        ({"r": 2, "diag": np.ones(3)}, ValueError, "`diag` must be a vector"),
    ],
)
def test_bad_arguments(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        adapter_split(np.ones((6, 8)), **kwargs)


def test_input_not_modified():
    rng = np.random.default_rng(6)
    w = rng.standard_normal((10, 12))
    copy = w.copy()
    res = adapter_split(w, 3)
    res.residual[...] = 0
    assert np.array_equal(w, copy)
