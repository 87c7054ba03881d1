import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

from lowrank.approx._error_estimate import BLOCK_SIZE, estimate_spectral_error
from tests.helpers import random_orthonormal, spectral_error

M, N = 300, 200


def _with_spectrum(s, rng, m=M, n=N, complex_=False):
    """A = U0 diag(s) V0^H, returned with U0 and V0^H."""
    u0 = random_orthonormal(rng, m, len(s), complex_)
    v0 = random_orthonormal(rng, n, len(s), complex_)
    vh0 = v0.conj().T
    return (u0 * s) @ vh0, u0, vh0


class CountingOperator(scipy.sparse.linalg.LinearOperator):
    """A LinearOperator that records its products and refuses densification."""

    def __init__(self, a):
        super().__init__(dtype=a.dtype, shape=a.shape)
        self.a = a
        self.columns = []
        self.dtypes = []

    def _matmat(self, x):
        self.columns.append(x.shape[1])
        self.dtypes.append(x.dtype)
        return self.a @ x

    def _rmatmat(self, y):
        self.columns.append(y.shape[1])
        self.dtypes.append(y.dtype)
        return self.a.conj().T @ y

    def _matvec(self, x):
        raise AssertionError("matvec used: the estimate must work on blocks")

    def _rmatvec(self, x):
        raise AssertionError("rmatvec used: the estimate must work on blocks")

    def __array__(self, *args, **kwargs):
        raise AssertionError("the operator was densified")


# --- accuracy ---------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_geometric_spectrum_within_one_percent(seed):
    # Measured over 20 seeds: relative error <= 3e-4, median 1e-4.
    rng = np.random.default_rng(seed)
    s = 0.9 ** np.arange(N)
    a, u0, vh0 = _with_spectrum(s, rng)
    k = 10
    est = estimate_spectral_error(a, u0[:, :k], s[:k], vh0[:k], rng=seed)
    assert abs(est - s[k]) <= 1e-2 * s[k]
    # A lower bound up to rounding.
    assert est <= s[k] * (1 + 1e-12)


@pytest.mark.parametrize("k", [50, 100])
def test_slowly_decaying_spectrum(k):
    # s_j = 1/j: neighbouring singular values only 1-2 % apart. Measured over
    # 20 seeds: relative error <= 0.8 % (median 0.1 %) with n_iter=20.
    rng = np.random.default_rng(k)
    s = 1.0 / np.arange(1, N + 1)
    a, u0, vh0 = _with_spectrum(s, rng)
    est = estimate_spectral_error(a, u0[:, :k], s[:k], vh0[:k], rng=0)
    assert s[k] * (1 - 2e-2) <= est <= s[k] * (1 + 1e-12)
    # More iterations tighten it.
    est = estimate_spectral_error(a, u0[:, :k], s[:k], vh0[:k], rng=0, n_iter=100)
    assert s[k] * (1 - 5e-3) <= est <= s[k] * (1 + 1e-12)


def test_truncated_svd_of_random_matrix():
    # No designed spectrum: factors from the SVD, truth from the dense norm.
    rng = np.random.default_rng(3)
    a = rng.standard_normal((120, 80))
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    k = 7
    est = estimate_spectral_error(a, u[:, :k], s[:k], vh[:k], rng=1)
    true = spectral_error(a, u[:, :k], s[:k], vh[:k])
    assert true * (1 - 2e-2) <= est <= true * (1 + 1e-12)


def test_k_zero_gives_norm_of_a():
    rng = np.random.default_rng(1)
    s = 0.8 ** np.arange(N)
    a, _, _ = _with_spectrum(s, rng)
    est = estimate_spectral_error(a, np.empty((M, 0)), [], np.empty((0, N)), rng=2)
    assert est == pytest.approx(1.0, rel=1e-3)
    assert est <= 1.0 + 1e-12


def test_exact_factors_give_zero():
    rng = np.random.default_rng(2)
    s = np.linspace(3.0, 1.0, 15)
    a, u0, vh0 = _with_spectrum(s, rng)
    est = estimate_spectral_error(a, u0, s, vh0, rng=0)
    assert est <= 1e-13 * s[0]


