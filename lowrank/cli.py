"""The ``lowrank`` command (also ``python -m lowrank``).

Subcommands: ``demo`` (the default), ``compress``, ``pinv`` and ``info``;
``lowrank COMMAND --help`` describes each. This module holds the argument
parser and the entry point; the commands live in :mod:`lowrank._cli`.

Results go to standard output; progress (when standard error is a terminal,
or with ``--progress``) and errors go to standard error. A user error — a
missing or unreadable file, a pickled ``.npy``, a wrong shape, a bad option,
an output that exists or is the input — prints one line ``lowrank: error:
...`` and exits with status 1 (2 for bad options), never a traceback.

Output files are written whole or not at all: an interrupted run (Ctrl-C,
SIGTERM, SIGHUP, a full disk) leaves no partial file and no temporary one.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import textwrap
import threading

import numpy as np

import lowrank
from lowrank._cli.approximation import METHODS, SVD_METHODS
from lowrank._cli.console import CommandError, Console, Terminated, one_line
from lowrank._cli.io import INPUT_SUFFIXES
from lowrank.linalg._pinv import PINV_METHODS

__all__ = ["build_parser", "main"]

_INPUTS = ", ".join(INPUT_SUFFIXES)
#: What compress reads besides matrix files.
_COMPRESS_INPUTS = f"{_INPUTS}, .safetensors"
#: ``lowrank pinv --method``: the rule "auto" and the registry of lowrank.pinv.
_PINV_METHODS = ("auto", *PINV_METHODS)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``lowrank: error: ... (see ... --help)``."""

    def error(self, message):
        self.exit(
            2, f"lowrank: error: {one_line(message)} (see '{self.prog} --help')\n"
        )


def _wrap(text):
    """A description paragraph wrapped for the raw help formatter."""
    return textwrap.fill(text, width=79)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _number(accept, rule):
    """An argparse type: a float for which `accept(value)` holds, else `rule`."""

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a number, got {text!r}"
            ) from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"{rule}, got {text}")
        return value

    return parse


_fraction = _number(lambda v: 0.0 < v < 1.0, "must satisfy 0 < EPS < 1")
_budget = _number(lambda v: 0.0 < v <= 1.0, "must satisfy 0 < R <= 1")
_nonnegative = _number(lambda v: 0.0 <= v < math.inf, "must be finite and >= 0")
_positive_float = _number(lambda v: 0.0 < v < math.inf, "must be finite and > 0")


