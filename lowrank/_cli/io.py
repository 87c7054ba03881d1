"""Reading matrices and images given on the command line; writing results.

Every failure a user can cause (missing file, wrong format, pickled data,
non-numeric or non-finite values, an extra not installed) becomes a
:class:`~lowrank._cli.console.CommandError` with a one-line message. Nothing
here ever unpickles: ``.npy`` and ``.npz`` files are read with
``allow_pickle=False``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib
import warnings
import zipfile

import numpy as np
import scipy.io
import scipy.sparse

from lowrank._cli.console import CommandError, one_line

__all__ = [
    "IMAGE_SUFFIXES",
    "INPUT_SUFFIXES",
    "Input",
    "check_output",
    "dense",
    "frobenius_norm",
    "load_input",
    "require_pillow",
    "save_arrays",
    "write_image",
]

PLOT_EXTRA = 'pip install "lowrank[plot]"'
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")
INPUT_SUFFIXES = (".npy", ".npz", ".mtx", ".mtx.gz", *TEXT_SUFFIXES, *IMAGE_SUFFIXES)
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
#: ITU-R BT.601 luma weights, the ones Pillow's "L" mode uses.
_LUMA = np.array([0.299, 0.587, 0.114])


@dataclasses.dataclass
class Input:
    """A matrix read from a file: an ndarray or a scipy.sparse CSR matrix."""

    data: np.ndarray | scipy.sparse.spmatrix | scipy.sparse.sparray
    name: str
    image: bool = False

    @property
    def sparse(self):
        return scipy.sparse.issparse(self.data)

    @property
    def shape(self):
        return self.data.shape

    def describe(self):
        """``"300 x 200 float64 (dense)"`` and the like."""
        shape = " x ".join(str(d) for d in self.shape) if self.shape else "scalar"
        if self.sparse:
            density = self.data.nnz / max(1, np.prod(self.shape, dtype=float))
            kind = (
                f"sparse {self.data.format.upper()}, {self.data.nnz} nonzeros "
                f"({density:.2%})"
            )
        elif self.image:
            kind = "grayscale image, values in [0, 1]"
        else:
            kind = "dense"
        return f"{shape} {self.data.dtype} ({kind})"


def dense(a):
    """`a` as an ndarray (a sparse matrix is converted)."""
    return a.toarray() if scipy.sparse.issparse(a) else np.asarray(a)


def frobenius_norm(a):
    """``||A||_F`` of an array or a sparse matrix."""
    if scipy.sparse.issparse(a):
        return math.sqrt(float(np.sum(np.abs(a.tocsr().data) ** 2)))
    return float(np.linalg.norm(a))


def _suffix(path):
    name = path.name.lower()
    if name.endswith(".mtx.gz"):
        return ".mtx.gz"
    return path.suffix.lower()


def load_input(path, *, key=None, console=None):
    """Read the matrix in `path` (a str or Path), dispatching on its suffix."""
    path = pathlib.Path(path)
    name = str(path)
    if not path.exists():
        raise CommandError(f"{name}: no such file")
    if path.is_dir():
        raise CommandError(f"{name} is a directory, not a matrix file")
    if not os.access(path, os.R_OK):
        raise CommandError(f"{name}: permission denied")
    suffix = _suffix(path)
    readers = {".npy": _read_npy, ".npz": _read_npz, ".mtx": _read_mtx}
    readers[".mtx.gz"] = _read_mtx
    readers.update(dict.fromkeys(TEXT_SUFFIXES, _read_text))
    readers.update(dict.fromkeys(IMAGE_SUFFIXES, _read_image))
    if suffix not in readers:
        known = ", ".join(INPUT_SUFFIXES)
        raise CommandError(
            f"{name}: unknown file type {suffix or '(no suffix)'!r}; "
            f"expected one of {known}"
        )
    if key is not None and suffix != ".npz":
        raise CommandError(f"--key selects an array in a .npz file; {name} is not one")
    if console is not None:
        with console.step(f"reading {name}"):
            data = readers[suffix](path, name, key)
    else:
        data = readers[suffix](path, name, key)
    image = suffix in IMAGE_SUFFIXES
    return Input(_numeric(data, name, console), name, image)


def _numeric(data, name, console):
    """Numbers lowrank computes in; refuse other dtypes, NaN and Inf."""
    dtype = data.dtype
    if dtype.kind in "biu":
        data = data.astype(np.float64)
    elif dtype.kind in "fc":
        # LAPACK has no half or extended precision: compute in the nearest
        # precision it has (the library itself refuses these dtypes).
        extended = dtype.itemsize > (8 if dtype.kind == "f" else 16)
        if extended or dtype == np.float16:
            target = np.dtype({"f": np.float64, "c": np.complex128}[dtype.kind])
            if dtype == np.float16:
                target = np.dtype(np.float32)
            if console is not None:
                console.note(f"{name}: {dtype} values converted to {target}")
            data = data.astype(target)
    else:
        raise CommandError(f"{name} holds {dtype} data, not numbers")
    values = data.data if scipy.sparse.issparse(data) else data
    if not np.all(np.isfinite(values)):
        raise CommandError(f"{name} contains NaN or Inf; lowrank needs finite values")
    return data


def _magic(path):
    with open(path, "rb") as file:
        return file.read(6)


def _refuse_pickles(name, error):
    """Turn numpy's allow_pickle refusal into our message; re-raise others."""
    if "allow_pickle" in str(error):
        raise CommandError(
            f"{name} holds pickled Python objects (an object array); lowrank never "
            "unpickles files: save a numeric array with numpy.save instead"
        ) from error


