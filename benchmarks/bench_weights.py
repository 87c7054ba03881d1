"""lowrank.whitened_svd vs the reference recipe of SVD-LLM, one process.

W (N x N) with a slowly decaying spectrum, G = X^T X from T = 2N anisotropic
activations (full rank, cond(G) ~ 1e6), k = N / 8. The reference is what
papers' code does in float64 with numpy/scipy: Cholesky ``G = L L^T``, the
explicit inverse of L, the full SVD of ``W L``, ``W_k = U_k S_k (V_k^T
L^{-1})``. lowrank runs with its defaults (``method="auto"``: the
``"gram"`` route for a given G) on float32 input, computed in float32 as
its contract allows, and on float64 input.

Every approximation is judged by the same measure, its weighted error
``||(W - W_k) L||_F = sqrt(tr(E G E^T))`` in float64 with the float64 G,
next to the optimum ``sqrt(sum_{j>k} s_j(W L)^2)`` of the reference's SVD.
Memory: the peak of numpy allocations during each run (tracemalloc; LAPACK
workspaces are numpy arrays in scipy, OpenBLAS's own buffers are not
counted) and the process's maximum resident size at the end.

Each variant runs once at full size (the first call includes no JIT: this
path has no numba kernel); absolute times on a shared machine are noisy,
the load average is printed with the results.

Run:  python benchmarks/bench_weights.py [--n 4096] [--k 512] [--quick] [--threads T]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import resource
import sys
import time
import tracemalloc

import numpy as np
import scipy.linalg

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import environment_report

import lowrank


def problem(n, seed=0):
    """W (n x n, s_j ~ 1/sqrt(j)), G = X^T X for 2n activations, float64."""
    rng = np.random.default_rng(seed)
    u = np.linalg.qr(rng.standard_normal((n, n)))[0]
    v = np.linalg.qr(rng.standard_normal((n, n)))[0]
    w = (u / np.sqrt(np.arange(1, n + 1))) @ v.T
    q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    x = (rng.standard_normal((2 * n, n)) * np.geomspace(1.0, 1e-3, n)) @ q.T
    return w, x.T @ x


def reference(w, g, k):
    """SVD-LLM's recipe in float64: Cholesky, explicit inverse, full SVD."""
    l_factor = scipy.linalg.cholesky(g, lower=True)
    l_inv = scipy.linalg.inv(l_factor)
    u, s, vh = np.linalg.svd(w @ l_factor, full_matrices=False)
    return u[:, :k] * s[:k], vh[:k] @ l_inv, s


def ours(w, g, k):
    res = lowrank.whitened_svd(w, k, gram=g)
    return res.A, res.B, res.weighted_error


def weighted_error(w, a, b, g):
    """sqrt(tr(E G E^T)) in float64 for E = W - A B."""
    e = w - a.astype(np.float64) @ b.astype(np.float64)
    return float(np.sqrt(max(np.sum(e * (e @ g)), 0.0)))


def measured(function, *args):
    tracemalloc.start()
    start = time.perf_counter()
    result = function(*args)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--k", type=int, default=None, help="default n / 8")
    parser.add_argument("--quick", action="store_true", help="n = 512")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="limit every BLAS pool to this many threads (threadpoolctl), for "
        "all variants alike; on a loaded machine 1 is the reproducible choice",
    )
    args = parser.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    n = 512 if args.quick else args.n
    k = args.k or n // 8
    print(environment_report())
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    w, g = problem(n)
    print(f"\nW {n} x {n}, G {n} x {n} (X^T X, 2N samples), k = {k}\n")

    t_ref, m_ref, (a_ref, b_ref, s) = measured(reference, w, g, k)
    optimum = float(np.sqrt(np.sum(s[k:] ** 2)))
    rows = [("reference float64 (chol, inv, full SVD)", t_ref, m_ref, a_ref, b_ref)]
    for dtype in (np.float32, np.float64):
        w_in, g_in = w.astype(dtype), g.astype(dtype)
        seconds, peak, (a, b, _) = measured(ours, w_in, g_in, k)
        name = f"lowrank.whitened_svd {np.dtype(dtype).name} (auto: gram)"
        rows.append((name, seconds, peak, a, b))

    print(
        f"{'variant':<42} {'time s':>8} {'ratio':>6} {'peak MB':>8} "
        f"{'weighted err':>13} {'/ optimum - 1':>14}"
    )
    for name, seconds, peak, a, b in rows:
        err = weighted_error(w, a, b, g)
        print(
            f"{name:<42} {seconds:8.2f} {t_ref / seconds:6.2f} {peak / 1e6:8.0f} "
            f"{err:13.6e} {err / optimum - 1:14.2e}"
        )
    print(f"\noptimum sqrt(sum_(j>k) s_j(W L)^2) = {optimum:.6e} (reference's SVD)")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(f"process max resident size: {maxrss:.0f} MB")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
