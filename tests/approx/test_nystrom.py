"""Tests of nystrom: randomized Nyström approximation of PSD matrices.

Accuracy is judged against what is achievable: the optimal rank-k errors
``lambda_{k+1}`` (spectral) and ``sum_{j>k} lambda_j`` (trace norm) of a
matrix built with a known spectrum, and the expectation bounds of Tropp,
Yurtsever, Udell & Cevher (2017), plus a rounding floor of ``N eps ||A||``.
"""

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg
from hypothesis import given
from hypothesis import strategies as st

import lowrank.approx._nystrom as nystrom_module
from lowrank import NystromResult, nystrom
from lowrank.exceptions import FallbackWarning
from tests.helpers import assert_canonical_signs, assert_orthonormal, eps

N = 200
#: Complex cases run on smaller matrices and fewer draws: on this 2-core
#: machine, shared with other jobs, threaded OpenBLAS makes each small complex
#: LAPACK call up to 1000x slower than single-threaded (zheevd on 25 x 25:
#: 60 ms instead of 0.06 ms); the code path is the same as for real input.
N_COMPLEX = 100
DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
SPECTRA = {
    "fast": lambda n: 0.5 ** np.arange(n),
    "slow": lambda n: 1.0 / np.arange(1, n + 1),
    "rank8": lambda n: np.r_[np.linspace(1.0, 0.1, 8), np.zeros(n - 8)],
}


def psd_with_spectrum(lam, dtype=np.float64, seed=0):
    """``A = Q diag(lam) Q^H`` with Haar Q (complex for complex dtypes)."""
    rng = np.random.default_rng(seed)
    n = len(lam)
    g = rng.standard_normal((n, n))
    if np.dtype(dtype).kind == "c":
        g = g + 1j * rng.standard_normal((n, n))
    q = np.linalg.qr(g)[0]
    a = (q * lam) @ q.conj().T
    return ((a + a.conj().T) / 2).astype(dtype)


def reconstruction_error_eigenvalues(a, w, v):
    """Eigenvalues of ``A - V diag(w) V^H``, in double precision."""
    wide = np.complex128 if np.iscomplexobj(a) or np.iscomplexobj(v) else np.float64
    v = v.astype(wide)
    e = np.asarray(a, dtype=wide) - (v * w.astype(np.float64)) @ v.conj().T
    return np.linalg.eigvalsh((e + e.conj().T) / 2)


def tyuc_bounds(lam, k, width, complex_):
    """Expectation bounds (spectral, trace norm) for the rank-k truncation."""
    alpha = 0 if complex_ else 1
    tail = lam[k:].sum()
    factor = k / (width - k - alpha)
    return lam[k] + factor * tail, (1 + factor) * tail


def assert_valid_result(res, n, k, dtype):
    w, v = res
    assert isinstance(res, NystromResult)
    assert w.shape == (k,)
    assert v.shape == (n, k)
    assert w.dtype == np.finfo(dtype).dtype
    assert v.dtype == np.dtype(dtype)
    assert np.all(w >= 0)
    assert np.all(np.diff(w) <= 0)
    assert_orthonormal(v, 10 * n * eps(dtype))
    assert_canonical_signs(v)


# --------------------------------------------------------------------------
# accuracy on known spectra
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spectrum", ["fast", "slow"])
@pytest.mark.parametrize("k", [5, 15])
def test_error_within_the_expectation_bounds(dtype, spectrum, k):
    complex_ = np.dtype(dtype).kind == "c"
    n = N_COMPLEX if complex_ else N
    lam = SPECTRA[spectrum](n)
    a = psd_with_spectrum(lam, dtype, seed=k)
    width = k + 10
    b_spec, b_trace = tyuc_bounds(lam, k, width, complex_)
    floor = n * eps(dtype) * lam[0]
    spec, trace = [], []
    for seed in range(3 if complex_ else 6):
        res = nystrom(a, k, rng=seed)
        assert_valid_result(res, n, k, dtype)
        ev = reconstruction_error_eigenvalues(a, *res)
        spec.append(np.abs(ev).max())
        trace.append(np.abs(ev).sum())
        # every draw within the bound on the mean (far inside in practice)
        assert spec[-1] <= b_spec + floor
    assert np.mean(trace) <= b_trace + n * floor
    # measured, for reference (double precision): worst spectral error /
    # lambda_{k+1} 1.0004 (fast decay) and 3.4 (1/j, k = 15; the bound is
    # 69); mean trace-norm error / optimum at most 1.011 (fast), 1.34 (1/j)
    if spectrum == "fast":
        assert max(spec) <= 1.01 * lam[k] + floor


