"""Shared checkers and small builders for the test suite.

Every checker that more than one test module needs is defined here, once:
Moore–Penrose conditions, closeness of two pseudo-inverses, thin SVDs,
orthonormality, canonical signs, the spectral error of a factorization.
Importable from every test folder as ``tests.helpers``.

The accuracy bounds here are the ones the docstrings state; a method added to
a registry must declare its bound in `PINV_ACCURACY`, or the property suite
fails for it.
"""

import numpy as np
import scipy.sparse

import lowrank

#: Documented accuracy of each pinv method, as (C, power) in
#:   ||AXA - A|| / ||A||                <= C p eps kappa**power + ||A - A_r|| / ||A||
#:   the other three relative residuals <= C p eps kappa**power
#: with p = max(M, N), kappa = s_1 / s_r (the retained part's condition number)
#: and r the rank the method reports. Norms are Frobenius.
PINV_ACCURACY = {
    "svd": (10.0, 1),
    "hermitian": (10.0, 1),
    "cholqr": (10.0, 1),
    "qr": (10.0, 1),
    "newton": (10.0, 1),
    "eigh": (10.0, 2),
}


#: How far (a factor) singular values must stay from the cutoff for a method's
#: rank to be pinned down: pivoted QR decides the rank on diag(R), which only
#: brackets the singular values.
PINV_RANK_GAP = {"qr": 100.0}


#: Small pseudo-inverse cases as (M, N, nonzero singular values), built with
#: `build`: the parity suites of the pinv kernels (COD, Newton) run them all.
PINV_CASES = [
    (8, 8, np.logspace(0, -2, 8)),
    (30, 7, np.logspace(0, -1, 7)),
    (7, 30, np.logspace(0, -1, 7)),
    (12, 9, [3.0, 2.0, 1.0, 0.5]),  # rank 4 of 9, exact zeros
    (9, 12, [1.0] * 5),  # rank 5, well conditioned: Newton's unstable case
    (10, 10, [1.0] * 9),  # rank 9 of 10
    (1, 6, [2.0]),
    (6, 1, [0.5]),
]


def pinv_resolution(method, shape, dtype):
    """Smallest s / s_max a method resolves (0: down to the rank cutoff)."""
    if method == "eigh":
        return float(np.sqrt(max(shape[-2:]) * eps(dtype)))
    return 0.0


def eps(dtype):
    return float(np.finfo(np.dtype(dtype)).eps)


def random_matrix(shape, dtype, rng, order="C"):
    """Gaussian matrix (complex Gaussian for complex dtypes) in the given order."""
    a = rng.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        a = a + 1j * rng.standard_normal(shape)
    return np.asarray(a.astype(dtype), order=order)


def default_tols(a):
    """lowrank's default (atol, rtol) for a single matrix."""
    return 0.0, max(a.shape) * eps(a.dtype)


def exact_singular_values(a):
    """Singular values of the stored matrix, computed in double precision."""
    wide = np.complex128 if np.iscomplexobj(a) else np.float64
    return np.linalg.svd(np.asarray(a, dtype=wide), compute_uv=False)


def moore_penrose_bounds(a, rank, accuracy):
    """Per-matrix bounds (first condition, other three) for one matrix `a`."""
    constant, power = accuracy
    m, n = a.shape
    p = max(m, n, 1)
    s = exact_singular_values(a)
    e = eps(a.dtype)
    if rank == 0 or s.size == 0 or s[0] == 0:
        return constant * p * e, constant * p * e
    tail = np.sqrt(np.sum(s[rank:] ** 2)) / np.sqrt(np.sum(s**2))
    bound = constant * p * e * (s[0] / s[rank - 1]) ** power
    return bound + tail, bound


