"""The comparisons of ``python -m benchmarks``: one generator of cases per section.

Each generator builds its matrices only when its case is reached, so one
case's data is freed before the next is made. The matrices, reference
solutions and error measures are those of the single-topic scripts
(``bench_pinv.py``, ``bench_tallskinny.py``, ``bench_lstsq.py``,
``bench_lowrank.py``, ``bench_columns.py``, ``bench_nystrom.py``), imported
from them; the sizes per mode are in :data:`SIZES`.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

import lowrank
from benchmarks import (
    bench_columns,
    bench_lowrank,
    bench_lstsq,
    bench_nystrom,
    bench_pinv,
    bench_tallskinny,
)
from benchmarks._report import Case, Peer, optional_import

#: Problem sizes per mode. "full" are the sizes of the issues' targets (and
#: of the bench_*.py scripts); "quick" runs in about a minute on 2 cores;
#: "smoke" only checks that everything runs (tests).
SIZES = {
    "smoke": {
        "pinv_square": 20,
        "pinv_stack": 40,
        "tall": (300, 10),
        "svd_stack": 40,
        "lstsq_tall": (300, 10),
        "lstsq_sketch": (400, 10),
        "lstsq_sparse": (600, 20, 0.05),
        "lstsq_default_sparse": (600, 20, 0.05),
        "lstsq_stack": (4, 400, 10),
        "lstsq_tiny_stack": (50, 12, 5),
        "lowrank": (60, 40, 5),
        "lowrank_sparse": (100, 50, 0.05),
        "columns": (60, 5),
        "cr": (500, 5, 50),
        "nystrom": (50, 5),
    },
    "quick": {
        "pinv_square": 400,
        "pinv_stack": 5000,
        "tall": (20000, 50),
        "svd_stack": 5000,
        "lstsq_tall": (20000, 100),
        "lstsq_sketch": (40000, 200),
        "lstsq_sparse": (40000, 400, 5e-3),
        "lstsq_default_sparse": (20000, 400, 5e-3),
        "lstsq_stack": (8, 20000, 50),
        "lstsq_tiny_stack": (20000, 12, 5),
        "lowrank": (800, 600, 20),
        "lowrank_sparse": (2000, 500, 5e-3),
        "columns": (800, 40),
        "cr": (100000, 30, 1000),
        "nystrom": (600, 20),
        "skip": {
            "newton": "skipped by --quick (1-2 orders of magnitude slower than "
            '"svd"; see the full report)'
        },
    },
    "full": {
        "pinv_square": 1000,
        "pinv_stack": 20000,
        "tall": (100000, 100),
        "svd_stack": 20000,
        "lstsq_tall": (100000, 100),
        "lstsq_sketch": (200000, 500),
        "lstsq_sparse": (200000, 2000, 1e-3),
        "lstsq_default_sparse": (50000, 1000, 2e-3),
        "lstsq_stack": (8, 20000, 50),
        "lstsq_tiny_stack": (20000, 12, 5),
        "lowrank": (4000, 3000, 50),
        "lowrank_sparse": (20000, 5000, 1e-3),
        "columns": (2000, 50),
        "cr": (1000000, 30, 5000),
        "nystrom": (2000, 20),
    },
}


def _power(x):
    """1000.0 -> "1e3", 1e10 -> "1e10"."""
    mantissa, exponent = f"{x:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _lowrank(label, run):
    return Peer(f"lowrank {label}", run, lowrank=True)


def _dask_array(a, row_chunks=4):
    """A row-chunked dask array of `a` (tall-skinny layout), or the reason."""
    da, missing = optional_import("dask.array")
    if da is None:
        return None, missing
    chunk = max(a.shape[1], -(-a.shape[0] // row_chunks))
    return da.from_array(a, chunks=(chunk, a.shape[1])), ""


def _dask_peer(label, a, run):
    """A dask peer: `run(dask_array)` returns dask arrays, computed here."""
    x, missing = _dask_array(a)
    if x is None:
        return Peer(label, None, missing)
    import dask

    return Peer(label, lambda: dask.compute(*run(x)))


# ------------------------------------------------------------- pseudo-inverse


def pinv_cases(size, rng):
    section = "Pseudo-inverse (issue #2)"
    measure = "worst of the four relative Moore–Penrose residuals"
    n, count = size["pinv_square"], size["pinv_stack"]

    def case(name, a):
        return Case(
            section,
            name,
            measure,
            [
                _lowrank("pinv", lambda: lowrank.pinv(a)),
                Peer("numpy.linalg.pinv", lambda: np.linalg.pinv(a)),
                Peer(
                    "scipy.linalg.pinv" + (" (loop)" if a.ndim > 2 else ""),
                    lambda: bench_pinv.scipy_pinv_stack(a),
                ),
            ],
            lambda x: bench_pinv.worst_residual(a, x),
        )

    yield case(f"{n}x{n} Gaussian", rng.standard_normal((n, n)))
    spectrum = np.logspace(0, -10, n)
    a = (bench_pinv.orthogonal(rng, n) * spectrum) @ bench_pinv.orthogonal(rng, n)
    yield case(f"{n}x{n} cond 1e10", a)
    yield case(f"stack {count} x (6x4)", rng.standard_normal((count, 6, 4)))
    z = rng.standard_normal((count, 6, 4)) + 1j * rng.standard_normal((count, 6, 4))
    yield case(f"stack {count} x (6x4) complex", z)


def pinv_method_cases(size, rng):
    section = "Pseudo-inverse methods on a tall matrix (issues #2, #3)"
    measure = "worst of the four relative Moore–Penrose residuals"
    m, n = size["tall"]
    for cond in (1e3, 1e8):
        a = bench_tallskinny.with_condition(rng, m, n, cond)
        peers = [_lowrank("pinv (auto)", lambda a=a: lowrank.pinv(a))]
        for method in ("svd", "cholqr", "qr", "eigh", "newton"):
            label = f'pinv method="{method}"'
            if method in size.get("skip", ()):
                peers.append(Peer(f"lowrank {label}", None, size["skip"][method], True))
                continue
            peers.append(
                _lowrank(
                    label, lambda a=a, method=method: lowrank.pinv(a, method=method)
                )
            )
        peers += [
            Peer("numpy.linalg.pinv", lambda a=a: np.linalg.pinv(a)),
            Peer("scipy.linalg.pinv", lambda a=a: scipy.linalg.pinv(a)),
        ]
        yield Case(
            section,
            f"{m}x{n} cond {_power(cond)}",
            measure,
            peers,
            lambda x, a=a: bench_tallskinny.worst_mp(a, x),
        )


# ---------------------------------------------------------------- tall-skinny


def tallskinny_cases(size, rng):
    section = "Tall-skinny QR and SVD (issue #3)"
    m, n = size["tall"]
    eps = np.finfo(np.float64).eps

    def qr_errors(a, qr):
        q, r = (np.asarray(f) for f in qr)
        orth = np.linalg.norm(q.T @ q - np.eye(n)) / (n * eps)
        res = np.linalg.norm(a - q @ r) / (np.linalg.norm(a) * n * eps)
        return orth, res

    da = optional_import("dask.array")[0]
    for cond in (1e3, 1e10):
        a = bench_tallskinny.with_condition(rng, m, n, cond)
        yield Case(
            section,
            f"QR {m}x{n} cond {_power(cond)}",
            "max(||Q^H Q - I||_F, ||A - QR||_F / ||A||_F) / (n eps)",
            [
                _lowrank("tall_qr", lambda a=a: lowrank.tall_qr(a)),
                Peer("numpy.linalg.qr", lambda a=a: np.linalg.qr(a)),
                Peer(
                    "scipy.linalg.qr",
                    lambda a=a: scipy.linalg.qr(a, mode="economic"),
                ),
                _dask_peer(
                    "dask.array.linalg.tsqr",
                    a,
                    lambda x: da.linalg.tsqr(x),
                ),
            ],
            lambda qr, a=a: max(qr_errors(a, qr)),
            lambda qr, a=a: "orth {:.2f}, residual {:.2f} (x n eps)".format(
                *qr_errors(a, qr)
            ),
        )

    s_true = np.logspace(0, -3, n)
    a = bench_tallskinny.with_condition(rng, m, n, 1e3)
    yield Case(
        section,
        f"SVD {m}x{n} cond 1e3",
        "max |s - s_true| / (n eps s_max), s_true the constructed spectrum",
        [
            _lowrank("svd", lambda: lowrank.svd(a)),
            Peer("numpy.linalg.svd", lambda: np.linalg.svd(a, full_matrices=False)),
            Peer(
                "scipy.linalg.svd",
                lambda: scipy.linalg.svd(a, full_matrices=False),
            ),
            _dask_peer("dask.array.linalg.svd", a, lambda x: da.linalg.svd(x)),
        ],
        lambda usv: np.max(np.abs(np.asarray(usv[1]) - s_true)) / (n * eps),
    )

    count = size["svd_stack"]
    stack = rng.standard_normal((count, 6, 4))
    norms = np.linalg.norm(stack, axis=(-2, -1))

    def reconstruction(usv):
        u, s, vh = usv
        diff = np.linalg.norm(stack - (u * s[..., None, :]) @ vh, axis=(-2, -1))
        return np.max(diff / norms) / eps

    yield Case(
        section,
        f"SVD stack {count} x (6x4)",
        "max over the stack of ||A - U diag(s) Vh||_F / (eps ||A||_F)",
        [
            _lowrank("svd", lambda: lowrank.svd(stack)),
            Peer(
                "numpy.linalg.svd",
                lambda: np.linalg.svd(stack, full_matrices=False),
            ),
        ],
        reconstruction,
    )


# -------------------------------------------------------------- least squares


LSTSQ = "Least squares (issue #4)"


def _lstsq_dense_case(name, a, b, peers):
    x_ref = bench_lstsq.accurate_solution(a, b)

    def backward(x):
        return f"backward {bench_lstsq.backward_error(a, b, np.asarray(x), 1.0):.1e}"

    return Case(
        LSTSQ,
        name,
        "forward error ||x - x_ref|| / ||x_ref|| (note: backward error "
        "||A^H r|| / (||A||_2 ||r||))",
        peers,
        lambda x: bench_lstsq.forward_error(np.asarray(x), x_ref),
        backward,
    )


def _lapack_lstsq_peers(a, b):
    return [
        Peer("numpy.linalg.lstsq", lambda: np.linalg.lstsq(a, b, rcond=None)[0]),
        Peer(
            "scipy.linalg.lstsq gelsd",
            lambda: scipy.linalg.lstsq(a, b, lapack_driver="gelsd")[0],
        ),
        Peer(
            "scipy.linalg.lstsq gelsy",
            lambda: scipy.linalg.lstsq(a, b, lapack_driver="gelsy")[0],
        ),
    ]


def _lstsq_tall_case(size, rng):
    m, n = size["lstsq_tall"]
    a = bench_lstsq.with_condition(rng, m, n, 1e3)
    b = rng.standard_normal(m)
    dask_a, missing = _dask_array(a)
    if dask_a is None:
        dask_peer = Peer("dask.array.linalg.lstsq", None, missing)
    else:
        import dask
        import dask.array as da

        dask_b = da.from_array(b, chunks=(dask_a.chunks[0],))
        dask_peer = Peer(
            "dask.array.linalg.lstsq",
            lambda: dask.compute(da.linalg.lstsq(dask_a, dask_b)[0])[0],
        )
    peers = [
        _lowrank("lstsq (auto)", lambda: lowrank.lstsq(a, b).x),
        _lowrank('lstsq method="svd"', lambda: lowrank.lstsq(a, b, method="svd").x),
        *_lapack_lstsq_peers(a, b),
        dask_peer,
    ]
    return _lstsq_dense_case(f"{m}x{n} cond 1e3", a, b, peers)


def _lstsq_sketch_case(size, rng):
    m, n = size["lstsq_sketch"]
    a = bench_lstsq.with_condition(rng, m, n, 1e6)
    b = rng.standard_normal(m)
    peers = [
        _lowrank("lstsq (auto)", lambda: lowrank.lstsq(a, b).x),
        _lowrank(
            'lstsq method="sketch"',
            lambda: lowrank.lstsq(a, b, method="sketch", rng=0).x,
        ),
        *_lapack_lstsq_peers(a, b),
    ]
    return _lstsq_dense_case(f"{m}x{n} cond 1e6", a, b, peers)


def _lstsq_sparse_case(size, rng):
    m, n, density = size["lstsq_sparse"]
    s = bench_lstsq.sparse_problem(rng, m, n, density, 1e6)
    b = rng.standard_normal(m)
    norm_f = scipy.sparse.linalg.norm(s)
    tol, cap = 1e-6, 20000

    def unpack(out):
        if isinstance(out, lowrank.LstsqResult):
            return out.x, int(np.max(out.n_iter)), bool(np.all(out.converged))
        return out[0], int(out[2]), out[1] in (1, 2, 4, 5)

    def relative_normal_residual(out):
        x = unpack(out)[0]
        r = b - s @ x
        return np.linalg.norm(s.T @ r) / (norm_f * np.linalg.norm(r))

    def iterations(out):
        _, iters, ok = unpack(out)
        return f"{iters} iterations" + ("" if ok else ", not converged")

    def ours(method=None, precond="sketch"):
        options = {"tol": tol, "precond": precond}
        options.update({"rng": 0} if precond == "sketch" else {"maxiter": cap})
        if method is not None:
            options["method"] = method
        return lambda: lowrank.lstsq(s, b, **options)

    return Case(
        LSTSQ,
        f"sparse {m}x{n} density {density:g} cond 1e6, tol {tol:g}",
        "||A^H r|| / (||A||_F ||r||), the quantity scipy's lsqr tests against tol",
        [
            _lowrank("lstsq (auto = lsmr), precond sketch", ours()),
            _lowrank('lstsq method="lsqr", precond sketch', ours("lsqr")),
            _lowrank('lstsq method="lsqr", precond column', ours("lsqr", "column")),
            Peer(
                "scipy.sparse.linalg.lsqr",
                lambda: scipy.sparse.linalg.lsqr(
                    s, b, atol=tol, btol=tol, iter_lim=cap
                ),
            ),
            Peer(
                "scipy.sparse.linalg.lsmr",
                lambda: scipy.sparse.linalg.lsmr(s, b, atol=tol, btol=tol, maxiter=cap),
            ),
        ],
        relative_normal_residual,
        iterations,
    )


def _without_warnings(run):
    """`run` with warnings recorded, not raised (a peer may not converge)."""

    def quiet():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return run()

    return quiet


def _lstsq_default_sparse_case(size, rng):
    """Issue #17: the default call on a sparse ill-conditioned tall problem."""
    m, n, density = size["lstsq_default_sparse"]
    s = bench_lstsq.sparse_problem(rng, m, n, density, 1e6)
    x_true = rng.standard_normal(n)
    b = s @ x_true

    def solution(out):
        return out.x if isinstance(out, lowrank.LstsqResult) else out[0]

    def forward(out):
        return bench_lstsq.forward_error(solution(out), x_true)

    def iterations(out):
        if isinstance(out, lowrank.LstsqResult):
            iters, ok = int(np.max(out.n_iter)), bool(np.all(out.converged))
        else:
            iters, ok = int(out[2]), out[1] in (1, 2)
        return f"{iters} iterations" + ("" if ok else ", not converged")

    return Case(
        LSTSQ,
        f"default call, sparse {m}x{n} density {density:g} cond 1e6, "
        "consistent b (issue #17)",
        "forward error ||x - x_true|| / ||x_true||",
        [
            _lowrank("lstsq (auto)", lambda: lowrank.lstsq(s, b, rng=0)),
            _lowrank(
                'lstsq method="lsmr" (the old default)',
                _without_warnings(lambda: lowrank.lstsq(s, b, method="lsmr")),
            ),
            Peer(
                "scipy.sparse.linalg.lsqr atol=btol=1e-10",
                lambda: scipy.sparse.linalg.lsqr(
                    s, b, atol=1e-10, btol=1e-10, iter_lim=20000
                ),
            ),
        ],
        forward,
        iterations,
    )


