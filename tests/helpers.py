"""Shared checkers for the test suite.

The accuracy bounds here are the ones the docstrings state; a method added to
a registry must declare its bound in `PINV_ACCURACY`, or the property suite
fails for it.
"""

import numpy as np

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


def assert_moore_penrose(a, x, rank, method):
    """Assert the four Moore–Penrose conditions to `method`'s documented accuracy.

    Works on single matrices and stacks (`rank` then an array of the stack's
    shape).
    """
    assert method in PINV_ACCURACY, f"method {method!r} has no documented accuracy"
    accuracy = PINV_ACCURACY[method]
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


def check_moore_penrose(a, x, rank, constant):
    """One matrix: the four residuals below C p eps kappa (+ tail for AXA)."""
    first, others = moore_penrose_bounds(a, rank, (constant, 1))
    res = lowrank.moore_penrose_residuals(a, x)
    bounds = np.array([first, others, others, others])
    assert np.all(np.array(res) <= bounds), (res, bounds)


def check_close_to_svd_pinv(a, x, rank, constant):
    """One matrix: same rank as the SVD route and within 2 C p eps kappa of it."""
    x_ref, rank_ref = lowrank.pinv(a, method="svd", return_rank=True)
    assert rank == rank_ref
    if rank == 0:
        assert not np.any(x)
        return
    s = exact_singular_values(a)
    kappa = s[0] / s[rank - 1]
    err = np.linalg.norm(x - x_ref) / np.linalg.norm(x_ref)
    assert err <= 2 * constant * max(a.shape) * eps(a.dtype) * kappa


def nan_operator(m, n):
    """An m x n LinearOperator whose every product is NaN (a broken operator)."""
    import scipy.sparse.linalg

    return scipy.sparse.linalg.LinearOperator(
        (m, n),
        matvec=lambda x: np.full(m, np.nan),
        rmatvec=lambda y: np.full(n, np.nan),
        dtype=np.float64,
    )