def assert_moore_penrose(a, x, rank, accuracy):
    """Assert the four Moore–Penrose conditions to a documented accuracy.

    `accuracy` is a pinv method's name (its bound is `PINV_ACCURACY[method]`)
    or a ``(constant, power)`` pair, as in `PINV_ACCURACY`. Works on single
    matrices and stacks (`rank` then an array of the stack's shape).
    """
    if isinstance(accuracy, str):
        assert accuracy in PINV_ACCURACY, (
            f"method {accuracy!r} has no documented accuracy"
        )
        accuracy = PINV_ACCURACY[accuracy]
    a = np.asarray(a)
    res = lowrank.moore_penrose_residuals(a, x)
    batch = a.shape[:-2]
    ranks = np.broadcast_to(rank, batch)
    residuals = np.stack([np.broadcast_to(r, batch) for r in res], axis=-1)
    for index in np.ndindex(*batch):
        first, others = moore_penrose_bounds(a[index], int(ranks[index]), accuracy)
        got = residuals[index]
        bounds = np.array([first, others, others, others])
        assert np.all(got <= bounds), (
            f"Moore–Penrose residuals {got} exceed bounds {bounds} for matrix "
            f"{index} of shape {a.shape[-2:]}, dtype {a.dtype}, rank {ranks[index]}"
        )


def assert_close_pinv(x, y, a, rank, constant=20.0):
    """Two pseudo-inverses of `a` agree to ``constant * p * eps * kappa``.

    Relative Frobenius distance ``||x - y|| / ||y||``, per matrix of a stack,
    with p = max(M, N) and kappa = s_1 / s_r for the rank r given (an array of
    the stack's shape for stacks). For a fixed rank the pseudo-inverse's
    relative sensitivity is about kappa (Wedin), so two backward-stable
    results differ by O(p eps kappa) relative to ||A^+||. At rank 0 both must
    be exactly zero.
    """
    a = np.asarray(a)
    batch = a.shape[:-2]
    ranks = np.broadcast_to(rank, batch)
    for index in np.ndindex(*batch):
        am, r = a[index], int(ranks[index])
        if r == 0:
            assert np.all(x[index] == 0), f"matrix {index}: rank 0 but x != 0"
            assert np.all(y[index] == 0), f"matrix {index}: rank 0 but y != 0"
            continue
        s = exact_singular_values(am)
        kappa = s[0] / s[r - 1]
        bound = constant * max(am.shape) * eps(am.dtype) * kappa
        err = np.linalg.norm(x[index] - y[index]) / np.linalg.norm(y[index])
        assert err <= bound, (
            f"matrix {index}: pseudo-inverses differ by {err:.3g} > {bound:.3g} "
            f"(kappa {kappa:.3g})"
        )


def assert_close_to_svd_pinv(a, x, rank, constant):
    """One matrix: same rank as the SVD route and within 2 C p eps kappa of it."""
    x_ref, rank_ref = lowrank.pinv(a, method="svd", return_rank=True)
    assert rank == rank_ref, f"rank {rank}, the SVD route's {rank_ref}"
    assert_close_pinv(x, x_ref, a, rank, 2 * constant)


def _cutoff(a, floor=0.0):
    s = exact_singular_values(a)
    rel = max(max(a.shape) * eps(a.dtype), floor)
    return s, rel * (s[0] if s.size else 0.0)


def numerical_rank(a, floor=0.0):
    """The rank by lowrank's default rule (and a method's resolution `floor`)."""
    s, cutoff = _cutoff(a, floor)
    return int(np.count_nonzero(s > cutoff)) if s.size else 0


def rank_is_well_defined(a, factor=10.0, floor=0.0):
    """True if no singular value lies within `factor` of the default cutoff.

    Near the cutoff the rank depends on the last bits of a particular LAPACK's
    rounding, so two correct implementations may disagree there.
    """
    s, cutoff = _cutoff(a, floor)
    if s.size == 0 or s[0] == 0:
        return True
    return bool(np.all((s > factor * cutoff) | (s < cutoff / factor)))