def _numpy_lstsq_loop(a, b):
    return np.stack(
        [np.linalg.lstsq(a[i], b[i], rcond=None)[0] for i in range(a.shape[0])]
    )


def _lstsq_stack_case(size, rng, key):
    """Issue #17: a stack against a Python loop over numpy.linalg.lstsq."""
    shape = size[key]
    a = rng.standard_normal(shape)
    b = rng.standard_normal(shape[:-1])
    x_loop = _numpy_lstsq_loop(a, b)

    def difference(x):
        x = np.asarray(x)
        diff = np.linalg.norm(x - x_loop, axis=-1) / np.linalg.norm(x_loop, axis=-1)
        return float(diff.max())

    return Case(
        LSTSQ,
        "stack " + " x ".join(map(str, shape)) + " (issue #17)",
        "largest ||x - x_numpy|| / ||x_numpy|| over the stack",
        [
            _lowrank("lstsq (auto)", lambda: lowrank.lstsq(a, b).x),
            _lowrank('lstsq method="svd"', lambda: lowrank.lstsq(a, b, method="svd").x),
            Peer("numpy.linalg.lstsq loop", lambda: _numpy_lstsq_loop(a, b)),
        ],
        difference,
    )


def lstsq_cases(size, rng):
    for make in (_lstsq_tall_case, _lstsq_sketch_case, _lstsq_sparse_case):
        yield make(size, rng)
    yield _lstsq_default_sparse_case(size, rng)
    yield _lstsq_stack_case(size, rng, "lstsq_stack")
    yield _lstsq_stack_case(size, rng, "lstsq_tiny_stack")


