"""lowrank.pinv vs numpy.linalg.pinv vs scipy.linalg.pinv, times and accuracy.

Cases (issue #2): (a) a 1000 x 1000 matrix, (b) a stack of 20000 matrices of
6 x 4 (scipy has no batched path, so it is timed on a Python loop over the
stack). Reports medians of repeated runs, ratios peer/lowrank (> 1 means
lowrank is faster), and the worst Moore–Penrose residual each result reaches.

Run:  python benchmarks/bench_pinv.py [--repeat 7]
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


def scipy_pinv_stack(a):
    if a.ndim == 2:
        return scipy.linalg.pinv(a)
    flat = a.reshape(-1, *a.shape[-2:])
    out = np.empty((flat.shape[0], a.shape[-1], a.shape[-2]), dtype=a.dtype)
    for i, matrix in enumerate(flat):
        out[i] = scipy.linalg.pinv(matrix)
    return out.reshape(*a.shape[:-2], a.shape[-1], a.shape[-2])


PEERS = {
    "lowrank": lowrank.pinv,
    "numpy": np.linalg.pinv,
    "scipy": scipy_pinv_stack,
}


def orthogonal(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diagonal(r))


def cases(rng):
    yield "1000x1000 Gaussian", rng.standard_normal((1000, 1000))
    spectrum = np.logspace(0, -10, 1000)
    yield (
        "1000x1000 cond 1e10",
        (orthogonal(rng, 1000) * spectrum) @ orthogonal(rng, 1000),
    )
    yield "stack 20000 x (6x4)", rng.standard_normal((20000, 6, 4))
    yield (
        "stack 20000 x (6x4) complex",
        (rng.standard_normal((20000, 6, 4)) + 1j * rng.standard_normal((20000, 6, 4))),
    )


def worst_residual(a, x):
    return max(float(np.max(r)) for r in lowrank.moore_penrose_residuals(a, x))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    print(environment_report())
    print()
    rng = np.random.default_rng(0)
    rows = []
    for name, a in cases(rng):
        timings = {}
        for peer, function in PEERS.items():
            repeat = args.repeat if peer != "scipy" or a.ndim == 2 else 3
            seconds, x = median_time(function, a, repeat=repeat)
            timings[peer] = seconds
            rows.append(
                {
                    "case": name,
                    "library": peer,
                    "median s": f"{seconds:.4f}",
                    "peer/lowrank": f"{seconds / timings['lowrank']:.2f}",
                    "worst MP residual": f"{worst_residual(a, x):.1e}",
                }
            )
    print_table(
        rows, ["case", "library", "median s", "peer/lowrank", "worst MP residual"]
    )


if __name__ == "__main__":
    main()
