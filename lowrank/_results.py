"""Named results: every function returning several arrays returns one of these.

They are :class:`typing.NamedTuple` subclasses, so they unpack like the tuples
numpy and scipy return (``X, rank = pinv(a, return_rank=True)``) and also give
each part a name.
"""

from typing import NamedTuple

import numpy as np

__all__ = [
    "CRResult",
    "CURResult",
    "IDResult",
    "LstsqResult",
    "MoorePenroseResiduals",
    "NystromResult",
    "PinvResult",
    "QBResult",
    "QRResult",
    "SVDResult",
]


class PinvResult(NamedTuple):
    """Result of :func:`lowrank.pinv` with ``return_rank=True``.

    Attributes
    ----------
    X : ndarray, shape (..., N, M)
        The pseudo-inverse.
    rank : int or ndarray of int, shape (...)
        The numerical rank used: the number of singular values above the
        cutoff. An ``int`` for a single matrix, an integer array for a stack.
    """

    X: np.ndarray
    rank: int | np.ndarray


class MoorePenroseResiduals(NamedTuple):
    """The four relative Moore–Penrose residuals of a candidate pseudo-inverse.

    All norms are Frobenius norms. Each field is a float for a single matrix
    and a float array of shape ``(...)`` for a stack. A residual whose
    denominator is zero is reported as its (then also zero, in exact
    arithmetic) numerator, so an all-zero ``A`` with ``X = 0`` scores 0.

    Attributes
    ----------
    axa : float or ndarray
        ``||A X A - A|| / ||A||``  (X is a generalized inverse of A).
    xax : float or ndarray
        ``||X A X - X|| / ||X||``  (A is a generalized inverse of X).
    ax_hermitian : float or ndarray
        ``||(A X)^H - A X|| / ||A X||``  (A X is an orthogonal projector).
    xa_hermitian : float or ndarray
        ``||(X A)^H - X A|| / ||X A||``  (X A is an orthogonal projector).
    """

    axa: float | np.ndarray
    xax: float | np.ndarray
    ax_hermitian: float | np.ndarray
    xa_hermitian: float | np.ndarray


class QRResult(NamedTuple):
    """Result of :func:`lowrank.tall_qr`: the thin QR factorization ``A = Q R``.

    Attributes
    ----------
    Q : ndarray, shape (M, N)
        Orthonormal columns.
    R : ndarray, shape (N, N)
        Upper triangular, with a real non-negative diagonal.
    """

    Q: np.ndarray
    R: np.ndarray


class SVDResult(NamedTuple):
    """A (thin or truncated) singular value decomposition ``A ≈ U diag(S) Vh``.

    Attributes
    ----------
    U : ndarray, shape (..., M, K)
        Left singular vectors (orthonormal columns).
    S : ndarray, shape (..., K)
        Singular values in descending order, in the real dtype matching A.
    Vh : ndarray, shape (..., K, N)
        Right singular vectors, conjugate-transposed (orthonormal rows).

    The signs are deterministic: the entry of largest magnitude in each column
    of U is real and positive.
    """

    U: np.ndarray
    S: np.ndarray
    Vh: np.ndarray


class LstsqResult(NamedTuple):
    """Result of :func:`lowrank.lstsq`.

    For ``a`` of shape ``(..., M, N)`` and ``b`` of shape ``(..., M)`` (one
    right-hand side per matrix) or ``(..., M, K)`` (K of them):

    Attributes
    ----------
    x : ndarray, shape (..., N) or (..., N, K)
        The minimum-norm least-squares solution ``A^+ b`` of the rank-``r``
        problem (with ``damp``, the Tikhonov-regularised solution).
    residuals : float or ndarray, shape (...) or (..., K)
        Squared 2-norm ``||b - A x||^2`` of each right-hand side's residual,
        computed from the returned ``x``, for every input: tall, wide,
        rank-deficient and stacked alike (numpy.linalg.lstsq returns an
        empty array in the last three cases). With ``damp`` the misfit only,
        without the ``damp^2 ||x||^2`` term.
    rank : int or ndarray of int, shape (...)
        The numerical rank used (singular values above
        ``atol + rtol * s_max``). ``-1`` for the iterative methods
        ``"lsqr"`` and ``"lsmr"``, which do not determine it.
    n_iter : int or ndarray of int, shape (...) or (..., K)
        Iterations per right-hand side: 0 for the direct methods ``"svd"``
        and ``"qr"``; refinement steps for ``"cholqr"``; LSQR/LSMR
        iterations for ``"sketch"``, ``"lsqr"`` and ``"lsmr"``.
    converged : bool or ndarray of bool, shape (...) or (..., K)
        Whether each right-hand side met its tolerance; always True for the
        direct methods. A False comes with a
        :class:`~lowrank.exceptions.ConvergenceWarning`.

    Single values (one matrix, ``b`` of shape ``(M,)``) are Python scalars.
    """

    x: np.ndarray
    residuals: float | np.ndarray
    rank: int | np.ndarray
    n_iter: int | np.ndarray
    converged: bool | np.ndarray


