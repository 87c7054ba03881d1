"""Tests of the one-sided Jacobi kernel for stacks of small SVDs.

The oracle is the kernel's plain-numpy twin, ``batched_small_svd_numpy``
(``numpy.linalg.svd``). Singular vectors are unique only up to phases, so they
are judged by the properties an SVD must have, not entry by entry.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lowrank._kernels.small_svd as small_svd
from lowrank.exceptions import FallbackWarning
from tests.helpers import assert_valid_svd, eps, random_matrix

batched_small_svd = small_svd.batched_small_svd
batched_small_svd_numpy = small_svd.batched_small_svd_numpy
use_small_svd = small_svd.use_small_svd

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
SHAPES = [(6, 4), (4, 6), (5, 5), (1, 1), (1, 5), (5, 1), (16, 16), (3, 8), (2, 2)]
BATCHES = [(), (7,), (3, 4)]

#: Accuracy constant C: errors must stay below C * max(m, n) * eps * s_max.
C = 10.0


def matrix_with_singular_values(s, m, n, dtype, rng):
    """An m x n matrix with singular values `s` and random singular vectors."""
    k = len(s)
    u, _ = np.linalg.qr(random_matrix((m, k), dtype, rng).astype(np.complex128))
    v, _ = np.linalg.qr(random_matrix((n, k), dtype, rng).astype(np.complex128))
    a = (u * s) @ v.conj().T
    return (a if np.iscomplexobj(np.empty(0, dtype)) else a.real).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("batch", BATCHES)
def test_matches_numpy_twin(dtype, shape, batch):
    rng = np.random.default_rng(1234)
    a = random_matrix((*batch, *shape), dtype, rng)
    a_copy = a.copy()
    u, s, vh = batched_small_svd(a)
    assert_valid_svd(a, u, s, vh)
    np.testing.assert_array_equal(a, a_copy)  # input not modified


@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_twin_contract(dtype):
    rng = np.random.default_rng(0)
    a = random_matrix((3, 5, 2), dtype, rng)
    u, s, vh = batched_small_svd_numpy(a)
    assert_valid_svd(a, u, s, vh)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("m", "n", "r"), [(6, 4, 2), (4, 6, 1), (5, 5, 3), (8, 8, 1)])
def test_rank_deficient(dtype, m, n, r):
    rng = np.random.default_rng(7)
    left = random_matrix((5, m, r), dtype, rng)
    right = random_matrix((5, r, n), dtype, rng)
    a = left @ right
    u, s, vh = batched_small_svd(a)
    assert_valid_svd(a, u, s, vh)
    tail = s[..., r:].astype(np.float64)
    assert np.all(tail <= C * max(m, n) * eps(dtype) * s[..., :1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_duplicate_and_zero_columns(dtype):
    rng = np.random.default_rng(8)
    a = random_matrix((6, 4), dtype, rng)
    a[:, 1] = a[:, 0]  # exactly dependent columns
    a[:, 3] = 0  # a zero column
    a[2, :] = 0  # and a zero row
    u, s, vh = batched_small_svd(a)
    assert_valid_svd(a, u, s, vh)
    assert s[-1] == 0 or s[-1] <= C * 6 * eps(dtype) * s[0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 3), (1, 1), (1, 4)])
def test_zero_matrix(dtype, shape):
    a = np.zeros((3, *shape), dtype=dtype)
    u, s, vh = batched_small_svd(a)
    assert_valid_svd(a, u, s, vh)
    assert np.all(s == 0)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize(("m", "n"), [(8, 5), (5, 8), (6, 6)])
def test_ill_conditioned(dtype, m, n):
    rng = np.random.default_rng(9)
    k = min(m, n)
    s_true = np.logspace(0, -10, k)  # condition number 1e10
    a = np.stack(
        [matrix_with_singular_values(s_true, m, n, dtype, rng) for _ in range(4)]
    )
    u, s, vh = batched_small_svd(a)
    assert_valid_svd(a, u, s, vh)
    # Absolute accuracy relative to s_max, as for any backward-stable SVD.
    assert np.all(np.abs(s - s_true) <= C * max(m, n) * eps(dtype) * s_true[0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_graded_matrix_relative_accuracy(dtype):
    # A = Q D with Q orthonormal columns and D strongly graded has singular
    # values d_i. One-sided Jacobi gets even the tiny ones to high *relative*
    # accuracy (Demmel & Veselić 1992), where a bidiagonalizing SVD only
    # guarantees eps * d_max.
    rng = np.random.default_rng(10)
    m, n = 7, 5
    smallest = 1e-12 if eps(dtype) < 1e-10 else 1e-5  # double vs single
    d = np.logspace(0, np.log10(smallest), n)
    q, _ = np.linalg.qr(random_matrix((3, m, n), dtype, rng).astype(np.complex128))
    if not np.issubdtype(dtype, np.complexfloating):
        q = q.real
    a = (q.astype(dtype) * d.astype(np.finfo(dtype).dtype)).astype(dtype)
    # The exact singular values of the stored matrix, to first order in the
    # (tiny) departure of the stored Q from orthonormality: the column norms.
    s_exact = np.sort(np.linalg.norm(a.astype(np.complex128), axis=-2))[..., ::-1]
    s = batched_small_svd(a)[1]
    rel = np.abs(s - s_exact) / s_exact
    assert np.all(rel <= C * m * eps(dtype)), rel


@pytest.mark.parametrize("dtype", DTYPES)
def test_non_contiguous_and_fortran_input(dtype):
    rng = np.random.default_rng(11)
    big = random_matrix((4, 12, 10), dtype, rng)
    views = [
        big[:, ::2, 1::3],  # strided
        big[::2].swapaxes(-1, -2),  # transposed stack
        np.asfortranarray(big[0]),  # Fortran-ordered matrix
        np.asfortranarray(big),  # Fortran-ordered stack
    ]
    for a in views:
        a_copy = a.copy(order="K")
        u, s, vh = batched_small_svd(a)
        assert_valid_svd(a, u, s, vh)
        np.testing.assert_array_equal(a, a_copy)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(300, 5, 3), (300, 3, 5), (257, 4, 4)])
def test_parallel_and_serial_identical(dtype, shape):
    # Large enough (>= 256 matrices) to take the parallel path.
    rng = np.random.default_rng(12)
    a = random_matrix(shape, dtype, rng)
    a[5] = 0
    a[6, :, 0] = 0
    out_par = batched_small_svd(a, parallel=True)
    out_ser = batched_small_svd(a, parallel=False)
    for x, y in zip(out_par, out_ser, strict=True):
        np.testing.assert_array_equal(x, y)
    assert_valid_svd(a, *out_par)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("exponent", [-1, 1])
def test_extreme_scaling(dtype, exponent):
    # Entries whose squares would overflow or underflow the dtype.
    rng = np.random.default_rng(13)
    finfo = np.finfo(dtype)
    scale = float(finfo.max) ** 0.75 if exponent > 0 else float(finfo.tiny) ** 0.75
    base = random_matrix((5, 6, 4), dtype, rng)
    a = (base * dtype(scale)).astype(dtype)
    u, s, vh = batched_small_svd(a)
    assert np.all(np.isfinite(s))
    s_base = batched_small_svd(base)[1].astype(np.float64)
    assert np.allclose(s / scale, s_base, rtol=C * 6 * eps(dtype), atol=0)
    assert_valid_svd(base, u, s_base.astype(s.dtype), vh)


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 0), (0, 4, 3), (2, 0, 3)])
def test_empty(shape):
    a = np.zeros(shape)
    got = batched_small_svd(a)
    want = np.linalg.svd(a, full_matrices=False)
    for x, y in zip(got, want, strict=True):
        assert x.shape == y.shape
        assert x.dtype == y.dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_input_raises(dtype, value):
    # Never handed to LAPACK: gesdd loops forever on some Inf input
    # (numpy/numpy#32591, Reference-LAPACK/lapack#1409).
    a = np.ones((3, 4, 3), dtype=dtype)
    a[1, 0, 0] = value
    with pytest.raises(np.linalg.LinAlgError, match="NaN or Inf"):
        batched_small_svd_numpy(a)
    for parallel in (True, False):
        with pytest.raises(np.linalg.LinAlgError, match="NaN or Inf"):
            batched_small_svd(a, parallel=parallel)
    a = np.ones((300, 2, 3), dtype=dtype)  # the parallel path
    a[-1, 1, 2] = value * 1j if np.iscomplexobj(a) else value
    with pytest.raises(np.linalg.LinAlgError, match="NaN or Inf"):
        batched_small_svd(a)


def test_sweep_cap_falls_back_to_numpy():
    rng = np.random.default_rng(14)
    a = random_matrix((6, 8, 8), np.float64, rng)
    with pytest.warns(FallbackWarning, match="did not converge"):
        u, s, vh = batched_small_svd(a, max_sweeps=1)
    assert_valid_svd(a, u, s, vh)


@pytest.mark.parametrize("bad", [np.arange(12).reshape(3, 4), np.ones((3, 4), "f2")])
def test_unsupported_dtype(bad):
    with pytest.raises(TypeError, match="`a` must be"):
        batched_small_svd(bad)


def test_one_dimensional_input():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        batched_small_svd(np.ones(3))


def test_use_small_svd_rule():
    assert use_small_svd((20000, 6, 4))
    assert use_small_svd((20000, 4, 6))
    assert use_small_svd((100000, 3, 3))
    assert use_small_svd((100, 256, 2))
    assert not use_small_svd((5000, 16, 16))
    assert not use_small_svd((4, 6, 4))  # too few matrices to pay off
    assert not use_small_svd((6, 4))
    assert use_small_svd((1000, 6, 4), np.complex128)
    assert not use_small_svd((1000, 8, 8), np.complex128)
    assert not use_small_svd((1000, 6, 0))


def test_importing_lowrank_does_not_import_numba():
    code = "import sys, lowrank, lowrank._kernels; sys.exit('numba' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, check=False)
    assert proc.returncode == 0, "importing lowrank or lowrank._kernels imported numba"


@given(
    m=st.integers(1, 9),
    n=st.integers(1, 9),
    batch=st.sampled_from(BATCHES),
    dtype=st.sampled_from(DTYPES),
    rank=st.integers(0, 9),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_valid_svd(m, n, batch, dtype, rank, seed):
    rng = np.random.default_rng(seed)
    r = min(rank, m, n)
    a = random_matrix((*batch, m, r), dtype, rng) @ random_matrix(
        (*batch, r, n), dtype, rng
    )
    u, s, vh = batched_small_svd(a)
    assert_valid_svd(a, u, s, vh)
