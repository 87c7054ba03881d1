"""Named results: every function returning several arrays returns one of these.

They are :class:`typing.NamedTuple` subclasses, so they unpack like the tuples
numpy and scipy return (``X, rank = pinv(a, return_rank=True)``) and also give
each part a name.
"""

from typing import NamedTuple

import numpy as np

__all__ = ["MoorePenroseResiduals", "PinvResult", "QRResult", "SVDResult"]


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