def test_zero_matrix_and_empty_shapes():
    assert estimate_spectral_error(np.zeros((5, 4)), np.zeros((5, 1)), [0.0],
                                   np.zeros((1, 4))) == 0.0  # fmt: skip
    for m, n in [(0, 4), (5, 0), (0, 0)]:
        est = estimate_spectral_error(
            np.zeros((m, n)), np.zeros((m, 0)), [], np.zeros((0, n))
        )
        assert est == 0.0
        assert type(est) is float


# --- input kinds --------------------------------------------------------------


@pytest.mark.parametrize("order", ["C", "F"])
def test_dense_orders_agree(order):
    rng = np.random.default_rng(4)
    s = 0.9 ** np.arange(N)
    a, u0, vh0 = _with_spectrum(s, rng)
    k = 5
    factors = (
        np.asarray(u0[:, :k], order=order),
        s[:k],
        np.asarray(vh0[:k], order=order),
    )
    est = estimate_spectral_error(np.asarray(a, order=order), *factors, rng=7)
    ref = estimate_spectral_error(np.ascontiguousarray(a), u0[:, :k], s[:k],
                                  vh0[:k], rng=7)  # fmt: skip
    assert type(est) is float
    assert est == pytest.approx(ref, rel=1e-12)
    assert est == pytest.approx(s[k], rel=1e-2)


@pytest.mark.parametrize(
    "fmt",
    [
        scipy.sparse.csr_matrix,
        scipy.sparse.csc_matrix,
        scipy.sparse.csr_array,
        scipy.sparse.lil_matrix,
        scipy.sparse.coo_array,
    ],
)
def test_sparse(fmt):
    rng = np.random.default_rng(5)
    sp = scipy.sparse.random(150, 90, density=0.1, random_state=5, format="coo")
    sp = fmt(sp)
    dense = sp.toarray()
    u, s, vh = np.linalg.svd(dense, full_matrices=False)
    k = 6
    est = estimate_spectral_error(sp, u[:, :k], s[:k], vh[:k], rng=rng)
    true = spectral_error(dense, u[:, :k], s[:k], vh[:k])
    assert true * (1 - 2e-2) <= est <= true * (1 + 1e-12)
    assert est == pytest.approx(
        estimate_spectral_error(dense, u[:, :k], s[:k], vh[:k], rng=5), rel=1e-3
    )


def test_integer_sparse_becomes_float64():
    sp = scipy.sparse.csr_matrix(np.array([[3, 0], [0, 4], [0, 0]]))
    est = estimate_spectral_error(sp, np.zeros((3, 0)), [], np.zeros((0, 2)), rng=0)
    assert est == pytest.approx(4.0, rel=1e-12)


def test_linear_operator_is_not_densified():
    rng = np.random.default_rng(6)
    s = 0.9 ** np.arange(N)
    a, u0, vh0 = _with_spectrum(s, rng)
    op = CountingOperator(a)
    k = 8
    est = estimate_spectral_error(op, u0[:, :k], s[:k], vh0[:k], rng=1)
    assert est == pytest.approx(s[k], rel=1e-2)
    assert est == pytest.approx(
        estimate_spectral_error(a, u0[:, :k], s[:k], vh0[:k], rng=1), rel=1e-12
    )
    # Only block products, each on at most BLOCK_SIZE vectors, and only a
    # bounded number of them (n_iter + 1 with A, n_iter with A^H).
    assert op.columns
    assert max(op.columns) <= BLOCK_SIZE
    assert len(op.columns) <= 2 * 20 + 1


def test_linear_operator_without_dtype_and_aslinearoperator():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((40, 30))
    op = scipy.sparse.linalg.LinearOperator(
        (40, 30), matvec=lambda x: a @ x, rmatvec=lambda y: a.T @ y
    )
    est = estimate_spectral_error(op, np.zeros((40, 0)), [], np.zeros((0, 30)), rng=0)
    assert est == pytest.approx(np.linalg.norm(a, 2), rel=2e-2)
    est2 = estimate_spectral_error(
        scipy.sparse.linalg.aslinearoperator(a),
        np.zeros((40, 0)),
        [],
        np.zeros((0, 30)),
        rng=0,
    )
    assert est2 == pytest.approx(est, rel=1e-12)


# --- dtypes -------------------------------------------------------------------


