"""Hypothesis strategies that draw matrices with a chosen spectrum.

A drawn case carries the matrix and the exact singular values it was built
from, so tests can judge results against what is mathematically achievable
(condition number of the retained part, discarded tail) rather than against
another implementation entry by entry.
"""

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

REAL_DTYPES = (np.float32, np.float64)
COMPLEX_DTYPES = (np.complex64, np.complex128)
ALL_DTYPES = REAL_DTYPES + COMPLEX_DTYPES

#: The largest log10 condition number drawn per precision: well inside what the
#: dtype can resolve (eps(float32) ~ 1e-7, eps(float64) ~ 2e-16).
MAX_LOG10_COND = {4: 4.0, 8: 12.0}

LAYOUTS = ("C", "F", "strided")
#: ... plus the same values in the non-native byte order (as read from a
#: big-endian file); results are then in the native twin of the dtype.
ALL_LAYOUTS = (*LAYOUTS, "byteswapped")


@dataclass(frozen=True)
class MatrixCase:
    """A drawn matrix (or stack) and how it was built."""

    a: np.ndarray
    singular_values: np.ndarray  # shape (..., min(M, N)), descending, exact
    rank: int  # number of nonzero singular values built in
    layout: str
    seed: int

    def __repr__(self):
        return (
            f"MatrixCase(shape={self.a.shape}, dtype={self.a.dtype}, "
            f"rank={self.rank}, layout={self.layout!r}, seed={self.seed}, "
            f"s={np.array2string(self.singular_values, precision=3)})"
        )


def haar(rng, n, k, complex_):
    """n x k matrix with orthonormal columns, Haar-distributed."""
    g = rng.standard_normal((n, k))
    if complex_:
        g = g + 1j * rng.standard_normal((n, k))
    if k == 0:
        return g
    q, r = np.linalg.qr(g)
    d = np.diagonal(r)
    return q * np.where(d == 0, 1, d / np.abs(d))


def with_layout(a, layout):
    """The same values as `a`, stored C-ordered, Fortran-ordered, strided or
    in the non-native byte order ("byteswapped")."""
    if layout == "byteswapped":
        return a.astype(a.dtype.newbyteorder("S"))
    if layout == "C":
        return np.ascontiguousarray(a)
    if layout == "F":
        return np.asfortranarray(a)
    big = np.zeros((*a.shape[:-2], 2 * a.shape[-2] + 1, 3 * a.shape[-1]), a.dtype)
    view = big[..., 1::2, ::3]
    view[...] = a
    return view


def spectrum(rng, kind, rank, k, log10_cond, scale):
    """k singular values, descending: `rank` nonzero ones spanning the condition."""
    if rank == 0:
        return np.zeros(k)
    if kind == "geometric":
        s = np.logspace(0, -log10_cond, rank)
    elif kind == "random":
        s = np.sort(10 ** rng.uniform(-log10_cond, 0, rank))[::-1]
        s[0], s[-1] = 1.0, 10**-log10_cond
    else:  # "two-level": a cluster at 1 and a cluster at 1/cond
        s = np.where(np.arange(rank) < (rank + 1) // 2, 1.0, 10**-log10_cond)
    return np.concatenate([s, np.zeros(k - rank)]) * scale


@st.composite
def matrices(
    draw,
    *,
    dtypes=ALL_DTYPES,
    min_dim=0,
    max_dim=12,
    batch_shapes=((), (), (3,), (2, 2), (9,)),
    rank_deficient=True,
    max_log10_cond=None,
    hermitian=False,
    layouts=LAYOUTS,
):
    """Draw a `MatrixCase`: A = U diag(s) V^H with Haar U, V and a chosen s.

    `layouts` are the storage layouts drawn from (see `with_layout`).

    With ``hermitian=True`` the matrix is square and Hermitian,
    A = U diag(lambda) U^H, with |lambda| = s and random signs.
    """
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    batch = draw(st.sampled_from(batch_shapes))
    m = draw(st.integers(min_dim, max_dim))
    n = m if hermitian else draw(st.integers(min_dim, max_dim))
    k = min(m, n)
    rank = draw(st.integers(0, k)) if rank_deficient else k
    # Mostly keep the full rank: rank-deficient and zero matrices come up often
    # enough through `rank` above.
    limit = MAX_LOG10_COND[np.finfo(dtype).bits // 8]
    if max_log10_cond is not None:
        limit = min(limit, max_log10_cond)
    log10_cond = draw(st.sampled_from([0.0, 1.0, limit / 2, limit]))
    kind = draw(st.sampled_from(["geometric", "random", "two-level"]))
    scale = 10.0 ** draw(st.sampled_from([-3, 0, 3]))
    layout = draw(st.sampled_from(layouts))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    complex_ = dtype.kind == "c"

    n_matrices = int(np.prod(batch, dtype=int))
    mats, spectra = [], []
    for _ in range(n_matrices):
        s = spectrum(rng, kind, rank, k, log10_cond, scale)
        u = haar(rng, m, k, complex_)
        if hermitian:
            signs = rng.choice([-1.0, 1.0], size=k)
            a = (u * (s * signs)) @ u.conj().T
            a = (a + a.conj().T) / 2
        else:
            v = haar(rng, n, k, complex_)
            a = (u * s) @ v.conj().T
        mats.append(a)
        spectra.append(s)
    a = np.array(mats).reshape(*batch, m, n)
    s = np.array(spectra).reshape(*batch, k)
    a = with_layout(a.astype(dtype), layout)
    return MatrixCase(a=a, singular_values=s, rank=rank, layout=layout, seed=seed)
