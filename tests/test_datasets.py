"""Tests of lowrank.datasets: definitions, stated properties, dtypes, errors."""

import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.linalg

import lowrank
from lowrank import datasets
from lowrank.datasets import (
    gaussian_kernel,
    hilbert,
    kahan,
    low_rank_plus_noise,
    shaw,
    with_spectrum,
)
from tests.helpers import eps, exact_singular_values

# -- shaw --------------------------------------------------------------------


def shaw_by_loops(n):
    """Regularization Tools' shaw.m, entry by entry (the reference)."""
    h = np.pi / n
    t = [-np.pi / 2 + (i + 0.5) * h for i in range(n)]
    a = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            u = np.pi * (np.sin(t[i]) + np.sin(t[j]))
            sinc = 1.0 if u == 0 else np.sin(u) / u
            a[i, j] = h * ((np.cos(t[i]) + np.cos(t[j])) * sinc) ** 2
    x = np.array(
        [2 * np.exp(-6 * (ti - 0.8) ** 2) + np.exp(-2 * (ti + 0.5) ** 2) for ti in t]
    )
    return a, x


@pytest.mark.parametrize("n", [2, 8, 20])
def test_shaw_matches_the_definition(n):
    a, b, x = shaw(n)
    a_ref, x_ref = shaw_by_loops(n)
    np.testing.assert_allclose(a, a_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(x, x_ref, rtol=1e-14)
    np.testing.assert_allclose(b, a_ref @ x_ref, rtol=1e-13)


def test_shaw_matches_regularization_tools_values():
    # A few entries of shaw(8) checked by hand against the closed form:
    # the anti-diagonal has u = 0, so A[i, n-1-i] = h * (2 cos t_i)^2.
    a, _, x = shaw(8)
    h = np.pi / 8
    t0 = -np.pi / 2 + h / 2
    assert a[0, 7] == pytest.approx(h * (2 * np.cos(t0)) ** 2, rel=1e-14)
    assert x[0] == pytest.approx(
        2 * np.exp(-6 * (t0 - 0.8) ** 2) + np.exp(-2 * (t0 + 0.5) ** 2)
    )


def test_shaw_stated_properties():
    problem = shaw(64)
    assert isinstance(problem, datasets.IllPosedProblem)
    assert problem._fields == ("A", "b", "x")
    a, _b, _x = problem
    np.testing.assert_array_equal(a, a.T)
    assert np.all(a > 0)
    s = exact_singular_values(a)
    assert s[9] / s[0] < 1e-4  # geometric decay
    assert s[0] / s[-1] > 1e16  # numerically singular
    rank = lowrank.pinv(a, return_rank=True).rank
    assert 18 <= rank <= 22  # "about 20 above the default cutoff"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shaw_dtype(dtype):
    a, b, x = shaw(10, dtype=dtype)
    assert a.dtype == b.dtype == x.dtype == dtype
    np.testing.assert_allclose(a, shaw(10).A, rtol=10 * eps(dtype))


@pytest.mark.parametrize(
    ("n", "error"),
    [
        (7, ValueError),
        (0, ValueError),
        (-2, ValueError),
        (4.0, TypeError),
        (True, TypeError),
        ("8", TypeError),
    ],
)
def test_shaw_bad_n(n, error):
    with pytest.raises(error, match="`n`"):
        shaw(n)


@pytest.mark.parametrize("dtype", [np.complex128, np.float16, np.int64, "nonsense"])
def test_real_generators_refuse_other_dtypes(dtype):
    for make in (shaw, hilbert, kahan, gaussian_kernel):
        with pytest.raises(TypeError, match="`dtype`"):
            make(4, dtype=dtype)


# -- hilbert -----------------------------------------------------------------


def test_hilbert_definition_and_inverse():
    for n in (1, 2, 7):
        np.testing.assert_allclose(hilbert(n), scipy.linalg.hilbert(n), rtol=1e-15)
    np.testing.assert_allclose(
        hilbert(5) @ scipy.linalg.invhilbert(5), np.eye(5), atol=1e-9
    )


def test_hilbert_stated_condition_numbers():
    assert np.linalg.cond(hilbert(5)) == pytest.approx(4.766e5, rel=1e-3)
    assert np.linalg.cond(hilbert(10)) == pytest.approx(1.6e13, rel=0.1)
    assert lowrank.pinv(hilbert(12), return_rank=True).rank == 11
    assert np.all(np.linalg.eigvalsh(hilbert(8)) > 0)  # positive definite


def test_hilbert_dtype_and_errors():
    assert hilbert(3, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="`n` must be >= 1"):
        hilbert(0)
    with pytest.raises(TypeError, match="`n`"):
        hilbert(2.5)


# -- kahan -------------------------------------------------------------------


def test_kahan_definition():
    n, theta, pert = 6, 0.8, 10.0
    k = kahan(n, theta=theta, perturbation=pert)
    s, c = np.sin(theta), np.cos(theta)
    for i in range(n):
        for j in range(n):
            if j < i:
                expected = 0.0
            elif j == i:
                expected = s**i + pert * eps(np.float64) * (n - i)
            else:
                expected = -c * s**i
            assert k[i, j] == pytest.approx(expected, rel=1e-14, abs=0)


@pytest.mark.parametrize(
    ("n", "dtype"), [(50, np.float64), (90, np.float64), (40, np.float32)]
)
def test_kahan_pivoted_qr_keeps_the_order(n, dtype):
    k = kahan(n, dtype=dtype)
    assert k.dtype == dtype
    r, piv = scipy.linalg.qr(k, mode="r", pivoting=True)
    np.testing.assert_array_equal(piv, np.arange(n))
    s = exact_singular_values(k)
    # R's last diagonal entry misses the smallest singular value by far.
    assert s[-1] < 1e-3 * abs(r[-1, -1])


def test_kahan_stated_singular_values():
    s = exact_singular_values(kahan(90))
    assert s[-1] < 1e-14
    assert s[-2] == pytest.approx(2.4e-3, rel=0.05)
    assert abs(kahan(90)[-1, -1]) == pytest.approx(1.9e-3, rel=0.05)
    s50 = exact_singular_values(kahan(50))
    assert s50[-1] == pytest.approx(1.6e-8, rel=0.05)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"theta": 0.0}, ValueError, "`theta`"),
        ({"theta": np.pi}, ValueError, "`theta`"),
        ({"theta": "1"}, TypeError, "`theta`"),
        ({"perturbation": -1.0}, ValueError, "`perturbation`"),
        ({"perturbation": np.inf}, ValueError, "`perturbation`"),
    ],
)
def test_kahan_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        kahan(5, **kwargs)