def build(rng, m, n, s, dtype):
    """U diag(s) V^H with Haar U, V (s padded with zeros to min(m, n))."""
    from tests.strategies import haar

    k = min(m, n)
    s = np.concatenate([np.asarray(s, float), np.zeros(k - len(s))])
    complex_ = np.dtype(dtype).kind == "c"
    u, v = haar(rng, m, k, complex_), haar(rng, n, k, complex_)
    return ((u * s) @ v.conj().T).astype(dtype)


def nan_operator(m, n):
    """An m x n LinearOperator whose every product is NaN (a broken operator)."""
    import scipy.sparse.linalg

    return scipy.sparse.linalg.LinearOperator(
        (m, n),
        matvec=lambda x: np.full(m, np.nan),
        rmatvec=lambda y: np.full(n, np.nan),
        dtype=np.float64,
    )


def orthonormality_error(q):
    """``||Q^H Q - I||_F`` for the columns of `q`, evaluated in double precision."""
    q = np.asarray(q).astype(np.complex128)
    return float(np.linalg.norm(q.conj().T @ q - np.eye(q.shape[-1])))


def assert_orthonormal(q, tol):
    """The columns of `q` are orthonormal: ``||Q^H Q - I||_F <= tol``."""
    err = orthonormality_error(q)
    assert err <= tol, f"||Q^H Q - I||_F = {err:.3g} > {tol:.3g}"


def assert_canonical_signs(u):
    """The largest-magnitude entry of each column of `u` is real and positive."""
    u = np.asarray(u)
    pivots = u[np.argmax(np.abs(u), axis=0), np.arange(u.shape[-1])]
    assert np.all(pivots.real > 0), f"column pivots {pivots} not positive"
    assert np.all(pivots.imag == 0), f"column pivots {pivots} not real"


def assert_valid_svd(a, u, s, vh, factor=10.0, *, canonical_signs=False):
    """Assert that ``(u, s, vh)`` is a thin SVD of the matrix or stack `a`.

    With K = min(M, N), p = max(M, N, 1), tol = factor * p * eps(a.dtype) and
    s_max the largest singular value of each matrix:

    - shapes (..., M, K), (..., K), (..., K, N); `u` and `vh` of `a`'s dtype,
      `s` of the matching real dtype;
    - `s` finite, non-negative and descending;
    - ``||U^H U - I||_F <= tol`` and ``||Vh Vh^H - I||_F <= tol`` (so every
      entry of either is within tol of the identity's);
    - ``||U diag(s) Vh - A||_F / sqrt(K) <= tol * s_max``, and every entry of
      ``U diag(s) Vh - A`` within ``tol * s_max`` (+ the real dtype's tiny);
    - `s` within ``tol * s_max`` of the exact singular values (computed in
      double precision) and of ``numpy.linalg.svd``'s in `a`'s precision;
    - with `canonical_signs`, the largest-magnitude entry of each column of U
      real and positive (lowrank.svd's convention).

    Everything is evaluated in double precision, so the check adds no error
    of its own.
    """
    a = np.asarray(a)
    *batch, m, n = a.shape
    k = min(m, n)
    real = np.finfo(a.dtype).dtype
    assert u.shape == (*batch, m, k), f"U has shape {u.shape}"
    assert s.shape == (*batch, k), f"s has shape {s.shape}"
    assert vh.shape == (*batch, k, n), f"Vh has shape {vh.shape}"
    assert u.dtype == a.dtype, f"U has dtype {u.dtype}, A {a.dtype}"
    assert vh.dtype == a.dtype, f"Vh has dtype {vh.dtype}, A {a.dtype}"
    assert s.dtype == real, f"s has dtype {s.dtype}, expected {real}"
    if k == 0:
        return
    tol = factor * max(m, n, 1) * eps(a.dtype)
    tiny = float(np.finfo(real).tiny)
    tiny64 = float(np.finfo(np.float64).tiny)
    wide = np.complex128 if np.iscomplexobj(a) else np.float64
    s_numpy = np.linalg.svd(a, full_matrices=False)[1].astype(np.float64)
    for index in np.ndindex(*batch):
        where = f"matrix {index} of shape {(m, n)}, dtype {a.dtype}"
        am, um, vm = a[index], u[index], vh[index]
        sm = s[index].astype(np.float64)
        assert np.all(np.isfinite(sm)), f"{where}: s not finite: {sm}"
        assert np.all(sm >= 0), f"{where}: negative singular values: {sm}"
        assert np.all(np.diff(sm) <= 0), f"{where}: s not descending: {sm}"
        s_max = sm[0]
        assert_orthonormal(um, tol)
        assert_orthonormal(vm.conj().T, tol)
        resid = (um.astype(wide) * sm) @ vm.astype(wide) - am.astype(wide)
        recon = np.linalg.norm(resid) / np.sqrt(k)
        assert recon <= tol * max(s_max, tiny64), (
            f"{where}: ||U S Vh - A||_F / sqrt(K) = {recon:.3g} > {tol * s_max:.3g}"
        )
        worst = np.max(np.abs(resid))
        assert worst <= tol * s_max + tiny, (
            f"{where}: an entry of U S Vh - A is {worst:.3g} > {tol * s_max:.3g}"
        )
        off = np.max(np.abs(sm - exact_singular_values(am)))
        assert off <= tol * max(s_max, tiny64), (
            f"{where}: s differs from the exact singular values by {off:.3g}"
        )
        off = np.max(np.abs(sm - s_numpy[index]))
        assert off <= tol * s_max + tiny, (
            f"{where}: s differs from numpy.linalg.svd's by {off:.3g}"
        )
        if canonical_signs:
            assert_canonical_signs(um)


