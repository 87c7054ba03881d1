"""Corrupt and hostile input files (issue 19): every subcommand that reads one
answers with a single ``lowrank: error:`` line and status 1 — no traceback,
and no allocation beyond what the file's size justifies (a header claiming
terabytes is refused from the header)."""

import functools
import gzip
import io
import math
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import warnings
import zipfile
import zlib

import numpy as np
import pytest
import scipy.io
import scipy.sparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.test_cli import assert_one_line_error

#: What one run may allocate (traced by tracemalloc) on a file of < 1 kB:
#: far below any of the claims, which start at 2 GB.
MEMORY_LIMIT = 32 * 2**20


def png(width, height, color_type=0, rows=None, *, idat=None):
    """A PNG file written by hand: 8-bit gray (0), RGB (2) or RGBA (6)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    if idat is None:
        raw = b"".join(b"\x00" + bytes(row) for row in rows)
        idat = zlib.compress(raw)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def _saved(save, *args, **kwargs):
    buffer = io.BytesIO()
    save(buffer, *args, **kwargs)
    return buffer.getvalue()


@functools.cache
def valid_files():
    """Small valid inputs of every format the command reads, as bytes."""
    rng = np.random.default_rng(19)
    a = rng.standard_normal((6, 5))
    sparse = scipy.sparse.random(8, 7, density=0.3, random_state=19, format="coo")
    mtx = _saved(scipy.io.mmwrite, sparse)
    files = {
        "a.npy": _saved(np.save, a),
        "c.npy": _saved(np.save, (a[:4, :3] + 1j).astype(np.complex64)),
        "one.npz": _saved(np.savez, h=a),
        "z.npz": _saved(np.savez_compressed, z=a[:3]),
        "s.mtx": mtx,
        "d.mtx": _saved(scipy.io.mmwrite, a[:3, :2]),
        "s.mtx.gz": gzip.compress(mtx),
        "t.csv": b"x,y,z\n1,2,3\n4,5,6\n7,8,10\n",
        "t.txt": b"1 0.5\n0.5 0.3333\n",
        "p.png": png(
            6, 4, 2, [[(17 * j + 3 * i) % 256 for i in range(18)] for j in range(4)]
        ),
    }
    try:
        from PIL import Image
    except ImportError:
        return files
    gray = Image.fromarray(np.arange(48, dtype=np.uint8).reshape(6, 8) * 5)
    files["g.gif"] = _saved(gray.save, format="GIF")
    files["b.bmp"] = _saved(gray.convert("RGB").save, format="BMP")
    return files


COMMANDS = {
    "info": lambda path, out: ["info", path],
    "compress": lambda path, out: ["compress", path, "--rank", 1],
    "pinv": lambda path, out: ["pinv", path, "-o", out, "--force"],
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A directory for the examples, after one clean run of each format.

    The warm-up run imports what each reader needs, so the memory traced in
    the examples is the run's own.
    """
    directory = tmp_path_factory.mktemp("fuzz")
    for name, data in valid_files().items():
        (directory / name).write_bytes(data)
        code, err = run_quietly(["info", directory / name])
        assert code == 0, (name, err)
    for command in COMMANDS.values():
        code, err = run_quietly(command(directory / "a.npy", directory / "out.npy"))
        assert code == 0, err
    return directory


def run_quietly(argv):
    """(status, stderr) of the command run in-process, warnings ignored."""
    from contextlib import redirect_stderr, redirect_stdout

    import lowrank.cli

    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings():
        # A corrupted file can still be a valid matrix that the library
        # warns about; warnings are not what this test is about.
        warnings.simplefilter("ignore")
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = lowrank.cli.main([str(a) for a in argv])
            except SystemExit as exit_:  # argparse
                code = exit_.code
    return code, err.getvalue()


def check_refusal(code, err):
    assert_one_line_error(code, err)
    assert "out of memory" not in err


# -- random corruption of valid files -------------------------------------------


