"""Tests of the lowrank command: every subcommand, input format and error path."""

import gzip
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.io
import scipy.sparse

import lowrank
from lowrank import cli
from lowrank._cli import demo as demo_module
from lowrank._cli import spectrum as spectrum_module
from lowrank.datasets import hilbert, low_rank_plus_noise
from tests.cli.optional import Image, needs_matplotlib, needs_pillow


def run(capsys, *argv):
    """main(argv) -> (exit status, stdout, stderr); SystemExit is a status."""
    try:
        code = cli.main([str(arg) for arg in argv])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments, status=1):
    assert code == status
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("lowrank: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in err


def field(out, label):
    """The text after `label` on its output line."""
    for line in out.splitlines():
        line = line.strip()
        if line.startswith(label):
            return line[len(label) :].strip()
    raise AssertionError(f"no {label!r} line in\n{out}")


@pytest.fixture
def files(tmp_path):
    """Tiny inputs of every supported kind, written to tmp_path."""
    paths = {}
    a = low_rank_plus_noise(40, 30, 5, noise=1e-6, rng=0)
    paths["npy"] = tmp_path / "a.npy"
    np.save(paths["npy"], a)
    paths["npz"] = tmp_path / "one.npz"
    np.savez(paths["npz"], h=hilbert(6))
    paths["npz2"] = tmp_path / "two.npz"
    np.savez(paths["npz2"], first=np.eye(3), second=np.ones((4, 2)))
    sparse = scipy.sparse.random(60, 50, density=0.05, random_state=1, format="csr")
    paths["mtx"] = tmp_path / "s.mtx"
    scipy.io.mmwrite(paths["mtx"], sparse)
    paths["csv"] = tmp_path / "t.csv"
    paths["csv"].write_text("x,y,z\n1,2,3\n4,5,6\n7,8,10\n")
    paths["txt"] = tmp_path / "t.txt"
    np.savetxt(paths["txt"], hilbert(4))
    x = np.linspace(0, 1, 24)
    rgb = np.stack([np.outer(x, 1 - x), np.outer(1 - x, x), np.outer(x, x)], axis=-1)
    paths["png"] = tmp_path / "img.png"
    if Image is not None:
        Image.fromarray(np.round(255 * rgb).astype(np.uint8)).save(paths["png"])
    else:
        paths["png"].write_bytes(b"\x89PNG\r\n\x1a\n")
    paths["vector"] = tmp_path / "v.npy"
    np.save(paths["vector"], np.arange(5.0))
    paths["stack"] = tmp_path / "stack.npy"
    np.save(paths["stack"], np.random.default_rng(0).standard_normal((3, 5, 4)))
    paths["pickled"] = tmp_path / "objects.npy"
    np.save(
        paths["pickled"], np.array([{"a": 1}, None], dtype=object), allow_pickle=True
    )
    paths["raw_pickle"] = tmp_path / "raw.npy"
    paths["raw_pickle"].write_bytes(pickle.dumps([1, 2, 3]))
    paths["sparse_matrix"] = sparse
    paths["matrix"] = a
    return paths


# -- demo --------------------------------------------------------------------


@needs_matplotlib
def test_demo_quick(capsys, tmp_path):
    code, out, err = run(capsys, "demo", "--quick", "--out", tmp_path / "figs")
    assert code == 0, err
    assert err == ""  # no progress when stderr is not a terminal
    naive = float(field(out, "naive:").split()[-1])
    truncated = float(field(out, "truncated:").split()[-1])
    damped = float(field(out, "damped:").split()[-1])
    assert naive > 1e3  # the noise blows up
    assert truncated < 0.2
    assert damped < 0.2
    best = float(field(out, "best possible").split()[2])
    for method in ("truncated_svd", "randomized_svd", "interpolative", "cur"):
        rank, error, ratio, time = field(out, method).split()[-4:]
        assert int(rank) == 20
        assert best * 0.999 <= float(error) < 10 * best
        assert ratio.endswith("x")
        assert time.endswith("ms")
    figure = tmp_path / "figs" / demo_module.FIGURE_NAME
    assert figure.stat().st_size > 1000
    assert str(figure.resolve()) in out


def test_demo_without_matplotlib_says_how_to_install_it(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out, _ = run(capsys, "demo", "--quick", "--out", tmp_path)
    assert code == 0
    assert 'pip install "lowrank[plot]"' in out
    assert not (tmp_path / demo_module.FIGURE_NAME).exists()


def test_demo_no_plot_and_bad_out(capsys, tmp_path):
    code, out, _ = run(capsys, "demo", "--quick", "--no-plot", "--out", tmp_path)
    assert code == 0
    assert "skipped" in out
    assert not list(tmp_path.iterdir())
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    code, _, err = run(capsys, "demo", "--quick", "--out", not_a_dir)
    assert_one_line_error(code, err, "not a directory")


def test_no_arguments_runs_the_demo(capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(demo_module, "run_demo", lambda console, **kw: calls.append(kw))
    code, _, _ = run(capsys)
    assert code == 0
    assert calls == [
        {"out_dir": ".", "quick": False, "plot": True, "seed": 2026, "force": False}
    ]


def test_progress_goes_to_stderr(capsys, tmp_path, files):
    code, out, err = run(capsys, "info", files["npy"], "--progress")
    assert code == 0
    assert "lowrank: reading" in err
    assert "lowrank: singular values" in err
    assert "lowrank:" not in out


# -- info --------------------------------------------------------------------


def test_info_dense(capsys, files):
    code, out, _ = run(capsys, "info", files["npy"])
    assert code == 0
    assert field(out, "shape").startswith("40 x 30 float64 (dense)")
    assert field(out, "numerical rank").startswith("30 of 30")
    s = np.linalg.svd(files["matrix"], compute_uv=False)
    condition = float(re.search(r"= ([0-9.e+-]+)", field(out, "condition number"))[1])
    assert condition == pytest.approx(s[0] / s[-1], rel=1e-2)
    assert field(out, "rank for accuracy").startswith("1e-01: 5, 1e-02: 5, 1e-04: 5,")
    frobenius = float(field(out, "norms").split()[1].rstrip(","))
    assert frobenius == pytest.approx(np.linalg.norm(files["matrix"]), rel=1e-4)


def test_info_rank_deficient_hilbert(capsys, tmp_path):
    path = tmp_path / "h.npy"
    np.save(path, hilbert(12))
    code, out, _ = run(capsys, "info", path)
    assert code == 0
    assert field(out, "numerical rank").startswith("11 of 12")
    assert "over the numerical rank" in field(out, "condition number")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("npz", "6 x 6 float64 (dense)"),
        ("mtx", "60 x 50 float64 (sparse CSR, 150 nonzeros"),
        ("csv", "3 x 3 float64 (dense)"),
        ("txt", "4 x 4 float64 (dense)"),
        pytest.param("png", "24 x 24 float64 (grayscale image", marks=needs_pillow),
    ],
)
def test_info_reads_every_format(capsys, files, key, expected):
    code, out, err = run(capsys, "info", files[key])
    assert code == 0, err
    assert field(out, "shape").startswith(expected)


def test_info_npz_key_and_csv_delimiters(capsys, files, tmp_path):
    code, out, _ = run(capsys, "info", files["npz2"], "--key", "second")
    assert code == 0
    assert field(out, "shape").startswith("4 x 2")
    semicolons = tmp_path / "semi.csv"
    semicolons.write_text("# comment\n1;2\n3;4\n5;6\n")
    code, out, _ = run(capsys, "info", semicolons)
    assert code == 0
    assert field(out, "shape").startswith("3 x 2")
    tabs = tmp_path / "tabs.tsv"
    tabs.write_text("1\t2\t3\n")
    code, out, _ = run(capsys, "info", tabs)
    assert code == 0
    assert field(out, "shape").startswith("1 x 3")


def test_info_gzipped_mtx_and_integer_and_half_data(capsys, files, tmp_path):
    gz = tmp_path / "s.mtx.gz"
    gz.write_bytes(gzip.compress(files["mtx"].read_bytes()))
    code, out, _ = run(capsys, "info", gz)
    assert code == 0
    assert "sparse CSR" in out
    ints = tmp_path / "ints.npy"
    np.save(ints, np.arange(6).reshape(2, 3))
    code, out, _ = run(capsys, "info", ints)
    assert code == 0
    assert "2 x 3 float64" in out
    half = tmp_path / "half.npy"
    np.save(half, np.eye(3, dtype=np.float16))
    code, out, err = run(capsys, "info", half)
    assert code == 0
    assert "float32" in out
    assert "float16 values converted" in err


def test_info_large_input_computes_the_leading_singular_values(
    capsys, files, monkeypatch
):
    monkeypatch.setattr(spectrum_module, "FULL_SPECTRUM_SIDE", 10)
    monkeypatch.setattr(spectrum_module, "LEADING", 8)
    code, out, _ = run(capsys, "info", files["npy"])
    assert code == 0
    assert field(out, "numerical rank").startswith(">= 8 of 30")
    assert "not estimated" in field(out, "condition number")


def test_info_zero_matrix(capsys, tmp_path):
    path = tmp_path / "zero.npy"
    np.save(path, np.zeros((3, 2)))
    code, out, _ = run(capsys, "info", path)
    assert code == 0
    assert "the matrix is zero" in out


@needs_matplotlib
def test_info_plot(capsys, files, tmp_path):
    plot = tmp_path / "spectrum.png"
    code, out, _ = run(capsys, "info", files["mtx"], "--plot", plot)
    assert code == 0
    assert plot.stat().st_size > 1000
    assert str(plot) in out


# -- compress ----------------------------------------------------------------


@pytest.mark.parametrize(
    "method", ["auto", "dense", "randomized", "block_krylov", "lanczos"]
)
def test_compress_svd_methods_save_the_factors(capsys, files, tmp_path, method):
    out_file = tmp_path / "f.npz"
    code, out, err = run(
        capsys,
        "compress",
        files["npy"],
        "--rank",
        5,
        "--method",
        method,
        "-o",
        out_file,
    )
    assert code == 0, err
    assert field(out, "rank") == "5"
    assert float(field(out, "relative error").split()[0]) < 1e-5
    with np.load(out_file, allow_pickle=False) as saved:
        approx = (saved["U"] * saved["S"]) @ saved["Vh"]
        assert str(saved["method"]).startswith("truncated_svd")
    np.testing.assert_allclose(approx, files["matrix"], atol=1e-5)


def test_compress_id_and_cur(capsys, files, tmp_path):
    a = files["matrix"]
    code, out, _ = run(
        capsys,
        "compress",
        files["npy"],
        "--tol",
        1e-3,
        "--method",
        "id",
        "-o",
        tmp_path / "id",
    )
    assert code == 0
    assert field(out, "method") == "interpolative"
    with np.load(tmp_path / "id.npz") as saved:
        np.testing.assert_allclose(a[:, saved["idx"]] @ saved["coef"], a, atol=1e-4)
    code, out, _ = run(
        capsys,
        "compress",
        files["npy"],
        "--rank",
        5,
        "--method",
        "cur",
        "-o",
        tmp_path / "c.npz",
    )
    assert code == 0
    assert field(out, "rank") == "5"
    with np.load(tmp_path / "c.npz") as saved:
        np.testing.assert_allclose(saved["C"] @ saved["U"] @ saved["R"], a, atol=1e-4)
        np.testing.assert_array_equal(saved["C"], a[:, saved["cols"]])


def test_compress_tol_reports_the_request(capsys, files):
    code, out, _ = run(capsys, "compress", files["npy"], "--tol", 0.01)
    assert code == 0
    assert field(out, "rank") == "5"
    assert "<= 0.01 ||A||_2" in field(out, "requested")


def test_compress_sparse_stays_sparse(capsys, files, monkeypatch):
    from lowrank._cli import compress as compress_module

    seen = []
    original = compress_module.approximate

    def spy(a, *args, **kwargs):
        seen.append(scipy.sparse.issparse(a))
        return original(a, *args, **kwargs)

    monkeypatch.setattr(compress_module, "approximate", spy)
    for method in ("auto", "id", "cur"):
        code, out, err = run(
            capsys, "compress", files["mtx"], "--rank", 4, "--method", method
        )
        assert code == 0, err
        assert "sparse CSR" in out
    assert seen == [True, True, True]


@needs_pillow
@needs_matplotlib
def test_compress_image_writes_the_reconstruction(capsys, files, tmp_path):
    image, plot = tmp_path / "rank2.png", tmp_path / "s.png"
    code, out, err = run(
        capsys, "compress", files["png"], "--rank", 2, "--image", image, "--plot", plot
    )
    assert code == 0, err
    assert "rank-2 image" in out
    with Image.open(image) as written:
        assert written.size == (24, 24)
    assert plot.stat().st_size > 1000


@needs_pillow
def test_compress_image_of_a_matrix(capsys, files, tmp_path):
    path = tmp_path / "b.png"
    code, out, err = run(capsys, "compress", files["npy"], "--rank", 1, "--image", path)
    assert code == 0, err
    assert "rank-1 image" in out
    with Image.open(path) as written:
        assert written.size == (30, 40)  # width x height


def test_images_without_pillow(capsys, files, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    code, _, err = run(capsys, "info", files["png"])
    assert_one_line_error(code, err, "reading images needs Pillow", "lowrank[plot]")
    image = tmp_path / "out.png"
    code, out, err = run(
        capsys, "compress", files["npy"], "--rank", 1, "--image", image
    )
    assert_one_line_error(code, err, "writing images needs Pillow", "lowrank[plot]")
    assert out == ""  # found before any work


@needs_pillow
def test_jpeg_input_with_pillow(capsys, tmp_path):
    path = tmp_path / "photo.jpg"
    gradient = np.add.outer(np.arange(32), np.arange(48)).astype(np.uint8) * 3
    Image.fromarray(np.stack([gradient] * 3, axis=-1)).save(path)
    code, out, err = run(
        capsys, "compress", path, "--rank", 3, "--image", tmp_path / "o.jpg"
    )
    assert code == 0, err
    assert "32 x 48 float64 (grayscale image" in out


# -- pinv --------------------------------------------------------------------


def test_pinv_matrix(capsys, files, tmp_path):
    out_file = tmp_path / "x.npy"
    code, out, err = run(capsys, "pinv", files["npy"], "-o", out_file)
    assert code == 0, err
    np.testing.assert_allclose(
        np.load(out_file), np.linalg.pinv(files["matrix"]), atol=1e-8
    )
    assert field(out, "rank") == "30 of 30"
    residuals = re.findall(r"\d\.\de[+-]\d\d", field(out, "Moore–Penrose"))
    assert len(residuals) == 4
    assert max(float(r) for r in residuals) < 1e-7  # cond(A) is about 1e6


def test_pinv_options_wide_and_stack(capsys, files, tmp_path):
    wide = tmp_path / "wide.npy"
    np.save(wide, files["matrix"].T)
    code, out, _ = run(capsys, "pinv", wide, "-o", tmp_path / "x", "--rtol", 1e-3)
    assert code == 0
    assert field(out, "rank") == "5 of 30"  # the noise is cut off
    assert np.load(tmp_path / "x.npy").shape == (40, 30)
    code, out, _ = run(
        capsys, "pinv", files["stack"], "-o", tmp_path / "s.npy", "--method", "svd"
    )
    assert code == 0
    assert "over the stack" in out
    stack = np.load(files["stack"])
    np.testing.assert_allclose(
        np.load(tmp_path / "s.npy"), np.linalg.pinv(stack), atol=1e-12
    )
    code, out, err = run(
        capsys, "pinv", files["mtx"], "-o", tmp_path / "p.npy", "--damp", 0.1
    )
    assert code == 0
    assert "sparse matrix is dense" in err
    assert "Moore–Penrose" not in out  # a damped inverse is not one


# -- errors ------------------------------------------------------------------


@pytest.mark.parametrize("command", ["info", "compress", "pinv"])
def test_refuses_pickled_npy(capsys, files, tmp_path, command):
    extra = {"info": [], "compress": ["--rank", 1], "pinv": ["-o", tmp_path / "x.npy"]}
    for key in ("pickled", "raw_pickle"):
        code, _, err = run(capsys, command, files[key], *extra[command])
        assert_one_line_error(code, err, "never unpickles")
    assert not (tmp_path / "x.npy").exists()


def test_refuses_pickled_npz(capsys, tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, a=np.array([None], dtype=object))
    code, _, err = run(capsys, "info", path)
    assert_one_line_error(code, err, "never unpickles")


def test_missing_and_unreadable_files(capsys, tmp_path):
    code, _, err = run(capsys, "info", tmp_path / "nope.npy")
    assert_one_line_error(code, err, "no such file")
    code, _, err = run(capsys, "info", tmp_path)
    assert_one_line_error(code, err, "is a directory")
    bad = {
        "garbage.npy": (b"not numpy", "not a .npy file"),
        "truncated.npy": (b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fo", "cannot read"),
        "garbage.npz": (b"not a zip", "not a .npz file"),
        "broken.npz": (b"PK\x03\x04broken", "corrupt .npz"),
        "garbage.mtx": (b"hello\n", "Matrix Market"),
        "words.csv": (b"a,b\nc,d\n", "table of numbers"),
        "ragged.csv": (b"1,2\n3\n", "table of numbers"),
        "empty.txt": (b"", "non-empty"),
        "garbage.png": (b"\x89PNG not really", "as an image" if Image else "Pillow"),
        "data.xyz": (b"1 2", "unknown file type"),
    }
    for name, (content, message) in bad.items():
        path = tmp_path / name
        path.write_bytes(content)
        code, _, err = run(capsys, "info", path)
        assert_one_line_error(code, err, message)


def test_npz_key_errors(capsys, files):
    code, _, err = run(capsys, "info", files["npz2"])
    assert_one_line_error(code, err, "holds 2 arrays (first, second)", "--key")
    code, _, err = run(capsys, "info", files["npz2"], "--key", "third")
    assert_one_line_error(code, err, "no array 'third'")
    code, _, err = run(capsys, "info", files["npy"], "--key", "a")
    assert_one_line_error(code, err, "not one")


def test_non_finite_values(capsys, tmp_path):
    path = tmp_path / "nan.npy"
    np.save(path, np.array([[1.0, np.inf]]))
    code, _, err = run(capsys, "compress", path, "--rank", 1)
    assert_one_line_error(code, err, "NaN or Inf")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--rank", 1, "--tol", 0.1], "not allowed with argument --rank"),
        ([], "one of the arguments --rank --tol --ratio is required"),
        (["--rank", 0], "positive integer"),
        (["--rank", "two"], "positive integer"),
        (["--tol", 1.5], "0 < EPS < 1"),
        (["--tol", "x"], "expected a number"),
        (["--rank", 1, "--method", "magic"], "invalid choice"),
    ],
)
def test_compress_bad_options(capsys, files, argv, fragment):
    code, _, err = run(capsys, "compress", files["npy"], *argv)
    assert_one_line_error(code, err, fragment, "lowrank compress --help", status=2)


def test_compress_shape_and_option_errors(capsys, files, tmp_path):
    cases = [
        ([files["vector"], "--rank", 1], "shape (5,)"),
        ([files["stack"], "--rank", 1], "shape (3, 5, 4)"),
        ([files["npy"], "--rank", 31], "exceeds min(M, N) = 30"),
        ([files["npy"], "--tol", 0.1, "--method", "cur"], "needs --rank"),
        ([files["npy"], "--tol", 0.1, "--method", "lanczos"], "not supported"),
        (
            [files["npy"], "--rank", 1, "-o", tmp_path / "no" / "f.npz"],
            "does not exist",
        ),
        ([files["npy"], "--rank", 1, "--image", tmp_path / "f.npy"], "ending in"),
        ([files["npy"], "--rank", 1, "--image", tmp_path], "is a directory"),
    ]
    for argv, fragment in cases:
        code, out, err = run(capsys, "compress", *argv)
        assert_one_line_error(code, err, fragment)
        assert out == ""  # output problems are found before any work


def test_plot_without_matplotlib_is_an_error(capsys, files, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for argv in (["info", files["npy"]], ["compress", files["npy"], "--rank", 1]):
        code, _, err = run(capsys, *argv, "--plot", tmp_path / "p.png")
        assert_one_line_error(code, err, "--plot needs matplotlib", "lowrank[plot]")


def test_pinv_errors(capsys, files, tmp_path):
    code, _, err = run(capsys, "pinv", files["vector"], "-o", tmp_path / "x.npy")
    assert_one_line_error(code, err, "shape (5,)")
    code, _, err = run(capsys, "pinv", files["npy"])
    assert_one_line_error(code, err, "-o/--output", status=2)
    code, _, err = run(
        capsys, "pinv", files["npy"], "-o", tmp_path / "x.npy", "--rtol", -1
    )
    assert_one_line_error(code, err, ">= 0", status=2)
    code, _, err = run(
        capsys, "pinv", files["npy"], "-o", tmp_path / "x.npy", "--method", "lu"
    )
    assert_one_line_error(code, err, "invalid choice", status=2)


def test_info_shape_errors(capsys, files, tmp_path):
    empty = tmp_path / "empty.npy"
    np.save(empty, np.zeros((0, 3)))
    for path in (files["vector"], files["stack"], empty):
        code, _, err = run(capsys, "info", path)
        assert_one_line_error(code, err, "needs a non-empty 2-D matrix")


# -- help, version, entry points ---------------------------------------------


@pytest.mark.parametrize("command", [[], ["demo"], ["compress"], ["pinv"], ["info"]])
def test_help(capsys, command):
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    assert out.startswith(f"usage: lowrank {' '.join(command)}".rstrip())


def test_version_and_unknown_command(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"lowrank {lowrank.__version__}"
    code, _, err = run(capsys, "frobnicate")
    assert_one_line_error(code, err, "invalid choice", status=2)


def test_python_dash_m(files, tmp_path):
    """Through a real process: a result, and a refusal without a traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "lowrank", "info", str(files["txt"])],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "4 x 4 float64" in done.stdout
    refused = subprocess.run(
        [sys.executable, "-m", "lowrank", "info", str(files["pickled"])],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr.count("\n") == 1
    assert "never unpickles" in refused.stderr
