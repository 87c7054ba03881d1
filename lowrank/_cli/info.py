"""``lowrank info``: what a matrix file holds and how its spectrum looks."""

from __future__ import annotations

import numpy as np

from lowrank._cli.console import CommandError
from lowrank._cli.io import Outputs, frobenius_norm, load_input
from lowrank._cli.plots import PLOT_SUFFIXES, require_matplotlib, save_spectrum
from lowrank._cli.spectrum import default_cutoff, singular_values, summary

__all__ = ["run_info"]


def run_info(console, args):
    """Print shape, dtype, norms, rank, condition and spectrum of args.input."""
    plot = None
    if args.plot is not None:
        require_matplotlib("--plot")
        plot = Outputs(args.input, force=args.force).add(
            args.plot, "--plot", PLOT_SUFFIXES
        )
    source = load_input(args.input, key=args.key, console=console)
    a = source.data
    if a.ndim != 2 or 0 in a.shape:
        raise CommandError(
            f"{source.name} holds an array of shape {a.shape}; info needs a "
            "non-empty 2-D matrix"
        )
    with console.step("singular values"):
        spectrum = singular_values(a, rng=args.seed)
    s = spectrum.values
    values = a.data if source.sparse else a
    largest = float(np.max(np.abs(values))) if values.size else 0.0
    rows = [
        ("file", source.name),
        ("shape", source.describe()),
        (
            "norms",
            f"Frobenius {frobenius_norm(a):.4e}, spectral (s_1) {s[0]:.4e}, "
            f"max |a_ij| {largest:.4e}",
        ),
        *summary(spectrum, a.shape, a.dtype),
    ]
    width = max(len(label) for label, _ in rows)
    for label, text in rows:
        console.print(f"{label:{width}}  {text}")
    if plot is not None:
        which = "" if spectrum.complete else f" (the {s.size} largest)"
        path = save_spectrum(
            plot,
            s,
            title=f"{source.name}: singular values{which}",
            cutoff=default_cutoff(a.shape, a.dtype, s[0]),
        )
        console.print(f"{'plot':{width}}  wrote {path}")
    return 0
