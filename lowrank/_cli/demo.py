"""``lowrank demo``: regularised pseudo-inverses and low-rank compression.

Three parts, on matrices from :mod:`lowrank.datasets`:

1. Shaw's ill-posed problem with 0.1% noise: the pseudo-inverse at the
   default cutoff amplifies the noise ~1e9-fold; truncating at the noise
   level or damping recovers the solution to a few percent.
2. A Gaussian-kernel matrix compressed to rank k by truncated_svd,
   randomized_svd, interpolative and cur: rank, error, compression, time.
3. A figure of its spectrum and of the error against the rank (matplotlib).
"""

from __future__ import annotations

import pathlib

import numpy as np
import scipy

import lowrank
from lowrank._cli.approximation import approximate, relative_error, storage
from lowrank._cli.console import CommandError
from lowrank._cli.io import PLOT_EXTRA
from lowrank._cli.plots import have_matplotlib, save_demo_figure
from lowrank.datasets import gaussian_kernel, shaw

__all__ = ["FIGURE_NAME", "run_demo"]

FIGURE_NAME = "lowrank-demo.png"
#: Relative noise added to Shaw's right-hand side.
NOISE = 1e-3
#: (label, method for approximate()) of the compression table.
COMPRESSORS = (
    ("truncated_svd", "auto"),
    ("randomized_svd", "randomized_svd"),
    ("interpolative", "id"),
    ("cur", "cur"),
)


def run_demo(console, *, out_dir=".", quick=False, plot=True, seed=2026, force=False):
    """Run the three parts of the demo, writing the figure into `out_dir`.

    An existing figure is kept (and the demo says so) unless `force`.
    """
    out_dir = pathlib.Path(out_dir)
    if plot and out_dir.exists() and not out_dir.is_dir():
        raise CommandError(f"--out {out_dir}: not a directory")
    figure = out_dir / FIGURE_NAME
    if plot and figure.exists() and not figure.is_file():
        raise CommandError(f"--out {out_dir}: {figure} is not a regular file")
    kept = plot and figure.exists() and not force
    console.print(
        f"lowrank {lowrank.__version__} demo (numpy {np.__version__}, "
        f"scipy {scipy.__version__})"
    )
    _ill_posed(console, seed)
    curves = _compression(console, seed, quick)
    _figure(console, out_dir, curves, plot, kept)


def _ill_posed(console, seed):
    n = 100
    a, b, x_true = shaw(n)
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(n)
    b_noisy = b + noise * (NOISE * np.linalg.norm(b) / np.linalg.norm(noise))
    s = np.linalg.svd(a, compute_uv=False)
    console.print(
        "\n1. An ill-posed problem: Shaw's 1-D image restoration, "
        f"lowrank.datasets.shaw({n}).\n"
        f"   Singular values fall from {s[0]:.1e} to {s[-1]:.1e}. "
        f"We solve A x = b + e with ||e|| = {NOISE:g} ||b||."
    )
    candidates = [
        ("naive:     pinv(A) @ b", {}),
        (f"truncated: pinv(A, rtol={NOISE:g}) @ b", {"rtol": NOISE}),
        (f"damped:    pinv(A, damp={NOISE:g} * s_1) @ b", {"damp": NOISE * s[0]}),
    ]
    header = f"   {'x':42} {'rank':>5} {'||x - x_true|| / ||x_true||':>28}"
    console.print("\n" + header)
    console.print("   " + "-" * (len(header) - 3))
    errors = []
    for label, options in candidates:
        x_pinv, rank = lowrank.pinv(a, return_rank=True, **options)
        x = x_pinv @ b_noisy
        errors.append(np.linalg.norm(x - x_true) / np.linalg.norm(x_true))
        console.print(f"   {label:42} {rank:5d} {errors[-1]:28.1e}")
    console.print(
        f"\n   The naive solution amplifies the noise {errors[0] / NOISE:.1e}-fold "
        "through the tiny singular values\n   it inverts. Discarding those "
        "below the noise level (rtol) or damping them (Tikhonov,\n   "
        "filter factors s^2 / (s^2 + damp^2)) recovers x to a few percent."
    )


def _compression(console, seed, quick):
    n, k = (300, 20) if quick else (1500, 40)
    ranks = [5, 10, 20, 30, 40] if quick else [5, 10, 20, 30, 40, 60, 80, 100]
    with console.step("building the kernel matrix and its singular values"):
        a = gaussian_kernel(n, dim=2, bandwidth=0.2, rng=seed)
        s = scipy.linalg.svdvals(a)
    title = f"Gaussian kernel, {n} points in 2-D"
    tails = np.sqrt(np.cumsum((s**2)[::-1])[::-1]) / np.linalg.norm(s)
    best = [float(tails[r]) if r < n else 0.0 for r in ranks]
    console.print(
        f"\n2. Low-rank compression at rank {k} of a {n} x {n} Gaussian-kernel "
        "matrix,\n"
        f"   lowrank.datasets.gaussian_kernel({n}, dim=2). "
        "error = ||A - A_k||_F / ||A||_F;\n"
        "   ratio = numbers stored for A / numbers stored for the factors."
    )
    header = f"   {'method':34} {'rank':>5} {'error':>9} {'ratio':>7} {'time':>9}"
    console.print("\n" + header)
    console.print("   " + "-" * (len(header) - 3))
    console.print(
        f"   {'best possible (Eckart-Young)':34} {k:5d} {tails[k]:9.2e} "
        f"{storage(a) / (k * (2 * n + 1)):6.1f}x {'':>9}"
    )
    curves = {"best possible": best}
    for name, method in COMPRESSORS:
        with console.step(f"{name} at ranks {ranks[0]}-{ranks[-1]}"):
            approximation = approximate(a, method, k=k, rng=seed)
            error = relative_error(a, approximation)
            curves[name] = [
                relative_error(a, approximate(a, method, k=r, rng=seed)) for r in ranks
            ]
        console.print(
            f"   {approximation.label:34} {approximation.rank:5d} {error:9.2e} "
            f"{storage(a) / approximation.stored(a):6.1f}x "
            f"{approximation.seconds * 1e3:7.1f}ms"
        )
    console.print(
        "\n   The SVDs are optimal; the interpolative decomposition (k columns of "
        "A) and CUR\n   (k columns and rows) keep entries of A itself, for a "
        "small loss in accuracy."
    )
    return s, ranks, curves, title


def _figure(console, out_dir, curves, plot, kept):
    s, ranks, errors, title = curves
    console.print("\n3. Figure")
    if not plot:
        console.print("   skipped (--no-plot)")
        return
    if kept:
        console.print(
            f"   {out_dir / FIGURE_NAME} exists and was kept; --force overwrites it"
        )
        return
    if not have_matplotlib():
        console.print(
            "   matplotlib is not installed, so no figure was written; "
            f"to get one: {PLOT_EXTRA}"
        )
        return
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CommandError(f"cannot create {out_dir}: {err.strerror or err}") from err
    path = out_dir / FIGURE_NAME
    with console.step(f"writing {path}"):
        save_demo_figure(path, s, ranks, errors, title=title)
    console.print(f"   spectrum and error against rank written to {path.resolve()}")
