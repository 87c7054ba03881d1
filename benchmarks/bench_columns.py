"""Column/row approximations (issue #6): interpolative decomposition and CUR.

One matrix for everything: 2000 x 2000, ``A = G1 G2 / sqrt(50) + 1e-4 N``
with G1 (2000 x 50), G2 (50 x 2000) and N standard Gaussian: a rank-50
signal (singular values ~200-350) plus noise of relative size 1e-4 per entry
(``sigma_51 ~ 0.009``). k = 50 throughout. Errors are spectral norms
``||A - approximation||_2`` (ARPACK on the dense residual), also relative to
the SVD optimum ``sigma_{k+1}``.

1. ``lowrank.interpolative(method="randomized")`` (Gaussian and sparse-sign
   sketch) against ``scipy.linalg.interpolative.interp_decomp(A, 50,
   rand=True)``: median time of --repeat runs, taken alternately (this is a
   shared machine, and the load moves within seconds: alternating keeps the
   ratio fair), the ratio scipy / lowrank (> 1: lowrank faster), error and
   max |coef|.
2. The error of the randomized ID over --seeds seeds (median, min, max,
   relative to scipy's, and how often it picked scipy's columns). scipy's
   is one number: since scipy 1.15 (the Cython port of id_dist),
   ``interp_decomp(rand=True)`` on a dense array with a fixed rank runs the
   deterministic ID (pivoted QR of A itself, whatever ``rng``); the report
   checks this by comparing two seeds. Its coefficients are then the
   least-squares ones for its columns, the best any method can do with
   them.
3. ``method="cpqr"`` against ``scipy.linalg.qr(A, pivoting=True)``: are the
   first 50 pivots the same columns (one run each).
4. CUR: every selection x middle, error against sigma_{k+1} (one run each).

Run:  python benchmarks/bench_columns.py [--repeat 7] [--seeds 20] [--quick]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time

import numpy as np
import scipy.linalg
import scipy.linalg.interpolative as sli
import scipy.sparse.linalg

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import environment_report, print_table

import lowrank
from lowrank.approx._cur import MIDDLES, SELECTIONS


def signal_plus_noise(n, rank, noise, seed=0):
    rng = np.random.default_rng(seed)
    signal = rng.standard_normal((n, rank)) @ rng.standard_normal((rank, n))
    return signal / np.sqrt(rank) + noise * rng.standard_normal((n, n))


def spectral_norm(e):
    """||E||_2 by ARPACK (a fixed start vector: the same value every run)."""
    v0 = np.ones(e.shape[1]) / np.sqrt(e.shape[1])
    return float(
        scipy.sparse.linalg.svds(
            e, k=1, tol=1e-12, v0=v0, return_singular_vectors=False
        )[0]
    )


def interleaved_medians(peers, repeat):
    """Median time of each peer over `repeat` rounds, one run of each per round.

    Returns ``({label: seconds}, {label: result of its last run})``; every
    peer runs once untimed first (imports, numba compilation, caches).
    """
    results = {label: run() for label, run in peers.items()}
    times = {label: [] for label in peers}
    for _ in range(repeat):
        for label, run in peers.items():
            start = time.perf_counter()
            results[label] = run()
            times[label].append(time.perf_counter() - start)
    return {label: statistics.median(t) for label, t in times.items()}, results


#: Pause before each block of consecutive runs: numpy's and scipy's OpenBLAS
#: pools spin ~0.1-0.2 s after a multi-threaded call, slowing a call into the
#: other pool in that window (docs/design.md, "Spinning pools and numba").
POOL_REST_SECONDS = 0.5


def blocked_medians(peers, repeat):
    """Median time of each peer over `repeat` consecutive runs.

    Each block starts after `POOL_REST_SECONDS`, so no peer runs while the
    other library's thread pool still spins; interleaved rounds
    (`interleaved_medians`) instead put every run right after another
    library's, which penalises the faster one most.
    """
    times = {}
    for label, run in peers.items():
        run()
        time.sleep(POOL_REST_SECONDS)
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            run()
            samples.append(time.perf_counter() - start)
        times[label] = statistics.median(samples)
    return times


def scipy_id(a, k):
    idx, proj = sli.interp_decomp(a, k, rand=True, rng=0)
    return idx[:k], sli.reconstruct_interp_matrix(idx, proj)


def id_rows(a, k, sigma, repeat):
    peers = {
        "lowrank randomized (gaussian)": lambda: lowrank.interpolative(
            a, k, method="randomized", rng=0
        ),
        "lowrank randomized (sparse_sign)": lambda: lowrank.interpolative(
            a, k, method="randomized", sketch="sparse_sign", rng=0
        ),
        "scipy interp_decomp(rand=True)": lambda: scipy_id(a, k),
    }
    times, results = interleaved_medians(peers, repeat)
    blocked = blocked_medians(peers, repeat)
    baseline = times["scipy interp_decomp(rand=True)"]
    blocked_baseline = blocked["scipy interp_decomp(rand=True)"]
    rows = []
    for label, (idx, coef) in results.items():
        error = spectral_norm(a - a[:, idx] @ coef)
        rows.append(
            {
                "method": label,
                "interleaved [s]": f"{times[label]:.4f}",
                "scipy/this": f"{baseline / times[label]:.1f}",
                "blocked [s]": f"{blocked[label]:.4f}",
                "scipy/this ": f"{blocked_baseline / blocked[label]:.1f}",
                "error": f"{error:.7e}",
                "error/sigma_k+1": f"{error / sigma[k]:.2f}",
                "max|coef|": f"{np.abs(coef).max():.3f}",
            }
        )
    return rows, results


def seed_rows(a, k, seeds):
    """The randomized ID's error over `seeds` seeds, against scipy's.

    Returns ``(rows, scipy_is_deterministic)``.
    """
    runs = [sli.interp_decomp(a, k, rand=True, rng=s) for s in (0, 1)]
    deterministic = all(
        np.array_equal(x, y) for x, y in zip(runs[0], runs[1], strict=True)
    )
    idx_scipy, proj = runs[0]
    coef_scipy = sli.reconstruct_interp_matrix(idx_scipy, proj)
    e_scipy = spectral_norm(a - a[:, idx_scipy[:k]] @ coef_scipy)
    rows = [
        {
            "method": "scipy interp_decomp(rand=True)",
            "seeds": 2,
            "median error": f"{e_scipy:.10e}",
            "min, max rel. to scipy": "0, 0" if deterministic else "varies",
            "scipy's columns": "-",
        }
    ]
    for sketch in ("gaussian", "sparse_sign"):
        errors, same = [], 0
        for seed in range(seeds):
            idx, coef = lowrank.interpolative(
                a, k, method="randomized", sketch=sketch, rng=seed
            )
            errors.append(spectral_norm(a - a[:, idx] @ coef))
            same += set(idx.tolist()) == set(idx_scipy[:k].tolist())
        relative = np.array(errors) / e_scipy - 1
        rows.append(
            {
                "method": f"lowrank randomized ({sketch})",
                "seeds": seeds,
                "median error": f"{np.median(errors):.10e}",
                "min, max rel. to scipy": (
                    f"{relative.min():+.1e}, {relative.max():+.1e}"
                ),
                "scipy's columns": f"{same}/{seeds}",
            }
        )
    return rows, deterministic


def cpqr_check(a, k, sigma):
    start = time.perf_counter()
    idx, coef = lowrank.interpolative(a, k, method="cpqr")
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    _, piv = scipy.linalg.qr(a, pivoting=True, mode="r")
    t_scipy = time.perf_counter() - start
    error = spectral_norm(a - a[:, idx] @ coef)
    print(
        f"cpqr: first {k} pivots equal to scipy.linalg.qr(pivoting=True)'s: "
        f"{bool(np.array_equal(idx, piv[:k]))}; time {t_ours:.2f} s "
        f"(scipy qr {t_scipy:.2f} s); error {error:.7e} = "
        f"{error / sigma[k]:.2f} sigma_k+1; max|coef| {np.abs(coef).max():.3f}"
    )
    return idx


def cur_rows(a, k, sigma):
    rows = []
    for select in SELECTIONS:
        for middle in MIDDLES:
            start = time.perf_counter()
            c, u, r, _, _ = lowrank.cur(a, k, select=select, middle=middle, rng=0)
            elapsed = time.perf_counter() - start
            error = spectral_norm(a - c @ (u @ r))
            rows.append(
                {
                    "select": select,
                    "middle": middle,
                    "time [s]": f"{elapsed:.3f}",
                    "error": f"{error:.3e}",
                    "error/sigma_k+1": f"{error / sigma[k]:.1f}",
                }
            )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument(
        "--quick", action="store_true", help="1000 x 1000 instead of 2000 x 2000"
    )
    args = parser.parse_args(argv)
    n, k = (1000, 50) if args.quick else (2000, 50)

    print(environment_report())
    # Timings on a shared machine mean little without the load they ran under.
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    a = signal_plus_noise(n, k, 1e-4)
    sigma = np.linalg.svd(a, compute_uv=False)
    print(
        f"\nA: {n} x {n}, rank-{k} signal + 1e-4 noise; sigma_1 = {sigma[0]:.1f}, "
        f"sigma_{k} = {sigma[k - 1]:.1f}, sigma_{k + 1} = {sigma[k]:.3e}\n"
    )

    rows, results = id_rows(a, k, sigma, args.repeat)
    print(
        f"Interpolative decomposition, k = {k} (median of {args.repeat}; "
        "interleaved: one run of each per round; blocked: consecutive runs "
        f"after a {POOL_REST_SECONDS} s rest)"
    )
    print_table(
        rows,
        [
            "method",
            "interleaved [s]",
            "scipy/this",
            "blocked [s]",
            "scipy/this ",
            "error",
            "error/sigma_k+1",
            "max|coef|",
        ],
    )
    rows, deterministic = seed_rows(a, k, args.seeds)
    print(
        f"\nError over seeds (ARPACK, tol 1e-12); scipy's interp_decomp gave "
        f"{'the same' if deterministic else 'different'} results for rng=0 "
        "and rng=1"
    )
    columns = ["method", "seeds", "median error", "min, max rel. to scipy"]
    print_table(rows, [*columns, "scipy's columns"])
    print()
    idx = cpqr_check(a, k, sigma)
    shared = len(set(idx) & set(results["lowrank randomized (gaussian)"][0]))
    print(f"randomized (gaussian) shares {shared} of {k} columns with cpqr\n")

    print(f"CUR, k = {k} columns and rows, optimum sigma_{k + 1} = {sigma[k]:.3e}")
    print_table(
        cur_rows(a, k, sigma),
        ["select", "middle", "time [s]", "error", "error/sigma_k+1"],
    )


if __name__ == "__main__":
    main()
