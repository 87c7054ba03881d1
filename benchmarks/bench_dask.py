"""lowrank on dask arrays against dask.array.linalg, on a dask.distributed cluster.

A LocalCluster on this machine (2 worker processes, 1 thread each: the
workers' BLAS is single-threaded, as distributed sets it up) holds a tall
matrix A (default 2,000,000 x 100 float64 in 16 row blocks, 1.6 GB, persisted
in the workers' memory). For each operation the table gives the median time
of --repeat runs, the ratio dask time / lowrank time (> 1: lowrank is
faster), the accuracy of each result and the peak memory of each worker
above what it held before (A's blocks), sampled every 10 ms:

* QR: lowrank.tall_qr vs dask.array.linalg.tsqr; ||Q^H Q - I||_F and
  ||A - Q R||_F / ||A||_F.
* SVD: lowrank.svd vs dask.array.linalg.svd; max |s - s_ref| / s_ref[0],
  ||U^H U - I||_F and ||A - U S Vh||_F / ||A||_F.
* truncated SVD, k = 10: lowrank.truncated_svd vs
  dask.array.linalg.svd_compressed(n_power_iter=2); max |s - s_ref| / s_ref[k]
  over the k values and ||A - U S Vh||_2 / s_ref[k] (1 is optimal).
* least squares: lowrank.lstsq vs dask.array.linalg.lstsq; forward error
  against LAPACK's gelsd on the gathered matrix, and the backward error
  ||A^H r|| / (||A||_2 ||r||). A second, rank-deficient problem (the last
  10 columns repeat the first 10) shows ||x|| and the residual of each.

A result's tall factors (Q, U) are lazy dask arrays for both libraries;
each timed run consumes them once (``Q.sum()`` computed with the small
factors), which is what writing them to storage would cost, without keeping
them in memory. The reference values (gesdd/gelsd on the gathered matrix)
are not timed.

Run:  python benchmarks/bench_dask.py [--rows 2000000] [--cols 100]
      [--chunks 16] [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import threading
import time

import numpy as np
import scipy.linalg

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import environment_report, print_table

import lowrank

try:
    import dask
    import dask.array as da
    import psutil
    from distributed import Client, LocalCluster, wait
except ImportError:  # pragma: no cover
    sys.exit('bench_dask needs dask[distributed]: pip install ".[dask]"')


class MemorySampler:
    """Peak resident memory of each worker process while a block of code runs."""

    def __init__(self, pids, interval=0.01):
        self.processes = [psutil.Process(pid) for pid in pids]
        self.interval = interval

    def __enter__(self):
        self.baseline = [p.memory_info().rss for p in self.processes]
        self.peak = list(self.baseline)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            for i, p in enumerate(self.processes):
                self.peak[i] = max(self.peak[i], p.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def extra_mb(self):
        """Peak above the baseline, per worker, in MB."""
        return [(p - b) / 1e6 for p, b in zip(self.peak, self.baseline, strict=True)]


def consume(*results):
    """Compute every part of a result once: small parts in full, tall ones summed.

    Returns the parts with the small ones computed (numpy) and the tall ones
    left lazy, for the accuracy checks after the timing.
    """
    tall = [isinstance(x, da.Array) and x.size > 1e6 for x in results]
    parts = [x.sum() if big else x for x, big in zip(results, tall, strict=True)]
    computed = dask.compute(*parts)
    return tuple(
        x if big else np.asarray(c)
        for x, c, big in zip(results, computed, tall, strict=True)
    )


def timed(label, function, pids, repeat):
    """Median time, last result and the largest per-worker peak over the runs."""
    function()  # warm-up: imports (and numba's compilation) in the workers
    times, peaks = [], []
    result = None
    for _ in range(repeat):
        with MemorySampler(pids) as sampler:
            start = time.perf_counter()
            result = function()
            times.append(time.perf_counter() - start)
        peaks.append(max(sampler.extra_mb))
        print(f"  {label}: {times[-1]:.2f} s, +{peaks[-1]:.0f} MB", flush=True)
    return statistics.median(times), result, max(peaks)


def make_matrix(m, n, chunks, cond, seed=0):
    """A = G diag(s) V^T in the cluster: Gaussian G, s geometric 1..1/cond."""
    rng = np.random.default_rng(seed)
    v = np.linalg.qr(rng.standard_normal((n, n)))[0]
    scale = (np.geomspace(1.0, 1.0 / cond, n)[:, np.newaxis] * v.T) / np.sqrt(m)
    g = da.random.default_rng(seed).standard_normal((m, n), chunks=(m // chunks, n))
    return (g @ scale).persist()


def gram(x):
    return np.asarray((x.conj().T @ x).compute())


def fro(x):
    return float(da.linalg.norm(x).compute())


def qr_accuracy(a, q, r, a_norm):
    n = r.shape[0]
    orth = np.linalg.norm(gram(q) - np.eye(n))
    res = fro(a - q @ r) / a_norm
    return f"orth {orth:.1e}, res {res:.1e}"


def svd_accuracy(a, u, s, vh, s_ref, a_norm):
    n = s.shape[0]
    err = np.max(np.abs(s - s_ref[:n])) / s_ref[0]
    orth = np.linalg.norm(gram(u) - np.eye(n))
    res = fro(a - (u * s) @ vh) / a_norm
    return f"s err {err:.1e}, orth {orth:.1e}, res {res:.1e}"


def truncated_accuracy(a, u, s, vh, s_ref):
    k = s.shape[0]
    err = np.max(np.abs(s - s_ref[:k])) / s_ref[k]
    e = a - (u * s) @ vh
    spectral = np.sqrt(max(np.linalg.eigvalsh(gram(e))[-1], 0.0))
    return f"s err {err:.1e}, ||A-A_k||_2/s_k+1 {spectral / s_ref[k]:.4f}"


def lstsq_accuracy(a, b, x, x_ref, s_ref):
    r = b - a @ x
    ahr = np.linalg.norm(np.asarray((a.T @ r).compute()))
    r_norm = fro(r)
    forward = np.linalg.norm(x - x_ref) / np.linalg.norm(x_ref)
    return f"fwd {forward:.1e}, bwd {ahr / (s_ref[0] * r_norm):.1e}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cond", type=float, default=1e6)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="200000 rows")
    parser.add_argument(
        "--only", default="qr,svd,truncated,lstsq", help="comma-separated subset"
    )
    args = parser.parse_args()
    m = 200_000 if args.quick else args.rows
    n, k, repeat = args.cols, args.k, args.repeat
    only = set(args.only.split(","))

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        memory_limit="10GB",
        silence_logs=40,
    )
    client = Client(cluster)
    pids = list(client.run(os.getpid).values())
    print(environment_report())
    print(
        "workers:",
        client.run(lambda: os.environ.get("OPENBLAS_NUM_THREADS", "unset")),
        "OPENBLAS_NUM_THREADS; dask",
        dask.__version__,
    )
    print(f"A: {m} x {n} float64 in {args.chunks} row blocks, cond {args.cond:g}\n")

    a = make_matrix(m, n, args.chunks, args.cond)
    b = (
        a[:, :3].sum(axis=1)
        + 1e-3 * da.random.default_rng(1).standard_normal(m, chunks=a.chunks[0])
    ).persist()
    wait([a, b])
    a_np = a.compute()
    b_np = b.compute()
    s_ref = scipy.linalg.svdvals(a_np, check_finite=False)
    a_norm = float(np.linalg.norm(s_ref))
    rows = []

    def dask_lstsq(a_, b_):
        x, residuals, rank, sv = da.linalg.lstsq(a_, b_)
        return consume(x, residuals, rank, sv)

    operations = {
        "qr": (
            "tall_qr",
            "dask tsqr",
            lambda: consume(*lowrank.tall_qr(a)),
            lambda: consume(*da.linalg.tsqr(a)),
            lambda res: qr_accuracy(a, res[0], res[1], a_norm),
        ),
        "svd": (
            "svd",
            "dask svd",
            lambda: consume(*lowrank.svd(a)),
            lambda: consume(*da.linalg.svd(a)),
            lambda res: svd_accuracy(a, *res, s_ref, a_norm),
        ),
        "truncated": (
            f"truncated_svd k={k}",
            "dask svd_compressed",
            lambda: consume(*lowrank.truncated_svd(a, k)),
            lambda: consume(*da.linalg.svd_compressed(a, k, n_power_iter=2, seed=0)),
            lambda res: truncated_accuracy(a, *res, s_ref),
        ),
        "lstsq": (
            "lstsq",
            "dask lstsq",
            lambda: (lowrank.lstsq(a, b).x,),
            lambda: dask_lstsq(a, b),
            lambda res: lstsq_accuracy(a, b, res[0], x_ref, s_ref),
        ),
    }
    if "lstsq" in only:
        x_ref = np.linalg.lstsq(a_np, b_np, rcond=None)[0]
    del a_np
    for key, (name, peer, ours, theirs, accuracy) in operations.items():
        if key not in only:
            continue
        print(name)
        t_ours, res_ours, mem_ours = timed(f"lowrank {name}", ours, pids, repeat)
        t_theirs, res_theirs, mem_theirs = timed(peer, theirs, pids, repeat)
        rows.append(
            {
                "operation": name,
                "library": "lowrank",
                "time [s]": f"{t_ours:.2f}",
                "dask/lowrank": f"{t_theirs / t_ours:.1f}x",
                "peak/worker [MB]": f"+{mem_ours:.0f}",
                "accuracy": accuracy(res_ours),
            }
        )
        rows.append(
            {
                "operation": "",
                "library": peer,
                "time [s]": f"{t_theirs:.2f}",
                "dask/lowrank": "",
                "peak/worker [MB]": f"+{mem_theirs:.0f}",
                "accuracy": accuracy(res_theirs),
            }
        )
    if "lstsq" in only:
        rows += rank_deficient_lstsq(a, b, pids, repeat)
    print(
        f"\nA: {m} x {n} float64, {args.chunks} row blocks, cond {args.cond:g}; "
        f"median of {repeat}; peak memory per worker above the baseline "
        f"(A's blocks: {m * n * 8 / 2e6:.0f} MB per worker)"
    )
    print_table(
        rows,
        [
            "operation",
            "library",
            "time [s]",
            "dask/lowrank",
            "peak/worker [MB]",
            "accuracy",
        ],
    )
    client.close()
    cluster.close()


def rank_deficient_lstsq(a, b, pids, repeat):
    """The last 10 columns repeat the first 10: rank n - 10."""
    n = a.shape[1]
    a2 = da.concatenate([a[:, : n - 10], a[:, :10]], axis=1).rechunk({1: -1})
    a2 = a2.persist()
    wait(a2)

    def dask_lstsq():
        x, residuals, rank, sv = da.linalg.lstsq(a2, b)
        return consume(x, residuals, rank, sv)

    out = []
    for label, function in (
        ("lowrank", lambda: (lowrank.lstsq(a2, b).x,)),
        ("dask lstsq", dask_lstsq),
    ):
        t, res, mem = timed(f"{label} rank-deficient", function, pids, repeat)
        x = res[0]
        r_norm = fro(b - a2 @ x)
        out.append(
            {
                "operation": "lstsq rank n-10" if label == "lowrank" else "",
                "library": label,
                "time [s]": f"{t:.2f}",
                "peak/worker [MB]": f"+{mem:.0f}",
                "accuracy": f"||x|| {np.linalg.norm(x):.1e}, ||r|| {r_norm:.2e}",
            }
        )
    return out


if __name__ == "__main__":
    main()
