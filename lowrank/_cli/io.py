"""Reading matrices and images given on the command line; writing results.

Every failure a user can cause (missing file, wrong format, pickled data,
non-numeric or non-finite values, an extra not installed) becomes a
:class:`~lowrank._cli.console.CommandError` with a one-line message. Nothing
here ever unpickles: ``.npy`` and ``.npz`` files are read with
``allow_pickle=False``.

Reading trusts no header: what a file claims (a shape, a member's size, the
dimensions of a Matrix Market matrix, the pixels of an image) is compared
with the file's size before anything of that size is allocated, so a corrupt
or hostile file is refused from its header instead of exhausting memory.

Writing never loses a file: :class:`Outputs` checks every output before any
work (never the input, never an existing file without ``--force``), and
:func:`replacing` writes each to a temporary file beside it that is renamed
into place only once complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import math
import os
import pathlib
import secrets
import stat
import struct
import warnings
import zipfile
import zlib

import numpy as np
import scipy.io
import scipy.sparse

from lowrank._cli.console import CommandError, one_line

__all__ = [
    "IMAGE_SUFFIXES",
    "INPUT_SUFFIXES",
    "PICKLE_SUFFIXES",
    "Input",
    "Outputs",
    "dense",
    "frobenius_norm",
    "load_input",
    "replacing",
    "require_pillow",
    "save_arrays",
    "write_image",
]

PLOT_EXTRA = 'pip install "lowrank[plot]"'
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")
INPUT_SUFFIXES = (".npy", ".npz", ".mtx", ".mtx.gz", *TEXT_SUFFIXES, *IMAGE_SUFFIXES)
#: Checkpoints that are pickles (or zip archives holding one): never read.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
#: ITU-R BT.601 luma weights, the ones Pillow's "L" mode uses.
_LUMA = np.array([0.299, 0.587, 0.114])
#: Deflate (zip, gzip, PNG) expands data at most about 1032-fold, so a
#: compressed size bounds the size a header may honestly claim.
DEFLATE_RATIO = 1032
#: Fewest bytes a Matrix Market entry takes: "1\n" in an array, "1 1\n" (a
#: pattern entry) in coordinate form.
_MTX_ARRAY_ENTRY_BYTES = 2
_MTX_COORDINATE_ENTRY_BYTES = 4
#: A sparse matrix's sides cost index arrays (CSR row pointers) and vectors
#: of their length: at most this many, or 8 per byte of (uncompressed) text.
_MTX_SIDE_FLOOR = 2**20
_MTX_SIDES_PER_BYTE = 8
#: Pixels an image file may claim per byte: a deflated 1-bit image (PNG,
#: TIFF) is the densest common encoding, 8 pixels per byte times deflate's
#: ratio (GIF's LZW stays below it).
PIXELS_PER_BYTE = 8 * DEFLATE_RATIO


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
    if suffix in PICKLE_SUFFIXES:
        raise CommandError(
            f"{name} is a pickled checkpoint (PyTorch .bin/.pt/.pth/.ckpt); lowrank "
            "never unpickles files (loading a pickle runs arbitrary code): convert "
            "it to .safetensors (safetensors.torch.save_file); `lowrank compress` "
            "reads .safetensors weight files"
        )
    if suffix == ".safetensors":
        raise CommandError(
            f"{name} is a weight file; `lowrank compress` reads .safetensors, this "
            "command takes one matrix (.npy, .npz, ...)"
        )
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
    if not data.dtype.isnative:  # big-endian data from a file, say
        data = data.astype(data.dtype.newbyteorder("="))
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


def _pickle_refusal(name):
    return CommandError(
        f"{name} holds pickled Python objects (an object array); lowrank never "
        "unpickles files: save a numeric array with numpy.save instead"
    )


def _size(nbytes):
    """``"1.5 GB"`` and the like, for messages."""
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if nbytes < 1000 or unit == "PB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.3g} {unit}"
        nbytes /= 1000
    raise AssertionError("unreachable")


def _npy_header(file, name):
    """(shape, dtype) from the .npy header at the position of `file`.

    Only numeric dtypes pass: object arrays are refused (never unpickled) and
    structured or text data too, before any of the data is read.
    """
    try:
        version = np.lib.format.read_magic(file)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(file)
        elif version in ((2, 0), (3, 0)):
            # 3.0 differs from 2.0 only by a UTF-8 header, which only
            # non-ASCII field names of structured dtypes need (refused below).
            shape, _, dtype = np.lib.format.read_array_header_2_0(file)
        else:
            raise CommandError(
                f"cannot read {name}: unknown .npy format version "
                f"{version[0]}.{version[1]}"
            )
    except (ValueError, EOFError, OSError, zipfile.BadZipFile, zlib.error) as err:
        raise CommandError(
            f"cannot read {name}: corrupt .npy header ({one_line(err, 120)})"
        ) from err
    if dtype.hasobject:
        raise _pickle_refusal(name)
    if dtype.kind not in "biufc":
        raise CommandError(f"{name} holds {dtype} data, not numbers")
    if any(d < 0 for d in shape):
        raise CommandError(f"cannot read {name}: corrupt .npy header (shape {shape})")
    return shape, dtype


def _check_claim(name, shape, dtype, available):
    """Refuse a header whose shape needs more bytes than follow it."""
    needed = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    if needed > available:
        dims = " x ".join(str(d) for d in shape) if shape else "scalar"
        raise CommandError(
            f"cannot read {name}: its header claims {dims} {dtype} "
            f"({_size(needed)}) but only {_size(available)} of data follow; "
            "the file is truncated or corrupt"
        )


def _read_npy(path, name, key):
    magic = _magic(path)
    if magic[:1] == b"\x80":
        raise CommandError(
            f"{name} is a Python pickle, not a .npy file; lowrank never unpickles "
            "files: save a numeric array with numpy.save instead"
        )
    if not magic.startswith(_NPY_MAGIC):
        raise CommandError(f"{name} is not a .npy file (no NumPy header)")
    with open(path, "rb") as file:
        shape, dtype = _npy_header(file, name)
        _check_claim(name, shape, dtype, os.fstat(file.fileno()).st_size - file.tell())
        file.seek(0)
        try:
            return np.lib.format.read_array(file, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise CommandError(
                f"cannot read {name}: truncated or corrupt .npy file"
            ) from err


def _npz_member(archive, name, key):
    """The ZipInfo of the array `key` (None: the only one) of an archive."""
    members = {}
    for info in archive.infolist():
        if info.filename.endswith(".npy"):
            members[info.filename[: -len(".npy")]] = info
    if key is None:
        if len(members) != 1:
            listed = ", ".join(members) if members else "none"
            raise CommandError(
                f"{name} holds {len(members)} arrays ({listed}); choose one with --key"
            )
        return next(iter(members.values()))
    if key not in members:
        raise CommandError(
            f"{name} has no array {key!r}; it holds: {', '.join(members) or 'none'}"
        )
    return members[key]


def _check_member(name, info, archive_size):
    """Refuse a member whose sizes its archive cannot back (a zip bomb)."""
    what = f"{name}: member {info.filename}"
    if info.compress_size > archive_size:
        raise CommandError(
            f"cannot read {what}: it claims {_size(info.compress_size)} of "
            f"compressed data in a {_size(archive_size)} file; corrupt .npz file"
        )
    stored = info.compress_type == zipfile.ZIP_STORED
    limit = info.compress_size if stored else DEFLATE_RATIO * info.compress_size
    if info.file_size > limit + 1024:
        raise CommandError(
            f"cannot read {what}: it claims to expand from "
            f"{_size(info.compress_size)} to {_size(info.file_size)}, more than "
            "its compression can produce; corrupt or hostile .npz file"
        )


def _read_npz(path, name, key):
    if not _magic(path).startswith(_ZIP_MAGIC):
        raise CommandError(f"{name} is not a .npz file (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            info = _npz_member(archive, name, key)
            _check_member(name, info, os.path.getsize(path))
            label = f"{name}[{info.filename[: -len('.npy')]}]"
            with archive.open(info) as member:
                shape, dtype = _npy_header(member, label)
                _check_claim(label, shape, dtype, info.file_size - member.tell())
            with archive.open(info) as member:
                return np.lib.format.read_array(member, allow_pickle=False)
    except CommandError:
        raise
    except (
        ValueError,
        OSError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
        struct.error,
        NotImplementedError,  # a compression method zipfile does not know
        RuntimeError,  # an encrypted member
    ) as err:
        raise CommandError(
            f"cannot read {name}: corrupt .npz file ({one_line(err, 120)})"
        ) from err


_MTX_ERRORS = (
    ValueError,
    OSError,
    EOFError,
    IndexError,
    TypeError,
    RuntimeError,
    OverflowError,
    zlib.error,
)


def _read_mtx(path, name, key):
    text_bytes = os.path.getsize(path)
    if _suffix(path) == ".mtx.gz":
        text_bytes *= DEFLATE_RATIO
    try:
        rows, cols, entries, layout, field, symmetry = scipy.io.mminfo(path)
    except _MTX_ERRORS as err:
        raise CommandError(
            f"cannot read {name} as Matrix Market: {one_line(err)}"
        ) from err
    claim = f"its header claims a {rows} x {cols} matrix with {entries} entries"
    if min(rows, cols, entries) < 0:
        raise CommandError(f"cannot read {name} as Matrix Market: {claim}")
    if layout == "array":
        if rows * cols * _MTX_ARRAY_ENTRY_BYTES > text_bytes:
            raise CommandError(
                f"cannot read {name}: {claim}, more than its "
                f"{_size(os.path.getsize(path))} can hold; the file is truncated "
                "or corrupt"
            )
    elif entries * _MTX_COORDINATE_ENTRY_BYTES > text_bytes:
        raise CommandError(
            f"cannot read {name}: {claim}, more than its "
            f"{_size(os.path.getsize(path))} can hold; the file is truncated or "
            "corrupt"
        )
    elif max(rows, cols) > max(_MTX_SIDE_FLOOR, _MTX_SIDES_PER_BYTE * text_bytes):
        raise CommandError(
            f"cannot read {name}: {claim}; sides that long for a "
            f"{_size(os.path.getsize(path))} file are not a matrix lowrank can "
            "work on (corrupt header?)"
        )
    try:
        body = _mtx_body(path)
        return _mtx_matrix(body, rows, cols, entries, layout, field, symmetry)
    except _MTX_ERRORS as err:
        raise CommandError(
            f"cannot read {name} as Matrix Market: {one_line(err)}"
        ) from err


#: Numbers per entry line of a Matrix Market body, by layout and field.
_MTX_VALUES = {"real": 1, "integer": 1, "double": 1, "complex": 2, "pattern": 0}


def _mtx_body(path):
    """The numbers after the size line, one row per entry line (numpy parses).

    scipy's reader (fast_matrix_market, threaded C++) crashed the whole
    process with a segmentation fault on a corrupted coordinate body found by
    tests/cli/test_fuzz_readers.py; numpy's loadtxt raises ValueError
    instead, and `_mtx_matrix` checks every count and index itself.
    """
    opener = gzip.open if _suffix(path) == ".mtx.gz" else open
    with opener(path, "rt", encoding="ascii") as file:
        for line in file:  # the banner and comments, then the size line
            if line.strip() and not line.lstrip().startswith("%"):
                break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data"
            return np.loadtxt(file, dtype=np.float64, comments="%", ndmin=2)


def _mtx_matrix(body, rows, cols, entries, layout, field, symmetry):
    """The matrix of a parsed Matrix Market body, every claim checked."""
    width = _MTX_VALUES.get(field)
    if width is None:
        raise ValueError(f"unknown field {field!r}")
    if layout == "coordinate":
        width += 2
    if body.size == 0:
        body = body.reshape(0, width)
    if body.shape[1] != width:
        raise ValueError(f"entry lines have {body.shape[1]} numbers, not {width}")
    if not np.isfinite(body).all():
        raise ValueError("an entry is not a finite number")
    values = body[:, -1] if width and field != "pattern" else None
    if field == "complex":
        values = body[:, -2] + 1j * body[:, -1]
    if layout == "coordinate":
        return _mtx_coordinate(body, values, rows, cols, entries, symmetry)
    return _mtx_array(values, rows, cols, symmetry)


def _mtx_coordinate(body, values, rows, cols, entries, symmetry):
    if body.shape[0] != entries:
        raise ValueError(f"{body.shape[0]} entry lines, the header says {entries}")
    i, j = body[:, 0], body[:, 1]
    if not (
        np.array_equal(i, np.round(i))
        and np.array_equal(j, np.round(j))
        and np.all((i >= 1) & (i <= rows) & (j >= 1) & (j <= cols))
    ):
        raise ValueError("an entry's row or column index is outside the matrix")
    i, j = i.astype(np.intp) - 1, j.astype(np.intp) - 1
    if values is None:
        values = np.ones(i.size)
    if symmetry != "general":
        off = i != j
        mirrored = {"symmetric": values, "skew-symmetric": -values}.get(
            symmetry, values.conj()
        )[off]
        i, j = np.concatenate([i, j[off]]), np.concatenate([j, i[off]])
        values = np.concatenate([values, mirrored])
    return scipy.sparse.coo_array((values, (i, j)), shape=(rows, cols)).tocsr()


def _mtx_array(values, rows, cols, symmetry):
    if values is None:
        raise ValueError("a dense (array) Matrix Market file cannot be a pattern")
    if symmetry == "general":
        if values.size != rows * cols:
            raise ValueError(f"{values.size} values for a {rows} x {cols} matrix")
        return values.reshape(cols, rows).T.copy()
    if rows != cols:
        raise ValueError(f"a {symmetry} matrix must be square, not {rows} x {cols}")
    # the lower triangle column by column (strictly lower if skew-symmetric)
    col, row = np.triu_indices(rows, 1 if symmetry == "skew-symmetric" else 0)
    if values.size != row.size:
        raise ValueError(
            f"{values.size} values for a {symmetry} {rows} x {rows} matrix"
        )
    out = np.zeros((rows, rows), dtype=values.dtype)
    out[row, col] = values
    mirrored = {"symmetric": values, "skew-symmetric": -values}.get(
        symmetry, values.conj()
    )
    off = row != col
    out[col[off], row[off]] = mirrored[off]
    return out


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
    file_size = os.path.getsize(path)
    try:
        with warnings.catch_warnings():
            # The check below replaces Pillow's warning for large images (a
            # multi-line message on stderr); its hard limit stays an error.
            warnings.simplefilter("ignore", image_module.DecompressionBombWarning)
            with image_module.open(path) as image:  # reads the header only
                _check_pixels(name, *image.size, file_size)
                image.load()
                if image.mode not in _PIXEL_MODES:
                    image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
                mode, pixels = image.mode, np.asarray(image)
    except (CommandError, MemoryError):
        raise
    except Exception as err:
        # Pillow's decoders raise many types on malformed input (OSError,
        # SyntaxError, struct.error, EOFError, IndexError, ...); the block
        # holds nothing else that could fail.
        raise CommandError(f"cannot read {name} as an image: {one_line(err)}") from err
    return _grayscale(_unit_range(pixels, mode))


#: Pillow modes whose pixels numpy takes as they are.
_PIXEL_MODES = ("L", "LA", "RGB", "RGBA", "I;16", "I", "F")


def _check_pixels(name, width, height, file_size):
    """Refuse an image header that claims more pixels than the file can encode."""
    if width * height > PIXELS_PER_BYTE * file_size:
        raise CommandError(
            f"cannot read {name}: its header claims {width} x {height} pixels, "
            f"more than its {_size(file_size)} can encode; the file is truncated "
            "or corrupt"
        )


def _unit_range(pixels, mode):
    """Pixels of a Pillow image as floats in [0, 1], channels last."""
    if pixels.dtype == np.uint8:
        return pixels / 255.0
    if mode in ("I;16", "I"):
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


# -- writing -----------------------------------------------------------------


class Outputs:
    """The files one run writes, each checked before any work.

    An output is refused if it is a directory or not a regular file, if its
    directory does not exist, if it is the input file (the same file, also
    through a symbolic or hard link), if another option of the run names it
    too, or — unless `force` — if it exists.

    Parameters
    ----------
    source : str or path-like, optional
        The input file of the run.
    force : bool, optional
        Allow overwriting existing files (never the input).
    """

    def __init__(self, source=None, *, force=False):
        self.source = None if source is None else pathlib.Path(source)
        self.force = force
        self._planned = {}

    def add(self, path, option, suffixes=None, *, append=None):
        """Check the output `path` given to `option`; return the path written.

        Parameters
        ----------
        path : str or path-like
            The file name given on the command line.
        option : str
            The option that named it, for messages ("-o", "--plot", ...).
        suffixes : sequence of str, optional
            The file types allowed (lower case, with the dot).
        append : str, optional
            A suffix added when `path` does not end in it, as numpy.save
            does: ``-o x`` writes ``x.npy``.

        Returns
        -------
        pathlib.Path
            The name that will be written.
        """
        path = pathlib.Path(path)
        if append is not None and not str(path).endswith(append):
            path = pathlib.Path(f"{path}{append}")
        if path.is_dir():
            raise CommandError(f"{option} {path} is a directory")
        if suffixes is not None and path.suffix.lower() not in suffixes:
            raise CommandError(
                f"{option} {path}: expected a file name ending in {', '.join(suffixes)}"
            )
        parent = path.parent
        if not parent.is_dir():
            raise CommandError(f"{option} {path}: directory {parent} does not exist")
        if not os.access(parent, os.W_OK):
            raise CommandError(f"{option} {path}: directory {parent} is not writable")
        if self.source is not None and _same_file(path, self.source):
            raise CommandError(
                f"{option} {path} is the input file {self.source}; lowrank never "
                "writes over its input: choose another output name"
            )
        real = os.path.normcase(os.path.realpath(path))
        if real in self._planned:
            raise CommandError(
                f"{option} {path} is also the {self._planned[real]} output; "
                "give each output its own file"
            )
        if path.exists():
            if not path.is_file():
                raise CommandError(f"{option} {path} exists and is not a regular file")
            if not self.force:
                raise CommandError(
                    f"{option} {path} exists; pass --force to overwrite it"
                )
        self._planned[real] = option
        return path


def _same_file(path, other):
    """True if both exist and are one file (through links too)."""
    try:
        return os.path.samefile(path, other)
    except OSError:  # one of them does not exist
        return False


def _open_for_writing(fd):
    """A binary file on the descriptor `fd` (the tests interrupt its writes)."""
    return os.fdopen(fd, "wb")


def _temporary(directory, name):
    """(descriptor, path) of a new hidden file in `directory`, named after `name`.

    Opened with mode 0o666 and O_EXCL, so the umask applies as for any new
    file and an existing file is never reused.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue


