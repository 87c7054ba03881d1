"""Least-squares benchmarks (issue #4): lowrank.lstsq against numpy and scipy.

All peers run in this one process on the same problems; each row gives the
median time of --repeat runs, the ratio to lowrank (peer time / lowrank time,
> 1: lowrank is faster) and the error reached:

* backward error ``||A^H r|| / (||A||_2 ||r||)``, ``r = b - A x``;
* forward error ``||x - x_ref|| / ||x_ref||``, x_ref the solution for the
  stored A and b to about eps: a QR solve refined with residuals
  ``A^T (b - A x)`` in extended precision (np.longdouble);
* for the sparse case, iterations, and the relative residual
  ``||A^H r|| / (||A||_F ||r||)`` that scipy's lsqr tests against.

Cases (the targets of issue #4):

1. 100000 x 100 dense, cond 1e3: ``lstsq`` auto vs numpy.linalg.lstsq.
2. 200000 x 500 dense, cond 1e6: ``method="sketch"`` vs scipy gelsd/gelsy.
3. scipy.sparse.random 200000 x 2000, density 1e-3, columns scaled to cond
   ~1e6: ``method="lsqr"``/``"lsmr"`` with ``precond="sketch"`` (and
   ``"column"``, which suits this column-scaled problem exactly) vs
   unpreconditioned scipy.sparse.linalg.lsqr, both to tol 1e-4 and to
   scipy's default 1e-6 (iteration cap 50000). Unpreconditioned, LSQR did not
   reach 1e-8 within 200000 iterations (733 s) here.

Run:  python benchmarks/bench_lstsq.py [--repeat 5] [--quick] [--case 1 2 3]
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import environment_report, median_time, print_table

import lowrank


def with_condition(rng, m, n, cond):
    """m x n with singular values logspace(0, -log10(cond)), Haar factors."""
    u = np.linalg.qr(rng.standard_normal((m, n)))[0]
    v = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return (u * np.logspace(0, -np.log10(cond), n)) @ v.T


def accurate_solution(a, b, steps=3):
    """The least-squares solution for the stored a, b to about eps relative.

    Refinement of the normal equations with R from a Householder QR; the
    residual and A^T r are computed in np.longdouble, so each step gains a
    factor cond(A)^2 eps until the extended precision's limit.
    """
    q, r = np.linalg.qr(a)
    x = scipy.linalg.solve_triangular(r, q.T @ b)
    al, bl = a.astype(np.longdouble), b.astype(np.longdouble)
    for _ in range(steps):
        g = (al.T @ (bl - al @ x.astype(np.longdouble))).astype(np.float64)
        x = x + scipy.linalg.cho_solve((r, False), g)
    return x


def forward_error(x, x_ref):
    return np.linalg.norm(x - x_ref) / np.linalg.norm(x_ref)


def backward_error(a, b, x, norm_a):
    r = b - a @ x
    return np.linalg.norm(a.T @ r) / (norm_a * np.linalg.norm(r))


def dense_rows(name, a, b, peers, repeat, norm_a, x_ref, baseline):
    rows, times = [], {}
    for label, solve in peers.items():
        t, x = median_time(solve, repeat=repeat)
        times[label] = t
        rows.append(
            {
                "case": name,
                "method": label,
                "time [s]": f"{t:.4f}",
                "backward err": f"{backward_error(a, b, x, norm_a):.1e}",
                "forward err": f"{forward_error(x, x_ref):.1e}",
            }
        )
    for row in rows:
        row["ratio"] = f"{times[row['method']] / times[baseline]:.2f}"
    return rows


def case_tall(rng, repeat, quick):
    m, n = (20000, 100) if quick else (100000, 100)
    a = with_condition(rng, m, n, 1e3)
    b = rng.standard_normal(m)
    x_ref = accurate_solution(a, b)
    peers = {
        "lowrank auto": lambda: lowrank.lstsq(a, b).x,
        "lowrank svd": lambda: lowrank.lstsq(a, b, method="svd").x,
        "numpy.linalg.lstsq": lambda: np.linalg.lstsq(a, b, rcond=None)[0],
        "scipy gelsy": lambda: scipy.linalg.lstsq(a, b, lapack_driver="gelsy")[0],
    }
    return dense_rows(
        f"{m}x{n} cond 1e3", a, b, peers, repeat, 1.0, x_ref, "lowrank auto"
    )


def case_sketch(rng, repeat, quick):
    m, n = (40000, 200) if quick else (200000, 500)
    a = with_condition(rng, m, n, 1e6)
    b = rng.standard_normal(m)
    x_ref = accurate_solution(a, b)
    peers = {
        "lowrank sketch": lambda: lowrank.lstsq(a, b, method="sketch", rng=0).x,
        "lowrank auto": lambda: lowrank.lstsq(a, b).x,
        "scipy gelsd": lambda: scipy.linalg.lstsq(a, b, lapack_driver="gelsd")[0],
        "scipy gelsy": lambda: scipy.linalg.lstsq(a, b, lapack_driver="gelsy")[0],
    }
    rows = dense_rows(
        f"{m}x{n} cond 1e6", a, b, peers, max(1, repeat // 2), 1.0, x_ref,
        "lowrank sketch",
    )  # fmt: skip
    return rows


def sparse_problem(rng, m, n, density, cond):
    s = scipy.sparse.random(m, n, density=density, random_state=rng, format="csc")
    # Make every column nonzero, then scale the columns to the wanted spread.
    s = s + scipy.sparse.random(m, n, density=2.0 / m, random_state=rng, format="csc")
    s = s + scipy.sparse.csc_matrix(
        (np.ones(n), (rng.integers(0, m, n), np.arange(n))), shape=(m, n)
    )
    scale = np.logspace(0, -np.log10(cond), n)
    return (s @ scipy.sparse.diags(scale)).tocsr()


def case_sparse(rng, repeat, quick):
    m, n = (40000, 400) if quick else (200000, 2000)
    s = sparse_problem(rng, m, n, 1e-3 if not quick else 5e-3, 1e6)
    b = rng.standard_normal(m)
    norm_f = scipy.sparse.linalg.norm(s)
    cap = 50000
    rows = []
    # 1e-6 is scipy's default atol/btol; 1e-4 shows where the sketch's set-up
    # cost (a dense QR of 2N x N) is not yet paid back.
    for tol in (1e-4, 1e-6):
        runs = {
            "scipy lsqr": lambda tol=tol: scipy.sparse.linalg.lsqr(
                s, b, atol=tol, btol=tol, iter_lim=cap
            ),
            "lowrank lsqr precond=sketch": lambda tol=tol: lowrank.lstsq(
                s, b, method="lsqr", tol=tol, precond="sketch", rng=0
            ),
            "lowrank lsmr precond=sketch": lambda tol=tol: lowrank.lstsq(
                s, b, method="lsmr", tol=tol, precond="sketch", rng=0
            ),
            "lowrank lsqr precond=column": lambda tol=tol: lowrank.lstsq(
                s, b, method="lsqr", tol=tol, precond="column", maxiter=cap
            ),
        }
        times = {}
        group = []
        for label, solve in runs.items():
            reps = 1 if label == "scipy lsqr" and tol < 1e-5 else repeat
            t, out = median_time(solve, repeat=reps, warmup=0 if reps == 1 else 1)
            if label == "scipy lsqr":
                x, iters, ok = out[0], out[2], out[1] in (1, 2, 4, 5)
            else:
                x, iters, ok = out.x, out.n_iter, out.converged
            r = b - s @ x
            rel = np.linalg.norm(s.T @ r) / (norm_f * np.linalg.norm(r))
            times[label] = t
            group.append(
                {
                    "case": f"sparse {m}x{n} cond 1e6",
                    "tol": f"{tol:g}",
                    "method": label,
                    "time [s]": f"{t:.3f}",
                    "iterations": iters,
                    "converged": ok,
                    "||A^T r||/(||A||_F ||r||)": f"{rel:.1e}",
                }
            )
        for row in group:
            row["ratio"] = f"{times['scipy lsqr'] / times[row['method']]:.2f}"
        rows += group
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--case", type=int, nargs="*", default=[1, 2, 3])
    args = parser.parse_args(argv)
    print(environment_report())
    print()
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    dense_columns = [
        "case",
        "method",
        "time [s]",
        "ratio",
        "backward err",
        "forward err",
    ]
    if 1 in args.case:
        print("ratio = time / time(lowrank auto)")
        print_table(case_tall(rng, args.repeat, args.quick), dense_columns)
        print()
    if 2 in args.case:
        print("ratio = time / time(lowrank sketch)")
        print_table(case_sketch(rng, args.repeat, args.quick), dense_columns)
        print()
    if 3 in args.case:
        print("ratio = time(scipy lsqr) / time")
        print_table(
            case_sparse(rng, args.repeat, args.quick),
            ["case", "tol", "method", "time [s]", "ratio", "iterations",
             "converged", "||A^T r||/(||A||_F ||r||)"],
        )  # fmt: skip
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
