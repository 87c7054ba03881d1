"""``lowrank compress MODEL.safetensors``: low-rank factors of a model's weights.

Each selected 2-D floating-point tensor W (M x N, ``y = W x``) becomes
``<name>.A`` (M x k) and ``<name>.B`` (k x N) with ``W ≈ A @ B``
(:func:`lowrank.whitened_svd`, weighted by the tensor's G from ``--gram``
when given), or, with ``--adapter``, the residual-exact split
``<name>`` = W_res, ``<name>.lora_B``, ``<name>.lora_A`` with
``W = W_res + scaling * lora_B @ lora_A`` (:func:`lowrank.adapter_split`).
Every other tensor is copied unchanged. bfloat16 and float16 tensors are
computed in float32 and written back in their own dtype unless ``--dtype``
says otherwise.
"""

from __future__ import annotations

import fnmatch
import math
import time

import numpy as np

import lowrank
from lowrank._cli.console import CommandError
from lowrank._cli.io import Outputs
from lowrank._cli.weights_io import (
    FLOAT_DTYPES,
    compute_dtype,
    metadata_json,
    open_weights,
    output_dtype,
    save_weights,
)

__all__ = ["run_compress_weights"]

#: compress's --method values that mean something for weight files.
WEIGHT_METHODS = ("auto", "dense")


def run_compress_weights(console, args):
    """Compress the selected tensors of args.input; print a table; write -o."""
    outputs = Outputs(args.input, force=args.force)
    output = None
    if args.output is not None:
        output = outputs.add(args.output, "-o", (".safetensors",))
    _check_options(args)
    with open_weights(args.input) as weights:
        grams = None
        if args.gram is not None:
            grams = open_weights(args.gram)
        try:
            selected = _select(weights, args)
            tensors, rows, records = _compress_all(
                console, args, weights, grams, selected
            )
        finally:
            if grams is not None:
                grams.close()
        _print_table(console, args, rows)
        if output is not None:
            metadata = {
                key: value
                for key, value in weights.metadata.items()
                if not key.startswith("lowrank.")
            }
            metadata.update(
                {
                    "lowrank.format": "adapter" if args.adapter else "factors",
                    "lowrank.version": lowrank.__version__,
                    "lowrank.tensors": metadata_json(records),
                }
            )
            with console.step(f"writing {output}"):
                path = save_weights(output, tensors, metadata)
            console.print(f"wrote {path} ({len(tensors)} tensors)")
    return 0


def _check_options(args):
    for option, value in (("--image", args.image), ("--plot", args.plot)):
        if value is not None:
            raise CommandError(f"{option} applies to matrix files, not .safetensors")
    if args.key is not None:
        raise CommandError("--key selects an array in a .npz file; use --include")
    if args.method not in WEIGHT_METHODS:
        raise CommandError(
            f"for .safetensors input --method is auto or dense, got {args.method}"
        )
    if args.adapter and args.tol is not None:
        raise CommandError("--adapter needs --rank or --ratio (an adapter rank)")


def _select(weights, args):
    """The names of the tensors to compress, in file order."""
    include = args.include or ["*"]
    exclude = args.exclude or []
    chosen = []
    for key in weights.keys:
        dtype, shape = weights.info[key]
        if len(shape) != 2 or dtype not in FLOAT_DTYPES:
            continue
        if math.prod(shape) < args.min_size:
            continue
        if not any(fnmatch.fnmatchcase(key, p) for p in include):
            continue
        if any(fnmatch.fnmatchcase(key, p) for p in exclude):
            continue
        chosen.append(key)
    if not chosen:
        raise CommandError(
            f"no 2-D floating-point tensor of {weights.name} matches --include "
            f"{' '.join(include)} with at least {args.min_size} entries"
        )
    return chosen


def _weighting(grams, key, n, dtype):
    """``{"gram": G}``, ``{"diag": d}`` or {} for tensor `key` (N columns)."""
    if grams is None or key not in grams.info:
        return {}
    stored, shape = grams.info[key]
    if stored not in FLOAT_DTYPES:
        raise CommandError(f"--gram {grams.name}: {key!r} holds {stored} data")
    g = grams.tensor(key).astype(dtype)
    if shape == (n, n):
        return {"gram": g}
    if shape == (n,):
        return {"diag": g}
    raise CommandError(
        f"--gram {grams.name}: {key!r} has shape {shape}; the weight has {n} "
        f"columns, so its G must be ({n}, {n}) (or ({n},), a diagonal)"
    )


def _rank(args, m, n):
    """The rank --rank/--ratio asks of an M x N tensor (None: --tol decides)."""
    if args.rank is not None:
        return min(args.rank, m, n)
    if args.ratio is not None:
        return math.floor(args.ratio * m * n / (m + n))
    return None