# ---------------------------------------------------- low-rank approximation


def _sorted_triplets(usv):
    u, s, vh = (np.asarray(f) for f in usv)
    order = np.argsort(s)[::-1]  # svds returns ascending singular values
    return u[:, order], s[order], vh[order]


def _truncated_svd_peers(a, k):
    """bench_lowrank's peers (lowrank, sklearn, scipy, fbpca, dask) on `a`."""
    peers = []
    for name, function in bench_lowrank.peers(k):
        library = name.replace(" (default)", "")
        if function is None:
            pip = {"sklearn": "scikit-learn", "fbpca": "fbpca"}.get(
                name.split()[0], '"dask[array]"'
            )
            peers.append(Peer(library, None, f"not installed (pip install {pip})"))
        else:
            peers.append(
                Peer(
                    library,
                    lambda function=function: function(a),
                    lowrank=name.startswith("lowrank"),
                )
            )
    return peers


LOWRANK = "Low-rank approximation (issue #5)"


def _truncated_svd_case(name, a, k, sigma_next):
    return Case(
        LOWRANK,
        f"{name}, k={k}",
        "||A - U diag(s) Vh||_2 / sigma_{k+1} (1 is optimal)",
        _truncated_svd_peers(a, k),
        lambda usv: bench_lowrank.error_norm(a, *_sorted_triplets(usv)) / sigma_next,
    )


