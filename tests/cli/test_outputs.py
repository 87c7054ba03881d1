"""The command never loses a file: no overwriting without --force, never the
input, and every output written whole or not at all (issue 19)."""

import errno
import io
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from lowrank._cli import demo as demo_module
from lowrank._cli import io as io_module
from tests.cli.optional import Image, matplotlib, needs_matplotlib, needs_pillow
from tests.cli.test_cli import assert_one_line_error, run


@pytest.fixture
def matrix_file(tmp_path):
    path = tmp_path / "m.npy"
    np.save(path, np.arange(12.0).reshape(4, 3) + np.eye(4, 3))
    return path


def leftovers(directory, *expected):
    """Files in `directory` other than `expected` (temporary files, say)."""
    return sorted(p.name for p in directory.iterdir() if p.name not in expected)


# -- the input is never an output ---------------------------------------------


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("how", ["same name", "no suffix", "symlink", "hard link"])
def test_pinv_refuses_to_write_over_its_input(capsys, matrix_file, how, force):
    directory = matrix_file.parent
    if how == "same name":
        output = matrix_file
    elif how == "no suffix":  # numpy's rule: -o m writes m.npy
        output = directory / "m"
    elif how == "symlink":
        output = directory / "link.npy"
        output.symlink_to(matrix_file)
    else:
        output = directory / "hard.npy"
        os.link(matrix_file, output)
    before = matrix_file.read_bytes()
    code, out, err = run(
        capsys, "pinv", matrix_file, "-o", output, *(["--force"] if force else [])
    )
    assert_one_line_error(code, err, "is the input file", "never writes over")
    assert out == ""  # refused before any work
    assert matrix_file.read_bytes() == before
    if how == "no suffix":
        assert not output.exists()
    else:
        assert output.read_bytes() == before


@needs_pillow
def test_compress_image_and_info_plot_refuse_the_input(capsys, tmp_path):
    picture = tmp_path / "p.png"
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(picture)
    before = picture.read_bytes()
    code, _, err = run(
        capsys, "compress", picture, "--rank", 1, "--image", picture, "--force"
    )
    assert_one_line_error(code, err, "--image", "is the input file")
    if matplotlib is not None:
        code, _, err = run(capsys, "info", picture, "--plot", picture, "--force")
        assert_one_line_error(code, err, "--plot", "is the input file")
    assert picture.read_bytes() == before


@needs_pillow
@needs_matplotlib
def test_two_options_may_not_name_one_file(capsys, matrix_file, tmp_path):
    both = tmp_path / "both.png"
    code, out, err = run(
        capsys, "compress", matrix_file, "--rank", 1, "--image", both, "--plot", both
    )
    assert_one_line_error(code, err, "is also the --plot output")
    assert out == ""
    assert not both.exists()


# -- an existing file needs --force -------------------------------------------


def test_pinv_overwrites_only_with_force(capsys, matrix_file, tmp_path):
    output = tmp_path / "x.npy"
    output.write_bytes(b"precious")
    output.chmod(0o640)
    code, out, err = run(capsys, "pinv", matrix_file, "-o", output)
    assert_one_line_error(code, err, "exists; pass --force to overwrite it")
    assert out == ""
    assert output.read_bytes() == b"precious"
    code, out, err = run(capsys, "pinv", matrix_file, "-f", "-o", output)
    assert code == 0, err
    np.testing.assert_allclose(
        np.load(output), np.linalg.pinv(np.load(matrix_file)), atol=1e-12
    )
    assert output.stat().st_mode & 0o777 == 0o640  # permissions are kept
    assert leftovers(tmp_path, "m.npy", "x.npy") == []


