"""Tests of the lowrank command."""

import io
import subprocess
import sys

import pytest

import lowrank
from lowrank import cli


def test_demo_prints_small_residuals():
    out = io.StringIO()
    cli.run_demo(out=out)
    text = out.getvalue()
    assert "Moore–Penrose" in text
    rows = [line for line in text.splitlines() if line.startswith("tall data matrix")]
    assert len(rows) == 1
    residuals = [float(v) for v in rows[0].split()[-6:-2]]
    assert max(residuals) < 1e-12
    assert "numerical rank 11 of 12" in text


def test_main_without_arguments_runs_the_demo(capsys):
    assert cli.main([]) == 0
    assert "stack of 20000" in capsys.readouterr().out


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert lowrank.__version__ in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["demo", "--help"])
    assert "usage: lowrank demo" in capsys.readouterr().out


def test_unknown_command_fails_with_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["frobnicate"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_python_dash_m():
    done = subprocess.run(
        [sys.executable, "-m", "lowrank", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == f"lowrank {lowrank.__version__}"