def _compress_all(console, args, weights, grams, selected):
    tensors, rows, records = {}, [], {}
    chosen = set(selected)
    for key in weights.keys:
        if key not in chosen:
            tensors[key] = weights.tensor(key)
    if grams is not None:
        missing = [key for key in selected if key not in grams.info]
        if len(missing) == len(selected):
            raise CommandError(
                f"--gram {grams.name} holds a G for none of the selected tensors "
                "(it must hold one per tensor name)"
            )
        if missing:
            console.note(
                f"--gram has no G for {len(missing)} tensor(s) ({missing[0]}, ...): "
                "those are compressed in the plain Frobenius norm"
            )
    for i, key in enumerate(selected):
        console.bar(i, len(selected), key)
        stored, (m, n) = weights.info[key]
        work = compute_dtype(stored)
        target = output_dtype(args.dtype, stored)
        w = np.asarray(weights.tensor(key), dtype=work)
        if not np.isfinite(w).all():
            raise CommandError(f"tensor {key!r} contains NaN or Inf")
        weighting = _weighting(grams, key, n, work)
        k = _rank(args, m, n)
        start = time.perf_counter()
        try:
            if args.adapter:
                out, row, record = _adapter(args, key, w, k, weighting, target)
            else:
                out, row, record = _factors(args, key, w, k, weighting, target)
        except ValueError as err:
            raise CommandError(f"tensor {key!r}: {err}") from err
        seconds = time.perf_counter() - start
        if out is None:  # not worth compressing: copied unchanged
            tensors[key] = weights.tensor(key)
            rows.append((key, (m, n), "-", "100%", "-", "-", f"{seconds:.2f}"))
            continue
        for name in out:
            if name != key and name in weights.info:
                raise CommandError(
                    f"{weights.name} already holds a tensor {name!r}; the output "
                    f"of {key!r} would replace it"
                )
        tensors.update(out)
        rows.append((key, (m, n), *row, f"{seconds:.2f}"))
        records[key] = {**record, "seconds": round(seconds, 4)}
    console.bar(len(selected), len(selected), "done")
    return tensors, rows, records


def _weighted_norm(w, weighting):
    """``||W L||_F`` for the weighting (``||W||_F`` without one)."""
    if "gram" in weighting:
        value = np.sum(np.real(np.conj(w) * (w @ weighting["gram"])), dtype=np.float64)
        return math.sqrt(max(float(value), 0.0))
    if "diag" in weighting:
        return float(np.linalg.norm(w * np.sqrt(weighting["diag"])))
    return float(np.linalg.norm(w))


def _relative(value, norm):
    return value / norm if norm > 0 else value


def _factors(args, key, w, k, weighting, target):
    m, n = w.shape
    if k is not None and (k < 1 or k * (m + n) >= m * n):
        return None, None, None
    res = lowrank.whitened_svd(
        w, k, tol=args.tol, method=args.method, check_finite=False, **weighting
    )
    rank = res.A.shape[1]
    if rank * (m + n) >= m * n:
        return None, None, None
    norm = float(np.linalg.norm(w))
    plain = _relative(res.error, norm)
    weighted = _relative(res.weighted_error, _weighted_norm(w, weighting))
    out = {f"{key}.A": res.A.astype(target), f"{key}.B": res.B.astype(target)}
    kept = rank * (m + n) / (m * n)
    shown_weighted = f"{weighted:.3e}" if weighting else "-"
    row = (str(rank), f"{kept:.1%}", f"{plain:.3e}", shown_weighted)
    record = {
        "shape": [m, n],
        "rank": rank,
        "parameters": rank * (m + n),
        "error": plain,
        "weighted_error": weighted if weighting else None,
        "weighting": next(iter(weighting), None),
    }
    return out, row, record


def _adapter(args, key, w, r, weighting, target):
    m, n = w.shape
    if r < 1:
        return None, None, None
    res = lowrank.adapter_split(
        w,
        r,
        which=args.adapter,
        scaling=args.scaling,
        method=args.method,
        check_finite=False,
        **weighting,
    )
    # Round the factors first and take the residual from the rounded ones,
    # so that W_res + scaling B A reproduces W up to the rounding of W_res
    # alone in the output dtype.
    b = res.B.astype(target)
    a = res.A.astype(target)
    product = args.scaling * (b.astype(w.dtype) @ a.astype(w.dtype))
    residual = (w - product).astype(target)
    norm = float(np.linalg.norm(w))
    split = _relative(
        float(np.linalg.norm(residual.astype(w.dtype) + product - w)), norm
    )
    captured = _relative(float(np.linalg.norm(w - product)), norm)
    out = {key: residual, f"{key}.lora_B": b, f"{key}.lora_A": a}
    kept = r * (m + n) / (m * n)
    row = (str(r), f"{kept:.1%}", f"{captured:.3e}", f"{split:.1e}")
    record = {
        "shape": [m, n],
        "rank": r,
        "which": args.adapter,
        "scaling": args.scaling,
        "residual_norm": captured,
        "split_error": split,
        "weighting": next(iter(weighting), None),
    }
    return out, row, record


def _print_table(console, args, rows):
    if args.adapter:
        header = ("tensor", "shape", "rank", "adapter", "||W_res||", "split err", "s")
    else:
        header = ("tensor", "shape", "rank", "kept", "error", "weighted", "s")
    cells = [header] + [
        (name, f"{shape[0]}x{shape[1]}", *rest) for name, shape, *rest in rows
    ]
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(header))]
    for row in cells:
        console.print(
            "  ".join(
                str(cell).ljust(width) if i == 0 else str(cell).rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
    if args.adapter:
        console.print(
            "W = W_res + scaling * lora_B @ lora_A; ||W_res|| and the split error "
            "relative to ||W||_F, in the output dtype"
        )
    else:
        console.print(
            "kept: parameters k (M + N) / (M N); error ||W - A B||_F / ||W||_F; "
            "weighted ||(W - A B) L||_F / ||W L||_F"
        )
