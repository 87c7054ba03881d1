"""``lowrank compress`` on .safetensors weight files: a synthetic model end to end."""

import pickle
import sys

import numpy as np
import pytest

ml_dtypes = pytest.importorskip("ml_dtypes")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

from lowrank._cli import io as io_module  # noqa: E402
from tests.cli.test_cli import assert_one_line_error, run  # noqa: E402
from tests.cli.test_outputs import FailingFile, leftovers  # noqa: E402

LAYERS = {  # name -> (M, N): a few linear layers, y = W x
    "model.layers.0.q_proj.weight": (48, 64),
    "model.layers.0.up_proj.weight": (96, 64),
    "model.layers.1.down_proj.weight": (64, 96),
}


def _activations(rng, t, n):
    """Structured inputs: a few strong directions, decaying covariance."""
    q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return (rng.standard_normal((t, n)) * np.geomspace(20.0, 0.02, n)) @ q.T


def _model(rng):
    weights, grams, xs = {}, {}, {}
    for name, (m, n) in LAYERS.items():
        # weights with a slowly decaying spectrum, as trained layers have
        u = np.linalg.qr(rng.standard_normal((m, m)))[0]
        v = np.linalg.qr(rng.standard_normal((n, n)))[0]
        s = 1.0 / np.sqrt(np.arange(1, min(m, n) + 1))
        weights[name] = (u[:, : s.size] * s) @ v[:, : s.size].T
        xs[name] = _activations(rng, 400, n)
        grams[name] = xs[name].T @ xs[name]
    return weights, grams, xs


@pytest.fixture
def model(tmp_path):
    rng = np.random.default_rng(0)
    weights, grams, xs = _model(rng)
    stored = {k: v.astype(np.float32) for k, v in weights.items()}
    stored["model.norm.weight"] = np.ones(64, np.float32)  # 1-D: copied
    stored["model.embed.weight"] = rng.standard_normal((10, 64)).astype(np.float32)
    path = tmp_path / "model.safetensors"
    safetensors_numpy.save_file(stored, str(path), metadata={"format": "np"})
    gpath = tmp_path / "gram.safetensors"
    safetensors_numpy.save_file(
        {k: v.astype(np.float32) for k, v in grams.items()}, str(gpath)
    )
    return path, gpath, stored, xs


def _load(path):
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()  # noqa: SIM118


def test_whitened_beats_plain_layer_by_layer_at_equal_parameters(
    capsys, model, tmp_path
):
    path, gpath, stored, xs = model
    white, plain = tmp_path / "white.safetensors", tmp_path / "plain.safetensors"
    select = ["--include", "model.layers.*"]
    code, out, _ = run(
        capsys,
        "compress",
        path,
        "--ratio",
        "0.4",
        "--gram",
        gpath,
        *select,
        "-o",
        white,
    )
    assert code == 0, out
    assert "model.layers.0.q_proj.weight" in out
    assert "weighted" in out
    code, _, _ = run(capsys, "compress", path, "--ratio", "0.4", *select, "-o", plain)
    assert code == 0
    tw, meta = _load(white)
    tp, _ = _load(plain)
    assert meta["lowrank.format"] == "factors"
    assert meta["format"] == "np"  # the input's metadata is kept
    for name, (m, n) in LAYERS.items():
        w = stored[name].astype(np.float64)
        x = xs[name]
        aw, bw = tw[f"{name}.A"], tw[f"{name}.B"]
        ap, bp = tp[f"{name}.A"], tp[f"{name}.B"]
        assert aw.dtype == np.float32
        assert aw.shape == ap.shape  # equal parameters
        assert aw.shape[1] * (m + n) <= 0.4 * m * n
        act_white = np.linalg.norm(x @ (w - aw @ bw).T)
        act_plain = np.linalg.norm(x @ (w - ap @ bp).T)
        assert act_white < 0.9 * act_plain
        assert name not in tw  # replaced by its factors
    # not selected: copied bit for bit
    assert np.array_equal(tw["model.norm.weight"], stored["model.norm.weight"])
    assert np.array_equal(tw["model.embed.weight"], stored["model.embed.weight"])


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_round_trip(capsys, tmp_path, dtype):
    rng = np.random.default_rng(1)
    half = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.float16
    w = rng.standard_normal((40, 32)).astype(np.float32)
    path = tmp_path / "h.safetensors"
    safetensors_numpy.save_file({"w": w.astype(half)}, str(path))
    out = tmp_path / "o.safetensors"
    code, text, _ = run(capsys, "compress", path, "--rank", "8", "-o", out)
    assert code == 0, text
    tensors, _ = _load(out)
    assert tensors["w.A"].dtype == np.dtype(half)
    assert tensors["w.B"].dtype == np.dtype(half)
    # computed in float32 from the stored values: the best rank 8 up to the
    # rounding of the factors to the half precision
    stored = w.astype(half).astype(np.float64)
    s = np.linalg.svd(stored, compute_uv=False)
    approx = tensors["w.A"].astype(np.float64) @ tensors["w.B"].astype(np.float64)
    opt = np.sqrt(np.sum(s[8:] ** 2))
    unit = float(np.finfo(half).eps)
    assert np.linalg.norm(stored - approx) <= opt + 4 * unit * np.linalg.norm(stored)
    # --dtype float32 keeps the computed precision
    out32 = tmp_path / "o32.safetensors"
    assert (
        run(capsys, "compress", path, "--rank", "8", "--dtype", "float32", "-o", out32)[
            0
        ]
        == 0
    )
    t32, _ = _load(out32)
    assert t32["w.A"].dtype == np.float32
    approx32 = t32["w.A"].astype(np.float64) @ t32["w.B"].astype(np.float64)
    assert np.isclose(np.linalg.norm(stored - approx32), opt, rtol=1e-5)


