"""Benchmark: the Gram and sparse-sign-sketch numba kernels against BLAS/scipy.

Run from the repository root::

    python benchmarks/bench_kernels.py [--repeat 7] [--quick]

Gram ``A^H A``: lowrank's syrk/herk (``lowrank.linalg._tallqr.gram``), numpy's
``a.conj().T @ a`` and ``gram_rowblocked`` (parallel and serial, BLAS-chunk and
loop variants). Sketch ``S A``: ``apply_sparse_sign`` (parallel, serial, C and
Fortran input, the row-partials variant), scipy.sparse CSC/CSR products with
the same S, and a dense Gaussian sketch ``G @ A`` via BLAS. Ratios are
time(reference) / time(kernel) (> 1: the kernel is faster); errors are the max
relative error against the plain-numpy twin. Each time is the median of
`--repeat` runs after a warm-up call (which also compiles the kernels).
"""

import argparse
import math
import operator
import os
import subprocess
import sys
import time

import numba
import numpy as np
import scipy.sparse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))
sys.path.insert(0, os.path.dirname(__file__))

from _common import environment_report, median_time, print_table

from lowrank._kernels import sketch as sk
from lowrank._kernels.gram import (
    gram_numpy,
    gram_rowblocked,
    use_gram_kernel,
)
from lowrank.linalg._tallqr import gram as gram_syrk

GRAM_CASES = [(200000, n, np.float64) for n in (4, 8, 16, 32, 64, 100)] + [
    (200000, 8, np.float32),
    (200000, 32, np.float32),
    (200000, 8, np.complex128),
    (200000, 32, np.complex128),
    (20000, 8, np.float64),
    (2000000, 8, np.float64),
]
SKETCH_CASES = [(100000, 100), (1000000, 50)]


def random_matrix(shape, dtype, rng):
    a = rng.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def rel_err(x, ref):
    scale = np.abs(ref).max()
    return float(np.abs(x - ref).max() / scale) if scale else 0.0


def load():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "uptime unavailable"


def bench_gram(repeat, quick):
    rng = np.random.default_rng(0)
    rows = []
    cases = GRAM_CASES[:3] if quick else GRAM_CASES
    for m, n, dtype in cases:
        a = random_matrix((m, n), dtype, rng)
        ref = gram_numpy(a.astype(np.complex128))
        t_syrk, g = median_time(gram_syrk, a, repeat=repeat)
        e_syrk = rel_err(g, ref)
        t_np, _ = median_time(gram_numpy, a, repeat=repeat)
        res = {}
        for name, kw in [
            ("par", {}),
            ("ser", {"parallel": False}),
            ("loop_ser", {"parallel": False, "method": "loop"}),
        ]:
            res[name] = median_time(gram_rowblocked, a, repeat=repeat, **kw)
        af = np.asfortranarray(a)
        t_f, _ = median_time(gram_rowblocked, af, repeat=repeat, parallel=False)
        rows.append(
            {
                "m x n": f"{m}x{n}",
                "dtype": np.dtype(dtype).name,
                "syrk ms": f"{t_syrk * 1e3:.2f}",
                "numpy ms": f"{t_np * 1e3:.2f}",
                "kern par ms": f"{res['par'][0] * 1e3:.2f}",
                "kern ser ms": f"{res['ser'][0] * 1e3:.2f}",
                "loop ser ms": f"{res['loop_ser'][0] * 1e3:.2f}",
                "ser F ms": f"{t_f * 1e3:.2f}",
                "syrk/par": f"{t_syrk / res['par'][0]:.2f}",
                "syrk/ser": f"{t_syrk / res['ser'][0]:.2f}",
                "err syrk": f"{e_syrk:.1e}",
                "err kern": f"{rel_err(res['ser'][1], ref):.1e}",
                "rule": use_gram_kernel((m, n), dtype),
            }
        )
        print(f"  gram {m}x{n} {np.dtype(dtype).name} done", flush=True)
    return rows