@pytest.mark.parametrize("dtype", DTYPES)
def test_eigenvalues_never_exceed_those_of_a(dtype):
    # A_nys <= A (Loewner order), so w_j <= lambda_j(A) up to rounding
    n = N_COMPLEX if np.dtype(dtype).kind == "c" else N
    lam = SPECTRA["slow"](n)
    a = psd_with_spectrum(lam, dtype, seed=3)
    for seed in range(4):
        w, _ = nystrom(a, 20, rng=seed)
        assert np.all(w <= lam[:20] + 10 * n * eps(dtype) * lam[0])
    # and the reconstruction error A - V W V^H is PSD up to rounding
    w, v = nystrom(a, 20, rng=9)
    ev = reconstruction_error_eigenvalues(a, w, v)
    assert ev.min() >= -10 * n * eps(dtype) * lam[0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_exact_for_low_rank(dtype):
    n = N_COMPLEX if np.dtype(dtype).kind == "c" else N
    lam = SPECTRA["rank8"](n)
    a = psd_with_spectrum(lam, dtype, seed=4)
    w, v = nystrom(a, 8, oversample=4, rng=0)
    tol = n * eps(dtype)
    np.testing.assert_allclose(w, lam[:8], atol=tol, rtol=0)
    ev = reconstruction_error_eigenvalues(a, w, v)
    assert np.abs(ev).max() <= tol
    # asking for more than the rank gives (numerically) zero eigenvalues
    w, _ = nystrom(a, 12, rng=0)
    assert np.all(w[8:] <= tol)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_full_sketch_is_the_eigendecomposition(dtype):
    lam = np.linspace(2.0, 0.5, 30)
    a = psd_with_spectrum(lam, dtype, seed=5)
    w, v = nystrom(a, 30, rng=0)
    np.testing.assert_allclose(w, lam, rtol=1e-13)
    np.testing.assert_allclose((v * w) @ v.conj().T, a, atol=1e-13)


def test_power_iterations_reduce_the_error():
    lam = SPECTRA["slow"](N)
    a = psd_with_spectrum(lam, seed=6)
    errors = {}
    for q in (0, 1, 3):
        errors[q] = [
            np.abs(
                reconstruction_error_eigenvalues(a, *nystrom(a, 10, n_iter=q, rng=s))
            ).max()
            for s in range(4)
        ]
    assert np.mean(errors[1]) < 0.7 * np.mean(errors[0])
    assert np.mean(errors[3]) < np.mean(errors[1])
    assert max(errors[3]) <= 1.5 * lam[10]


@given(
    n=st.integers(1, 40),
    k_frac=st.floats(0.0, 1.0),
    oversample=st.integers(0, 12),
    rank=st.integers(0, 40),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_properties_on_random_psd_matrices(n, k_frac, oversample, rank, dtype, seed):
    rng = np.random.default_rng(seed)
    rank = min(rank, n)
    lam = np.sort(np.r_[rng.uniform(0, 3, rank), np.zeros(n - rank)])[::-1]
    a = psd_with_spectrum(lam, dtype, seed=seed)
    k = max(1, round(k_frac * n))
    res = nystrom(a, k, oversample=oversample, rng=seed)
    assert_valid_result(res, n, k, dtype)
    # Worst ratios to n eps max(lambda_1, 1) measured over 3000 random cases:
    # eigenvalue excess 2.0, negative error eigenvalue 5.4, exactness 5.4
    # (full sketch) and 1.8 (five or more columns beyond the rank). With
    # fewer spare columns the core can be ill-conditioned (Omega nearly
    # missing an eigenvector), and the error grows like eps cond(core).
    tol = 20 * n * eps(dtype) * max(lam[0], 1.0)
    assert np.all(res.eigenvalues <= lam[:k] + tol)
    ev = reconstruction_error_eigenvalues(a, *res)
    assert ev.min() >= -tol
    width = min(k + oversample, n)
    if width == n or width >= rank + 5:
        # the sketch spans the range: exact up to rounding and truncation
        assert np.abs(ev).max() <= tol + (lam[k] if k < n else 0.0)


# --------------------------------------------------------------------------
# input kinds
# --------------------------------------------------------------------------


def laplacian(n, dtype=np.float64):
    """The path-graph Laplacian (PSD, eigenvalues 2 - 2 cos(pi j / n))."""
    main = np.r_[1.0, np.full(n - 2, 2.0), 1.0]
    return scipy.sparse.diags_array(
        [main, -np.ones(n - 1), -np.ones(n - 1)], offsets=[0, 1, -1], format="csr"
    ).astype(dtype)


class MatmatOnly(scipy.sparse.linalg.LinearOperator):
    """An operator with products by A only: nystrom must not need A^H."""

    def __init__(self, a):
        super().__init__(dtype=a.dtype, shape=a.shape)
        self.a = a
        self.calls = 0

    def _matmat(self, x):
        self.calls += 1
        return self.a @ x

    def _matvec(self, x):
        return self._matmat(x.reshape(-1, 1)).ravel()

    def _rmatvec(self, x):
        raise AssertionError("nystrom must not multiply by A^H")


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32])
def test_sparse_and_operator_input_match_dense(dtype):
    s = laplacian(150, dtype)
    dense = s.toarray()
    ref = nystrom(dense, 6, n_iter=2, rng=1)
    op = MatmatOnly(s)
    for a in (s, s.tocsc(), s.tocoo(), op):
        res = nystrom(a, 6, n_iter=2, rng=1)
        assert_valid_result(res, 150, 6, dtype)
        np.testing.assert_allclose(
            res.eigenvalues, ref.eigenvalues, rtol=100 * eps(dtype)
        )
        np.testing.assert_allclose(
            res.eigenvectors, ref.eigenvectors, atol=1e3 * eps(dtype)
        )
    assert op.calls == 3  # one sample plus two power iterations


