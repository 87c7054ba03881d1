"""Truncated-SVD benchmarks (issue #5): lowrank against sklearn, scipy, fbpca, dask.

All peers run in this one process on the same matrices; each row gives the
median time of --repeat runs, the ratio to lowrank's default (peer time /
lowrank ``truncated_svd`` time, > 1: lowrank is faster) and the spectral
error reached, ``||A - U S Vh||_2 / sigma_{k+1}`` (1 is the Eckart–Young
optimum). The error norm is the largest singular value of the implicit
operator ``E = A - U S Vh``, computed by scipy's PROPACK to machine
precision (not by lowrank's own estimator).

Cases:

1. slow decay, A = U diag(1/j) V^T, 4000 x 3000, k = 50 (the issue's
   target: lowrank default <= 1.01 sigma_{k+1} in <= 0.5x the time of
   sklearn.utils.extmath.randomized_svd with its defaults, and less time than
   scipy.sparse.linalg.svds(solver="propack"));
2. fast decay, sigma_j = exp(-j/10), same shape, k = 50;
3. sparse, scipy.sparse.random(20000, 5000, density=1e-3), k = 50;
4. ``tol`` mode on cases 1-2: rank found vs the optimal rank
   ``#{sigma_j > tol sigma_1}``, true error / tol, and time against a call
   with that optimal k.

Peers that are not installed are reported as such (pip install
scikit-learn fbpca "dask[array]"). fbpca is called with raw=True (no
centering) and its default n_iter=2; dask's svd_compressed with its
defaults (n_power_iter=0) on a single chunk column.

Run:  python benchmarks/bench_lowrank.py [--repeat 5] [--quick] [--case 1 2 3 4]
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import environment_report, median_time, print_table

import lowrank


def with_spectrum(rng, m, n, s):
    """m x n matrix U diag(s) V^T with Haar-distributed U, V."""
    u = np.linalg.qr(rng.standard_normal((m, s.size)))[0]
    v = np.linalg.qr(rng.standard_normal((n, s.size)))[0]
    return (u * s) @ v.T


def error_norm(a, u, s, vh):
    """||A - U diag(s) Vh||_2 by PROPACK on the implicit difference."""
    m, n = a.shape
    us = u * s

    def matmat(x):
        return np.asarray(a @ x) - us @ (vh @ x)

    def rmatmat(y):
        return np.asarray(a.T @ y) - vh.T @ (us.T @ y)

    op = scipy.sparse.linalg.LinearOperator(
        (m, n),
        matvec=lambda x: matmat(x.reshape(-1, 1)).ravel(),
        rmatvec=lambda y: rmatmat(y.reshape(-1, 1)).ravel(),
        matmat=matmat,
        rmatmat=rmatmat,
        dtype=np.float64,
    )
    v0 = np.random.default_rng(0).standard_normal(m)
    # the error's top singular values cluster (sigma_{k+1}, sigma_{k+2}, ...
    # of A): give the Lanczos process room beyond scipy's default of 10
    s = scipy.sparse.linalg.svds(op, 1, solver="propack", v0=v0, maxiter=300)[1]
    return float(s[0])


def peers(k):
    """(name, function(a) -> (U, S, Vh)) for every installed peer."""
    out = [
        (
            "lowrank truncated_svd (default)",
            lambda a: lowrank.truncated_svd(a, k, rng=0),
        ),
        (
            "lowrank randomized_svd (default)",
            lambda a: lowrank.randomized_svd(a, k, rng=0),
        ),
        (
            "lowrank truncated_svd lanczos",
            lambda a: lowrank.truncated_svd(a, k, method="lanczos", rng=0),
        ),
    ]
    try:
        from sklearn.utils.extmath import randomized_svd as sk_rsvd
    except ImportError:
        out.append(("sklearn randomized_svd", None))
    else:
        out.append(("sklearn randomized_svd", lambda a: sk_rsvd(a, k, random_state=0)))
    out.append(
        (
            "scipy svds propack",
            lambda a: scipy.sparse.linalg.svds(
                a,
                k,
                solver="propack",
                v0=np.random.default_rng(0).standard_normal(a.shape[0]),
            ),
        )
    )
    try:
        import fbpca
    except ImportError:
        out.append(("fbpca pca", None))
    else:
        out.append(("fbpca pca", lambda a: fbpca.pca(a, k, raw=True)))
    try:
        import dask.array as da
    except ImportError:
        out.append(("dask svd_compressed", None))
    else:

        def dask_svd(a):
            if scipy.sparse.issparse(a):
                raise TypeError("dense arrays only")
            x = da.from_array(a, chunks=(max(1, a.shape[0] // 4), a.shape[1]))
            u, s, vh = da.linalg.svd_compressed(x, k, seed=0)
            return da.compute(u, s, vh)

        out.append(("dask svd_compressed", dask_svd))
    return out


def run_case(title, a, k, sigma_next, repeat):
    print(f"\n== {title}: {a.shape[0]} x {a.shape[1]}, k = {k} ==")
    rows = []
    base = None
    for name, fn in peers(k):
        if fn is None:
            rows.append({"method": name, "time [s]": "not installed"})
            continue
        try:
            t, (u, s, vh) = median_time(fn, a, repeat=repeat)
        except (TypeError, ValueError) as err:
            rows.append({"method": name, "time [s]": f"n/a ({err})"})
            continue
        order = np.argsort(s)[::-1]  # svds returns ascending
        u, s, vh = np.asarray(u)[:, order], np.asarray(s)[order], np.asarray(vh)[order]
        if base is None:
            base = t
        err = error_norm(a, u, s, vh) / sigma_next
        rows.append(
            {
                "method": name,
                "time [s]": f"{t:.3f}",
                "time / lowrank": f"{t / base:.2f}",
                "err / sigma_k+1": f"{err:.5f}",
            }
        )
    print_table(rows, ["method", "time [s]", "time / lowrank", "err / sigma_k+1"])


def tol_case(title, a, s0, tols, repeat):
    print(f"\n== tol mode, {title}: {a.shape[0]} x {a.shape[1]} ==")
    rows = []
    for tol in tols:
        optimal = int(np.count_nonzero(s0 > tol * s0[0]))
        t_tol, (u, s, vh) = median_time(
            lowrank.truncated_svd, a, tol=tol, rng=0, repeat=repeat
        )
        t_opt, _ = median_time(lowrank.truncated_svd, a, optimal, rng=0, repeat=repeat)
        err = error_norm(a, u, s, vh) / (tol * s0[0])
        rows.append(
            {
                "tol": f"{tol:.0e}",
                "rank": s.size,
                "optimal": optimal,
                "rank / optimal": f"{s.size / optimal:.3f}",
                "err / tol": f"{err:.4f}",
                "time tol [s]": f"{t_tol:.3f}",
                "time k=optimal [s]": f"{t_opt:.3f}",
                "ratio": f"{t_tol / t_opt:.2f}",
            }
        )
    print_table(rows, list(rows[0]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small matrices")
    parser.add_argument("--case", type=int, nargs="*", default=[1, 2, 3, 4])
    args = parser.parse_args(argv)
    print(environment_report())
    rng = np.random.default_rng(0)
    m, n, k = (800, 600, 20) if args.quick else (4000, 3000, 50)
    j = np.arange(1, n + 1, dtype=float)
    slow, fast = 1.0 / j, np.exp(-j / 10)
    a_slow = with_spectrum(rng, m, n, slow) if {1, 4} & set(args.case) else None
    a_fast = with_spectrum(rng, m, n, fast) if {2, 4} & set(args.case) else None
    if 1 in args.case:
        run_case("slow decay 1/j", a_slow, k, slow[k], args.repeat)
    if 2 in args.case:
        run_case("fast decay exp(-j/10)", a_fast, k, fast[k], args.repeat)
    if 3 in args.case:
        shape = (2000, 500) if args.quick else (20000, 5000)
        a = scipy.sparse.random(*shape, density=1e-3, random_state=0, format="csr")
        v0 = np.random.default_rng(1).standard_normal(shape[0])
        s_ref = scipy.sparse.linalg.svds(a, k + 1, solver="propack", v0=v0)[1]
        run_case("sparse random, density 1e-3", a, k, float(np.min(s_ref)), args.repeat)
    if 4 in args.case:
        tol_case("slow decay 1/j", a_slow, slow, [1e-2, 3e-3], args.repeat)
        tol_case(
            "fast decay exp(-j/10)", a_fast, fast, [1e-2, 1e-4, 1e-6, 1e-8], args.repeat
        )


if __name__ == "__main__":
    main()
