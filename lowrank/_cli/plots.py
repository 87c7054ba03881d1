"""Figures of the command. matplotlib is imported here only, and only to plot.

Figures are drawn on a :class:`matplotlib.figure.Figure` without pyplot, so
no backend is selected and no global matplotlib state changes.
"""

from __future__ import annotations

import pathlib

from lowrank._cli.console import CommandError, one_line
from lowrank._cli.io import PLOT_EXTRA, replacing

__all__ = [
    "PLOT_SUFFIXES",
    "have_matplotlib",
    "require_matplotlib",
    "save_demo_figure",
    "save_spectrum",
]

#: File types the figures can be saved as.
PLOT_SUFFIXES = (".png", ".pdf", ".svg")


def have_matplotlib():
    """True if matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def require_matplotlib(option):
    """Raise CommandError (before any work) if `option` needs missing matplotlib."""
    if not have_matplotlib():
        raise CommandError(f"{option} needs matplotlib: {PLOT_EXTRA}")


def _figure(width, height):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _save(figure, path):
    """Write `figure` to `path` (its suffix names the format) whole or not at all."""
    try:
        with replacing(path) as file:
            figure.savefig(file, format=pathlib.Path(path).suffix[1:].lower(), dpi=120)
    except (OSError, ValueError) as err:
        raise CommandError(f"cannot write {path}: {one_line(err)}") from err
    return str(path)


def save_spectrum(path, values, *, title, cutoff=None, rank=None):
    """Semilog plot of singular values, with the rank cutoff or a chosen rank."""
    figure = _figure(6.4, 4.0)
    axes = figure.subplots()
    index = range(1, len(values) + 1)
    axes.semilogy(index, values, ".-", markersize=3, label="singular values $s_j$")
    if cutoff is not None and cutoff > 0:
        axes.axhline(cutoff, color="gray", linestyle="--", label="default rank cutoff")
    if rank is not None:
        axes.axvline(rank, color="C3", linestyle=":", label=f"rank {rank}")
    axes.set_xlabel("j")
    axes.set_ylabel("$s_j$")
    axes.set_title(title)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend()
    return _save(figure, path)


def save_demo_figure(path, values, ranks, errors, *, title):
    """Two panels: the spectrum, and relative error against rank per method.

    `errors` maps a method name to its relative errors at `ranks`; the entry
    "best possible" is drawn as a line.
    """
    figure = _figure(10.0, 4.0)
    left, right = figure.subplots(1, 2)
    left.semilogy(range(1, len(values) + 1), values / values[0], ".", markersize=2)
    left.set_xlabel("j")
    left.set_ylabel("$s_j / s_1$")
    left.set_title(f"singular values: {title}")
    left.grid(True, alpha=0.3)
    for name, values_at_ranks in errors.items():
        style = "k-" if name == "best possible" else "o--"
        right.semilogy(ranks, values_at_ranks, style, markersize=4, label=name)
    right.set_xlabel("rank k")
    right.set_ylabel("$\\|A - A_k\\|_F / \\|A\\|_F$")
    right.set_title("relative error against rank")
    right.grid(True, alpha=0.3)
    right.legend()
    return _save(figure, path)