# -- gaussian_kernel ---------------------------------------------------------


def test_gaussian_kernel_stated_properties():
    k = gaussian_kernel(300, rng=1)
    np.testing.assert_array_equal(k, k.T)
    np.testing.assert_array_equal(np.diag(k), 1.0)
    assert np.all((k > 0) & (k <= 1))
    eigenvalues = np.linalg.eigvalsh(k)[::-1]
    assert eigenvalues[-1] > -300 * eps(np.float64) * eigenvalues[0]  # PSD
    assert np.sum(eigenvalues > 1e-8 * eigenvalues[0]) < 20


def test_gaussian_kernel_decay_slows_with_dimension_and_narrow_bandwidth():
    def rank(**kwargs):
        e = np.linalg.eigvalsh(gaussian_kernel(300, rng=0, **kwargs))
        return int(np.sum(e > 1e-8 * e[-1]))

    assert rank() < rank(dim=2) < rank(dim=2, bandwidth=0.1)


def test_gaussian_kernel_reproducible_and_dtype():
    np.testing.assert_array_equal(
        gaussian_kernel(20, rng=3), gaussian_kernel(20, rng=3)
    )
    assert not np.array_equal(gaussian_kernel(20, rng=3), gaussian_kernel(20, rng=4))
    k = gaussian_kernel(20, dim=3, rng=np.random.default_rng(0), dtype=np.float32)
    assert k.dtype == np.float32
    assert k.shape == (20, 20)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"dim": 0}, ValueError, "`dim`"),
        ({"bandwidth": 0.0}, ValueError, "`bandwidth`"),
        ({"bandwidth": -1.0}, ValueError, "`bandwidth`"),
        ({"bandwidth": None}, TypeError, "`bandwidth`"),
        ({"rng": "seed"}, TypeError, "`rng`"),
    ],
)
def test_gaussian_kernel_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        gaussian_kernel(5, **kwargs)


