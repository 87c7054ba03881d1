"""``lowrank pinv``: the pseudo-inverse of a matrix file, saved as .npy."""

from __future__ import annotations

import numpy as np

import lowrank
from lowrank._cli.console import CommandError
from lowrank._cli.io import Outputs, load_input, save_arrays

__all__ = ["run_pinv"]

#: Above this many entries the Moore–Penrose residuals are not reported.
MAX_CHECK_ENTRIES = 2e7


def run_pinv(console, args):
    """Pseudo-invert args.input (a matrix or a stack) and save it."""
    output = Outputs(args.input, force=args.force).add(args.output, "-o", append=".npy")
    source = load_input(args.input, key=args.key, console=console)
    a = source.data
    if source.sparse:
        console.note(f"{source.name}: the pseudo-inverse of a sparse matrix is dense")
        a = a.toarray()
    if a.ndim < 2 or a.size == 0:
        raise CommandError(
            f"{source.name} holds an array of shape {a.shape}; pinv needs a "
            "non-empty matrix or stack of matrices (shape (..., M, N))"
        )
    method = args.method
    if method == "auto":
        method = f"auto ({lowrank.choose_pinv_method(a.shape)})"
    with console.step(f"pseudo-inverse, method {method}"):
        x, rank = lowrank.pinv(
            a,
            method=args.method,
            rtol=args.rtol,
            atol=args.atol,
            damp=args.damp,
            return_rank=True,
        )
    console.print(f"input            {source.name}: {source.describe()}")
    console.print(f"method           {method}")
    if np.ndim(rank) == 0:
        console.print(f"rank             {int(rank)} of {min(a.shape[-2:])}")
    else:
        console.print(
            f"rank             {int(np.min(rank))} to {int(np.max(rank))} of "
            f"{min(a.shape[-2:])} over the stack"
        )
    if a.ndim == 2 and a.size <= MAX_CHECK_ENTRIES and args.damp == 0:
        with console.step("Moore–Penrose residuals"):
            residuals = lowrank.moore_penrose_residuals(a, x)
        console.print(
            "Moore–Penrose    "
            + ", ".join(
                f"{name} {value:.1e}"
                for name, value in zip(
                    ("AXA-A", "XAX-X", "AX-(AX)^H", "XA-(XA)^H"), residuals, strict=True
                )
            )
            + "  (relative, Frobenius)"
        )
    path = save_arrays(output, x)
    shape = " x ".join(str(d) for d in x.shape)
    console.print(f"wrote            {path} ({shape} {x.dtype})")
    return 0
