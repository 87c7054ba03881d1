"""Compare two benchmark reports of lowrank: before and after a change.

Reads two ``benchmark-report.json`` files written by ``python -m benchmarks``
(the same mode, ideally the same sitting, alternating section by section)
and prints, for every lowrank row both contain, the median times, the ratio
after / before and both errors, so no speed change is read without the
accuracy it came with. Rows more than ``--tolerance`` slower are flagged.

Example::

    python -m benchmarks --only pinv --out before   # on the old checkout
    python -m benchmarks --only pinv --out after    # on the new one
    python -m benchmarks.compare before/benchmark-report.json \\
        after/benchmark-report.json
"""

from __future__ import annotations

import argparse
import json
import sys


def _rows(path):
    with open(path) as handle:
        report = json.load(handle)
    return {
        (row["section"], row["case"], row["library"]): row
        for row in report["rows"]
        if row.get("lowrank")
    }


def _fmt(value, spec):
    return "—" if value is None else format(value, spec)


def compare(before, after, tolerance):
    """Markdown lines comparing the lowrank rows of two reports, and the flagged."""
    lines = [
        "| section | case | library | before [s] | after [s] | after/before "
        "| error before | error after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    flagged = []
    for key in sorted(before.keys() & after.keys()):
        old, new = before[key], after[key]
        ratio = None
        if old["time"] and new["time"]:
            ratio = new["time"] / old["time"]
        mark = " **slower**" if ratio is not None and ratio > 1 + tolerance else ""
        if mark:
            flagged.append(key)
        lines.append(
            f"| {key[0]} | {key[1]} | {key[2]} | {_fmt(old['time'], '.4g')} "
            f"| {_fmt(new['time'], '.4g')} | {_fmt(ratio, '.3f')}{mark} "
            f"| {_fmt(old['error'], '.2e')} | {_fmt(new['error'], '.2e')} |"
        )
    return lines, flagged


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", help="benchmark-report.json of the old code")
    parser.add_argument("after", help="benchmark-report.json of the new code")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.05,
        help="flag rows slower than (1 + this) times before (default 0.05)",
    )
    args = parser.parse_args(argv)
    lines, flagged = compare(_rows(args.before), _rows(args.after), args.tolerance)
    print("\n".join(lines))
    print(f"\n{len(flagged)} of {len(lines) - 2} rows slower than {args.tolerance:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