def _read_npy(path, name, key):
    magic = _magic(path)
    if magic[:1] == b"\x80":
        raise CommandError(
            f"{name} is a Python pickle, not a .npy file; lowrank never unpickles "
            "files: save a numeric array with numpy.save instead"
        )
    if not magic.startswith(_NPY_MAGIC):
        raise CommandError(f"{name} is not a .npy file (no NumPy header)")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as err:
        _refuse_pickles(name, err)
        raise CommandError(f"cannot read {name}: {one_line(err)}") from err
    except (OSError, EOFError) as err:
        raise CommandError(
            f"cannot read {name}: truncated or corrupt .npy file"
        ) from err


def _read_npz(path, name, key):
    if not _magic(path).startswith(_ZIP_MAGIC):
        raise CommandError(f"{name} is not a .npz file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            if key is None:
                if len(keys) != 1:
                    listed = ", ".join(keys) if keys else "none"
                    raise CommandError(
                        f"{name} holds {len(keys)} arrays ({listed}); choose one "
                        "with --key"
                    )
                key = keys[0]
            elif key not in keys:
                raise CommandError(
                    f"{name} has no array {key!r}; it holds: {', '.join(keys)}"
                )
            return archive[key]
    except ValueError as err:
        _refuse_pickles(name, err)
        raise CommandError(f"cannot read {name}: {one_line(err)}") from err
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise CommandError(f"cannot read {name}: corrupt .npz file") from err


def _read_mtx(path, name, key):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = scipy.io.mmread(path)
    except (ValueError, OSError, EOFError, IndexError, TypeError) as err:
        raise CommandError(
            f"cannot read {name} as Matrix Market: {one_line(err)}"
        ) from err
    if scipy.sparse.issparse(data):
        return data.tocsr()
    return np.asarray(data)


def _sniff(path):
    """(delimiter, header rows) of a text table: ',', ';', tab or whitespace.

    The delimiter is the candidate occurring most often in the first two
    lines; a first line that does not parse as numbers is a header.
    """
    with open(path, encoding="utf-8", errors="replace") as file:
        lines = []
        for line in file:
            if line.strip() and not line.lstrip().startswith("#"):
                lines.append(line)
            if len(lines) == 2:
                break
    if not lines:
        return None, 0
    counts = {d: sum(line.count(d) for line in lines) for d in (",", ";", "\t")}
    delimiter = max(counts, key=counts.get)
    if counts[delimiter] == 0:
        delimiter = None  # whitespace
    try:
        for field in lines[0].split(delimiter):
            if field.strip():
                complex(field.strip().replace("i", "j"))
    except ValueError:
        return delimiter, 1
    return delimiter, 0


def _read_text(path, name, key):
    try:
        delimiter, header = _sniff(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data"
            data = np.loadtxt(
                path,
                delimiter=delimiter,
                comments="#",
                skiprows=header,
                ndmin=2,
                dtype=np.float64,
            )
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise CommandError(
            f"cannot read {name} as a table of numbers: {one_line(err)}"
        ) from err
    return data


def require_pillow(action):
    """Pillow's Image module, or a CommandError naming the extra to install.

    (matplotlib reads and writes images through Pillow too, so there is no
    fallback without it.)
    """
    try:
        from PIL import Image
    except ImportError:
        raise CommandError(f"{action} images needs Pillow: {PLOT_EXTRA}") from None
    return Image


def _read_image(path, name, key):
    image_module = require_pillow("reading")
    try:
        with image_module.open(path) as image:
            image.load()
            pixels = _pil_pixels(image)
    except (OSError, ValueError, SyntaxError) as err:
        raise CommandError(f"cannot read {name} as an image: {one_line(err)}") from err
    return _grayscale(pixels)


def _pil_pixels(image):
    """The pixels of a Pillow image as floats in [0, 1], channels last."""
    if image.mode not in ("L", "LA", "RGB", "RGBA", "I;16", "I", "F"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    pixels = np.asarray(image)
    if pixels.dtype == np.uint8:
        return pixels / 255.0
    if image.mode in ("I;16", "I"):
        return pixels.astype(np.float64) / 65535.0
    return pixels.astype(np.float64)


def _grayscale(pixels):
    """Luma of RGB(A) pixels (alpha ignored); gray stays gray; float64."""
    pixels = np.asarray(pixels, dtype=np.float64)
    if pixels.ndim == 3 and pixels.shape[2] >= 3:
        pixels = pixels[:, :, :3] @ _LUMA
    elif pixels.ndim == 3:
        pixels = pixels[:, :, 0]
    return np.ascontiguousarray(pixels)


def _written(path, suffix):
    """numpy appends `suffix` to names without it; report the real name."""
    path = str(path)
    return path if path.endswith(suffix) else path + suffix


def check_output(path, option, suffixes=None):
    """Fail before any work if `path` cannot be an output file of `option`."""
    path = pathlib.Path(path)
    if path.is_dir():
        raise CommandError(f"{option} {path} is a directory")
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise CommandError(
            f"{option} {path}: expected a file name ending in {', '.join(suffixes)}"
        )
    parent = path.parent
    if not parent.is_dir():
        raise CommandError(f"{option} {path}: directory {parent} does not exist")


def save_arrays(path, arrays):
    """Write `arrays` (a dict, or one array) to ``.npz`` (dict) or ``.npy``."""
    try:
        if isinstance(arrays, dict):
            np.savez(path, **arrays)
            return _written(path, ".npz")
        np.save(path, arrays, allow_pickle=False)
        return _written(path, ".npy")
    except OSError as err:
        raise CommandError(f"cannot write {path}: {err.strerror or err}") from err


def write_image(path, matrix, low, high):
    """Save `matrix` as a grayscale image, `low` black and `high` white."""
    scale = (high - low) or 1.0
    gray = np.clip((np.real(matrix) - low) / scale, 0.0, 1.0)
    image_module = require_pillow("writing")
    try:
        image_module.fromarray(np.round(gray * 255).astype(np.uint8)).save(path)
    except (OSError, ValueError, KeyError) as err:
        raise CommandError(f"cannot write {path}: {one_line(err)}") from err
    return str(path)