def _sparse_truncated_svd_case(size, rng, k):
    m, n, density = size["lowrank_sparse"]
    a = scipy.sparse.random(m, n, density=density, random_state=rng, format="csr")
    v0 = np.random.default_rng(1).standard_normal(m)
    sigma = scipy.sparse.linalg.svds(a, k + 1, solver="propack", v0=v0)[1]
    name = f"sparse random {m}x{n}, density {density:g}"
    return _truncated_svd_case(name, a, k, float(np.min(sigma)))


def _tol_case(a, spectrum, tol=1e-2):
    """Fixed accuracy: the rank is found, not given."""
    optimal = int(np.count_nonzero(spectrum > tol * spectrum[0]))

    def numpy_truncated():
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        r = int(np.count_nonzero(s > tol * s[0]))
        return u[:, :r], s[:r], vh[:r]

    return Case(
        LOWRANK,
        f"slow decay 1/j, {a.shape[0]}x{a.shape[1]}, tol={tol:g}",
        "||A - U diag(s) Vh||_2 / (tol sigma_1) (<= 1 required)",
        [
            _lowrank(
                f"truncated_svd(tol={tol:g})",
                lambda: lowrank.truncated_svd(a, tol=tol, rng=0),
            ),
            _lowrank(
                f"truncated_svd(k={optimal}) (rank known)",
                lambda: lowrank.truncated_svd(a, optimal, rng=0),
            ),
            Peer("numpy.linalg.svd, truncated at tol", numpy_truncated),
        ],
        lambda usv: bench_lowrank.error_norm(a, *usv) / (tol * spectrum[0]),
        lambda usv: f"rank {np.asarray(usv[1]).size} (optimal {optimal})",
    )


