"""lowrank's benchmark report: every peer comparison side by side, one table.

Runs the comparisons of benchmarks/bench_*.py (pseudo-inverse, tall-skinny
QR/SVD, least squares, truncated SVD, ID/CUR/CR/Nyström) against numpy,
scipy, scikit-learn, fbpca and dask in one process, on the same matrices,
and writes ``benchmark-report.md`` (a markdown table per section: case,
library, time, ratio, error) and ``benchmark-report.json`` to --out, with the
machine (CPU, cores, numpy/scipy/numba versions, BLAS). Optional peers that
are not installed are listed as such.

Examples::

    python -m benchmarks --quick                  # about a minute (CI)
    python -m benchmarks --out results --docs docs/benchmarks.rst   # full
    python -m benchmarks --from-json results/benchmark-report.json \\
        --docs docs/benchmarks.rst                # re-render, no re-run
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from benchmarks import _report

DOCS_COMMAND = "python -m benchmarks --out benchmark-results --docs docs/benchmarks.rst"


def parse_args(argv):
    from benchmarks._cases import SECTIONS

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__.split("\n\n")[0],
        epilog="Sections: " + ", ".join(SECTIONS),
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        action="store_const",
        const="quick",
        dest="mode",
        help="small matrices and 3 repetitions (CI; about a minute on 2 cores)",
    )
    size.add_argument(
        "--smoke",
        action="store_const",
        const="smoke",
        dest="mode",
        help="tiny matrices, one run each: only checks that everything runs",
    )
    parser.set_defaults(mode="full")
    parser.add_argument(
        "--out",
        default=".",
        metavar="DIR",
        help="directory for benchmark-report.md and .json (default: .)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=list(SECTIONS),
        metavar="SECTION",
        help="run only these sections",
    )
    parser.add_argument(
        "--docs",
        metavar="FILE.rst",
        help="also write the documentation page (docs/benchmarks.rst)",
    )
    parser.add_argument(
        "--from-json",
        metavar="FILE",
        help="render --out/--docs from a saved report instead of running",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress log")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    log = None if args.quiet else lambda line: print(line, flush=True)
    if args.from_json:
        with open(args.from_json, encoding="utf-8") as f:
            report = json.load(f)
    else:
        from benchmarks._cases import all_cases

        machine = _report.machine_info()
        if log:
            log("\n".join(_report.machine_lines(machine)))
        if args.mode != "smoke":
            # Compile every numba kernel (or load it from the cache) before
            # anything is timed: the same calls on tiny matrices.
            if log:
                log("warming up on tiny matrices (numba compilation, imports)")
            _report.run_cases(all_cases("smoke", args.only, args.seed), "smoke")
        start = time.perf_counter()
        rows, meta = _report.run_cases(
            all_cases(args.mode, args.only, args.seed), args.mode, log
        )
        seconds = time.perf_counter() - start
        # Pools (scipy's OpenBLAS, numba's workers) load on first use: list
        # them now that everything has run, keeping the load average of the
        # start.
        machine = {**_report.machine_info(), "load average": machine["load average"]}
        command = "python -m benchmarks" + "".join(
            f" {a}" for a in (argv if argv is not None else sys.argv[1:])
        )
        report = _report.make_report(rows, meta, machine, args.mode, seconds, command)
    paths = _report.write_report(report, args.out)
    if args.docs:
        with open(args.docs, "w", encoding="utf-8") as f:
            f.write(_report.to_rst(report, regenerate=DOCS_COMMAND) + "\n")
        paths += (args.docs,)
    failed = [r for r in _report.report_rows(report) if r.failed]
    if log:
        log(f"\nwrote {', '.join(paths)} ({report['total_seconds']:.0f} s)")
        for row in failed:
            log(f"lowrank FAILED: {row.case}: {row.library}: {row.note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
