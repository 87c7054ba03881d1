"""The benchmark report: cases, timing, and the markdown/JSON/reST writers.

A :class:`Case` is one problem (one matrix) and the libraries that solve it;
each :class:`Peer` is a zero-argument callable, or a reason why it cannot run
(an optional library that is not installed). :func:`run_case` times every
peer on the same data, in this one process, and measures the error of each
result with the case's own error function, so that every time is reported
with the accuracy it came with. The writers turn the rows into a markdown
report, a JSON file and the reStructuredText page of the documentation.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import json
import math
import os
import platform
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import scipy

from benchmarks._common import cpu_model, median_time, package_version

#: Optional peers, as (import name, distribution name, pip requirement).
OPTIONAL_PEERS = [
    ("sklearn", "scikit-learn", "scikit-learn"),
    ("fbpca", "fbpca", "fbpca"),
    ("dask", "dask", '"dask[array]"'),
]

#: How long to time each peer, per mode: at most `repeat` timed runs after
#: one untimed warm-up, fewer if a run takes longer than `budget` / repeat,
#: and none after the warm-up if that alone took `single` seconds or more.
TIMING = {
    "smoke": {"repeat": 1, "budget": 0.0, "single": 0.0},
    "quick": {"repeat": 3, "budget": 0.3, "single": 5.0},
    "full": {"repeat": 7, "budget": 3.0, "single": 60.0},
}


@dataclasses.dataclass
class Peer:
    """One library's way of solving a case.

    `run` takes no arguments and returns the result the case's error
    function measures; None means the peer cannot run, for the reason in
    `missing` (reported in the table, never an error). `lowrank` marks the
    library under test: its failures fail the report.
    """

    library: str
    run: Callable[[], Any] | None
    missing: str = ""
    lowrank: bool = False


@dataclasses.dataclass
class Case:
    """One problem and the peers that solve it.

    `error(result)` returns the number reported in the error column (what
    it measures is `error_measure`); `note(result)` an optional remark
    (iterations, rank found, ...). Ratios are relative to the first peer
    that ran, which is lowrank's default.
    """

    section: str
    name: str
    error_measure: str
    peers: list[Peer]
    error: Callable[[Any], float]
    note: Callable[[Any], str] | None = None


@dataclasses.dataclass
class Row:
    """One line of the report."""

    section: str
    case: str
    library: str
    time: float | None = None
    runs: int = 0
    warmed: bool = True
    ratio: float | None = None
    error: float | None = None
    note: str = ""
    lowrank: bool = False
    failed: bool = False


def optional_import(name):
    """``(module, "")`` if `name` imports, else ``(None, "not installed ...")``."""
    try:
        module = importlib.import_module(name)
    except ImportError:
        top = name.split(".")[0]
        pip = next((p for n, _, p in OPTIONAL_PEERS if n == top), top)
        return None, f"not installed (pip install {pip})"
    return module, ""


def timed(function, mode):
    """``(median seconds, runs, warmed, last result)`` of `function()`.

    The first run is an untimed warm-up (imports, numba compilation,
    caches), unless it alone took `mode`'s `single` seconds: then it is the
    one measurement, and `warmed` is False.
    """
    settings = TIMING[mode]
    start = time.perf_counter()
    result = function()
    first = time.perf_counter() - start
    if first >= settings["single"]:
        return first, 1, False, result
    repeat = max(1, min(settings["repeat"], int(settings["budget"] / max(first, 1e-9))))
    seconds, result = median_time(function, repeat=repeat, warmup=0)
    return seconds, repeat, True, result


def _warning_note(caught):
    names = sorted({w.category.__name__ for w in caught})
    return f"warned: {', '.join(names)}" if names else ""


def run_case(case, mode, log=None):
    """Time every peer of `case` and measure its error; returns the rows."""
    rows = []
    reference = None
    for peer in case.peers:
        row = Row(case.section, case.name, peer.library, lowrank=peer.lowrank)
        rows.append(row)
        if peer.run is None:
            row.note = peer.missing or "not available"
            continue
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                row.time, row.runs, row.warmed, result = timed(peer.run, mode)
                row.error = float(case.error(result))
                notes = [case.note(result) if case.note else "", _warning_note(caught)]
        except Exception as exc:  # a peer failing on this input is a result too
            row.time = None
            row.failed = peer.lowrank
            message = str(exc).splitlines()[0] if str(exc) else ""
            row.note = f"failed: {type(exc).__name__}: {message}"[:160]
        else:
            if not row.warmed and mode != "smoke":
                notes.append("one run, no warm-up")
            row.note = "; ".join(n for n in notes if n)
            if reference is None:
                reference = row.time
            row.ratio = row.time / reference if reference else None
        if log is not None:
            log(format_row_text(row))
    return rows


def run_cases(cases: Iterable[Case], mode, log=None):
    """Run the cases one after another (each builds its matrices lazily)."""
    rows, meta = [], []
    for case in cases:
        if log is not None:
            log(f"-- {case.section}: {case.name}")
        start = time.perf_counter()
        rows += run_case(case, mode, log)
        meta.append(
            {
                "section": case.section,
                "case": case.name,
                "error": case.error_measure,
                "seconds": time.perf_counter() - start,
            }
        )
    return rows, meta


# ---------------------------------------------------------------- the machine


def machine_info():
    """The machine, the versions and the BLAS thread pools, as a dict."""
    info = {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": package_version("numba"),
        "lowrank": package_version("lowrank"),
        "optional peers": {
            dist: package_version(dist) or "not installed"
            for _, dist, _ in OPTIONAL_PEERS
        },
        "threadpoolctl": package_version("threadpoolctl") or "not installed",
        "blas": [],
        "load average": [round(x, 2) for x in os.getloadavg()]
        if hasattr(os, "getloadavg")
        else None,
    }
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        info["blas"] = ['unknown (pip install threadpoolctl, or ".[bench]")']
    else:
        for pool in threadpool_info():
            details = ", ".join(
                str(pool[key])
                for key in ("version", "architecture", "threading_layer")
                if pool.get(key)
            )
            info["blas"].append(
                f"{pool.get('user_api')}: {pool.get('internal_api')}"
                + (f" ({details})" if details else "")
                + f", {pool.get('num_threads')} threads, "
                f"{os.path.basename(pool.get('filepath', ''))}"
            )
    try:
        import numba

        info["numba threads"] = numba.config.NUMBA_NUM_THREADS
    except ImportError:  # pragma: no cover - numba is a dependency
        pass
    return info


def machine_lines(info):
    """`machine_info()` as a few human-readable lines."""
    peers = ", ".join(f"{k} {v}" for k, v in info["optional peers"].items())
    lines = [
        f"CPU: {info['cpu']}, {info['logical_cpus']} logical CPUs ({info['platform']})",
        f"python {info['python']}, numpy {info['numpy']}, scipy {info['scipy']}, "
        f"numba {info['numba']} ({info.get('numba threads', '?')} threads), "
        f"lowrank {info['lowrank']}",
        f"peers: {peers}",
    ]
    lines += [f"thread pool {pool}" for pool in info["blas"]]
    if info.get("load average"):
        lines.append(
            "load average (1, 5, 15 min) at the start: "
            + " ".join(f"{x:.2f}" for x in info["load average"])
        )
    return lines


# -------------------------------------------------------------------- writers


def _fmt_time(seconds):
    if seconds is None:
        return "—"
    if seconds >= 1:
        return f"{seconds:.2f}"
    if seconds >= 1e-3:
        return f"{seconds:.4f}"
    return f"{seconds:.2e}"


def _fmt_ratio(ratio):
    return "—" if ratio is None else f"{ratio:.2f}"


def _fmt_error(error):
    if error is None:
        return "—"
    if error == 0:
        return "0"
    if not math.isfinite(error):
        return str(error)
    return f"{error:.5g}" if 0.1 <= abs(error) < 1e4 else f"{error:.2e}"


COLUMNS = ["case", "library", "time [s]", "ratio", "error", "note"]


def _cells(row):
    return [
        row.case,
        row.library,
        _fmt_time(row.time),
        _fmt_ratio(row.ratio),
        _fmt_error(row.error),
        row.note,
    ]


def format_row_text(row):
    """One row as a line of text, for the progress log."""
    _, library, t, ratio, error, note = _cells(row)
    return f"   {library:<42} {t:>9} s  ratio {ratio:>6}  error {error:>9}  {note}"


def _sections(rows, meta):
    """[(section, [case meta...], [rows...])] in the order they ran."""
    order = []
    for item in meta:
        if item["section"] not in order:
            order.append(item["section"])
    return [
        (
            section,
            [m for m in meta if m["section"] == section],
            [r for r in rows if r.section == section],
        )
        for section in order
    ]


LEGEND = (
    "time: median wall time of up to 3 (quick) or 7 (full) runs in one "
    "process, after one untimed warm-up run; ratio: time / time of the "
    "case's first row, lowrank's default (> 1: slower than lowrank); error: "
    "as stated below each table (smaller is better)."
)


def _md_escape(text):
    return str(text).replace("|", "\\|")


def to_markdown(report):
    """The report (see :func:`make_report`) as a markdown document."""
    rows, meta = report_rows(report), report["cases"]
    out = [
        "# lowrank benchmark report",
        "",
        f"Mode `{report['mode']}`, {report['date']}, "
        f"{report['total_seconds']:.0f} s in total. Command: "
        f"`{report['command']}`.",
        "",
        "## Machine",
        "",
    ]
    out += [f"- {line}" for line in machine_lines(report["machine"])]
    out += ["", LEGEND, ""]
    for section, cases, section_rows in _sections(rows, meta):
        out += [f"## {section}", ""]
        out.append("| " + " | ".join(COLUMNS) + " |")
        out.append("|" + "|".join("---" for _ in COLUMNS) + "|")
        for row in section_rows:
            out.append("| " + " | ".join(_md_escape(c) for c in _cells(row)) + " |")
        out += ["", "Errors:", ""]
        out += [f"- {_md_escape(c['case'])}: {c['error']}" for c in cases]
        out.append("")
    return "\n".join(out)


def _rst_escape(text):
    text = str(text)
    for char in "\\*|`_":
        text = text.replace(char, "\\" + char)
    return text


def to_rst(report, title="Benchmarks", regenerate=None):
    """The report as the reStructuredText page of the documentation.

    Each section's table is bracketed by comments ``.. begin <key>`` and
    ``.. end <key>``, so other pages can ``.. include::`` one table.
    """
    rows, meta = report_rows(report), report["cases"]
    out = [
        ".. This file is generated by python -m benchmarks; do not edit.",
        "",
        title,
        "=" * len(title),
        "",
        "lowrank side by side with numpy, scipy, scikit-learn, fbpca and dask, "
        "in one process on the same matrices, each time with the error it "
        f"came with. This is the ``{report['mode']}`` report of "
        f"{report['date']} ({report['total_seconds']:.0f} s in total).",
        "",
    ]
    if report["mode"] != "full":
        out += [
            ".. note::",
            "",
            "   These tables come from the quick report (small matrices, few "
            "repetitions) on a shared machine; absolute times are noisy there.",
            "",
        ]
    if regenerate:
        out += ["Regenerate this page with::", "", f"    {regenerate}", ""]
    out += ["Machine", "-------", ""]
    out += [f"* {_rst_escape(line)}" for line in machine_lines(report["machine"])]
    out += ["", _rst_escape(LEGEND), ""]
    for section, cases, section_rows in _sections(rows, meta):
        key = section_key(section)
        out += [section, "-" * len(section), "", f".. begin {key}", ""]
        out += [".. list-table::", "   :header-rows: 1", ""]
        for cells in [COLUMNS] + [_cells(r) for r in section_rows]:
            out.append(f"   * - {_rst_escape(cells[0])}")
            out += [f"     - {_rst_escape(c)}" if c else "     -" for c in cells[1:]]
        out += [""]
        out += [f"* {_rst_escape(c['case'])}: ``{c['error']}``" for c in cases]
        out += ["", f".. end {key}", ""]
    return "\n".join(out)


def section_key(section):
    """A short key for a section title: its text before " (", slugified."""
    base = section.split(" (")[0].lower()
    return "-".join("".join(ch if ch.isalnum() else " " for ch in base).split())


def make_report(rows, meta, machine, mode, seconds, command):
    """Everything the writers need, as a JSON-serialisable dict."""
    return {
        "mode": mode,
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "total_seconds": seconds,
        "command": command,
        "machine": machine,
        "columns": {
            "time_s": "median wall time in seconds",
            "ratio": "time / time of the case's first row (lowrank's default)",
            "error": "the case's error measure (see cases)",
        },
        "cases": meta,
        "rows": [dataclasses.asdict(r) for r in rows],
    }


def report_rows(report):
    """The rows of a report dict (as written to JSON) as :class:`Row`."""
    return [Row(**r) for r in report["rows"]]


def write_report(report, out_dir, stem="benchmark-report"):
    """Write ``<stem>.md`` and ``<stem>.json`` to `out_dir`; returns the paths."""
    os.makedirs(out_dir, exist_ok=True)
    md = os.path.join(out_dir, f"{stem}.md")
    js = os.path.join(out_dir, f"{stem}.json")
    with open(md, "w", encoding="utf-8") as f:
        f.write(to_markdown(report) + "\n")
    with open(js, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1, default=_json_default)
        f.write("\n")
    return md, js


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
