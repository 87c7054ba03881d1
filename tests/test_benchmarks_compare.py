"""benchmarks/compare.py: before/after tables of two benchmark reports."""

import json

from benchmarks import compare


def _report(path, rows):
    base = {"section": "pinv", "error": 1e-15, "lowrank": True}
    path.write_text(json.dumps({"rows": [{**base, **row} for row in rows]}))
    return str(path)


def test_compare_flags_only_rows_slower_than_the_tolerance(tmp_path, capsys):
    before = _report(
        tmp_path / "before.json",
        [
            {"case": "a", "library": "lowrank auto", "time": 1.0},
            {"case": "b", "library": "lowrank auto", "time": 1.0},
            {"case": "c", "library": "numpy", "time": 1.0, "lowrank": False},
        ],
    )
    after = _report(
        tmp_path / "after.json",
        [
            {"case": "a", "library": "lowrank auto", "time": 1.04},
            {"case": "b", "library": "lowrank auto", "time": 1.2, "error": 2e-15},
            {"case": "c", "library": "numpy", "time": 9.0, "lowrank": False},
        ],
    )
    assert compare.main([before, after]) == 0
    out = capsys.readouterr().out
    assert "| pinv | a | lowrank auto | 1 | 1.04 | 1.040 |" in out
    assert "1.200 **slower**" in out
    assert "2.00e-15" in out  # the error comes with the time
    assert "numpy" not in out  # peers are compared in the report itself
    assert "1 of 2 rows slower than 5%" in out