def _rangefinder_case(a, spectrum, k, n_iter=2):
    """The randomized range finder, with the same number of power iterations."""
    extmath, missing = optional_import("sklearn.utils.extmath")
    if extmath is None:
        sklearn_peer = Peer("sklearn randomized_range_finder", None, missing)
    else:
        sklearn_peer = Peer(
            "sklearn randomized_range_finder",
            lambda: extmath.randomized_range_finder(
                a, size=k + 10, n_iter=n_iter, random_state=0
            ),
        )
    return Case(
        LOWRANK,
        f"range finder, slow decay 1/j, {a.shape[0]}x{a.shape[1]}, "
        f"k={k}+10, {n_iter} power iterations",
        "||A - Q Q^H A||_2 / sigma_{k+1}",
        [
            _lowrank("rangefinder", lambda: lowrank.rangefinder(a, k, n_iter=n_iter)),
            sklearn_peer,
        ],
        lambda q: (
            bench_lowrank.error_norm(a, q, np.ones(q.shape[1]), q.T @ a) / spectrum[k]
        ),
    )


def _estimate_case(a, k):
    """A posteriori estimate of the error of a randomized SVD."""
    u, s, vh = lowrank.randomized_svd(a, k, n_iter=0, rng=0)
    exact = bench_lowrank.error_norm(a, u, s, vh)
    fbpca, missing = optional_import("fbpca")
    if fbpca is None:
        fbpca_peer = Peer("fbpca.diffsnorm", None, missing)
    else:
        fbpca_peer = Peer("fbpca.diffsnorm", lambda: fbpca.diffsnorm(a, u, s, vh))
    return Case(
        LOWRANK,
        f"spectral error estimate, {a.shape[0]}x{a.shape[1]}, rank {k}",
        "|estimate - ||E||_2| / ||E||_2, E = A - U diag(s) Vh of a randomized SVD",
        [
            _lowrank(
                "estimate_spectral_error",
                lambda: lowrank.estimate_spectral_error(a, u, s, vh, rng=0),
            ),
            fbpca_peer,
            Peer(
                "scipy svds(E, 1) propack (the reference)",
                lambda: bench_lowrank.error_norm(a, u, s, vh),
            ),
        ],
        lambda estimate: abs(estimate - exact) / exact,
    )


