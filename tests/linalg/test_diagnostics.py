"""Tests of lowrank.moore_penrose_residuals."""

import numpy as np
import pytest

import lowrank


def brute_force_residuals(a, x):
    """The four residuals with every product formed explicitly."""

    def fro(t):
        return np.linalg.norm(t)

    def rel(num, den):
        return num / den if den > 0 else num

    ax, xa = a @ x, x @ a
    return (
        rel(fro(ax @ a - a), fro(a)),
        rel(fro(x @ ax - x), fro(x)),
        rel(fro(ax.conj().T - ax), fro(ax)),
        rel(fro(xa.conj().T - xa), fro(xa)),
    )


@pytest.mark.parametrize("shape", [(60, 4), (4, 60), (7, 5), (5, 7), (9, 9), (30, 1)])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_matches_brute_force_for_an_arbitrary_candidate(shape, dtype):
    # Tall and wide shapes take the projected route (M > 2N or N > 2M); the
    # candidate is far from a pseudo-inverse, so every residual is O(1).
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape)
    x = rng.standard_normal(shape[::-1])
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(shape)
        x = x + 1j * rng.standard_normal(shape[::-1])
    got = lowrank.moore_penrose_residuals(a, x)
    np.testing.assert_allclose(got, brute_force_residuals(a, x), rtol=1e-10)
    assert all(r > 1e-3 for r in got[:3])
    # A real 1 x 1 matrix XA is always symmetric.
    assert got.xa_hermitian > 1e-3 or (shape[1] == 1 and np.dtype(dtype).kind == "f")


def test_perturbation_is_measured_at_its_size():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((200, 6))
    x = lowrank.pinv(a)
    for size in (1e-12, 1e-8, 1e-4):
        e = rng.standard_normal(x.shape)
        y = x + size * np.linalg.norm(x) * e / np.linalg.norm(e)
        res = lowrank.moore_penrose_residuals(a, y)
        np.testing.assert_allclose(res, brute_force_residuals(a, y), rtol=1e-3)
        assert size / 100 < max(res) < 100 * size


def test_exact_pseudo_inverse_scores_near_eps():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((500, 10)) + 1j * rng.standard_normal((500, 10))
    res = lowrank.moore_penrose_residuals(a, lowrank.pinv(a))
    assert max(res) < 100 * 500 * np.finfo(float).eps


def test_zero_denominators():
    a = np.zeros((4, 3))
    assert lowrank.moore_penrose_residuals(a, a.T) == (0.0, 0.0, 0.0, 0.0)
    b = np.ones((4, 3))
    res = lowrank.moore_penrose_residuals(b, np.zeros((3, 4)))
    assert res.axa == 1.0  # ||0 - A|| / ||A||
    assert res.xax == res.ax_hermitian == res.xa_hermitian == 0.0


def test_empty():
    res = lowrank.moore_penrose_residuals(np.zeros((0, 5)), np.zeros((5, 0)))
    assert res == (0.0, 0.0, 0.0, 0.0)
    res = lowrank.moore_penrose_residuals(np.zeros((2, 50, 0)), np.zeros((2, 0, 50)))
    assert res.xa_hermitian.shape == (2,)


def test_single_precision_is_checked_in_double():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((40, 5)).astype(np.float32)
    x = lowrank.pinv(a)
    res = lowrank.moore_penrose_residuals(a, x)
    expected = brute_force_residuals(a.astype(np.float64), x.astype(np.float64))
    np.testing.assert_allclose(res, expected, rtol=1e-6)
    assert all(isinstance(r, float) for r in res)


def test_stacks_broadcast():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((3, 1, 20, 4))
    x = rng.standard_normal((2, 4, 20))
    res = lowrank.moore_penrose_residuals(a, x)
    assert res.axa.shape == (3, 2)
    for i in range(3):
        for j in range(2):
            expected = brute_force_residuals(a[i, 0], x[j])
            np.testing.assert_allclose([r[i, j] for r in res], expected, rtol=1e-10)


def test_bad_input():
    with pytest.raises(ValueError, match=r"`x` must have shape \(\.\.\., 3, 4\)"):
        lowrank.moore_penrose_residuals(np.ones((4, 3)), np.ones((4, 3)))
    with pytest.raises(ValueError, match="do not broadcast"):
        lowrank.moore_penrose_residuals(np.ones((2, 4, 3)), np.ones((3, 3, 4)))
    with pytest.raises(ValueError, match="`x` must contain only finite numbers"):
        lowrank.moore_penrose_residuals(np.ones((4, 3)), np.full((3, 4), np.nan))
    with pytest.raises(ValueError, match="at least two-dimensional"):
        lowrank.moore_penrose_residuals(np.ones(3), np.ones(3))
    with pytest.raises(TypeError, match="not supported"):
        lowrank.moore_penrose_residuals(np.ones((2, 2), np.float16), np.ones((2, 2)))