class QBResult(NamedTuple):
    """Result of :func:`lowrank.qb`: the randomized QB decomposition ``A ≈ Q B``.

    Attributes
    ----------
    Q : ndarray, shape (M, L)
        Orthonormal columns spanning the approximate range of A,
        ``L = min(k + oversample, M, N)``.
    B : ndarray, shape (L, N)
        ``Q^H A``, so ``Q B`` is the orthogonal projection of A onto the
        range of Q.
    """

    Q: np.ndarray
    B: np.ndarray


class CRResult(NamedTuple):
    """Result of :func:`lowrank.sampled_matmul`: ``X @ Y ≈ C @ R``.

    Attributes
    ----------
    C : ndarray or sparse matrix, shape (M, r)
        The sampled columns of X, ``C[:, j] = w_j X[:, idx[j]]``, with the
        weights ``w_j`` folded in (see :func:`lowrank.sampled_matmul`). A
        scipy.sparse `x` gives a sparse C in CSC format.
    R : ndarray or sparse matrix, shape (r, P)
        The matching rows of Y, ``R[j, :] = w'_j Y[idx[j], :]``. A
        scipy.sparse `y` gives a sparse R in CSR format.
    idx : ndarray of intp, shape (r,)
        The sampled indices into the inner dimension, in ascending order, with
        repetitions (sampling is with replacement).
    """

    C: np.ndarray
    R: np.ndarray
    idx: np.ndarray


class NystromResult(NamedTuple):
    """Result of :func:`lowrank.nystrom`: ``A ≈ V diag(w) V^H``.

    The field names are those of :func:`numpy.linalg.eigh`'s result, but the
    eigenvalues are in **descending** order (eigh's are ascending).

    Attributes
    ----------
    eigenvalues : ndarray, shape (k,)
        Non-negative eigenvalues of the approximation, in descending order,
        in the real dtype matching A.
    eigenvectors : ndarray, shape (N, k)
        Orthonormal eigenvectors, column ``j`` belonging to
        ``eigenvalues[j]``. The entry of largest magnitude in each column is
        real and positive.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray


class CURResult(NamedTuple):
    """Result of :func:`lowrank.cur`: ``A ≈ C @ U @ R``.

    Attributes
    ----------
    C : ndarray or sparse matrix, shape (M, c)
        The selected columns ``A[:, cols]`` (sparse, in the input's sparse
        format, when `a` is a scipy.sparse matrix).
    U : ndarray, shape (c, r)
        The middle matrix.
    R : ndarray or sparse matrix, shape (r, N)
        The selected rows ``A[rows, :]`` (sparse for sparse `a`).
    cols : ndarray of intp, shape (c,)
        Column indices, in the order of selection (most important first
        for the deterministic selections).
    rows : ndarray of intp, shape (r,)
        Row indices, in the order of selection.
    """

    C: np.ndarray
    U: np.ndarray
    R: np.ndarray
    cols: np.ndarray
    rows: np.ndarray


class IDResult(NamedTuple):
    """Result of :func:`lowrank.interpolative`.

    Attributes
    ----------
    idx : ndarray of intp, shape (k,)
        The selected columns (``axis=1``) or rows (``axis=0``), in pivot
        order: the most important first.
    coef : ndarray, shape (k, N) for ``axis=1``, (M, k) for ``axis=0``
        Interpolation coefficients in the computing dtype of `a`:
        ``A ≈ A[:, idx] @ coef`` or ``A ≈ coef @ A[idx, :]``. Restricted to
        `idx` (``coef[:, idx]`` or ``coef[idx, :]``) it is exactly the
        identity.
    """

    idx: np.ndarray
    coef: np.ndarray