def test_float32_computes_in_float32():
    rng = np.random.default_rng(8)
    s = 0.9 ** np.arange(N)
    a, u0, vh0 = _with_spectrum(s, rng)
    k = 10
    f32 = [x.astype(np.float32) for x in (a, u0[:, :k], s[:k], vh0[:k])]
    op = CountingOperator(f32[0])
    est32 = estimate_spectral_error(op, *f32[1:], rng=3)
    assert set(op.dtypes) == {np.dtype(np.float32)}
    assert type(est32) is float
    est_dense32 = estimate_spectral_error(*f32, rng=3)
    # The float32 factors carry rounding of ~1e-7 * ||A|| into E: compare at
    # float32 level against the float64 norm of the rounded data.
    true = spectral_error(*f32)
    for est in (est32, est_dense32):
        assert est == pytest.approx(true, rel=1e-2)
        assert est <= true * (1 + 1e-4)


def test_integer_input_is_float64():
    a = np.array([[2, 0, 0], [0, 5, 0], [0, 0, 1], [0, 0, 0]])
    u = np.array([[0], [1], [0], [0]])
    vh = np.array([[0, 1, 0]])
    est = estimate_spectral_error(a, u, [5], vh, rng=0)
    assert est == pytest.approx(2.0, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_complex_uses_conjugate_transpose(dtype):
    rng = np.random.default_rng(9)
    s = 0.9 ** np.arange(100)
    a, u0, vh0 = _with_spectrum(s, rng, m=150, n=100, complex_=True)
    k = 6
    a, u, ss, vh = a.astype(dtype), u0[:, :k].astype(dtype), s[:k], vh0[:k]
    vh = vh.astype(dtype)
    rtol = 1e-2
    true = spectral_error(a, u, ss, vh)
    for arg in (a, CountingOperator(a), scipy.sparse.csr_matrix(a)):
        est = estimate_spectral_error(arg, u, ss, vh, rng=4)
        assert est == pytest.approx(true, rel=rtol)
        assert est <= true * (1 + 10 * np.finfo(dtype).eps)

    # What a transpose in place of the conjugate transpose would give: the
    # factor Vh conjugated (A - U S conj(Vh) is a different, much larger
    # residual), and a power iteration on E^T E instead of E^H E.
    wrong_factor = estimate_spectral_error(a, u, ss, vh.conj(), rng=4)
    assert wrong_factor > 2 * true
    e = a - (u * ss) @ vh
    x = np.linalg.qr(rng.standard_normal((100, BLOCK_SIZE)).astype(dtype))[0]
    for _ in range(20):
        x = np.linalg.qr(e.T @ (e @ x))[0]
    wrong_iteration = np.linalg.svd(e @ x, compute_uv=False)[0]
    assert abs(wrong_iteration - true) > 5 * rtol * true


def test_mixed_dtypes_promote():
    rng = np.random.default_rng(10)
    a = rng.standard_normal((30, 20)).astype(np.float32)
    u, s, vh = np.linalg.svd(a.astype(np.float64), full_matrices=False)
    op = CountingOperator(a)
    # float64 factors: the computation is in float64.
    estimate_spectral_error(op, u[:, :3], s[:3], vh[:3], rng=0)
    assert set(op.dtypes) == {np.dtype(np.float64)}


# --- reproducibility ----------------------------------------------------------


def test_same_seed_same_result():
    rng = np.random.default_rng(11)
    s = 1.0 / np.arange(1, N + 1)
    a, u0, vh0 = _with_spectrum(s, rng)
    args = (a, u0[:, :20], s[:20], vh0[:20])
    first = estimate_spectral_error(*args, rng=123)
    assert estimate_spectral_error(*args, rng=123) == first
    gen = estimate_spectral_error(*args, rng=np.random.default_rng(123))
    assert gen == first
    other = estimate_spectral_error(*args, rng=321)
    assert other == pytest.approx(first, rel=2e-2)


def test_n_iter_one_is_a_lower_bound():
    rng = np.random.default_rng(12)
    s = 0.9 ** np.arange(N)
    a, u0, vh0 = _with_spectrum(s, rng)
    est = estimate_spectral_error(a, u0[:, :5], s[:5], vh0[:5], rng=0, n_iter=1)
    assert 0.5 * s[5] < est <= s[5] * (1 + 1e-12)


# --- validation ---------------------------------------------------------------


def _good():
    rng = np.random.default_rng(13)
    a = rng.standard_normal((6, 5))
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return a, u[:, :2], s[:2], vh[:2]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"U": np.zeros((7, 2))}, "`a` has 6 rows but `U` has 7"),
        ({"Vh": np.zeros((2, 4))}, "`a` has 5 columns but `Vh` has 4"),
        ({"S": np.ones(3)}, "rank of the factors"),
        ({"U": np.zeros((6, 3))}, "rank of the factors"),
        ({"S": np.ones((2, 1))}, "`S` must be 1-D"),
        ({"U": np.zeros(6)}, "`U` must be at least two-dimensional"),
        ({"Vh": np.zeros((1, 2, 5))}, "`Vh` must be 2-D"),
        ({"a": np.zeros((2, 6, 5))}, "`a` must be a single matrix"),
        ({"a": np.zeros(6)}, "`a` must be at least two-dimensional"),
        ({"n_iter": 0}, "`n_iter` must be a positive integer"),
        ({"n_iter": -3}, "`n_iter` must be a positive integer"),
    ],
)
def test_value_errors(change, match):
    a, u, s, vh = _good()
    kwargs = {"a": a, "U": u, "S": s, "Vh": vh, "rng": 0}
    kwargs.update(change)
    with pytest.raises(ValueError, match=match):
        estimate_spectral_error(
            kwargs.pop("a"), kwargs.pop("U"), kwargs.pop("S"), kwargs.pop("Vh"),
            **kwargs,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"S": np.ones(2) + 1j}, "`S` must be real"),
        ({"a": np.zeros((6, 5), np.float16)}, "`a` has dtype float16"),
        ({"U": np.zeros((6, 2), np.float16)}, "`U` has dtype float16"),
        ({"S": np.ones(2, np.float16)}, "`S` has dtype float16"),
        ({"Vh": np.zeros((2, 5), np.float16)}, "`Vh` has dtype float16"),
        ({"a": scipy.sparse.csr_matrix(np.ones((6, 5), np.longdouble))}, "`a`"),
        ({"U": scipy.sparse.csr_matrix(np.ones((6, 2)))}, "`U` is a scipy.sparse"),
        ({"a": "matrix"}, "`a` must be an array-like"),
        ({"n_iter": 2.5}, "`n_iter` must be a positive integer"),
        ({"n_iter": True}, "`n_iter` must be a positive integer"),
        ({"rng": np.random.RandomState(0)}, "`rng`"),
        ({"rng": "seed"}, "`rng`"),
    ],
)
def test_type_errors(change, match):
    a, u, s, vh = _good()
    kwargs = {"a": a, "U": u, "S": s, "Vh": vh, "rng": 0}
    kwargs.update(change)
    with pytest.raises(TypeError, match=match):
        estimate_spectral_error(
            kwargs.pop("a"), kwargs.pop("U"), kwargs.pop("S"), kwargs.pop("Vh"),
            **kwargs,
        )  # fmt: skip


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("name", ["a", "sparse a", "U", "S", "Vh"])
def test_non_finite_input(name, bad):
    a, u, s, vh = _good()
    args = {"a": a.copy(), "U": u.copy(), "S": s.copy(), "Vh": vh.copy()}
    key = name.split()[-1]
    args[key].flat[1] = bad
    if name == "sparse a":
        args["a"] = scipy.sparse.lil_matrix(args["a"])
    with pytest.raises(ValueError, match=f"`{key}` must contain only finite"):
        estimate_spectral_error(*args.values(), rng=0)
    # Unchecked, NaN/Inf still must not reach LAPACK.
    with pytest.raises(ValueError, match="finite"):
        estimate_spectral_error(*args.values(), rng=0, check_finite=False)


def test_operator_returning_nan():
    a, u, s, vh = _good()
    op = scipy.sparse.linalg.LinearOperator(
        a.shape, matvec=lambda x: np.full(6, np.nan), rmatvec=lambda y: a.T @ y
    )
    with pytest.raises(ValueError, match="LinearOperator `a` returned NaN"):
        estimate_spectral_error(op, u, s, vh, rng=0)