@st.composite
def corrupted_files(draw):
    """A valid file of some format, truncated, overwritten, spliced."""
    files = valid_files()
    name = draw(st.sampled_from(sorted(files)))
    data = bytearray(files[name])
    for _ in range(draw(st.integers(1, 3))):
        end = len(data)
        # Headers live in the first bytes: aim there half of the time.
        at = draw(st.one_of(st.integers(0, min(end, 96)), st.integers(0, end)))
        edit = draw(st.sampled_from(["truncate", "overwrite", "insert", "delete"]))
        if edit == "truncate":
            del data[at:]
        elif edit == "overwrite":
            patch = draw(st.binary(min_size=1, max_size=8))
            data[at : at + len(patch)] = patch
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[at : at + draw(st.integers(1, 16))]
    return name, bytes(data)


@st.composite
def text_tables(draw):
    """CSV files of numbers and words, ragged or not."""
    cell = st.one_of(
        st.integers(-99, 99).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.text(alphabet="abcxyz.,;-+eEij \t", max_size=6),
    )
    rows = draw(st.lists(st.lists(cell, min_size=1, max_size=4), max_size=5))
    delimiter = draw(st.sampled_from([",", ";", "\t", " "]))
    text = "\n".join(delimiter.join(row) for row in rows)
    return draw(st.sampled_from(["f.csv", "f.txt", "f.tsv"])), text.encode()


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    case=st.one_of(corrupted_files(), text_tables()),
    command=st.sampled_from(sorted(COMMANDS)),
)
def test_corrupted_files_fail_with_one_line(workdir, case, command):
    name, data = case
    path = workdir / f"case-{name}"
    path.write_bytes(data)
    code, err = run_quietly(COMMANDS[command](path, workdir / "out.npy"))
    # A corruption can leave a valid file (a changed digit): then it runs.
    if code != 0:
        check_refusal(code, err)


# -- headers that claim far more than the file holds ------------------------------


def npy_bytes(shape, dtype, fortran, body):
    buffer = io.BytesIO()
    header = {"descr": dtype.str, "fortran_order": fortran, "shape": tuple(shape)}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + body


@st.composite
def huge_shapes(draw, itemsize):
    """Shapes of 1 to 3 sides needing 2 GB to about 10**30 bytes."""
    dims = draw(st.lists(st.integers(1, 10**7), min_size=1, max_size=3))
    while math.prod(dims) * itemsize < 2**31:
        dims[0] *= 1024
    return dims


@st.composite
def huge_npy(draw):
    dtype = np.dtype(draw(st.sampled_from(["<f8", ">f4", "<c16", "<i4", "|u1"])))
    shape = draw(huge_shapes(dtype.itemsize))
    body = draw(st.binary(max_size=64))
    return "huge.npy", npy_bytes(shape, dtype, draw(st.booleans()), body)


@st.composite
def huge_npz(draw):
    """An archive whose member's header, or whose member's size, lies."""
    _, member = draw(huge_npy())
    lie_in_zip = draw(st.booleans())
    if lie_in_zip:  # an honest little array, in a member claiming gigabytes
        member = npy_bytes((2, 2), np.dtype("<f8"), False, bytes(32))
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        archive.writestr("a.npy", member)
    data = bytearray(buffer.getvalue())
    if lie_in_zip:
        claim = draw(st.integers(2**31, 2**32 - 2))
        for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
            at = data.index(signature) + offset  # the uncompressed size field
            data[at : at + 4] = struct.pack("<I", claim)
    return "huge.npz", bytes(data)


