"""Shared helpers for the peer benchmarks: timing, environment report, tables.

Every benchmark runs lowrank and its peers in one process, on the same
matrices, and reports medians of repeated runs together with the error each
result achieved, so no speed is claimed without its accuracy.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import statistics
import time

import numpy as np
import scipy


def median_time(function, *args, repeat=7, warmup=1, **kwargs):
    """Median wall time of ``function(*args, **kwargs)`` over `repeat` runs.

    Returns ``(median_seconds, result_of_last_run)``.
    """
    result = None
    for _ in range(warmup):
        result = function(*args, **kwargs)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def cpu_model():
    """The processor's name (from /proc/cpuinfo on Linux), or "unknown"."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_version(name):
    """Installed version of distribution `name`, or None if it is missing."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment_report():
    """A few lines naming the machine, versions, BLAS and thread counts."""
    lines = [
        f"{cpu_model()}, {os.cpu_count()} logical CPUs, {platform.machine()}, "
        f"{platform.system()} {platform.release()}",
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, numba {package_version('numba')}",
    ]
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        lines.append(
            'threadpoolctl not installed: BLAS details unknown (pip install ".[bench]")'
        )
    else:
        for pool in threadpool_info():
            lines.append(
                f"  {pool.get('user_api')}: {pool.get('internal_api')} "
                f"{pool.get('version')} ({pool.get('architecture', '?')}), "
                f"{pool.get('num_threads')} threads, {pool.get('filepath')}"
            )
    return "\n".join(lines)


def print_table(rows, columns):
    """Print `rows` (dicts) as an aligned text table with the given columns."""
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.rjust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for row in rows:
        print("  ".join(str(row.get(c, "")).rjust(widths[c]) for c in columns))
