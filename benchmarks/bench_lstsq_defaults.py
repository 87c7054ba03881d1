"""Least-squares defaults (issue #17): lowrank.lstsq's default call against peers.

All peers run in this one process on the same problems; each row gives the
median time of --repeat runs (one run for the slow peers marked so), the
ratio (peer time / lowrank default time, > 1: the default is faster) and the
error reached.

1. The issue's sparse case: scipy.sparse.random 50000 x 1000, density 2e-3,
   plus the identity, columns scaled to cond ~1e6, consistent b = A x_true.
   Peers: the default call; the old default (``method="lsmr"``: no
   preconditioner, tol sqrt(eps)); ``precond="sketch"`` at the old default
   tol; scipy.sparse.linalg.lsqr with atol=btol=1e-10 (iter_lim 20000);
   dense LAPACK gelsd (numpy.linalg.lstsq on ``A.toarray()``), whose forward
   error the contract is stated against. Errors: forward ``||x - x_true|| /
   ||x_true||`` and the backward error of a compatible system
   ``||b - A x|| / (||A||_F ||x|| + ||b||)``.
2. A stack of 8 tall problems, 8 x 20000 x 50, and
3. many tiny ones, 20000 x 12 x 5 (Gaussian, one right-hand side each):
   the default call, ``method="svd"`` (the old default for stacks) and a
   Python loop over numpy.linalg.lstsq. Errors: the largest relative
   difference from the loop's solution, and the largest backward error
   ``||A^H r|| / (||A||_2 ||r||)`` over the members.

Run:  python benchmarks/bench_lstsq_defaults.py [--repeat 5] [--case 1 2 3]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time
import warnings

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import environment_report, median_time, print_table

import lowrank


def sparse_problem(m=50000, n=1000, density=2e-3, cond=1e6, seed=0):
    """The issue's case: sparse plus identity, columns scaled, consistent b."""
    rng = np.random.default_rng(seed)
    s = scipy.sparse.random(m, n, density=density, random_state=rng, format="csr")
    s = s + scipy.sparse.eye(m, n, format="csr")
    s = (s @ scipy.sparse.diags(np.logspace(0, -np.log10(cond), n))).tocsr()
    x_true = rng.standard_normal(n)
    return s, x_true, s @ x_true


def _quiet(solve):
    """Run `solve`, recording (not printing) warnings; returns (out, warned)."""

    def run():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = solve()
        return out, bool(caught)

    return run


def case_sparse(repeat, dense):
    s, x_true, b = sparse_problem()
    m, n = s.shape
    norm_f = scipy.sparse.linalg.norm(s)
    runs = {
        "lowrank default": (lambda: lowrank.lstsq(s, b, rng=0), repeat),
        'old default (method="lsmr")': (
            lambda: lowrank.lstsq(s, b, method="lsmr"),
            max(1, repeat // 2),
        ),
        'lsmr precond="sketch", tol sqrt(eps)': (
            lambda: lowrank.lstsq(s, b, method="lsmr", precond="sketch", rng=0),
            repeat,
        ),
        "scipy lsqr atol=btol=1e-10": (
            lambda: scipy.sparse.linalg.lsqr(
                s, b, atol=1e-10, btol=1e-10, iter_lim=20000
            ),
            1,
        ),
    }
    if dense:
        d = s.toarray()
        runs["dense gelsd (numpy.linalg.lstsq)"] = (
            lambda: np.linalg.lstsq(d, b, rcond=None),
            1,
        )
    rows, times = [], {}
    for label, (solve, reps) in runs.items():
        t, (out, warned) = median_time(
            _quiet(solve), repeat=reps, warmup=1 if reps > 1 else 0
        )
        if isinstance(out, lowrank.LstsqResult):
            x, iters, ok = out.x, out.n_iter, bool(out.converged)
        elif label.startswith("scipy"):
            x, iters, ok = out[0], out[2], out[1] in (1, 2)
        else:
            x, iters, ok = out[0], "-", True
        r = b - s @ x
        forward = np.linalg.norm(x - x_true) / np.linalg.norm(x_true)
        scale = norm_f * np.linalg.norm(x) + np.linalg.norm(b)
        times[label] = t
        rows.append(
            {
                "case": f"sparse {m}x{n} cond 1e6",
                "method": label,
                "time [s]": f"{t:.3f}",
                "runs": reps,
                "iterations": iters,
                "converged": ok,
                "warned": warned,
                "forward err": f"{forward:.1e}",
                "backward err": f"{np.linalg.norm(r) / scale:.1e}",
            }
        )
    for row in rows:
        row["ratio"] = f"{times[row['method']] / times['lowrank default']:.1f}"
    return rows


def _numpy_loop(a, b):
    return np.stack(
        [np.linalg.lstsq(a[i], b[i], rcond=None)[0] for i in range(a.shape[0])]
    )


def case_stack(shape, repeat, seed=1):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    b = rng.standard_normal(shape[:-1])
    x_loop = _numpy_loop(a, b)
    norms = np.linalg.norm(a, 2, axis=(-2, -1))
    runs = {
        "lowrank default": lambda: lowrank.lstsq(a, b).x,
        'lowrank method="svd" (old default)': lambda: (
            lowrank.lstsq(a, b, method="svd").x
        ),
        "numpy.linalg.lstsq loop": lambda: _numpy_loop(a, b),
    }
    rows, times = [], {}
    for label, solve in runs.items():
        t, x = median_time(solve, repeat=repeat)
        r = b - np.einsum("pmn,pn->pm", a, x)
        ahr = np.einsum("pmn,pm->pn", a, r)
        backward = np.linalg.norm(ahr, axis=-1) / (norms * np.linalg.norm(r, axis=-1))
        diff = np.linalg.norm(x - x_loop, axis=-1) / np.linalg.norm(x_loop, axis=-1)
        times[label] = t
        rows.append(
            {
                "case": "stack " + " x ".join(map(str, shape)),
                "method": label,
                "time [s]": f"{t:.4f}",
                "max diff from loop": f"{diff.max():.1e}",
                "max backward err": f"{backward.max():.1e}",
            }
        )
    for row in rows:
        row["ratio"] = f"{times[row['method']] / times['lowrank default']:.2f}"
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--case", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument(
        "--no-dense", action="store_true", help="skip the dense gelsd peer (400 MB)"
    )
    args = parser.parse_args(argv)
    print(environment_report())
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print()
    start = time.perf_counter()
    print("ratio = time / time(lowrank default)")
    if 1 in args.case:
        print_table(
            case_sparse(args.repeat, not args.no_dense),
            ["case", "method", "time [s]", "runs", "ratio", "iterations",
             "converged", "warned", "forward err", "backward err"],
        )  # fmt: skip
        print()
    columns = [
        "case", "method", "time [s]", "ratio", "max diff from loop",
        "max backward err",
    ]  # fmt: skip
    if 2 in args.case:
        print_table(case_stack((8, 20000, 50), args.repeat), columns)
        print()
    if 3 in args.case:
        print_table(case_stack((20000, 12, 5), args.repeat), columns)
        print()
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