@st.composite
def huge_mtx(draw):
    """Matrix Market headers claiming long sides, many entries or both."""
    layout = draw(st.sampled_from(["array", "coordinate", "coordinate entries"]))
    big = st.integers(2**21, 10**12)
    small = st.integers(1, 9)
    if layout == "array":
        rows, cols = draw(big), draw(st.integers(1, 10**6))
        header = "%%MatrixMarket matrix array real general\n"
        sizes = f"{rows} {cols}\n"
        body = "".join(f"{v}\n" for v in range(draw(st.integers(0, 5))))
    else:
        if layout == "coordinate":
            rows, cols, entries = draw(big), draw(big), draw(small)
        else:
            rows, cols, entries = draw(small), draw(small), draw(big)
        header = "%%MatrixMarket matrix coordinate real general\n"
        sizes = f"{rows} {cols} {entries}\n"
        body = "".join("1 1 1.5\n" for _ in range(draw(st.integers(0, 5))))
    text = (header + sizes + body).encode()
    if draw(st.booleans()):
        return "huge.mtx.gz", gzip.compress(text)
    return "huge.mtx", text


@st.composite
def huge_png(draw):
    width, height = draw(st.integers(2**12, 2**17)), draw(st.integers(2**12, 2**17))
    idat = zlib.compress(bytes(draw(st.integers(0, 200))))
    return "huge.png", png(width, height, draw(st.sampled_from([0, 2, 6])), idat=idat)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    case=st.one_of(huge_npy(), huge_npz(), huge_mtx(), huge_png()),
    command=st.sampled_from(sorted(COMMANDS)),
)
def test_huge_claims_are_refused_from_the_header(workdir, case, command):
    name, data = case
    path = workdir / name
    path.write_bytes(data)
    tracemalloc.start()
    try:
        code, err = run_quietly(COMMANDS[command](path, workdir / "out.npy"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    check_refusal(code, err)
    assert peak < MEMORY_LIMIT, f"{peak / 2**20:.0f} MiB traced for {err}"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("3 3 4\n1 1 1\n2 2 2\n", "Matrix Market"),  # fewer entries than claimed
        ("3 3 1\n1 1 1\n2 2 2\n3 3 3\n", "Matrix Market"),  # more than claimed
        ("3 3 2\n1 1 1\n4 1 2\n", "Matrix Market"),  # a row index out of range
        ("3 3 2\n1 1 1\n0 1 2\n", "Matrix Market"),  # 0 in a 1-based index
        ("3 3 2\n1 1 1\n1 1 x\n", "Matrix Market"),  # a value that is no number
        ("3 3 10000\n1 1 1\n", "claims a 3 x 3 matrix with 10000 entries"),
        ("3 3 2\n1 1 1\n1.5 1 2\n", "Matrix Market"),  # an index that is no integer
        ("3 3 2\n1 1 1\n2 2\n", "Matrix Market"),  # a line without its value
        ("3 3 2\n1 1 1\n2 2 2 7\n", "Matrix Market"),  # a line with one too many
        ("3 3 2\n1 1 1\n2 2 nan\n", "Matrix Market"),  # a value that is NaN
        ("3 3 2\n1 1 1\n2 -9223372036854775808 1\n", "Matrix Market"),
    ],
)
def test_matrix_market_entry_counts_are_checked(workdir, body, fragment):
    path = workdir / "counts.mtx"
    path.write_text("%%MatrixMarket matrix coordinate real general\n" + body)
    code, err = run_quietly(["info", path])
    check_refusal(code, err)
    assert fragment in err


def test_a_dense_matrix_market_file_missing_values(workdir):
    path = workdir / "short.mtx"
    path.write_text("%%MatrixMarket matrix array real general\n3 2\n1\n2\n3\n")
    code, err = run_quietly(["info", path])
    check_refusal(code, err)