# -- with_spectrum -----------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128, np.complex64])
@pytest.mark.parametrize("shape", [(40, 25), (25, 40)])
def test_with_spectrum_has_the_prescribed_singular_values(dtype, shape):
    s = np.logspace(0, -3, 10)[::-1]  # any order
    a = with_spectrum(*shape, s, rng=0, dtype=dtype)
    assert a.dtype == dtype
    assert a.shape == shape
    if np.dtype(dtype).kind == "c":
        assert np.linalg.norm(a.imag) > 0.1 * np.linalg.norm(a.real)
    computed = exact_singular_values(a)
    tolerance = 30 * max(shape) * eps(dtype)
    np.testing.assert_allclose(computed[:10], np.sort(s)[::-1], rtol=0, atol=tolerance)
    assert np.all(computed[10:] < tolerance)


def test_with_spectrum_reproducible_and_full_rank():
    a = with_spectrum(5, 5, [3, 2, 1, 1, 1], rng=7)
    np.testing.assert_array_equal(a, with_spectrum(5, 5, [3, 2, 1, 1, 1], rng=7))
    assert np.linalg.cond(a) == pytest.approx(3.0, rel=1e-12)
    assert with_spectrum(4, 3, [], rng=0).shape == (4, 3)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((3, 2, [1, 1, 1]), ValueError, "at most min"),
        ((3, 3, [1, -1]), ValueError, ">= 0"),
        ((3, 3, [1, np.nan]), ValueError, "finite"),
        ((3, 3, [[1, 2]]), ValueError, "1-D"),
        ((3, 3, ["a"]), ValueError, "real numbers"),
        ((0, 3, [1]), ValueError, "`m`"),
        ((3, 2.0, [1]), TypeError, "`n`"),
    ],
)
def test_with_spectrum_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        with_spectrum(*args)


def test_with_spectrum_refuses_half_precision():
    with pytest.raises(TypeError, match="`dtype`"):
        with_spectrum(3, 3, [1], dtype=np.float16)


# -- low_rank_plus_noise -----------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32])
def test_low_rank_plus_noise_stated_gap(dtype):
    noise = 1e-3
    m, n, r = 300, 200, 8
    a = low_rank_plus_noise(m, n, r, noise, rng=2, dtype=dtype)
    assert a.dtype == dtype
    assert a.shape == (m, n)
    s = exact_singular_values(a)
    bound = noise * (1 + 3 / (math.sqrt(m) + math.sqrt(n)))  # t = 3
    assert np.all(np.abs(s[:r] - 1) <= bound)
    assert s[r] <= bound
    assert s[r] > 0.5 * noise  # the noise is about as large as stated


def test_low_rank_plus_noise_without_noise_is_exactly_low_rank():
    a = low_rank_plus_noise(30, 20, 4, noise=0, rng=0)
    s = exact_singular_values(a)
    np.testing.assert_allclose(s[:4], 1, atol=1e-14)
    assert s[4] < 1e-14
    pure_noise = exact_singular_values(
        low_rank_plus_noise(300, 200, 0, noise=0.5, rng=0)
    )
    assert 0.4 < pure_noise[0] <= 0.5 * (1 + 3 / (math.sqrt(300) + math.sqrt(200)))


def test_low_rank_plus_noise_positional_signature_and_reproducibility():
    a = low_rank_plus_noise(10, 8, 2, 1e-2, 5)
    np.testing.assert_array_equal(a, low_rank_plus_noise(10, 8, 2, noise=1e-2, rng=5))


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((5, 4, 5), ValueError, "`rank`"),
        ((5, 4, -1), ValueError, "`rank`"),
        ((5, 4, 2, -1e-3), ValueError, "`noise`"),
        ((5, 4, 2, float("nan")), ValueError, "`noise`"),
        ((5, 4, 2.0), TypeError, "`rank`"),
        ((5, 0, 0), ValueError, "`n`"),
    ],
)
def test_low_rank_plus_noise_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        low_rank_plus_noise(*args)


# -- the module --------------------------------------------------------------


def test_public_module():
    assert "datasets" in lowrank.__all__
    assert lowrank.datasets is datasets
    for name in datasets.__all__:
        assert getattr(datasets, name).__doc__


def test_importing_lowrank_imports_no_plotting():
    code = (
        "import sys, lowrank, lowrank.cli; "
        "assert 'matplotlib' not in sys.modules and 'PIL' not in sys.modules; "
        "assert 'numba' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
