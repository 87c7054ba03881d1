"""The numpy backend: the passes of `lowrank._backends.protocol` on one ndarray.

Every BLAS/LAPACK call goes through scipy's pool (`lowrank._core.blas`), and
the fused passes through the numba kernels of `lowrank._kernels` where their
measured rules say they win. The operand ``Y`` is formed: a triangular solve
``Y R^{-1}`` runs in place once the operand owns its memory (never on the
caller's array).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import get_blas_funcs

from lowrank._core.arrays import conj_t
from lowrank._core.blas import matmul
from lowrank._core.signs import canonical_signs
from lowrank._core.validation import check_finite
from lowrank._kernels._rules import use_gram_kernel, use_residual_kernel

__all__ = [
    "DenseTall",
    "gram",
    "hdot",
    "householder_qr",
    "normal_equations",
    "normal_residual",
    "positive_diagonal",
    "right_solve_upper",
]


def gram(a):
    """The Hermitian Gram matrix ``A^H A`` (n x n, both triangles).

    syrk/herk do half the flops of a general product and, unlike
    ``a.conj().T @ a``, run multi-threaded here. No copy is made of C- or
    Fortran-contiguous input. For real A with at most 32 columns and many
    rows, a row-blocked numba kernel is used instead, serially (rule and
    measurements: `lowrank._kernels._rules.use_gram_kernel`).
    """
    if use_gram_kernel(a.shape, a.dtype):
        from lowrank._kernels.gram import gram_rowblocked

        return gram_rowblocked(a, parallel=False)
    complex_ = np.iscomplexobj(a)
    name = "herk" if complex_ else "syrk"
    if a.flags.f_contiguous:
        (rank_k,) = get_blas_funcs((name,), (a,))
        # trans=1 (syrk) / 2 (herk): A^T A or A^H A of the column-major A.
        upper = rank_k(1.0, a, trans=2 if complex_ else 1)
    else:
        at = np.asfortranarray(a.T)  # a view for C-contiguous a
        (rank_k,) = get_blas_funcs((name,), (at,))
        upper = rank_k(1.0, at, trans=0)  # A^T conj(A) = conj(A^H A)
        if complex_:
            upper = upper.conj()
    upper = np.triu(upper)
    return upper + np.triu(upper, 1).conj().T


def right_solve_upper(a, r, *, overwrite_a=False):
    """``A R^{-1}`` for upper triangular R by one trsm, in A's memory order."""
    (trsm,) = get_blas_funcs(("trsm",), (r, a))
    if a.flags.f_contiguous:
        return trsm(1.0, r, a, side=1, lower=0, overwrite_b=overwrite_a)
    # (A R^{-1})^T = R^{-T} A^T: a left solve on the column-major view A^T.
    at = np.asfortranarray(a.T)
    return trsm(1.0, r, at, side=0, lower=0, trans_a=1, overwrite_b=overwrite_a).T


def hdot(q, x):
    """``Q^H X`` by one gemm; for real input neither operand is copied."""
    return matmul(q.T, x.conj()).conj()


def positive_diagonal(q, r):
    """Scale so that diag(R) is real and non-negative (the unique thin QR)."""
    d = np.diagonal(r)
    safe = np.where(d == 0, 1, d)
    phase = safe / np.abs(safe)
    return q * phase, r * phase.conj()[:, np.newaxis]


def householder_qr(a):
    """LAPACK Householder QR (geqrf + orgqr), diag(R) made non-negative."""
    q, r = np.linalg.qr(a, mode="reduced")
    return positive_diagonal(q, r)


def normal_residual(a, b, x, scale=None):
    """``(r, A^H r, ||r||^2 per column)``, ``r = b scale - A x``, in one pass.

    The numba kernel reads each block of rows of A once for both products
    (`lowrank._kernels.residual`); otherwise two BLAS calls.
    """
    order = "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"
    k = b.shape[1] if b.ndim == 2 else 1
    if use_residual_kernel(a.shape, a.dtype, k=k, order=order):
        from lowrank._kernels.residual import residual_normal

        return residual_normal(a, b, x, scale)
    from lowrank._kernels.residual import residual_normal_numpy

    return residual_normal_numpy(a, b, x, scale)


def _use_parallel_gram(shape, dtype):
    """Whether the parallel row-blocked Gram kernel beats syrk (measured rule)."""
    m, n = shape
    return np.dtype(dtype).kind == "f" and n <= 160 and m >= 16384


def normal_equations(a, b):
    """``(A^H A, A^H b)``, on all cores when the row-blocked kernel is expected to win.

    The kernel forms ``A^H b`` in the same pass. Unlike inside tall_qr, the
    other passes of a refinement are numba kernels too, so the parallel
    kernel does not contend with OpenBLAS threads.
    """
    if _use_parallel_gram(a.shape, a.dtype):
        from lowrank._kernels.gram import gram_rowblocked

        return gram_rowblocked(a, parallel=True, rhs=b)
    _, atb, _ = normal_residual(a, b, np.zeros((a.shape[1], b.shape[1]), a.dtype))
    return gram(a), atb