def test_force_writes_through_a_symlink(capsys, matrix_file, tmp_path):
    target = tmp_path / "real.npy"
    target.write_bytes(b"old")
    link = tmp_path / "link.npy"
    link.symlink_to(target)
    code, _, err = run(capsys, "pinv", matrix_file, "-o", link, "--force")
    assert code == 0, err
    assert link.is_symlink()
    assert np.load(target).shape == (3, 4)


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["compress", "{m}", "--rank", "1", "-o", "{out}"], "f.npz"),
        pytest.param(
            ["compress", "{m}", "--rank", "1", "--image", "{out}"],
            "f.png",
            marks=needs_pillow,
        ),
        pytest.param(
            ["compress", "{m}", "--rank", "1", "--plot", "{out}"],
            "f.png",
            marks=needs_matplotlib,
        ),
        pytest.param(
            ["info", "{m}", "--plot", "{out}"], "f.svg", marks=needs_matplotlib
        ),
    ],
)
def test_every_output_option_needs_force(capsys, matrix_file, tmp_path, argv, name):
    output = tmp_path / name
    output.write_bytes(b"precious")
    argv = [a.format(m=matrix_file, out=output) for a in argv]
    code, out, err = run(capsys, *argv)
    assert_one_line_error(code, err, "exists; pass --force")
    assert out == ""
    assert output.read_bytes() == b"precious"
    code, _, err = run(capsys, *argv, "--force")
    assert code == 0, err
    assert output.read_bytes() != b"precious"
    assert output.stat().st_size > 60  # a real file: a 4 x 3 PNG takes 81 bytes
    assert leftovers(tmp_path, "m.npy", name) == []


def _cheap_demo(monkeypatch):
    """The demo with its computations replaced by a few fixed numbers."""
    monkeypatch.setattr(demo_module, "_ill_posed", lambda console, seed: None)
    curves = (
        np.array([1.0, 0.1, 0.01]),
        [1, 2],
        {"best possible": [0.1, 0.01], "cur": [0.2, 0.02]},
        "t",
    )
    monkeypatch.setattr(demo_module, "_compression", lambda *args: curves)


@needs_matplotlib
def test_demo_keeps_an_existing_figure_unless_forced(capsys, tmp_path, monkeypatch):
    _cheap_demo(monkeypatch)
    figure = tmp_path / demo_module.FIGURE_NAME
    figure.write_bytes(b"precious")
    code, out, err = run(capsys, "demo", "--out", tmp_path)
    assert code == 0, err
    assert "exists and was kept; --force overwrites it" in out
    assert figure.read_bytes() == b"precious"
    code, out, err = run(capsys, "demo", "--out", tmp_path, "--force")
    assert code == 0, err
    assert figure.read_bytes().startswith(b"\x89PNG")
    assert leftovers(tmp_path, demo_module.FIGURE_NAME) == []


@pytest.mark.parametrize(
    "command", [["demo"], ["compress"], ["pinv"], ["info"]], ids=lambda c: c[0]
)
def test_help_states_the_output_rule(capsys, command):
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "--force" in text
    assert "whole or not at all" in text
    if command != ["demo"]:
        assert "the input file never is" in text


# -- outputs are written whole or not at all ------------------------------------


class FailingFile:
    """A file that writes `budget` bytes, then raises `error` mid-write.

    Everything goes through write(): no fileno(), so numpy, Pillow and
    matplotlib cannot write around it.
    """

    def __init__(self, file, budget, error):
        self._file, self._budget, self._error = file, budget, error
        self.written = 0

    def write(self, data):
        data = memoryview(data).cast("B")
        if len(data) >= self._budget:
            self._file.write(data[: self._budget])
            self._file.flush()  # the partial bytes really reach the file
            self.written += self._budget
            self._budget = 0  # and nothing more, whoever tries
            raise self._error
        self._file.write(data)
        self._budget -= len(data)
        self.written += len(data)
        return len(data)

    def fileno(self):
        raise io.UnsupportedOperation("fileno")

    def __getattr__(self, name):  # tell, seek, flush, ...
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()


WRITERS = {
    "pinv -o .npy": (["pinv", "{m}", "-o", "{out}"], "x.npy"),
    "compress -o .npz": (["compress", "{m}", "--rank", "2", "-o", "{out}"], "x.npz"),
    "compress --image .png": (
        ["compress", "{m}", "--rank", "2", "--image", "{out}"],
        "x.png",
    ),
    "info --plot .png": (["info", "{m}", "--plot", "{out}"], "x.png"),
    "info --plot .pdf": (["info", "{m}", "--plot", "{out}"], "x.pdf"),
}
NEEDS = {
    "compress --image .png": needs_pillow,
    "info --plot .png": needs_matplotlib,
    "info --plot .pdf": needs_matplotlib,
}


