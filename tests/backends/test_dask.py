"""lowrank on row-chunked dask arrays, run on a real dask.distributed cluster.

Every result is compared with the one-machine function on the same data.
The cluster (2 worker processes, 1 thread each) is started once for the
module: worker processes, not threads, so that everything a task needs is
really shipped to another interpreter (pickled functions and parameters),
as on a cluster of machines.
"""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import lowrank  # noqa: E402
from lowrank.exceptions import FallbackWarning  # noqa: E402
from tests.helpers import eps  # noqa: E402

M, N, CHUNKS = 2000, 20, 4


@pytest.fixture(scope="module", autouse=True)
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # startup chatter of distributed
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        )
        with distributed.Client(cluster) as c:
            yield c
        cluster.close()


def matrix(m, n, *, cond=10.0, rank=None, dtype=np.float64, seed=0):
    """``U diag(s) V^H`` with Haar U, V and geometric singular values 1 .. 1/cond."""
    rng = np.random.default_rng(seed)
    complex_ = np.issubdtype(dtype, np.complexfloating)

    def haar(rows, cols):
        x = rng.standard_normal((rows, cols))
        if complex_:
            x = x + 1j * rng.standard_normal((rows, cols))
        return np.linalg.qr(x)[0]

    k = min(m, n)
    s = np.geomspace(1.0, 1.0 / cond, k)
    if rank is not None:
        s[rank:] = 0.0
    return ((haar(m, k) * s) @ haar(n, k).conj().T).astype(dtype)


