"""The ``lowrank`` command (also ``python -m lowrank``).

For now it has one subcommand, ``demo`` (the default), which computes
pseudo-inverses of built-in matrices and prints how well each meets the four
Moore–Penrose conditions, next to numpy.linalg.pinv.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import scipy.linalg

import lowrank


def _demo_matrices(rng):
    """(description, matrix) pairs that show the typical cases."""
    tall = rng.standard_normal((5000, 50))
    low_rank = rng.standard_normal((300, 20)) @ rng.standard_normal((20, 200))
    complex_wide = rng.standard_normal((40, 400)) + 1j * rng.standard_normal((40, 400))
    stack = rng.standard_normal((20000, 6, 4))
    return [
        ("tall data matrix, Gaussian", tall),
        ("rank 20 product, 300 x 200", low_rank),
        ("Hilbert 12 x 12 (cond 1.8e16)", scipy.linalg.hilbert(12)),
        ("wide complex, 40 x 400", complex_wide),
        ("stack of 20000 6 x 4 matrices", stack),
    ]


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def _shape(a):
    return " x ".join(str(d) for d in a.shape)


def run_demo(out=None):
    """Print the pseudo-inverse demo table to `out` (default: standard output)."""
    out = sys.stdout if out is None else out
    rng = np.random.default_rng(2026)
    print(
        f"lowrank {lowrank.__version__}: Moore–Penrose pseudo-inverses "
        f"(numpy {np.__version__}, scipy {scipy.__version__})\n",
        file=out,
    )
    print(
        "Relative residuals (Frobenius; the largest over a stack) of "
        "X = lowrank.pinv(A):\n"
        "  AXA-A = ||AXA - A||/||A||, XAX-X = ||XAX - X||/||X||,\n"
        "  AX sym = ||(AX)^H - AX||/||AX||, XA sym = ||(XA)^H - XA||/||XA||\n",
        file=out,
    )
    header = (
        f"{'matrix':32} {'shape':>14} {'rank':>5} {'AXA-A':>9} {'XAX-X':>9} "
        f"{'AX sym':>9} {'XA sym':>9} {'lowrank':>9} {'numpy':>9}"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    for description, a in _demo_matrices(rng):
        (x, rank), seconds = _timed(lowrank.pinv, a, return_rank=True)
        _, numpy_seconds = _timed(np.linalg.pinv, a)
        residuals = lowrank.moore_penrose_residuals(a, x)
        worst = [float(np.max(r)) for r in residuals]
        rank_text = str(rank) if np.ndim(rank) == 0 else f"<={int(np.max(rank))}"
        print(
            f"{description:32} {_shape(a):>14} {rank_text:>5} "
            + " ".join(f"{r:9.1e}" for r in worst)
            + f" {seconds * 1e3:7.1f}ms {numpy_seconds * 1e3:7.1f}ms",
            file=out,
        )
    hilbert_rank = lowrank.pinv(scipy.linalg.hilbert(12), return_rank=True).rank
    print(
        f"\nThe Hilbert matrix has numerical rank {hilbert_rank} of 12 at the "
        "default cutoff s_i > max(M, N) * eps * s_max:\nits smallest singular "
        "values are below rounding level and are not inverted. The residuals\n"
        "grow like max(M, N) * eps * kappa, kappa = s_1 / s_rank (see the "
        "docstring of lowrank.pinv).",
        file=out,
    )


def build_parser():
    parser = argparse.ArgumentParser(
        prog="lowrank",
        description=(
            "Pseudo-inverses, least squares and low-rank approximation. "
            "Run without arguments for a demo."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"lowrank {lowrank.__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "demo",
        help="pseudo-inverses of built-in matrices and their Moore–Penrose residuals",
        description=(
            "Compute pseudo-inverses of built-in matrices and print their "
            "Moore–Penrose residuals next to numpy.linalg.pinv's time."
        ),
    )
    return parser


def main(argv=None):
    """Entry point of the ``lowrank`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command in (None, "demo"):
        run_demo()
    return 0