def lowrank_cases(size, rng):
    m, n, k = size["lowrank"]
    j = np.arange(1, n + 1, dtype=float)
    slow, fast = 1.0 / j, np.exp(-j / 10)
    a = bench_lowrank.with_spectrum(rng, m, n, slow)
    yield _truncated_svd_case(f"slow decay 1/j, {m}x{n}", a, k, slow[k])
    yield _truncated_svd_case(
        f"fast decay exp(-j/10), {m}x{n}",
        bench_lowrank.with_spectrum(rng, m, n, fast),
        k,
        fast[k],
    )
    yield _sparse_truncated_svd_case(size, rng, k)
    yield _tol_case(a, slow)
    yield _rangefinder_case(a, slow, k)
    yield _estimate_case(a, k)


# ------------------------------------------------ column/row approximations


COLUMNS = "Column and row approximations (issue #6)"


def _id_cur_cases(size, rng):
    section = COLUMNS
    n, k = size["columns"]
    a = bench_columns.signal_plus_noise(n, k, 1e-4, seed=int(rng.integers(2**31)))
    sigma = np.linalg.svd(a, compute_uv=False)

    def id_error(result):
        idx, coef = result
        return bench_columns.spectral_norm(a - a[:, idx] @ coef) / sigma[k]

    def svd_columns():
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return u[:, :k] * s[:k], vh[:k]

    title = f"{n}x{n} rank {k} + 1e-4 noise, k={k}"
    yield Case(
        section,
        f"ID, {title}",
        "||A - A[:, idx] coef||_2 / sigma_{k+1} (note: max |coef|)",
        [
            _lowrank(
                "interpolative (auto)", lambda: lowrank.interpolative(a, k, rng=0)
            ),
            _lowrank(
                'interpolative sketch="sparse_sign"',
                lambda: lowrank.interpolative(
                    a, k, method="randomized", sketch="sparse_sign", rng=0
                ),
            ),
            _lowrank(
                'interpolative method="cpqr"',
                lambda: lowrank.interpolative(a, k, method="cpqr"),
            ),
            Peer(
                "scipy interp_decomp(rand=True)",
                lambda: bench_columns.scipy_id(a, k),
            ),
        ],
        id_error,
        lambda result: f"max |coef| {np.abs(result[1]).max():.2f}",
    )

    yield Case(
        section,
        f"CUR, {title}",
        "||A - C U R||_2 / sigma_{k+1} (the SVD row: the optimum, not a CUR)",
        [
            _lowrank('cur (select="deim")', lambda: lowrank.cur(a, k, rng=0)),
            _lowrank(
                'cur select="cpqr"', lambda: lowrank.cur(a, k, select="cpqr", rng=0)
            ),
            _lowrank(
                'cur select="leverage"',
                lambda: lowrank.cur(a, k, select="leverage", rng=0),
            ),
            Peer("numpy.linalg.svd, truncated (optimum)", svd_columns),
        ],
        lambda f: (
            bench_columns.spectral_norm(
                a - (f[0] @ (f[1] @ f[2]) if len(f) == 5 else f[0] @ f[1])
            )
            / sigma[k]
        ),
    )


