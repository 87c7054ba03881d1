"""Benchmark: thin SVD of stacks of tiny matrices, numpy vs the Jacobi kernel.

Run from the repository root::

    python benchmarks/bench_small_svd.py [--repeat 7] [--quick]

For each case it reports the median wall time of numpy.linalg.svd
(full_matrices=False) and of lowrank's batched_small_svd (parallel and serial),
the speed ratios, and the accuracy that came with them: the largest singular
value error against numpy, relative to s_max, in units of eps.
"""

import argparse
import os
import platform
import statistics
import sys
import time

import numba
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from lowrank._kernels.small_svd import (
    batched_small_svd,
    use_small_svd,
)

CASES = [(20000, 6, 4), (20000, 4, 6), (100000, 3, 3), (5000, 16, 16)]
DTYPES = [np.float64, np.complex128]


def _median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _matrix(shape, dtype, rng):
    a = rng.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def _environment():
    lines = [
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"numba {numba.__version__} ({numba.get_num_threads()} threads, "
        f"{numba.threading_layer() if _numba_ran() else 'layer not yet chosen'}), "
        f"{os.cpu_count()} CPUs",
    ]
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            lines.append(
                f"{info['user_api']}: {info['internal_api']} "
                f"{info.get('version')} ({info['num_threads']} threads)"
            )
    except ImportError:
        lines.append("threadpoolctl not installed: BLAS threads unknown")
    return "\n".join(lines)


def _numba_ran():
    try:
        numba.threading_layer()
    except ValueError:
        return False
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="10x smaller stacks")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)

    # Compile (or load from the on-disk cache) before timing; report the cost.
    for dtype in DTYPES:
        warm = _matrix((8, 3, 2), dtype, rng)
        for parallel in (True, False):
            t0 = time.perf_counter()
            batched_small_svd(warm, parallel=parallel)
            print(
                f"first call ({np.dtype(dtype).name}, parallel={parallel}): "
                f"{time.perf_counter() - t0:.2f} s (compile or cache load)"
            )
    print(_environment())
    print()

    header = (
        f"{'shape':>17} {'dtype':>10} {'numpy':>9} {'jacobi':>9} {'serial':>9} "
        f"{'speedup':>8} {'ser.spd':>8} {'auto':>5} {'max|ds|/(eps*smax)':>19}"
    )
    print(header)
    for shape in CASES:
        if args.quick:
            shape = (max(1, shape[0] // 10), *shape[1:])
        for dtype in DTYPES:
            a = _matrix(shape, dtype, rng)
            eps = np.finfo(dtype).eps
            t_np = _median_time(
                lambda a=a: np.linalg.svd(a, full_matrices=False), args.repeat
            )
            t_par = _median_time(
                lambda a=a: batched_small_svd(a, parallel=True), args.repeat
            )
            t_ser = _median_time(
                lambda a=a: batched_small_svd(a, parallel=False), args.repeat
            )
            s_np = np.linalg.svd(a, compute_uv=False)
            _, s, _ = batched_small_svd(a)
            err = np.max(np.abs(s - s_np) / (eps * s_np[..., :1]))
            print(
                f"{'x'.join(map(str, shape)):>17} {np.dtype(dtype).name:>10} "
                f"{t_np * 1e3:7.1f}ms {t_par * 1e3:7.1f}ms {t_ser * 1e3:7.1f}ms "
                f"{t_np / t_par:7.1f}x {t_np / t_ser:7.1f}x "
                f"{use_small_svd(shape, dtype)!s:>5} {err:19.2f}"
            )


if __name__ == "__main__":
    main()