def _rowpart(rows, signs, scale, a, d):
    """The per-thread-partials variant (C order), for comparison."""
    out = np.zeros((d, a.shape[1]), a.dtype)
    sk._sketch_c_rows(rows, signs, scale, a, out, numba.get_num_threads())
    return out


def bench_sketch(repeat, quick):
    rng = np.random.default_rng(1)
    rows_out = []
    cases = SKETCH_CASES[:1] if quick else SKETCH_CASES
    zeta = 8
    for m, n in cases:
        d = 4 * n
        a = rng.standard_normal((m, n))
        af = np.asfortranarray(a)
        t_idx, (rows, signs) = median_time(
            sk.sparse_sign_indices, d, m, zeta, 0, repeat=3
        )
        data = signs.astype(np.float64).ravel() / math.sqrt(zeta)
        indptr = np.arange(0, m * zeta + 1, zeta)
        t0 = time.perf_counter()
        s_csc = scipy.sparse.csc_matrix((data, rows.ravel(), indptr), shape=(d, m))
        t_build = time.perf_counter() - t0
        s_csr = s_csc.tocsr()
        ref = sk.apply_sparse_sign_numpy(rows, signs, a, d, zeta)
        t = {}
        out = {}
        t["csc"], out["csc"] = median_time(operator.matmul, s_csc, a, repeat=repeat)
        t["csr"], out["csr"] = median_time(
            operator.matmul, s_csr, a, repeat=max(3, repeat // 2)
        )
        for name, x, kw in [
            ("kern par C", a, {}),
            ("kern ser C", a, {"parallel": False}),
            ("kern par F", af, {}),
            ("kern ser F", af, {"parallel": False}),
        ]:
            t[name], out[name] = median_time(
                sk.apply_sparse_sign, rows, signs, x, d, zeta, repeat=repeat, **kw
            )
        scale = 1 / math.sqrt(zeta)
        t["rowpart C"], out["rowpart C"] = median_time(
            _rowpart, rows, signs, scale, a, d, repeat=repeat
        )
        t0 = time.perf_counter()
        g = rng.standard_normal((d, m)) / math.sqrt(d)
        t_gen = time.perf_counter() - t0
        t["gauss G@A"], _ = median_time(
            operator.matmul, g, a, repeat=max(3, repeat // 2)
        )
        del g
        print(
            f"  sketch {m}x{n}, d={d}: draw S {t_idx * 1e3:.1f} ms, "
            f"build csc {t_build * 1e3:.1f} ms, draw G {t_gen * 1e3:.0f} ms",
            flush=True,
        )
        for name, sec in t.items():
            rows_out.append(
                {
                    "case": f"{m}x{n} d={d}",
                    "method": name,
                    "ms": f"{sec * 1e3:.1f}",
                    "csc/this": f"{t['csc'] / sec:.2f}",
                    "err": f"{rel_err(out[name], ref):.1e}" if name in out else "-",
                }
            )
    return rows_out


def compile_times():
    """Time of the first call per kernel in a fresh process (cache on disk)."""
    code = (
        "import time, numpy as np\n"
        "t = time.perf_counter()\n"
        "from lowrank._kernels.gram import gram_rowblocked as g\n"
        "g(np.ones((50, 3)))\n"
        "t1 = time.perf_counter()\n"
        "from lowrank._kernels.sketch import sparse_sign_sketch as s\n"
        "s(np.ones((50, 3)), 6, rng=0)\n"
        "t2 = time.perf_counter()\n"
        "print(f'{t1 - t:.2f} {t2 - t1:.2f}')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return r.stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(environment_report())
    print(f"numba {numba.__version__}, {numba.get_num_threads()} numba threads")
    print("load before:", load())
    print("first call in a fresh process (s, gram / sketch):", compile_times())
    gram_rows = bench_gram(args.repeat, args.quick)
    print_table(gram_rows, list(gram_rows[0]))
    print("load:", load())
    sketch_rows = bench_sketch(args.repeat, args.quick)
    print_table(sketch_rows, list(sketch_rows[0]))
    print("load after:", load())


if __name__ == "__main__":
    main()