def test_operator_is_never_densified():
    n = 100_000
    diag = 1.0 / np.arange(1, n + 1)
    op = scipy.sparse.linalg.LinearOperator(
        (n, n),
        matvec=lambda x: diag * x,
        matmat=lambda x: diag[:, None] * x,
        dtype=np.float64,
    )
    w = nystrom(op, 3, n_iter=2, rng=0).eigenvalues
    np.testing.assert_allclose(w, diag[:3], rtol=0.05)


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        (np.int64, np.float64),
        (np.bool_, np.float64),
        (np.float32, np.float32),
        (np.complex64, np.complex64),
    ],
)
def test_dtypes(dtype, expected):
    a = (np.eye(10) * 3 + 1).astype(dtype)
    w, v = nystrom(a, 3, rng=0)
    assert v.dtype == np.dtype(expected)
    assert w.dtype == np.finfo(expected).dtype
    if dtype != np.bool_:
        np.testing.assert_allclose(w[0], 13, rtol=10 * eps(expected))


def test_single_precision_is_computed_in_single_precision():
    lam = SPECTRA["fast"](N)
    a = psd_with_spectrum(lam, np.float32, seed=7)
    w32, v32 = nystrom(a, 10, rng=3)
    w64 = nystrom(a.astype(np.float64), 10, rng=3).eigenvalues
    assert w32.dtype == np.float32
    assert v32.dtype == np.float32
    np.testing.assert_allclose(w32, w64, atol=N * eps(np.float32))


def test_zero_matrix():
    w, v = nystrom(np.zeros((20, 20)), 4, rng=0)
    np.testing.assert_array_equal(w, np.zeros(4))
    np.testing.assert_allclose(v.T @ v, np.eye(4), atol=1e-14)