def _nonnegative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def _common():
    """Options every subcommand takes."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=(
            "report the steps of long work on stderr "
            "(default: when stderr is a terminal)"
        ),
    )
    return common


#: The rule of every subcommand that writes files, for its --help.
_OUTPUT_RULE = (
    "Output files are written whole or not at all: to a temporary file beside "
    "the target, renamed into place once complete, so an interrupted run "
    "(Ctrl-C, SIGTERM, a full disk) leaves no partial file. An existing file is "
    "overwritten only with --force; the input file never is."
)


def _force(parser, what="existing output files"):
    parser.add_argument(
        "-f",
        "--force",
        action="store_true",
        help=f"overwrite {what} (never the input)",
    )


def _input(parser, inputs=_INPUTS):
    parser.add_argument("input", metavar="INPUT", help=f"matrix file ({inputs})")
    parser.add_argument(
        "--key", help="the array to use from a .npz file holding several"
    )


def build_parser():
    """The argument parser of the ``lowrank`` command."""
    parser = _Parser(
        prog="lowrank",
        description=_wrap(
            "Pseudo-inverses, least squares and low-rank approximation. "
            "Run without arguments for a demo."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"lowrank {lowrank.__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = _common()
    fmt = argparse.RawDescriptionHelpFormatter

    demo = commands.add_parser(
        "demo",
        parents=[common],
        formatter_class=fmt,
        help="regularised pseudo-inverses and low-rank compression on built-in data",
        description=_wrap(
            "Solve Shaw's ill-posed problem with noisy data by the naive, the "
            "truncated and the damped pseudo-inverse; compress a Gaussian-kernel "
            "matrix with truncated_svd, randomized_svd, interpolative and cur and "
            "print a table; write a figure (lowrank-demo.png) of its spectrum "
            "and the error against the rank (needs matplotlib)."
        ),
        epilog=_wrap(
            "The figure is written whole or not at all (to a temporary file "
            "renamed into place once complete); an existing lowrank-demo.png is "
            "kept, and the demo says so, unless --force."
        ),
    )
    demo.add_argument(
        "--out",
        metavar="DIR",
        default=".",
        help="directory for the figure (default: .)",
    )
    demo.add_argument(
        "--no-plot", dest="plot", action="store_false", help="write no figure"
    )
    demo.add_argument(
        "--quick", action="store_true", help="smaller matrices (a few seconds less)"
    )
    demo.add_argument(
        "--seed", type=int, default=2026, help="random seed (default 2026)"
    )
    _force(demo, "an existing lowrank-demo.png")

    compress = commands.add_parser(
        "compress",
        parents=[common],
        formatter_class=fmt,
        help="low-rank approximation of a matrix or image file",
        description=_wrap(
            "Approximate INPUT by a low-rank matrix, at a rank (--rank) or an "
            "accuracy (--tol: ||A - A_k||_2 <= EPS ||A||_2), and report the rank, "
            "relative error, compression ratio and time. Sparse input (.mtx) stays "
            "sparse."
        ),
        epilog=(
            f"methods: {', '.join(SVD_METHODS)} "
            "(lowrank.truncated_svd; OUT holds U, S, Vh),\n"
            "         id (lowrank.interpolative; OUT holds idx, coef: "
            "A ~ A[:, idx] @ coef),\n"
            "         cur (lowrank.cur, --rank only; OUT holds C, U, R, cols, rows)\n\n"
            "example: lowrank compress photo.png --rank 30 --image photo-30.png\n"
            "         lowrank compress model.safetensors --ratio 0.5 "
            "--gram g.safetensors -o small.safetensors\n\n" + _wrap(_OUTPUT_RULE)
        ),
    )
    _input(compress, _COMPRESS_INPUTS)
    target = compress.add_mutually_exclusive_group(required=True)
    target.add_argument("--rank", type=_positive_int, metavar="K", help="target rank")
    target.add_argument(
        "--tol", type=_fraction, metavar="EPS", help="relative accuracy, 0 < EPS < 1"
    )
    target.add_argument(
        "--ratio",
        type=_budget,
        metavar="R",
        help="(.safetensors) parameter budget: keep k (M + N) <= R M N, 0 < R <= 1",
    )
    compress.add_argument(
        "--method", choices=METHODS, default="auto", help="(default: auto)"
    )
    compress.add_argument(
        "-o", "--output", metavar="OUT.npz", help="save the factors (.npz/.safetensors)"
    )
    weights = compress.add_argument_group(
        "weight files (.safetensors)",
        _wrap(
            "Each selected 2-D float tensor W (y = W x) becomes NAME.A and NAME.B "
            "with W ~ A @ B (lowrank.whitened_svd), or with --adapter the "
            "residual-exact split NAME (= W_res), NAME.lora_B, NAME.lora_A with "
            "W = W_res + scaling * lora_B @ lora_A (lowrank.adapter_split). Other "
            "tensors are copied. --tol bounds the weighted error "
            "||(W - A B) L||_F <= EPS ||W L||_F. bfloat16/float16 are computed "
            "in float32. Pickled checkpoints (.bin, .pt) are never read."
        ),
    )
    weights.add_argument(
        "--gram",
        metavar="G.safetensors",
        help="one G = X^H X (N x N, or its diagonal) per tensor name: data-aware",
    )
    weights.add_argument(
        "--include",
        action="append",
        metavar="PATTERN",
        help="compress tensors whose name matches (glob; repeatable; default all)",
    )
    weights.add_argument(
        "--exclude", action="append", metavar="PATTERN", help="skip these (glob)"
    )
    weights.add_argument(
        "--min-size",
        type=_nonnegative_int,
        default=0,
        metavar="N",
        help="skip tensors with fewer than N entries (default 0)",
    )
    weights.add_argument(
        "--adapter",
        choices=("top", "bottom"),
        help="residual-exact adapter from the top (PiSSA) or bottom (MiLoRA) "
        "triplets; with --gram, data-aware (CorDA-style)",
    )
    weights.add_argument(
        "--scaling",
        type=_positive_float,
        default=1.0,
        help="adapter scale (PEFT's lora_alpha / r; default 1)",
    )
    weights.add_argument(
        "--dtype",
        choices=("input", "float32", "float64", "float16", "bfloat16"),
        default="input",
        help="dtype of the written tensors (default: that of each input tensor)",
    )
    compress.add_argument(
        "--image",
        metavar="FILE.png",
        help="save the approximation as a grayscale image",
    )
    compress.add_argument(
        "--plot", metavar="FILE.png", help="plot the singular values (needs matplotlib)"
    )
    compress.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    _force(compress)

    pinv = commands.add_parser(
        "pinv",
        parents=[common],
        formatter_class=fmt,
        help="Moore–Penrose pseudo-inverse of a matrix file",
        description=_wrap(
            "Compute the pseudo-inverse of INPUT (a matrix or, from .npy/.npz, a "
            "stack of matrices) with lowrank.pinv and save it as .npy. Singular "
            "values s_i <= atol + rtol * s_1 are treated as zero (defaults: atol 0, "
            "rtol max(M, N) * eps)."
        ),
        epilog=_wrap(_OUTPUT_RULE),
    )
    _input(pinv)
    pinv.add_argument(
        "-o", "--output", metavar="OUT.npy", required=True, help="where to save it"
    )
    pinv.add_argument(
        "--method", choices=_PINV_METHODS, default="auto", help="(default: auto)"
    )
    pinv.add_argument("--rtol", type=_nonnegative, help="relative cutoff")
    pinv.add_argument("--atol", type=_nonnegative, help="absolute cutoff")
    pinv.add_argument(
        "--damp", type=_nonnegative, default=0.0, help="Tikhonov damping (default 0)"
    )
    _force(pinv, "an existing OUT.npy")

    info = commands.add_parser(
        "info",
        parents=[common],
        formatter_class=fmt,
        help="shape, norms, rank, condition and spectrum of a matrix file",
        description=_wrap(
            "Describe INPUT: shape, dtype, norms, numerical rank at the default "
            "tolerance, condition number and a summary of the singular values "
            "(all of them if the smaller side is at most 3000 and A has at most "
            "2e7 entries, else the 100 largest)."
        ),
        epilog=_wrap(_OUTPUT_RULE),
    )
    _input(info)
    info.add_argument(
        "--plot", metavar="FILE.png", help="plot the singular values (needs matplotlib)"
    )
    info.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    _force(info, "an existing plot file")
    return parser


def _run(args, console):
    if args.command == "compress":
        from lowrank._cli.compress import run_compress

        return run_compress(console, args)
    if args.command == "pinv":
        from lowrank._cli.pinv import run_pinv

        return run_pinv(console, args)
    if args.command == "info":
        from lowrank._cli.info import run_info

        return run_info(console, args)
    from lowrank._cli.demo import run_demo

    run_demo(
        console,
        out_dir=args.out,
        quick=args.quick,
        plot=args.plot,
        seed=args.seed,
        force=args.force,
    )
    return 0


def _terminate(signum, frame):
    raise Terminated(signum)


@contextlib.contextmanager
def _unwinding_signals():
    """Turn SIGTERM and SIGHUP into an exception while the command runs.

    Their default action ends the process on the spot, leaving the temporary
    file of an output being written; as an exception they unwind the run
    like Ctrl-C does, and the file is removed. A signal someone chose to
    ignore or handle (``nohup``) keeps its disposition, and the previous
    handlers come back afterwards (``main`` may be called in-process).
    """
    installed = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is not None and signal.getsignal(signum) == signal.SIG_DFL:
                installed[signum] = signal.signal(signum, _terminate)
    try:
        yield
    finally:
        for signum, previous in installed.items():
            signal.signal(signum, previous)


def main(argv=None):
    """Entry point of the ``lowrank`` command; returns the exit status."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv or ["demo"])
    console = Console(progress=args.progress)
    try:
        with _unwinding_signals():
            status = _run(args, console)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # The reader went away (``lowrank demo | head``): stop quietly, and
        # keep the interpreter's final flush from complaining too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except CommandError as err:
        message = str(err)
    except (ValueError, TypeError, OSError, np.linalg.LinAlgError, MemoryError) as err:
        # The library's own checks (NaN, rank too large, an option a method
        # does not take) and the system's; bugs keep their traceback.
        message = str(err) if not isinstance(err, MemoryError) else "out of memory"
    except KeyboardInterrupt:
        print("lowrank: interrupted", file=sys.stderr)
        return 130
    except Terminated as signalled:
        name = signal.Signals(signalled.signum).name
        print(f"lowrank: terminated by {name}", file=sys.stderr)
        return 128 + signalled.signum
    print(f"lowrank: error: {one_line(message)}", file=sys.stderr)
    return 1
