"""The benchmark report runner (python -m benchmarks) on tiny matrices."""

import json
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import __main__ as runner  # noqa: E402
from benchmarks import _report  # noqa: E402
from benchmarks._cases import SECTIONS  # noqa: E402


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory):
    """One --smoke run with fbpca hidden, shared by the tests below."""
    out = tmp_path_factory.mktemp("bench")
    with pytest.MonkeyPatch.context() as patch:
        # An optional peer that is not installed must be a note, not an error.
        patch.setitem(sys.modules, "fbpca", None)
        status = runner.main(
            ["--smoke", "--quiet", "--out", str(out), "--docs", str(out / "b.rst")]
        )
    return status, out


def test_smoke_run_writes_markdown_json_and_rst(smoke_report):
    status, out = smoke_report
    assert status == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "b.rst",
        "benchmark-report.json",
        "benchmark-report.md",
    ]


def test_json_report_has_machine_cases_and_rows(smoke_report):
    _, out = smoke_report
    report = json.loads((out / "benchmark-report.json").read_text())
    assert report["mode"] == "smoke"
    machine = report["machine"]
    for key in ("cpu", "logical_cpus", "numpy", "scipy", "numba", "blas"):
        assert machine[key], key
    rows = report["rows"]
    cases = {c["case"] for c in report["cases"]}
    assert {r["case"] for r in rows} == cases
    assert {c["section"] for c in report["cases"]} == {r["section"] for r in rows}
    assert len({c["section"] for c in report["cases"]}) == len(SECTIONS)
    for case in cases:
        ours = [r for r in rows if r["case"] == case and r["lowrank"]]
        assert ours, case
        timed = [r for r in ours if r["time"] is not None]
        assert timed, case
        assert timed[0]["ratio"] == pytest.approx(1.0)
        assert all(r["error"] is not None and r["error"] >= 0 for r in timed)
    assert not any(r["failed"] for r in rows)
    # Peers: numpy and scipy always run; the hidden fbpca is reported missing.
    libraries = {r["library"] for r in rows}
    assert {"numpy.linalg.pinv", "scipy.linalg.pinv"} <= libraries
    fbpca = [r for r in rows if r["library"].startswith("fbpca")]
    assert fbpca
    assert all(r["time"] is None and "not installed" in r["note"] for r in fbpca)


def test_markdown_report_tables(smoke_report):
    _, out = smoke_report
    text = (out / "benchmark-report.md").read_text()
    assert text.startswith("# lowrank benchmark report")
    assert "## Machine" in text
    assert "CPU:" in text
    assert "numba" in text
    assert "| case | library | time [s] | ratio | error | note |" in text
    assert "not installed (pip install fbpca)" in text
    report = json.loads((out / "benchmark-report.json").read_text())
    table_lines = [line for line in text.splitlines() if line.startswith("| ")]
    # one header per section plus one line per row
    assert len(table_lines) == len(report["rows"]) + len(SECTIONS)
    for line in table_lines:
        assert line.count(" | ") == 5, line  # "|" inside cells is escaped


def test_rst_page_is_valid_restructuredtext(smoke_report):
    _, out = smoke_report
    text = (out / "b.rst").read_text()
    for key in ("pseudo-inverse-methods-on-a-tall-matrix", "least-squares"):
        assert f".. begin {key}" in text
        assert f".. end {key}" in text
    import docutils.core  # in the test extra

    docutils.core.publish_doctree(
        text, settings_overrides={"halt_level": 2, "report_level": 2}
    )


def test_rerender_from_json(smoke_report, tmp_path):
    _, out = smoke_report
    status = runner.main(
        [
            "--quiet",
            "--from-json",
            str(out / "benchmark-report.json"),
            "--out",
            str(tmp_path),
        ]
    )
    assert status == 0
    assert (tmp_path / "benchmark-report.md").read_text() == (
        out / "benchmark-report.md"
    ).read_text()


def test_failing_peer_is_a_note_and_failing_lowrank_fails():
    def boom():
        raise RuntimeError("no convergence\nsecond line")

    case = _report.Case(
        "S",
        "c",
        "abs",
        [
            _report.Peer("lowrank f", lambda: 2.0, lowrank=True),
            _report.Peer("peer", boom),
            _report.Peer("other", None, "not installed (pip install other)"),
            _report.Peer("lowrank g", boom, lowrank=True),
        ],
        error=abs,
    )
    rows = _report.run_case(case, "smoke")
    assert [r.failed for r in rows] == [False, False, False, True]
    assert rows[0].error == 2.0
    assert rows[0].ratio == 1.0
    assert rows[1].note == "failed: RuntimeError: no convergence"
    assert rows[2].note == "not installed (pip install other)"


def test_timing_budget():
    calls = []
    seconds, runs, warmed, result = _report.timed(lambda: calls.append(1) or 7, "quick")
    assert warmed
    assert result == 7
    assert runs == 3
    assert len(calls) == 4
    assert seconds >= 0
