"""``lowrank compress``: a low-rank approximation of a matrix file."""

from __future__ import annotations

import numpy as np
import scipy.sparse

from lowrank._cli.approximation import approximate, relative_error, storage
from lowrank._cli.console import CommandError
from lowrank._cli.io import (
    IMAGE_SUFFIXES,
    Outputs,
    load_input,
    require_pillow,
    save_arrays,
    write_image,
)
from lowrank._cli.plots import PLOT_SUFFIXES, require_matplotlib, save_spectrum
from lowrank._cli.spectrum import default_cutoff, singular_values

__all__ = ["run_compress"]


#: Options that only weight files (.safetensors) take.
WEIGHT_OPTIONS = {
    "ratio": "--ratio",
    "gram": "--gram",
    "include": "--include",
    "exclude": "--exclude",
    "adapter": "--adapter",
}


def run_compress(console, args):
    """Approximate args.input by args.method at --rank or --tol; write results."""
    if str(args.input).lower().endswith(".safetensors"):
        from lowrank._cli.compress_weights import run_compress_weights

        return run_compress_weights(console, args)
    for option, flag in WEIGHT_OPTIONS.items():
        if getattr(args, option, None):
            raise CommandError(f"{flag} applies to .safetensors weight files")
    outputs = Outputs(args.input, force=args.force)
    plot = output = image = None
    if args.plot is not None:
        require_matplotlib("--plot")
        plot = outputs.add(args.plot, "--plot", PLOT_SUFFIXES)
    if args.output is not None:
        output = outputs.add(args.output, "-o", append=".npz")
    if args.image is not None:
        image = outputs.add(args.image, "--image", IMAGE_SUFFIXES)
        require_pillow("writing")
    if args.method == "cur" and args.tol is not None:
        raise CommandError("--method cur needs --rank (it has no --tol mode)")
    source = load_input(args.input, key=args.key, console=console)
    a = source.data
    if a.ndim != 2 or 0 in a.shape:
        raise CommandError(
            f"{source.name} holds an array of shape {a.shape}; compress needs a "
            "non-empty 2-D matrix"
        )
    if args.rank is not None and args.rank > min(a.shape):
        raise CommandError(
            f"--rank {args.rank} exceeds min(M, N) = {min(a.shape)} of the "
            f"{a.shape[0]} x {a.shape[1]} input"
        )
    target = f"rank {args.rank}" if args.rank is not None else f"tol {args.tol:g}"
    with console.step(f"{args.method} approximation at {target}"):
        approximation = approximate(
            a, args.method, k=args.rank, tol=args.tol, rng=args.seed
        )
    with console.step("relative error"):
        error = relative_error(a, approximation)
    ratio = storage(a) / max(1, approximation.stored(a))
    console.print(f"input            {source.name}: {source.describe()}")
    console.print(f"method           {approximation.label}")
    console.print(f"rank             {approximation.rank}")
    if error is None:
        console.print("relative error   not computed (matrix too large)")
    else:
        console.print(f"relative error   {error:.3e}  (||A - A_k||_F / ||A||_F)")
    if args.tol is not None:
        console.print(f"requested        ||A - A_k||_2 <= {args.tol:g} ||A||_2")
    console.print(f"compression      {ratio:.1f}x  (numbers stored: A / factors)")
    console.print(f"time             {approximation.seconds:.3f} s")
    if output is not None:
        arrays = {**approximation.arrays(), "method": np.array(approximation.label)}
        path = save_arrays(output, arrays)
        console.print(f"wrote            {path} ({', '.join(arrays)})")
    if image is not None:
        left, right = approximation.factors(a)
        low, high = (0.0, 1.0) if source.image else _range(a)
        path = write_image(image, left @ right, low, high)
        console.print(f"wrote            {path} (the rank-{approximation.rank} image)")
    if plot is not None:
        with console.step("singular values"):
            spectrum = singular_values(a, rng=args.seed)
        values = spectrum.values
        cutoff = default_cutoff(a.shape, a.dtype, values[0]) if values.size else None
        which = "" if spectrum.complete else f" (the {values.size} largest)"
        path = save_spectrum(
            plot,
            values,
            title=f"{source.name}: singular values{which}",
            cutoff=cutoff,
            rank=approximation.rank,
        )
        console.print(f"wrote            {path} (singular values, rank marked)")
    return 0


def _range(a):
    """(min, max) of the real part of the entries (0 counts for sparse)."""
    sparse = scipy.sparse.issparse(a)
    values = a.data if sparse else a
    if values.size == 0:
        return 0.0, 1.0
    low, high = float(np.min(np.real(values))), float(np.max(np.real(values)))
    if sparse and a.nnz < a.shape[0] * a.shape[1]:
        low, high = min(low, 0.0), max(high, 0.0)
    return low, high