def spectral_error(a, u, s, vh):
    """``||A - U diag(s) Vh||_2``, evaluated in double precision.

    `a` may be a dense array or a scipy.sparse matrix.
    """
    dense = a.toarray() if scipy.sparse.issparse(a) else np.asarray(a)
    complex_ = np.iscomplexobj(dense) or np.iscomplexobj(u) or np.iscomplexobj(vh)
    wide = np.complex128 if complex_ else np.float64
    e = dense.astype(wide) - (np.asarray(u).astype(wide) * s) @ np.asarray(vh).astype(
        wide
    )
    return float(np.linalg.norm(e, 2))


def random_orthonormal(rng, rows, cols, complex_=False):
    """A (rows, cols) matrix with orthonormal columns: Q of a Gaussian's QR.

    Unlike `tests.strategies.haar`, the phases are left as LAPACK makes them.
    """
    g = rng.standard_normal((rows, cols))
    if complex_:
        g = g + 1j * rng.standard_normal((rows, cols))
    return np.linalg.qr(g)[0]


def with_condition(rng, m, n, cond, dtype=np.float64, rank=None):
    """m x n (m >= n), Haar factors, singular values geometric from 1 to 1/cond.

    With `rank`, the singular values past the first `rank` are zero.
    """
    from tests.strategies import haar

    complex_ = np.dtype(dtype).kind == "c"
    s = np.logspace(0, -np.log10(cond), n)
    if rank is not None:
        s[rank:] = 0
    a = (haar(rng, m, n, complex_) * s) @ haar(rng, n, n, complex_).conj().T
    return a.astype(dtype)


def low_rank_plus_noise(m, n, rank, noise, dtype=np.float64, seed=0):
    """Gaussian rank-`rank` signal (scaled by 1/sqrt(rank)) plus noise * Gaussian."""
    rng = np.random.default_rng(seed)
    signal = random_matrix((m, rank), dtype, rng) @ random_matrix((rank, n), dtype, rng)
    return (signal / np.sqrt(rank) + noise * random_matrix((m, n), dtype, rng)).astype(
        dtype
    )
