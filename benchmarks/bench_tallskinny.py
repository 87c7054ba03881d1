"""Tall-skinny benchmarks (issue #3): pinv, tall_qr and svd against numpy/scipy.

For each case the peers run in this one process on the same matrix; the table
gives the median time of --repeat runs, the ratio peer time / lowrank time
(> 1: lowrank is faster) and the accuracy each result reached:

* pinv: the worst of the four relative Moore–Penrose residuals;
* QR: orthogonality ||Q^H Q - I||_F / (n eps) and ||A - QR||_F / (n eps ||A||_F);
* SVD: max |s - s_ref| / (n eps s_max), s_ref from LAPACK's gesdd.

Run:  python benchmarks/bench_tallskinny.py [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np
import scipy.linalg

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import environment_report, median_time, print_table

import lowrank


def with_condition(rng, m, n, cond):
    """m x n with singular values logspace(0, -log10(cond)), Haar factors."""
    u = np.linalg.qr(rng.standard_normal((m, n)))[0]
    v = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return (u * np.logspace(0, -np.log10(cond), n)) @ v.T


def worst_mp(a, x):
    return max(lowrank.moore_penrose_residuals(a, x))


def qr_quality(a, q, r):
    n = a.shape[1]
    e = np.finfo(a.dtype).eps
    orth = np.linalg.norm(q.T @ q - np.eye(n)) / (n * e)
    res = np.linalg.norm(a - q @ r) / (np.linalg.norm(a) * n * e)
    return f"orth {orth:.2f}, res {res:.2f} (x n eps)"


def bench_pinv(rng, repeat, shapes):
    rows = []
    for m, n in shapes:
        a = with_condition(rng, m, n, 1e3)
        name = f"pinv {m}x{n} cond 1e3"
        peers = {
            "lowrank auto": lambda a=a: lowrank.pinv(a),
            "lowrank svd": lambda a=a: lowrank.pinv(a, method="svd"),
            "lowrank eigh": lambda a=a: lowrank.pinv(a, method="eigh"),
            "numpy": lambda a=a: np.linalg.pinv(a),
            "scipy": lambda a=a: scipy.linalg.pinv(a),
        }
        rows += run_peers(
            name, peers, repeat, lambda x, a=a: f"MP {worst_mp(a, x):.1e}"
        )
    return rows


def bench_qr(rng, repeat, m, n):
    rows = []
    for cond in (1e3, 1e10):
        a = with_condition(rng, m, n, cond)
        name = f"QR {m}x{n} cond {cond:.0e}"
        peers = {
            "lowrank auto": lambda a=a: lowrank.tall_qr(a),
            "numpy": lambda a=a: np.linalg.qr(a, mode="reduced"),
            "scipy": lambda a=a: scipy.linalg.qr(a, mode="economic"),
        }
        rows += run_peers(name, peers, repeat, lambda qr, a=a: qr_quality(a, *qr))
    return rows


def bench_svd(rng, repeat, m, n):
    a = with_condition(rng, m, n, 1e3)
    s_ref = np.linalg.svd(a, compute_uv=False)
    e = np.finfo(a.dtype).eps

    def quality(result):
        s = result[1]
        return f"|ds| {np.max(np.abs(s - s_ref)) / (n * e * s_ref[0]):.2f} n eps s_max"

    peers = {
        "lowrank auto": lambda: lowrank.svd(a),
        "numpy": lambda: np.linalg.svd(a, full_matrices=False),
        "scipy": lambda: scipy.linalg.svd(a, full_matrices=False),
    }
    return run_peers(f"SVD {m}x{n} cond 1e3", peers, repeat, quality)


def run_peers(name, peers, repeat, quality):
    rows = []
    reference = None
    for peer, function in peers.items():
        seconds, result = median_time(function, repeat=repeat)
        if reference is None:
            reference = seconds
        rows.append(
            {
                "case": name,
                "library": peer,
                "median s": f"{seconds:.3f}",
                "peer/lowrank": f"{seconds / reference:.1f}",
                "accuracy": quality(result),
            }
        )
        print(" | ".join(rows[-1].values()), flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smaller matrices")
    args = parser.parse_args(argv)
    print(environment_report(), "\n", flush=True)
    rng = np.random.default_rng(0)
    if args.quick:
        shapes, (m, n) = [(20000, 50)], (20000, 50)
    else:
        shapes, (m, n) = [(100000, 100), (200000, 200)], (100000, 100)
    rows = bench_pinv(rng, args.repeat, shapes)
    rows += bench_qr(rng, args.repeat, m, n)
    rows += bench_svd(rng, args.repeat, m, n)
    print()
    print_table(rows, ["case", "library", "median s", "peer/lowrank", "accuracy"])


if __name__ == "__main__":
    main()
