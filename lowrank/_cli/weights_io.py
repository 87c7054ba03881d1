"""Reading and writing ``.safetensors`` weight files for ``lowrank compress``.

With :mod:`lowrank._cli.io` this is the only place the command touches
files. It never unpickles: PyTorch checkpoints (``.bin``, ``.pt``, ...)
are refused by name (`PICKLE_SUFFIXES`), and a file called
``.safetensors`` that starts like a pickle or a zip archive (PyTorch's
format) is refused before the safetensors parser sees it. The parser
(the `safetensors` package, numpy API) checks the header against the file:
every tensor's byte range must lie inside the data, tensors may not
overlap, and the header is limited in size. bfloat16 arrives through
`ml_dtypes`. Both packages are imported only when a weight file is used;
without them the command names the extra to install.

Outputs go through :func:`lowrank._cli.io.replacing`: a temporary file
beside the target, renamed into place once complete.
"""

from __future__ import annotations

import json
import os
import struct

import numpy as np

from lowrank._cli.console import CommandError, one_line
from lowrank._cli.io import PICKLE_SUFFIXES, replacing

__all__ = [
    "PICKLE_SUFFIXES",
    "WEIGHTS_EXTRA",
    "WeightFile",
    "compute_dtype",
    "open_weights",
    "output_dtype",
    "pickle_refusal",
    "save_weights",
]

WEIGHTS_EXTRA = 'pip install "lowrank[weights]"'
#: The safetensors dtypes compress computes with, and the numpy names of
#: the precisions it computes them in (LAPACK has no half precision).
FLOAT_DTYPES = {"BF16": "float32", "F16": "float32", "F32": "float32", "F64": "float64"}
#: ``--dtype`` choices besides "input".
OUTPUT_DTYPES = ("float32", "float64", "float16", "bfloat16")
#: Largest header the safetensors format allows (its parser's limit).
MAX_HEADER_BYTES = 100_000_000


def _packages():
    try:
        import ml_dtypes
        import safetensors
        import safetensors.numpy
    except ImportError as err:
        raise CommandError(
            f".safetensors files need the safetensors and ml_dtypes packages "
            f"({one_line(err, 80)}): {WEIGHTS_EXTRA}"
        ) from None
    return safetensors, ml_dtypes


def pickle_refusal(name):
    """The error for a pickled checkpoint, naming the safe format."""
    return CommandError(
        f"{name} is a pickled checkpoint (PyTorch .bin/.pt/.pth/.ckpt); lowrank "
        "never unpickles files (loading a pickle runs arbitrary code): convert it "
        "to .safetensors (safetensors.torch.save_file) and pass that"
    )


def _check_header(path, name):
    """Refuse what is not a safetensors file before the parser reads it."""
    size = os.path.getsize(path)
    with open(path, "rb") as file:
        head = file.read(8)
    if head[:1] == b"\x80" or head[:4] == b"PK\x03\x04":
        raise pickle_refusal(name)
    if len(head) < 8:
        raise CommandError(f"{name} is not a .safetensors file (too short)")
    (header_bytes,) = struct.unpack("<Q", head)
    if header_bytes > min(MAX_HEADER_BYTES, size - 8):
        raise CommandError(
            f"cannot read {name}: its header claims {header_bytes} bytes in a file "
            f"of {size}; not a .safetensors file, or truncated"
        )


class WeightFile:
    """An open ``.safetensors`` file: names, shapes, dtypes, tensors on demand."""

    def __init__(self, path, name):
        safetensors, self._ml_dtypes = _packages()
        _check_header(path, name)
        self.name = name
        try:
            self._file = safetensors.safe_open(str(path), framework="np")
            self._handle = self._file.__enter__()
            self.keys = list(self._handle.keys())
            self.metadata = dict(self._handle.metadata() or {})
            self.info = {}
            for key in self.keys:
                view = self._handle.get_slice(key)
                self.info[key] = (str(view.get_dtype()), tuple(view.get_shape()))
        except CommandError:
            raise
        except Exception as err:  # the parser's SafetensorError and friends
            raise CommandError(
                f"cannot read {name} as .safetensors: {one_line(err, 160)}"
            ) from err

    def close(self):
        self._file.__exit__(None, None, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def tensor(self, key):
        """The tensor `key` as stored (bfloat16 as ml_dtypes.bfloat16)."""
        try:
            arr = self._handle.get_tensor(key)
        except Exception as err:
            raise CommandError(
                f"cannot read tensor {key!r} of {self.name}: {one_line(err, 160)}"
            ) from err
        if self.info[key][0] == "BF16" and arr.dtype != self._ml_dtypes.bfloat16:
            # older safetensors hand bfloat16 out as raw 16-bit words
            arr = arr.view(self._ml_dtypes.bfloat16)
        return arr


def open_weights(path):
    """A `WeightFile` for `path` (existence and pickle suffixes checked first)."""
    name = str(path)
    if not os.path.exists(path):
        raise CommandError(f"{name}: no such file")
    if str(path).lower().endswith(PICKLE_SUFFIXES):
        raise pickle_refusal(name)
    return WeightFile(path, name)


def compute_dtype(stored):
    """The numpy dtype compress computes a tensor of safetensors dtype `stored` in."""
    return np.dtype(FLOAT_DTYPES[stored])


def output_dtype(choice, stored):
    """The numpy dtype written for `--dtype choice` and an input of dtype `stored`."""
    _, ml_dtypes = _packages()
    if choice == "input":
        choice = {"BF16": "bfloat16", "F16": "float16"}.get(stored) or FLOAT_DTYPES[
            stored
        ]
    return np.dtype(ml_dtypes.bfloat16 if choice == "bfloat16" else choice)


def save_weights(path, tensors, metadata):
    """Write `tensors` (name -> ndarray) and `metadata` (str -> str), whole or not."""
    safetensors, _ = _packages()
    arrays = {key: np.ascontiguousarray(value) for key, value in tensors.items()}
    try:
        data = safetensors.numpy.save(arrays, metadata=metadata)
    except Exception as err:
        raise CommandError(f"cannot write {path}: {one_line(err, 160)}") from err
    try:
        with replacing(path) as file:
            file.write(data)
    except OSError as err:
        raise CommandError(f"cannot write {path}: {err.strerror or err}") from err
    return str(path)


def metadata_json(value):
    """A metadata value (safetensors metadata are strings)."""
    return json.dumps(value, sort_keys=True)
