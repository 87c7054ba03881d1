"""lowrank.monarch: Monarch matvec vs dense matvec (and a truncated SVD of equal size).

For N = 1024 and 4096 (b = sqrt(N) blocks) and three kinds of N x N matrix
(dense Gaussian, sparse with 20% non-zeros, a Kronecker product plus 1%
noise), the Monarch projection is computed once; then the median time of
``M @ x`` is compared with the dense ``A @ x`` and with ``U (S (Vh x))`` for
the truncated SVD that stores as many numbers (rank ``(b + c) / 2``), for
one vector and for a block of 64. Errors are reported next to the times:
the relative Frobenius error ``||A - M||_F / ||A||_F`` of each
approximation and the relative error ``||M x - A x|| / ||A x||`` of the
product on a random vector.

Run:  python benchmarks/bench_monarch.py [--sizes 1024 4096] [--repeat 25]
"""

from __future__ import annotations

import argparse
import math
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import environment_report, median_time, print_table

import lowrank


def cases(rng, n):
    yield "gaussian", rng.standard_normal((n, n))
    yield "sparse 20%", rng.standard_normal((n, n)) * (rng.random((n, n)) < 0.2)
    b = math.isqrt(n)
    kron = np.kron(rng.standard_normal((b, b)), rng.standard_normal((n // b, n // b)))
    noise = rng.standard_normal((n, n))
    yield (
        "kron + 1% noise",
        kron + 0.01 * noise * np.linalg.norm(kron) / np.linalg.norm(noise),
    )


def low_rank_apply(u, s, vh):
    def apply(x):
        return u @ (s[:, None] * (vh @ x)) if x.ndim == 2 else u @ (s * (vh @ x))

    return apply


def fmt_time(seconds):
    return f"{seconds * 1e3:.3f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--block", type=int, default=64)
    args = parser.parse_args()
    print(environment_report())
    rng = np.random.default_rng(0)
    for n in args.sizes:
        for name, a in cases(rng, n):
            start = time.perf_counter()
            m = lowrank.monarch(a)
            t_project = time.perf_counter() - start
            k = m.parameters // (2 * n)
            start = time.perf_counter()
            u, s, vh = lowrank.truncated_svd(a, k, rng=0)
            t_svd = time.perf_counter() - start
            norm = np.linalg.norm(a)
            x = rng.standard_normal(n)
            xs = rng.standard_normal((n, args.block))
            ax = a @ x
            apply_svd = low_rank_apply(u, s, vh)
            approximations = {
                "dense A @ x": (a.__matmul__, 0.0, a.size, None),
                "monarch M @ x": (
                    m.__matmul__,
                    np.linalg.norm(a - m.to_dense()) / norm,
                    m.parameters,
                    t_project,
                ),
                f"rank-{k} SVD": (
                    apply_svd,
                    np.sqrt(max(norm**2 - np.sum(s.astype(float) ** 2), 0)) / norm,
                    u.size + s.size + vh.size,
                    t_svd,
                ),
            }
            rows = []
            t_dense = None
            for label, (apply, fro, params, t_build) in approximations.items():
                t1, y = median_time(apply, x, repeat=args.repeat)
                tk, _ = median_time(apply, xs, repeat=max(3, args.repeat // 5))
                if t_dense is None:
                    t_dense = (t1, tk)
                rows.append(
                    {
                        "product": label,
                        "params": params,
                        "build": "-" if t_build is None else f"{t_build:.2f} s",
                        "1 vector": fmt_time(t1),
                        "speed-up": f"{t_dense[0] / t1:.1f}",
                        f"{args.block} vectors": fmt_time(tk),
                        f"speed-up ({args.block})": f"{t_dense[1] / tk:.1f}",
                        "||A-M||_F/||A||_F": f"{fro:.4f}",
                        "||Mx-Ax||/||Ax||": (
                            f"{np.linalg.norm(y - ax) / np.linalg.norm(ax):.4f}"
                        ),
                    }
                )
            print(f"\nN = {n}, {name}: b = {m.nblocks}, median of {args.repeat}")
            print_table(rows, list(rows[0]))


if __name__ == "__main__":
    main()
