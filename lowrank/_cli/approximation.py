"""One low-rank approximation as the command sees it: rank, storage, error.

`compress` and `demo` both go through :func:`approximate`, so they name the
methods alike and count storage and error the same way.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import scipy.sparse

import lowrank
from lowrank._cli.io import dense, frobenius_norm
from lowrank.approx._truncated_svd import TRUNCATED_SVD_METHODS

__all__ = [
    "METHODS",
    "SVD_METHODS",
    "Approximation",
    "approximate",
    "relative_error",
    "storage",
]

#: `truncated_svd` methods (its registry and its rule, "auto");
#: "randomized_svd" calls :func:`lowrank.randomized_svd`.
SVD_METHODS = ("auto", *TRUNCATED_SVD_METHODS)
#: What ``lowrank compress --method`` accepts: those, and "id"
#: (:func:`lowrank.interpolative`) and "cur" (:func:`lowrank.cur`).
METHODS = (*SVD_METHODS, "id", "cur")
#: Above this many entries the error is not computed (it needs a pass
#: through A and the product of the factors, block by block).
MAX_ERROR_ENTRIES = 2.5e8


@dataclasses.dataclass
class Approximation:
    """A computed approximation ``A ≈ ...`` with what it took."""

    kind: str  # "svd", "id" or "cur"
    label: str  # what the tables print, e.g. "truncated_svd (block_krylov)"
    result: tuple
    seconds: float

    @property
    def rank(self):
        if self.kind == "svd":
            return int(self.result.S.size)
        if self.kind == "id":
            return int(self.result.idx.size)
        return int(self.result.cols.size)

    def factors(self, a):
        """``(left, right)`` dense factors with ``A ≈ left @ right``."""
        r = self.result
        if self.kind == "svd":
            return r.U * r.S, r.Vh
        if self.kind == "id":
            return dense(a[:, r.idx]), r.coef
        return dense(r.C), r.U @ dense(r.R)

    def arrays(self):
        """The result as named arrays, for ``numpy.savez``."""
        r = self.result
        if self.kind == "svd":
            return {"U": r.U, "S": r.S, "Vh": r.Vh}
        if self.kind == "id":
            return {"idx": r.idx, "coef": r.coef}
        return {
            "C": dense(r.C),
            "U": r.U,
            "R": dense(r.R),
            "cols": r.cols,
            "rows": r.rows,
        }

    def stored(self, a):
        """How many numbers the approximation stores (indices included)."""
        r, (m, n) = self.result, a.shape
        if self.kind == "svd":
            return r.S.size * (m + n + 1)
        if self.kind == "id":
            k = r.idx.size
            return storage(a[:, r.idx]) + k * (n - k) + k
        return storage(r.C) + r.U.size + storage(r.R) + r.cols.size + r.rows.size


def storage(a):
    """Numbers stored for `a`: its entries, or values and indices (CSR/CSC)."""
    if scipy.sparse.issparse(a):
        compressed = a.tocsr() if a.format not in ("csr", "csc") else a
        return 2 * compressed.nnz + compressed.indptr.size
    return int(np.prod(a.shape))


def approximate(a, method, *, k=None, tol=None, rng=None):
    """Run `method` on `a` for rank `k` or accuracy `tol` and time it."""
    start = time.perf_counter()
    if method == "randomized_svd":
        result, kind, label = lowrank.randomized_svd(a, k, rng=rng), "svd", method
    elif method in SVD_METHODS:
        result = lowrank.truncated_svd(a, k, tol=tol, method=method, rng=rng)
        kind, label = "svd", "truncated_svd"
        if method == "auto":
            storage_kind = "sparse" if scipy.sparse.issparse(a) else "dense"
            chosen = lowrank.choose_truncated_svd_method(
                a.shape, k, tol=tol, kind=storage_kind
            )
            label += f" ({chosen})"
        else:
            label += f" ({method})"
    elif method == "id":
        result, kind, label = (
            lowrank.interpolative(a, k, tol=tol, rng=rng),
            "id",
            "interpolative",
        )
    elif method == "cur":
        result, kind, label = lowrank.cur(a, k, rng=rng), "cur", "cur"
    else:  # the parser's choices make this unreachable from the command line
        raise ValueError(f"unknown method {method!r}")
    return Approximation(kind, label, result, time.perf_counter() - start)


def relative_error(a, approximation, *, block_entries=2**22):
    """``||A - approximation||_F / ||A||_F``, or None if A is too large.

    Computed block of rows by block of rows, so neither the approximation
    nor a dense copy of a sparse A is ever held whole.
    """
    m, n = a.shape
    if m * n > MAX_ERROR_ENTRIES:
        return None
    left, right = approximation.factors(a)
    norm = frobenius_norm(a)
    if scipy.sparse.issparse(a):
        a = a.tocsr()
    rows = max(1, block_entries // max(1, n))
    squared = 0.0
    for start in range(0, m, rows):
        block = dense(a[start : start + rows]) - left[start : start + rows] @ right
        squared += float(np.linalg.norm(block)) ** 2
    error = math.sqrt(squared)
    return error / norm if norm > 0 else error