def chunked(a, rows=None):
    """`a` as a dask array in `CHUNKS` row blocks (or the given row chunks)."""
    return da.from_array(a, chunks=(rows or a.shape[0] // CHUNKS, a.shape[1]))


def assert_close(x, y, tol, scale=1.0):
    x = np.asarray(x)
    err = np.linalg.norm(x - y) / max(scale, np.finfo(np.float64).tiny)
    assert err <= tol, f"relative difference {err:.3g} > {tol:.3g}"


def assert_lazy(x, chunks):
    assert isinstance(x, da.Array)
    assert x.chunks == chunks


# --------------------------------------------------------------------------
# import and recognition
# --------------------------------------------------------------------------


def test_import_lowrank_does_not_import_dask():
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        import lowrank
        from lowrank._backends.dispatch import is_dask_array
        lowrank.pinv(np.ones((6, 3)))
        lowrank.lstsq(np.ones((6, 3)), np.ones(6))
        assert not is_dask_array(np.ones(3))
        loaded = [m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")]
        assert not loaded, loaded
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------
# tall_qr
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "cond", "method"),
    [
        (np.float64, 10.0, "cholqr2"),
        (np.float64, 1e10, "scholqr3"),
        (np.complex128, 1e3, "cholqr2"),
        (np.float32, 10.0, "cholqr2"),
        (np.complex64, 10.0, "cholqr2"),
    ],
)
def test_tall_qr_matches_one_machine(dtype, cond, method):
    a = matrix(M, N, cond=cond, dtype=dtype)
    q, r = lowrank.tall_qr(chunked(a))
    assert_lazy(q, ((M // CHUNKS,) * CHUNKS, (N,)))
    assert isinstance(r, np.ndarray)
    assert r.dtype == dtype
    r1 = lowrank.tall_qr(a).R
    qc = q.compute()
    tol = 10 * N * eps(dtype)
    assert_close(qc.conj().T @ qc, np.eye(N), tol)
    assert_close(qc @ r, a, tol, np.linalg.norm(a))
    assert_close(r, r1, tol * cond**0.5, np.linalg.norm(r1))
    assert np.allclose(np.triu(r), r)
    assert np.all(np.diagonal(r).real >= 0)


def test_tall_qr_rank_deficient_is_tsqr_with_uneven_chunks():
    # a block of 10 rows (< N): its TSQR triangle has only 10 rows
    a = matrix(M, N, rank=7)
    d = chunked(a, rows=(1000, 10, 990))
    q, r = lowrank.tall_qr(d)
    assert q.chunks == ((1000, 10, 990), (N,))
    qc = q.compute()
    assert_close(qc.T @ qc, np.eye(N), 10 * N * eps(a.dtype))
    assert_close(qc @ r, a, 10 * N * eps(a.dtype), np.linalg.norm(a))


def test_tall_qr_explicit_method_falls_back_with_a_warning():
    a = matrix(M, N, cond=1e10)
    with pytest.warns(FallbackWarning, match="cholqr2 broke down"):
        q, r = lowrank.tall_qr(chunked(a), method="cholqr2")
    qc = q.compute()
    assert_close(qc.T @ qc, np.eye(N), 10 * N * eps(a.dtype))
    q, r = lowrank.tall_qr(chunked(a), method="householder")
    assert_close(r, lowrank.tall_qr(a)[1], 1e-6, np.linalg.norm(r))


@pytest.mark.parametrize("cond", [10.0, 1e12])
def test_tall_qr_randomized_preconditioning(cond):
    # large enough for "auto" to start with rcholqr, as on one machine
    a = matrix(40000, N, cond=cond, seed=3)
    d = chunked(a)
    q, r = lowrank.tall_qr(d, method="rcholqr")
    qc = q.compute()
    tol = 10 * N * eps(a.dtype)
    assert_close(qc.T @ qc, np.eye(N), tol)
    assert_close(qc @ r, a, tol, np.linalg.norm(a))
    r_auto = lowrank.tall_qr(d)[1]
    assert_close(r_auto, r, 0, 1)  # "auto" is the same computation here


# --------------------------------------------------------------------------
# svd
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32])
def test_svd_matches_one_machine_including_signs(dtype):
    a = matrix(M, N, cond=100.0, dtype=dtype, seed=1)
    u, s, vh = lowrank.svd(chunked(a))
    assert_lazy(u, ((M // CHUNKS,) * CHUNKS, (N,)))
    assert isinstance(s, np.ndarray)
    assert isinstance(vh, np.ndarray)
    assert s.dtype == np.finfo(dtype).dtype
    u1, s1, vh1 = lowrank.svd(a)
    tol = 100 * N * eps(dtype)
    assert_close(s, s1, tol, s1[0])
    # singular values 1..1e-2 with relative gaps >= 0.2: vectors to ~ tol/gap
    assert_close(u.compute(), u1, 10 * tol, np.sqrt(N))
    assert_close(vh, vh1, 10 * tol, np.sqrt(N))
    if np.iscomplexobj(a):
        pivots = np.abs(u1).argmax(axis=0)
        assert np.all(u.compute()[pivots, np.arange(N)].imag == 0)


def test_svd_wide_and_rank_deficient():
    a = matrix(N, M, cond=50.0, seed=2)
    d = da.from_array(a, chunks=(N, M // CHUNKS))
    u, s, vh = lowrank.svd(d)
    assert isinstance(u, np.ndarray)
    assert_lazy(vh, ((N,), (M // CHUNKS,) * CHUNKS))
    u1, s1, vh1 = lowrank.svd(a)
    assert_close(s, s1, 100 * N * eps(a.dtype), s1[0])
    assert_close(u, u1, 1e-11, np.sqrt(N))
    assert_close(vh.compute(), vh1, 1e-11, np.sqrt(N))

    b = matrix(M, N, rank=5, seed=4)
    u, s, vh = lowrank.svd(chunked(b))
    s1 = lowrank.svd(b).S
    assert_close(s, s1, 100 * N * eps(b.dtype), s1[0])
    assert_close((u.compute() * s) @ vh, b, 100 * N * eps(b.dtype), np.linalg.norm(b))


# --------------------------------------------------------------------------
# pinv
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "rank", "cond"),
    [
        (np.float64, None, 1e3),
        (np.float64, 8, 10.0),
        (np.complex128, None, 1e3),
        (np.complex128, 8, 10.0),
        (np.float32, None, 10.0),
    ],
)
def test_pinv_matches_one_machine(dtype, rank, cond):
    a = matrix(M, N, cond=cond, rank=rank, dtype=dtype, seed=5)
    x, r = lowrank.pinv(chunked(a), return_rank=True)
    # the pseudo-inverse is N x M, chunked along its long axis like A's rows
    assert_lazy(x, ((N,), (M // CHUNKS,) * CHUNKS))
    x1, r1 = lowrank.pinv(a, return_rank=True)
    assert r == r1 == (rank or N)
    assert_close(x.compute(), x1, 100 * M * eps(dtype) * cond, np.linalg.norm(x1))


def test_pinv_wide_damped_and_eigh():
    a = matrix(N, M, cond=100.0, seed=6)
    d = da.from_array(a, chunks=(N, M // CHUNKS))
    x = lowrank.pinv(d)
    assert_lazy(x, ((M // CHUNKS,) * CHUNKS, (N,)))
    assert_close(x.compute(), lowrank.pinv(a), 1e-10, np.linalg.norm(x))
    b = matrix(M, N, cond=100.0, seed=7)
    for kwargs in ({"damp": 0.05}, {"method": "eigh"}, {"rtol": 0.05}):
        x = lowrank.pinv(chunked(b), **kwargs).compute()
        assert_close(x, lowrank.pinv(b, **kwargs), 1e-9, np.linalg.norm(x))


# --------------------------------------------------------------------------
# lstsq
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cond", "rank", "dtype"),
    [
        (10.0, None, np.float64),  # semi-normal equations, refined
        (1e9, None, np.float64),  # too ill-conditioned: the QR route
        (10.0, 6, np.float64),  # rank deficient: minimum-norm solution
        (100.0, None, np.complex128),
        (100.0, 6, np.complex128),
        (10.0, None, np.float32),
    ],
)
def test_lstsq_matches_one_machine(cond, rank, dtype):
    a = matrix(M, N, cond=cond, rank=rank, dtype=dtype, seed=8)
    rng = np.random.default_rng(9)
    b = rng.standard_normal((M, 2)).astype(dtype)
    res = lowrank.lstsq(chunked(a), b)
    ref = lowrank.lstsq(a, b)
    assert isinstance(res.x, np.ndarray)
    assert res.x.dtype == dtype
    assert res.rank == ref.rank == (rank or N)
    x_norm = np.linalg.norm(ref.x)
    # least-squares forward error: eps (kappa + kappa^2 ||r|| / (||A|| ||x||))
    r_norm = np.sqrt(np.max(ref.residuals))
    kappa = cond if rank is None else 1.0 / np.geomspace(1, 1 / cond, N)[rank - 1]
    bound = 100 * N * eps(dtype) * (kappa + kappa**2 * r_norm / x_norm)
    assert_close(res.x, ref.x, bound, x_norm)
    # the residual is computed from x, whose rounding errors grow like cond
    tol = 1e3 * N * eps(dtype) * cond
    assert_close(res.residuals, ref.residuals, tol, ref.residuals[0])
    if rank is not None:
        # the minimum-norm solution, not one with huge null-space components
        x_min = lowrank.pinv(a) @ b
        assert_close(res.x, x_min, 1e3 * N * eps(dtype), x_norm)


def test_lstsq_vector_dask_rhs_damp_and_wide():
    a = matrix(M, N, cond=100.0, seed=10)
    b = np.random.default_rng(11).standard_normal(M)
    # b chunked differently from a: rechunked to a's row blocks
    res = lowrank.lstsq(chunked(a), da.from_array(b, chunks=300))
    ref = lowrank.lstsq(a, b)
    assert res.x.shape == (N,)
    assert isinstance(res.residuals, float)
    assert_close(res.x, ref.x, 1e-11, np.linalg.norm(ref.x))
    for kwargs in ({"damp": 0.1}, {"method": "svd"}):
        res = lowrank.lstsq(chunked(a), b, **kwargs)
        ref = lowrank.lstsq(a, b, **kwargs)
        assert_close(res.x, ref.x, 1e-11, np.linalg.norm(ref.x))
    w = matrix(N, M, rank=12, seed=12)
    bw = np.random.default_rng(13).standard_normal(N)
    res = lowrank.lstsq(da.from_array(w, chunks=(N, 500)), bw)
    ref = lowrank.lstsq(w, bw)
    # the solution of a wide system is as long as the chunked axis: lazy
    assert_lazy(res.x, ((500,) * 4,))
    assert res.rank == ref.rank == 12
    assert_close(np.asarray(res.x), ref.x, 1e-11, np.linalg.norm(ref.x))
    assert_close(res.residuals, ref.residuals, 1e-10, 1 + ref.residuals)


# --------------------------------------------------------------------------
# truncated_svd and randomized_svd
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["dense", "gram", "auto"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_truncated_svd_matches_one_machine(method, dtype):
    a = matrix(M, N, cond=1e4, dtype=dtype, seed=14)
    u, s, vh = lowrank.truncated_svd(chunked(a), 5, method=method)
    assert_lazy(u, ((M // CHUNKS,) * CHUNKS, (5,)))
    u1, s1, vh1 = lowrank.truncated_svd(a, 5, method="dense")
    tol = 1e3 * N * eps(dtype)
    assert_close(s, s1, tol, s1[0])
    assert_close(u.compute(), u1, tol, np.sqrt(5))
    assert_close(vh, vh1, tol, np.sqrt(5))


def test_truncated_svd_tol_wide_float32():
    a = matrix(M, N, cond=1e4, seed=15)
    u, s, vh = lowrank.truncated_svd(chunked(a), tol=1e-2)
    u1, s1, vh1 = lowrank.truncated_svd(a, tol=1e-2, method="dense")
    assert s.size == s1.size
    assert_close(u.compute(), u1, 1e-11, np.sqrt(s.size))
    w = matrix(N, M, cond=1e3, dtype=np.float32, seed=16)
    u, s, vh = lowrank.truncated_svd(da.from_array(w, chunks=(N, 500)), 4)
    assert isinstance(u, np.ndarray)
    assert u.dtype == np.float32
    assert_lazy(vh, ((4,), (500,) * 4))
    u1, s1, vh1 = lowrank.truncated_svd(w, 4, method="dense")
    assert_close(s, s1, 1e3 * N * eps(np.float32), s1[0])
    assert_close(vh.compute(), vh1, 1e4 * N * eps(np.float32), 2)


def test_gram_route_refines_below_its_resolution():
    # s_5 = 1e-9: below what the rounded Gram matrix resolves, so the route
    # adds distributed subspace iterations; the error must still be optimal
    rng = np.random.default_rng(17)
    u0 = np.linalg.qr(rng.standard_normal((M, N)))[0]
    v0 = np.linalg.qr(rng.standard_normal((N, N)))[0]
    s0 = np.concatenate([[1.0, 0.5, 0.2, 0.1], np.geomspace(1e-9, 1e-12, N - 4)])
    a = (u0 * s0) @ v0.T
    u, s, vh = lowrank.truncated_svd(chunked(a), 5, method="gram")
    err = np.linalg.norm(a - (u.compute() * s) @ vh, 2)
    assert err <= 1.1 * s0[5] + 1e-15
    assert_close(s, s0[:5], 1e-6, s0[4])


@pytest.mark.parametrize(
    ("dtype", "kwargs"),
    [
        (np.float64, {}),
        (np.complex128, {}),
        (np.float64, {"normalizer": "none", "n_iter": 2}),
        (np.float64, {"sketch": "sparse_sign", "oversample": 4}),
        (np.float32, {}),
    ],
)
def test_randomized_svd_matches_one_machine(dtype, kwargs):
    # same seed, same test matrix: the same computation up to rounding
    a = matrix(M, N, cond=1e3, dtype=dtype, seed=18)
    u, s, vh = lowrank.randomized_svd(chunked(a), 4, rng=5, **kwargs)
    u1, s1, vh1 = lowrank.randomized_svd(a, 4, rng=5, **kwargs)
    assert_lazy(u, ((M // CHUNKS,) * CHUNKS, (4,)))
    tol = 1e4 * N * eps(dtype)
    assert_close(s, s1, tol, s1[0])
    assert_close(u.compute(), u1, tol, 2)
    assert_close(vh, vh1, tol, 2)
    if not kwargs:
        u, s, vh = lowrank.truncated_svd(chunked(a), 4, method="randomized", rng=5)
        u1, s1, vh1 = lowrank.truncated_svd(a, 4, method="randomized", rng=5)
        assert_close(s, s1, tol, s1[0])
        assert_close(u.compute(), u1, tol, 2)


def test_randomized_svd_rank_deficient_and_wide():
    a = matrix(M, N, rank=3, seed=19)
    u, s, vh = lowrank.randomized_svd(chunked(a), 6, rng=0)
    assert_close((u.compute() * s) @ vh, a, 1e3 * N * eps(a.dtype), np.linalg.norm(a))
    w = matrix(N, M, cond=1e3, seed=20)
    u, s, vh = lowrank.randomized_svd(da.from_array(w, chunks=(N, 500)), 4, rng=0)
    s1 = lowrank.svd(w).S
    assert_close(s, s1[:4], 1e-6, s1[0])
    assert isinstance(u, np.ndarray)
    assert_lazy(vh, ((4,), (500,) * 4))


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------


def test_column_chunked_input_is_refused_with_the_rechunk_that_fixes_it():
    a = da.from_array(matrix(M, N), chunks=(500, 10))
    for function in (lowrank.tall_qr, lowrank.svd, lowrank.pinv):
        with pytest.raises(ValueError, match=r"rechunk\(\{1: -1\}\)"):
            function(a)
    with pytest.raises(ValueError, match=r"rechunk\(\{1: -1\}\)"):
        lowrank.lstsq(a, np.ones(M))
    with pytest.raises(ValueError, match=r"rechunk\(\{1: -1\}\)"):
        lowrank.truncated_svd(a, 3)
    # the fix works
    assert lowrank.tall_qr(a.rechunk({1: -1})).R.shape == (N, N)


def test_bad_arguments():
    d = chunked(matrix(M, N))
    with pytest.raises(ValueError, match="2-D dask array"):
        lowrank.pinv(da.ones((2, M, N), chunks=(1, 500, N)))
    with pytest.raises(ValueError, match="for a dask array in pinv"):
        lowrank.pinv(d, method="newton")
    with pytest.raises(ValueError, match="hermitian"):
        lowrank.pinv(d, hermitian=True)
    with pytest.raises(ValueError, match="`tol` and `maxiter`"):
        lowrank.pinv(d, tol=1e-3)
    with pytest.raises(ValueError, match="must be tall"):
        lowrank.tall_qr(da.from_array(matrix(N, M), chunks=(N, 500)))
    with pytest.raises(ValueError, match="for a dask array in truncated_svd"):
        lowrank.truncated_svd(d, 3, method="lanczos")
    with pytest.raises(ValueError, match="normalizer"):
        lowrank.randomized_svd(d, 3, normalizer="lu")
    with pytest.raises(ValueError, match=r"0 < k <= 20"):
        lowrank.randomized_svd(d, 21)
    with pytest.raises(ValueError, match="`b` has 10"):
        lowrank.lstsq(d, np.ones(10))
    with pytest.raises(ValueError, match="precond"):
        lowrank.lstsq(d, np.ones(M), precond="column")
    with pytest.raises(TypeError, match="float16"):
        lowrank.svd(d.astype(np.float16))


def test_non_finite_input_raises_from_the_first_pass():
    a = matrix(M, N)
    a[1234, 5] = np.nan
    a[7, 1] = np.inf
    for function in (lowrank.tall_qr, lowrank.pinv, lowrank.svd):
        with pytest.raises(ValueError, match="1 NaN and 1 infinite entries"):
            function(chunked(a))
    with pytest.raises(ValueError, match="`a` must contain only finite"):
        lowrank.truncated_svd(chunked(a), 3)
    b = np.ones(M)
    b[3] = np.nan
    with pytest.raises(ValueError, match="`b` must contain only finite numbers"):
        lowrank.lstsq(chunked(matrix(M, N)), b)


@pytest.mark.parametrize("check_finite", [True, False])
def test_check_finite_is_honoured_by_the_deferred_test(check_finite):
    # The documented behaviour for dask arrays: NaN/Inf are found on the first
    # pass's small results whatever check_finite says (as on one machine,
    # where False swaps the elementwise test for a sum but still raises).
    a = matrix(M, N)
    a[321, 2] = np.nan
    calls = {
        "tall_qr": lambda x: lowrank.tall_qr(x, check_finite=check_finite),
        "pinv": lambda x: lowrank.pinv(x, check_finite=check_finite),
        "svd": lambda x: lowrank.svd(x, check_finite=check_finite),
        "lstsq": lambda x: lowrank.lstsq(x, np.ones(M), check_finite=check_finite),
        "truncated_svd": lambda x: lowrank.truncated_svd(
            x, 3, check_finite=check_finite
        ),
        "randomized_svd": lambda x: lowrank.randomized_svd(
            x, 3, check_finite=check_finite
        ),
    }
    for call in calls.values():
        with pytest.raises(ValueError, match="`a` must contain only finite"):
            call(chunked(a))
        # and numpy input behaves the same way
        with pytest.raises(ValueError, match="`a` must contain only finite"):
            call(a)


def test_empty_and_integer_input():
    d = da.zeros((M, 0), chunks=(500, 0))
    q, r = lowrank.tall_qr(d)
    assert q.shape == (M, 0)
    assert r.shape == (0, 0)
    assert lowrank.pinv(d).shape == (0, M)
    ints = np.arange(M * 3).reshape(M, 3) % 7
    x = lowrank.pinv(da.from_array(ints, chunks=(500, 3)))
    assert x.dtype == np.float64
    assert_close(x.compute(), lowrank.pinv(ints), 1e-12, np.linalg.norm(x))


def test_sign_convention_ties_across_blocks():
    # columns whose largest magnitude is reached by +x and -x, within a block
    # and across blocks: the first such entry decides, as canonical_signs does
    from lowrank._backends.dask._chunks import sign_block
    from lowrank._backends.dask.operand import _real_signs
    from lowrank.linalg._svd import canonical_signs

    u = np.array(
        [
            [1.0, -2.0, 0.0, 3.0, 0.5],
            [-2.0, 2.0, 0.0, -3.0, -0.5],
            [2.0, 1.0, 0.0, 1.0, 0.1],
            [0.0, -2.0, 0.0, 3.0, 0.0],
        ]
    )
    for split in ([1, 3], [2], [1, 2, 3]):
        parts = [sign_block(b, kernel=np.asarray) for b in np.split(u, split)]
        signs = _real_signs(*(np.stack([p[i] for p in parts]) for i in range(3)))
        expected = np.diagonal(canonical_signs(u, np.eye(5))[1])
        assert np.array_equal(signs, expected), (split, signs, expected)


@pytest.mark.parametrize("method", ["gram", "randomized", "dense"])
def test_truncated_svd_clustered_values_keep_the_sign_convention(method):
    # s_2 = s_3 (and s_5 ~ s_6 across the cut): singular vectors are not
    # unique there, but U must be orthonormal, optimal and sign-normalised
    rng = np.random.default_rng(21)
    u0 = np.linalg.qr(rng.standard_normal((M, N)))[0]
    v0 = np.linalg.qr(rng.standard_normal((N, N)))[0]
    s0 = np.geomspace(1.0, 1e-3, N)
    s0[2] = s0[1]
    s0[5] = s0[4] * (1 - 1e-12)
    a = (u0 * s0) @ v0.T
    u, s, vh = lowrank.truncated_svd(chunked(a), 5, method=method, rng=0)
    uc = u.compute()
    tol = 1e3 * N * eps(a.dtype)
    assert_close(uc.T @ uc, np.eye(5), tol)
    assert_close(vh @ vh.T, np.eye(5), tol)
    assert_close(s, s0[:5], 1e-6 if method == "randomized" else tol)
    pivots = np.abs(uc).argmax(axis=0)
    assert np.all(uc[pivots, np.arange(5)] > 0)
    assert np.linalg.norm(a - (uc * s) @ vh, 2) <= 1.01 * s0[5]
