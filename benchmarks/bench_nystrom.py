"""lowrank.nystrom vs randomized SVD, ARPACK (eigsh) and a full eigh on PSD input.

Cases: N x N PSD matrices with a known spectrum (geometric decay 0.9^j,
slow decay 1/j) and a Gaussian (RBF) kernel matrix of random points, rank
k = 20. Each method's spectral error ``||A - V diag(w) V^H||_2`` is reported
relative to the optimum ``lambda_{k+1}`` (from the full eigh), next to the
median time and the ratio time / time(nystrom).

Run:  python benchmarks/bench_nystrom.py [--n 2000] [--k 20] [--repeat 5]
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import environment_report, median_time, print_table

import lowrank


def with_spectrum(rng, lam):
    q, _ = np.linalg.qr(rng.standard_normal((len(lam), len(lam))))
    a = (q * lam) @ q.T
    return (a + a.T) / 2


def rbf_kernel(rng, n, dim=5, width=1.0):
    x = rng.standard_normal((n, dim))
    sq = np.sum(x**2, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0)
    return np.exp(-d2 / (2 * width**2))


def cases(rng, n):
    yield "0.9^j", with_spectrum(rng, 0.9 ** np.arange(n))
    yield "1/j", with_spectrum(rng, 1.0 / np.arange(1, n + 1))
    yield "RBF kernel", rbf_kernel(rng, n)


def methods(k):
    def nystrom(a, q):
        return lowrank.nystrom(a, k, n_iter=q, rng=0)

    def rsvd(a):
        u, s, _ = lowrank.randomized_svd(a, k, rng=0)
        return s, u

    def eigsh(a):
        w, v = scipy.sparse.linalg.eigsh(a, k=k, which="LA")
        return w[::-1], v[:, ::-1]

    def eigh(a):
        w, v = scipy.linalg.eigh(a, subset_by_index=(a.shape[0] - k, a.shape[0] - 1))
        return w[::-1], v[:, ::-1]

    return {
        "nystrom": lambda a: nystrom(a, 0),
        "nystrom q=1": lambda a: nystrom(a, 1),
        "randomized_svd": rsvd,
        "scipy eigsh": eigsh,
        "scipy eigh (subset)": eigh,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(environment_report())
    rng = np.random.default_rng(0)
    for name, a in cases(rng, args.n):
        lam = scipy.linalg.eigvalsh(a)[::-1]
        optimum = lam[args.k]
        rows = []
        base = None
        for label, run in methods(args.k).items():
            t, (w, v) = median_time(run, a, repeat=args.repeat)
            base = t if base is None else base
            err = lowrank.estimate_spectral_error(a, v, w, v.T, rng=1, n_iter=50)
            eig_err = np.max(np.abs(w - lam[: args.k])) / lam[0]
            rows.append(
                {
                    "method": label,
                    "time [s]": f"{t:.4f}",
                    "time / nystrom": f"{t / base:.1f}",
                    "error / lambda_k+1": f"{err / optimum:.4f}",
                    "max |w - lambda| / lambda_1": f"{eig_err:.1e}",
                }
            )
        print(f"\n{name}: N = {args.n}, k = {args.k}, lambda_k+1 = {optimum:.3e}")
        print_table(rows, list(rows[0]))


if __name__ == "__main__":
    main()