@contextlib.contextmanager
def replacing(path):
    """Write `path` whole or not at all: a context giving a binary file.

    What is written goes to a temporary file in the directory of `path`
    (of its target, if it is a symbolic link); when the block ends without
    an exception the file is flushed to disk and renamed over `path` in one
    step (``os.replace``). On any exception — an error, a full disk,
    KeyboardInterrupt, the SIGTERM that the command turns into an exception
    — the temporary file is removed and `path` is left as it was.
    """
    target = os.path.realpath(path)
    directory, name = os.path.split(target)
    fd, temp = _temporary(directory, name)
    try:
        file = _open_for_writing(fd)
    except BaseException:
        os.close(fd)
        os.unlink(temp)
        raise
    try:
        with file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileNotFoundError):
            # An overwritten file keeps its permissions.
            os.chmod(temp, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def save_arrays(path, arrays):
    """Write `arrays` (a dict, or one array) to ``.npz`` (dict) or ``.npy``."""
    try:
        with replacing(path) as file:
            if isinstance(arrays, dict):
                np.savez(file, **arrays)
            else:
                np.save(file, arrays, allow_pickle=False)
    except OSError as err:
        raise CommandError(f"cannot write {path}: {err.strerror or err}") from err
    return str(path)


def write_image(path, matrix, low, high):
    """Save `matrix` as a grayscale image, `low` black and `high` white."""
    scale = (high - low) or 1.0
    gray = np.clip((np.real(matrix) - low) / scale, 0.0, 1.0)
    image_module = require_pillow("writing")
    image = image_module.fromarray(np.round(gray * 255).astype(np.uint8))
    image_format = image_module.registered_extensions().get(
        pathlib.Path(path).suffix.lower()
    )
    try:
        with replacing(path) as file:
            image.save(file, format=image_format)
    except (OSError, ValueError, KeyError) as err:
        raise CommandError(f"cannot write {path}: {one_line(err)}") from err
    return str(path)