class DenseTall:
    """The operand ``Y`` of `lowrank._backends.protocol.TallOperand` as an ndarray.

    Parameters
    ----------
    y : ndarray, shape (M, l)
        The operand itself.
    source : ndarray, shape (M, N), optional
        The matrix A that Y was derived from (Y itself by default): what
        `adjoint_times`, ``carry_a`` and the finiteness test read.
    owned : bool, optional
        Whether `y` is ours to overwrite (never the caller's array).
    name : str, optional
        The argument name that errors about A use.
    extra : dict, optional
        Further inputs (name -> array) the finiteness test covers.
    pool : {"scipy", "numpy"}, optional
        Whose OpenBLAS the products `apply` and `apply_h` call. A route
        keeps all the BLAS calls of one computation in one pool (see
        `lowrank._core.blas`): "scipy" for the QR routes, whose other calls
        (syrk, trsm, potrf) only scipy exposes; "numpy" for the
        normal-equations pseudo-inverse, whose eigh and small products are
        numpy's.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(12.0).reshape(4, 3)
    >>> y = DenseTall(a)
    >>> b = np.ones((4, 1))
    >>> g, carried = y.gram(b=b)
    >>> bool(np.allclose(g, a.T @ a)), bool(np.allclose(carried["b"], a.T @ b))
    (True, True)
    """

    def __init__(
        self, y, *, source=None, owned=False, name="a", extra=None, pool="scipy"
    ):
        if pool not in ("scipy", "numpy"):
            raise ValueError(f"pool must be 'scipy' or 'numpy', got {pool!r}")
        self.y = y
        self.pool = pool
        self.source = y if source is None else source
        self.owned = owned
        self.name = name
        self.extra = dict(extra or {})

    @property
    def shape(self):
        return self.y.shape

    @property
    def dtype(self):
        return self.y.dtype

    def _derived(self, y):
        return DenseTall(
            y,
            source=self.source,
            owned=True,
            name=self.name,
            extra=self.extra,
            pool=self.pool,
        )

    def _carried(self, b, carry_a):
        carried = {}
        if carry_a:
            carried["a"] = hdot(self.y, self.source)
        if b is not None:
            carried["b"] = hdot(self.y, b)
        return carried

    def gram(self, *, b=None, carry_a=False):
        if self.y.ndim > 2:  # a stack: one batched product
            return conj_t(self.y) @ self.y, {}
        return gram(self.y), self._carried(b, carry_a)

    def normal_equations(self, b):
        g, atb = normal_equations(self.y, b)
        return g, atb, np.sum((b * b.conj()).real, axis=0)

    def residual(self, b, x):
        _, z, rr = normal_residual(self.y, b, x)
        return z, rr

    def sketch(self, rows, zeta, seed):
        # Imported here: importing lowrank must not import numba.
        from lowrank._kernels.sketch import sparse_sign_sketch

        # serial: numba threads would contend with OpenBLAS's pool
        return sparse_sign_sketch(self.y, rows, zeta=zeta, rng=seed, parallel=False)

    def solve(self, r):
        return self._derived(right_solve_upper(self.y, r, overwrite_a=self.owned))

    def times(self, z):
        return self._derived(matmul(self.y, z))

    def householder(self, *, b=None, carry_a=False):
        q, r = householder_qr(self.y)
        q = self._derived(q)
        return q, r, q._carried(b, carry_a)

    def apply(self, w=None):
        if w is None:
            return self.y
        if self.y.ndim > 2 or self.pool == "numpy":
            return self.y @ w
        return matmul(self.y, w)

    def apply_h(self, w):
        if self.y.ndim > 2 or self.pool == "numpy":
            return conj_t(w) @ conj_t(self.y)
        # (Y W)^H = conj(W^T Y^T): Y^T is a view, and the result is C-ordered;
        # conj() copies even real arrays, so it is only called for complex ones.
        out = matmul(w.T, self.y.T)
        return out.conj() if np.iscomplexobj(out) else out

    def adjoint_times(self):
        return hdot(self.source, self.y)

    def gram_extremes(self):
        g = gram(self.y)
        if np.iscomplexobj(self.y):
            return g, None, None
        if self.y.shape[0] == 0:
            k = self.y.shape[1]
            return g, np.full(k, -np.inf), np.full(k, np.inf)
        return g, self.y.max(axis=0), self.y.min(axis=0)

    def signed_apply(self, w, vh, signs=None):
        # `signs`, when a caller knows them, equal what canonical_signs finds.
        return canonical_signs(matmul(self.y, w), vh, overwrite=True)

    def finite(self, summaries):
        ok = all(np.isfinite(s).all() for s in summaries)
        if ok:
            return True
        for name, arr in {self.name: self.source, **self.extra}.items():
            check_finite(arr, name)
        return False