@pytest.mark.parametrize("which", ["top", "bottom"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_adapter_split_is_residual_exact_in_the_file(
    capsys, model, tmp_path, which, dtype
):
    path, gpath, stored, _ = model
    out = tmp_path / "a.safetensors"
    code, text, _ = run(
        capsys,
        "compress",
        path,
        "--rank",
        "4",
        "--adapter",
        which,
        "--scaling",
        "2",
        "--gram",
        gpath,
        "--include",
        "*layers*",
        "--dtype",
        dtype,
        "-o",
        out,
    )
    assert code == 0, text
    tensors, meta = _load(out)
    assert meta["lowrank.format"] == "adapter"
    unit = float(np.finfo(np.float32 if dtype == "float32" else ml_dtypes.bfloat16).eps)
    for name, (m, n) in LAYERS.items():
        w = stored[name].astype(np.float64)
        res = tensors[name].astype(np.float64)
        b = tensors[f"{name}.lora_B"].astype(np.float64)
        a = tensors[f"{name}.lora_A"].astype(np.float64)
        assert b.shape == (m, 4)
        assert a.shape == (4, n)
        # exact up to the rounding of W_res to the output dtype
        err = np.abs(res + 2.0 * b @ a - w)
        assert np.all(err <= unit * np.abs(res) + 1e-6 * np.abs(w).max())


def test_tol_bounds_the_weighted_error(capsys, model, tmp_path):
    path, gpath, stored, xs = model
    out = tmp_path / "t.safetensors"
    code, text, _ = run(
        capsys,
        "compress",
        path,
        "--tol",
        "0.2",
        "--gram",
        gpath,
        "--include",
        "*layers*",
        "-o",
        out,
    )
    assert code == 0, text
    tensors, _ = _load(out)
    for name in LAYERS:
        w, x = stored[name].astype(np.float64), xs[name]
        approx = tensors[f"{name}.A"].astype(np.float64) @ tensors[f"{name}.B"]
        assert np.linalg.norm(x @ (w - approx).T) <= 0.201 * np.linalg.norm(x @ w.T)


def test_min_size_and_exclude_select_tensors(capsys, model, tmp_path):
    path, _, _, _ = model
    out = tmp_path / "s.safetensors"
    code, text, _ = run(
        capsys,
        "compress",
        path,
        "--rank",
        "4",
        "--min-size",
        "4000",
        "--exclude",
        "*q_proj*",
        "-o",
        out,
    )
    assert code == 0, text
    tensors, _ = _load(out)
    assert "model.layers.0.up_proj.weight.A" in tensors
    assert "model.layers.0.q_proj.weight" in tensors  # excluded: copied
    assert "model.embed.weight" in tensors  # 640 entries < 4000: copied


def test_progress_bar_on_stderr(capsys, model, tmp_path):
    path, _gpath, _, _ = model
    code, out, err = run(capsys, "compress", path, "--rank", "4", "--progress")
    assert code == 0
    assert "lowrank: [" in err
    assert "4/4" in err
    assert "[" not in out.splitlines()[0]


# -- refusals ------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".bin", ".pt", ".pth", ".ckpt"])
def test_pickled_checkpoints_are_refused(capsys, tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    for command in (["compress", path, "--rank", "2"], ["info", path]):
        code, _, err = run(capsys, *command)
        assert_one_line_error(code, err, "never unpickles", ".safetensors")


def test_a_pickle_named_safetensors_is_refused(capsys, tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps({"w": [1.0]}))
    code, _, err = run(capsys, "compress", path, "--rank", "2")
    assert_one_line_error(code, err, "never unpickles", ".safetensors")
    zipped = tmp_path / "zip.safetensors"  # PyTorch's zip format
    zipped.write_bytes(b"PK\x03\x04" + b"\x00" * 60)
    code, _, err = run(capsys, "compress", zipped, "--rank", "2")
    assert_one_line_error(code, err, "never unpickles")


def test_corrupt_headers_are_refused(capsys, tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes((10**12).to_bytes(8, "little") + b"{}")
    code, _, err = run(capsys, "compress", path, "--rank", "2")
    assert_one_line_error(code, err, "header claims")
    path.write_bytes((20).to_bytes(8, "little") + b'{"w": {"dtype": "F3"}}')
    code, _, err = run(capsys, "compress", path, "--rank", "2")
    assert_one_line_error(code, err, "cannot read")


def test_never_overwrites_the_input_and_needs_force(capsys, model, tmp_path):
    path, _, _, _ = model
    before = path.read_bytes()
    code, _, err = run(capsys, "compress", path, "--rank", "2", "-o", path)
    assert_one_line_error(code, err, "is the input file")
    code, _, err = run(capsys, "compress", path, "--rank", "2", "-o", path, "--force")
    assert_one_line_error(code, err, "is the input file")
    assert path.read_bytes() == before
    out = tmp_path / "o.safetensors"
    out.write_bytes(b"old")
    code, _, err = run(capsys, "compress", path, "--rank", "2", "-o", out)
    assert_one_line_error(code, err, "exists; pass --force")
    assert out.read_bytes() == b"old"
    assert run(capsys, "compress", path, "--rank", "2", "-o", out, "--force")[0] == 0
    assert out.read_bytes() != b"old"


@pytest.mark.parametrize("existing", [False, True])
def test_an_interrupted_write_leaves_no_partial_file(
    capsys, model, tmp_path, monkeypatch, existing
):
    path, _, _, _ = model
    out = tmp_path / "o.safetensors"
    if existing:
        out.write_bytes(b"the old content")
    files = []

    def failing(fd):
        import os

        files.append(FailingFile(os.fdopen(fd, "wb"), 100, KeyboardInterrupt()))
        return files[-1]

    monkeypatch.setattr(io_module, "_open_for_writing", failing)
    code, _, _ = run(
        capsys,
        "compress",
        path,
        "--rank",
        "2",
        "-o",
        out,
        *(["--force"] if existing else []),
    )
    assert code == 130
    assert files[0].written == 100
    if existing:
        assert out.read_bytes() == b"the old content"
    else:
        assert not out.exists()
    names = ["model.safetensors", "gram.safetensors", "o.safetensors"]
    assert leftovers(tmp_path, *names) == []


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--rank", "2", "--adapter", "top", "--tol", "0.1"], "not allowed with"),
        (["--tol", "0.1", "--adapter", "top"], "--adapter needs --rank or --ratio"),
        (["--rank", "2", "--method", "cur"], "--method is auto or dense"),
        (["--rank", "2", "--include", "nothing*"], "no 2-D floating-point tensor"),
        (["--rank", "2", "--key", "w"], "--key selects"),
        (["--ratio", "1.5"], "0 < R <= 1"),
        (["--rank", "2", "-o", "x.npz"], "expected a file name ending in"),
    ],
)
def test_bad_options(capsys, model, tmp_path, extra, fragment):
    path, _, _, _ = model
    extra = [str(tmp_path / e) if e.endswith(".npz") else e for e in extra]
    code, _, err = run(capsys, "compress", path, *extra)
    assert code in (1, 2)
    assert fragment in err
    assert "Traceback" not in err


def test_gram_file_problems(capsys, model, tmp_path):
    path, _, _, _ = model
    g = tmp_path / "g.safetensors"
    safetensors_numpy.save_file({"other": np.eye(3, dtype=np.float32)}, str(g))
    code, _, err = run(capsys, "compress", path, "--rank", "2", "--gram", g)
    assert_one_line_error(code, err, "holds a G for none")
    safetensors_numpy.save_file(
        {"model.layers.0.q_proj.weight": np.eye(3, dtype=np.float32)}, str(g)
    )
    code, _, err = run(capsys, "compress", path, "--rank", "2", "--gram", g)
    assert code == 1
    assert "must be (64, 64)" in err.splitlines()[-1]
    safetensors_numpy.save_file(
        {"model.layers.0.q_proj.weight": -np.eye(64, dtype=np.float32)}, str(g)
    )
    code, _, err = run(capsys, "compress", path, "--rank", "2", "--gram", g)
    assert code == 1
    assert "positive semidefinite" in err.splitlines()[-1]
    code, _, err = run(
        capsys, "compress", path, "--rank", "2", "--gram", tmp_path / "g.pt"
    )
    assert_one_line_error(code, err)


def test_weight_options_need_a_weight_file(capsys, tmp_path):
    m = tmp_path / "m.npy"
    np.save(m, np.eye(5))
    code, _, err = run(capsys, "compress", m, "--ratio", "0.5")
    assert_one_line_error(code, err, "--ratio applies to .safetensors")
    code, _, err = run(capsys, "compress", m, "--rank", "2", "--adapter", "top")
    assert_one_line_error(code, err, "--adapter applies to .safetensors")


def test_missing_extra_names_it(capsys, model, monkeypatch):
    path, _, _, _ = model
    monkeypatch.setitem(sys.modules, "safetensors", None)
    code, _, err = run(capsys, "compress", path, "--rank", "2")
    assert_one_line_error(code, err, 'pip install "lowrank[weights]"')