_LIMITED_RUN = textwrap.dedent(
    """
    import resource, sys
    import lowrank.cli

    def vm_size():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024

    # Room for the run itself, not for any of the claims (>= 8 GB).
    limit = vm_size() + 512 * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for path in sys.argv[1:]:
        print(lowrank.cli.main(["info", path]), flush=True)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc, RLIMIT_AS")
def test_huge_claims_under_an_address_space_limit(tmp_path):
    """In a process that cannot even reserve the claimed memory."""
    files = {
        "t.npy": npy_bytes((10**6, 10**6), np.dtype("<f8"), False, bytes(80)),
        "t.mtx": b"%%MatrixMarket matrix array real general\n100000 100000\n1\n",
        "s.mtx": b"%%MatrixMarket matrix coordinate real general\n"
        b"1000000000 1000000000 1\n1 1 1\n",
        "t.png": png(60000, 60000, 2, idat=zlib.compress(bytes(99))),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.npy", files["t.npy"])
    files["t.npz"] = buffer.getvalue()
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-c", _LIMITED_RUN, *(str(tmp_path / n) for n in files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.split() == ["1"] * len(files), done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == len(files), done.stderr
    for name, line in zip(files, lines, strict=True):
        assert line.startswith(f"lowrank: error: cannot read {tmp_path / name}")
        assert "out of memory" not in line
        if name != "t.png":  # Pillow's own limit words it differently
            assert "claims" in line


def test_npz_members_that_are_not_arrays(workdir):
    """A member not ending in .npy was returned as bytes: a traceback."""
    path = workdir / "notes.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not an array")
    code, err = run_quietly(["info", path])
    check_refusal(code, err)
    assert "holds 0 arrays" in err
    code, err = run_quietly(["info", path, "--key", "notes.txt"])
    check_refusal(code, err)


def test_matrix_market_bodies_are_parsed_without_scipy_mmread(workdir, monkeypatch):
    # scipy's threaded C++ reader crashed the process (SIGSEGV) on a
    # corrupted coordinate body that this file's fuzz test drew in CI; the
    # command parses bodies itself, so mmread must never be reached.
    def refuse(*args, **kwargs):
        raise AssertionError("scipy.io.mmread was called")

    monkeypatch.setattr(scipy.io, "mmread", refuse)
    path = workdir / "ok.mtx"
    path.write_text(
        "%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1\n3 2 5\n"
    )
    code, err = run_quietly(["info", path])
    assert code == 0, err


MATRIX_MARKET_MATRICES = {
    "array real general": np.arange(12.0).reshape(4, 3),
    "array complex general": np.arange(6.0).reshape(2, 3) * (1 + 2j),
    "array real symmetric": np.array([[1.0, 2.0], [2.0, 5.0]]),
    "array real skew-symmetric": np.array([[0.0, 2.0], [-2.0, 0.0]]),
    "array complex hermitian": np.array([[1.0, 2 + 1j], [2 - 1j, 3.0]]),
    "coordinate real general": scipy.sparse.coo_array(np.eye(4)[:, :3] * 2.5),
    "coordinate real symmetric": scipy.sparse.coo_array(np.array([[1.0, 2], [2, 0]])),
    "coordinate real skew-symmetric": scipy.sparse.coo_array(
        np.array([[0.0, -3], [3, 0]])
    ),
    "coordinate complex general": scipy.sparse.coo_array(
        np.array([[1 - 1j, 0], [2j, 0]])
    ),
    "coordinate integer general": scipy.sparse.coo_array(np.array([[1, 0], [5, 7]])),
}


@pytest.mark.parametrize("name", list(MATRIX_MARKET_MATRICES))
@pytest.mark.parametrize("suffix", [".mtx", ".mtx.gz"])
def test_matrix_market_reader_agrees_with_scipy(tmp_path, name, suffix):
    from lowrank._cli.io import load_input

    plain = tmp_path / "m.mtx"
    scipy.io.mmwrite(str(plain), MATRIX_MARKET_MATRICES[name])
    assert " ".join(scipy.io.mminfo(str(plain))[3:]) == name
    expected = scipy.io.mmread(str(plain))
    expected = expected.toarray() if scipy.sparse.issparse(expected) else expected
    path = plain
    if suffix == ".mtx.gz":
        path = tmp_path / "m.mtx.gz"
        path.write_bytes(gzip.compress(plain.read_bytes()))
    got = load_input(path).data
    got = got.toarray() if scipy.sparse.issparse(got) else np.asarray(got)
    np.testing.assert_array_equal(got, expected)