def _cr_case(size, rng):
    m, p, r = size["cr"]
    x = rng.standard_normal((m, p)) * rng.lognormal(size=(m, 1))
    exact = x.T @ x
    norm = np.linalg.norm(exact)

    def error(result):
        approx = result if isinstance(result, np.ndarray) else result[0] @ result[1]
        return np.linalg.norm(np.asarray(approx) - exact) / norm

    def sample(**options):
        return lambda: lowrank.sampled_matmul(x.T, x, r, rng=0, **options)

    return Case(
        COLUMNS,
        f"CR: A^T A of {m}x{p} from {r} sampled rows",
        "||C R - A^T A||_F / ||A^T A||_F",
        [
            _lowrank("sampled_matmul", sample()),
            _lowrank('sampled_matmul probs="uniform"', sample(probs="uniform")),
            Peer("numpy A.T @ A (exact)", lambda: x.T @ x),
        ],
        error,
    )


NYSTROM_LABELS = {
    "nystrom": "lowrank nystrom",
    "nystrom q=1": "lowrank nystrom(n_iter=1)",
    "randomized_svd": "lowrank randomized_svd",
    "scipy eigsh": "scipy.sparse.linalg.eigsh",
    "scipy eigh (subset)": "scipy.linalg.eigh (subset)",
}


def _nystrom_case(name, a, k):
    lam = scipy.linalg.eigvalsh(a)[::-1]
    peers = [
        Peer(
            NYSTROM_LABELS.get(label, label),
            lambda run=run: run(a),
            lowrank=NYSTROM_LABELS.get(label, "").startswith("lowrank"),
        )
        for label, run in bench_nystrom.methods(k).items()
    ]
    return Case(
        COLUMNS,
        f"Nyström, {name}, {a.shape[0]}x{a.shape[0]}, k={k}",
        "||A - V diag(w) V^H||_2 / lambda_{k+1}",
        peers,
        lambda wv: bench_columns.spectral_norm(a - (wv[1] * wv[0]) @ wv[1].T) / lam[k],
    )


def columns_cases(size, rng):
    yield from _id_cur_cases(size, rng)
    yield _cr_case(size, rng)
    n, k = size["nystrom"]
    spectrum = 0.9 ** np.arange(n)
    name = "PSD, eigenvalues 0.9^j"
    yield _nystrom_case(name, bench_nystrom.with_spectrum(rng, spectrum), k)
    yield _nystrom_case("RBF kernel", bench_nystrom.rbf_kernel(rng, n), k)


#: The sections in report order: key -> generator of cases.
SECTIONS = {
    "pinv": pinv_cases,
    "pinv-methods": pinv_method_cases,
    "tallskinny": tallskinny_cases,
    "lstsq": lstsq_cases,
    "lowrank": lowrank_cases,
    "columns": columns_cases,
}


def all_cases(mode, sections=None, seed=0):
    """Every case of the chosen sections, built lazily, for `mode`'s sizes."""
    size = SIZES[mode]
    for key in sections or SECTIONS:
        yield from SECTIONS[key](
            size, np.random.default_rng([seed, list(SECTIONS).index(key)])
        )