def test_one_by_one():
    w, v = nystrom(np.array([[2.5]]), 1, rng=0)
    np.testing.assert_allclose(w, [2.5])
    np.testing.assert_allclose(v, [[1.0]])


def test_rounding_level_indefiniteness_is_accepted():
    # B B^T of a thin B: PSD in exact arithmetic, rank 5, and its stored
    # entries carry rounding, so eigenvalues near -eps ||A|| appear; with
    # k + oversample far beyond the rank the core sees them
    rng = np.random.default_rng(8)
    b = rng.standard_normal((80, 5))
    a = b @ b.T
    for seed in range(4):
        w, v = nystrom(a, 40, oversample=20, rng=seed)
        ev = reconstruction_error_eigenvalues(a, w, v)
        assert np.abs(ev).max() <= 80 * eps(np.float64) * np.linalg.norm(a, 2) * 10


def counting_cholesky(monkeypatch):
    """Patch the module's Cholesky to count its failures."""
    failures = []
    original = scipy.linalg.cholesky

    def wrapped(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        except np.linalg.LinAlgError:
            failures.append(1)
            raise

    monkeypatch.setattr(nystrom_module.scipy.linalg, "cholesky", wrapped)
    return failures


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_shift_is_raised_past_rounding_level_negative_eigenvalues(monkeypatch, dtype):
    # eigenvalues -50 eps: below the shift eps ||Y||, so the first Cholesky
    # factorization fails, yet within the rounding tolerance: a PSD matrix
    # to working precision. A full sketch (l = n) is sure to see them.
    n = 40
    lam = np.r_[np.linspace(1.0, 0.5, 5), np.full(n - 5, -50 * eps(dtype))]
    a = psd_with_spectrum(lam, dtype, seed=14)
    failures = counting_cholesky(monkeypatch)
    res = nystrom(a, n, rng=0)  # no warning (they are errors here)
    assert len(failures) >= 1
    assert_valid_result(res, n, n, dtype)
    w = res.eigenvalues
    np.testing.assert_allclose(w[:5], lam[:5], atol=20 * n * eps(dtype))
    assert np.all(w[5:] <= 20 * n * eps(dtype))


def test_clearly_negative_eigenvalue_raises():
    lam = np.r_[np.linspace(1.0, 0.5, 5), np.full(35, -1e-6)]
    a = psd_with_spectrum(lam, seed=15)
    with pytest.raises(ValueError, match="not positive semidefinite"):
        nystrom(a, 40, rng=0)


def test_cholesky_failure_falls_back_with_a_warning(monkeypatch):
    lam = SPECTRA["fast"](N)
    a = psd_with_spectrum(lam, seed=9)
    ref = nystrom(a, 8, rng=0)
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise np.linalg.LinAlgError("forced")

    monkeypatch.setattr(nystrom_module.scipy.linalg, "cholesky", broken)
    with pytest.warns(FallbackWarning, match="eigendecomposition"):
        res = nystrom(a, 8, rng=0)
    # the shift was raised MAX_SHIFT_RETRIES times before giving up
    assert len(calls) == nystrom_module.MAX_SHIFT_RETRIES + 1
    assert_valid_result(res, N, 8, np.float64)
    # the eigendecomposition route computes the same approximation
    np.testing.assert_allclose(res.eigenvalues, ref.eigenvalues, rtol=1e-10)
    np.testing.assert_allclose(res.eigenvectors, ref.eigenvectors, atol=1e-8)


def test_cholesky_fallback_on_a_rank_deficient_matrix(monkeypatch):
    """The eigh fallback keeps k eigenpairs when the core is singular.

    It dropped the core's negligible eigenvalues together with their columns
    of B, so fewer than k eigenpairs came back and canonical_signs raised a
    broadcasting ValueError.
    """
    rng = np.random.default_rng(16)
    b = rng.standard_normal((60, 5))
    a = b @ b.T
    lam = scipy.linalg.eigvalsh(a)[::-1]

    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("forced")

    monkeypatch.setattr(nystrom_module.scipy.linalg, "cholesky", broken)
    with pytest.warns(FallbackWarning, match="eigendecomposition"):
        res = nystrom(a, 10, rng=0)
    assert_valid_result(res, 60, 10, np.float64)
    tol = 100 * 60 * eps(np.float64) * lam[0]
    np.testing.assert_allclose(res.eigenvalues[:5], lam[:5], rtol=0, atol=tol)
    assert np.all(res.eigenvalues[5:] <= tol)
    assert np.abs(reconstruction_error_eigenvalues(a, *res)).max() <= tol


def test_reproducible_with_the_same_rng():
    a = psd_with_spectrum(SPECTRA["slow"](50), seed=10)
    r1 = nystrom(a, 5, rng=7)
    r2 = nystrom(a, 5, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(r1.eigenvalues, r2.eigenvalues)
    np.testing.assert_array_equal(r1.eigenvectors, r2.eigenvectors)
    r3 = nystrom(a, 5, rng=8)
    assert not np.array_equal(r1.eigenvalues, r3.eigenvalues)


def test_input_is_not_modified():
    a = psd_with_spectrum(SPECTRA["slow"](30), seed=11)
    a0 = a.copy()
    nystrom(a, 5, n_iter=1, rng=0)
    np.testing.assert_array_equal(a, a0)


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------


PSD = psd_with_spectrum(SPECTRA["slow"](12), seed=12)


def nonsymmetric():
    a = PSD.copy()
    a[0, 1] += 0.1
    return a


def indefinite():
    # positive diagonal, eigenvalues +-: only the sample can reveal it
    return np.kron(np.eye(6), np.array([[1.0, 2.0], [2.0, 1.0]]))


@pytest.mark.parametrize(
    ("a", "kwargs", "error", "match"),
    [
        (np.ones((4, 5)), {}, ValueError, "must be square"),
        (nonsymmetric(), {}, ValueError, "not Hermitian"),
        (scipy.sparse.csr_array(nonsymmetric()), {}, ValueError, "not Hermitian"),
        (
            scipy.sparse.linalg.aslinearoperator(nonsymmetric()),
            {},
            ValueError,
            "not Hermitian",
        ),
        (-PSD, {}, ValueError, "positive semidefinite"),
        (scipy.sparse.csr_array(-PSD), {}, ValueError, "positive semidefinite"),
        (indefinite(), {"k": 12}, ValueError, "not positive semidefinite"),
        (
            scipy.sparse.linalg.aslinearoperator(-PSD),
            {"k": 12},
            ValueError,
            "not positive semidefinite",
        ),
        (PSD, {"k": 0}, ValueError, "0 < k <= 12"),
        (PSD, {"k": 13}, ValueError, "0 < k <= 12"),
        (PSD, {"k": 2.0}, TypeError, "`k` must be an integer"),
        (PSD, {"oversample": -1}, ValueError, "`oversample` must be >= 0"),
        (PSD, {"n_iter": -1}, ValueError, "`n_iter` must be >= 0"),
        (PSD, {"n_iter": 1.5}, TypeError, "`n_iter` must be an integer"),
        (np.full((3, 3), np.nan), {}, ValueError, "finite"),
        (np.ones((2, 3, 3)), {}, ValueError, "single matrix"),
        (np.ones(3), {}, ValueError, "two-dimensional"),
        (np.eye(3, dtype=np.float16), {}, TypeError, "float16"),
        (PSD, {"rng": "seed"}, TypeError, "`rng`"),
    ],
)
def test_validation(a, kwargs, error, match):
    kwargs = {"k": 2} | kwargs
    k = kwargs.pop("k")
    with pytest.raises(error, match=match):
        nystrom(a, k, **kwargs)


def test_nearly_hermitian_input_is_accepted():
    rng = np.random.default_rng(13)
    b = rng.standard_normal((40, 40)).astype(np.float32)
    a = b @ b.T  # symmetric up to rounding of the product
    w, _ = nystrom(a, 3, rng=0)
    top = scipy.linalg.eigvalsh(a.astype(np.float64))[::-1][:3]
    assert np.all(w <= top * (1 + 1e-4))