@pytest.mark.parametrize("existing", [False, True], ids=["new", "overwrite"])
@pytest.mark.parametrize(
    "error", [KeyboardInterrupt(), OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))]
)
@pytest.mark.parametrize(
    "writer",
    [pytest.param(w, marks=NEEDS[w]) if w in NEEDS else w for w in WRITERS],
)
def test_an_interrupted_write_leaves_no_partial_file(
    capsys, matrix_file, tmp_path, monkeypatch, writer, error, existing
):
    argv, name = WRITERS[writer]
    output = tmp_path / name
    if existing:
        output.write_bytes(b"the old content")
    files = []

    def failing(fd):
        files.append(FailingFile(os.fdopen(fd, "wb"), 40, error))
        return files[-1]

    monkeypatch.setattr(io_module, "_open_for_writing", failing)
    argv = [a.format(m=matrix_file, out=output) for a in argv]
    code, _, err = run(capsys, *argv, *(["--force"] if existing else []))
    assert len(files) == 1
    assert files[0].written == 40  # the write was cut in the middle
    if isinstance(error, KeyboardInterrupt):
        assert code == 130
        assert err.strip().splitlines()[-1] == "lowrank: interrupted"
    else:
        assert_one_line_error(code, err, f"cannot write {output}", "No space left")
    if existing:
        assert output.read_bytes() == b"the old content"
    else:
        assert not output.exists()
    assert leftovers(tmp_path, "m.npy", name) == []  # no temporary file either


def test_replacing_writes_whole_files(tmp_path):
    target = tmp_path / "t.bin"
    with io_module.replacing(target) as file:
        file.write(b"abc")
        assert not target.exists()  # nothing at the target until complete
        (temp,) = leftovers(tmp_path)
        assert temp.startswith(".t.bin.")
        assert temp.endswith(".tmp")
    assert target.read_bytes() == b"abc"

    def fail_midway():
        with io_module.replacing(target) as file:
            file.write(b"xyz")
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        fail_midway()
    assert target.read_bytes() == b"abc"
    assert leftovers(tmp_path, "t.bin") == []


_STALLING_RUN = textwrap.dedent(
    """
    import pathlib, sys, time
    from lowrank import cli
    from lowrank._cli import io as io_module

    marker = pathlib.Path(sys.argv[1])


    class Stalling:
        def __init__(self, file):
            self._file = file

        def write(self, data):
            self._file.write(data)
            self._file.flush()
            marker.write_text("writing")  # tell the test to send its signal
            time.sleep(60)

        def __getattr__(self, name):
            return getattr(self._file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._file.close()


    io_module._open_for_writing = lambda fd: Stalling(io_module.os.fdopen(fd, "wb"))
    sys.exit(cli.main(sys.argv[2:]))
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_signal_during_a_write_leaves_no_partial_file(matrix_file, tmp_path):
    """SIGINT (Ctrl-C) and SIGTERM through real processes, run side by side."""
    runs = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        directory = tmp_path / signum.name
        directory.mkdir()
        output = directory / "x.npy"
        if signum == signal.SIGTERM:
            output.write_bytes(b"the old content")
        marker = directory / "marker"
        argv = ["pinv", str(matrix_file), "-o", str(output), "--force"]
        process = subprocess.Popen(
            [sys.executable, "-c", _STALLING_RUN, str(marker), *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        runs[signum] = (process, marker, output)
    for signum, (process, marker, _) in runs.items():
        deadline = time.monotonic() + 60
        while not marker.exists() and process.poll() is None:
            assert time.monotonic() < deadline, "the write never started"
            time.sleep(0.02)
        process.send_signal(signum)
    for signum, (process, _, output) in runs.items():
        _, err = process.communicate(timeout=60)
        assert process.returncode == 128 + signum, err
        assert "Traceback" not in err
        expected = "interrupted" if signum == signal.SIGINT else "terminated by SIGTERM"
        assert err.strip().splitlines()[-1] == f"lowrank: {expected}"
        if signum == signal.SIGTERM:
            assert output.read_bytes() == b"the old content"
        else:
            assert not output.exists()
        assert leftovers(output.parent, "x.npy", "marker") == []
