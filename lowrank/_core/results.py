"""Named results: every function returning several arrays returns one of these.

They are :class:`typing.NamedTuple` subclasses, so they unpack like the tuples
numpy and scipy return (``X, rank = pinv(a, return_rank=True)``) and also give
each part a name.

The exception is :class:`MonarchResult`, a structured matrix with methods
(``@``, ``to_dense``): a frozen dataclass, since a tuple of its factors would
be taken for an array by numpy.
"""

import dataclasses
from typing import NamedTuple

import numpy as np

__all__ = [
    "AdapterSplitResult",
    "CRResult",
    "CURResult",
    "IDResult",
    "IllPosedProblem",
    "LoRAGAResult",
    "LoRAProResult",
    "LstsqResult",
    "MonarchResult",
    "MoorePenroseResiduals",
    "NystromResult",
    "PinvResult",
    "QBResult",
    "QRResult",
    "SVDResult",
    "SharedBasisResult",
    "WhitenedSVDResult",
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
        and ``"qr"``; refinement steps for ``"cholqr"`` (0 where it took
        its QR route); LSQR/LSMR iterations for ``"sketch"``, ``"lsqr"``
        and ``"lsmr"`` (for ``"auto"`` on sparse matrices and operators,
        those of both solves, the refinement's included).
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


class LoRAGAResult(NamedTuple):
    """Result of :func:`lowrank.lora_ga_init`: LoRA factors ``A0`` and ``B0``.

    Attributes
    ----------
    A : ndarray, shape (N, r)
        ``U[:, :r]``: the r leading left singular vectors of the gradient G
        (orthonormal columns), in the dtype of G.
    B : ndarray, shape (r, M)
        ``Vh[r:2r, :]``: the next r right singular vectors, as rows
        (orthonormal rows).
    """

    A: np.ndarray
    B: np.ndarray


class LoRAProResult(NamedTuple):
    """Result of :func:`lowrank.lora_pro_gradients`.

    Attributes
    ----------
    H_A : ndarray, shape (N, r)
        The gradient to use for the factor A (N x r).
    H_B : ndarray, shape (r, M)
        The gradient to use for the factor B (r x M). ``H_A @ B + A @ H_B``
        is the best approximation (Frobenius norm) of the full gradient G
        that a change of the two factors can make to first order.
    """

    H_A: np.ndarray
    H_B: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class MonarchResult:
    """A Monarch matrix ``M = P^T L P R``: result of :func:`lowrank.monarch`.

    With ``N = b c`` (``b`` = :attr:`nblocks`):

    * ``R = blockdiag(R[0], ..., R[b-1])``: b blocks of size c x c;
    * ``L = blockdiag(L[0], ..., L[c-1])``: c blocks of size b x b;
    * ``P``: the permutation matrix with ``(P x)[i] = x[perm[i]]``, that is
      ``P x = x.reshape(b, c).T.reshape(N)`` (reshape, transpose, flatten).
      ``P^T x = x.reshape(c, b).T.reshape(N)`` undoes it.

    Entrywise, ``M[i1 c + i2, j1 c + j2] = L[i2, i1, j1] * R[j1, i2, j2]``.
    For ``b = c = sqrt(N)``, P is symmetric and ``M = P L P R``.

    The object acts as the matrix: ``M @ x`` (``x`` of shape (N,) or
    (N, K)) and ``x @ M`` (``x`` of shape (N,) or (K, N)) cost
    ``N (b + c)`` multiply-adds per vector, ``2 N^1.5`` for ``b = sqrt(N)``
    (a dense product costs ``N^2``).

    Attributes
    ----------
    L : ndarray, shape (c, b, b)
        The diagonal blocks of the left factor.
    R : ndarray, shape (b, c, c)
        The diagonal blocks of the right factor.
    perm : ndarray of intp, shape (N,)
        The permutation P as an index array: ``P x = x[perm]``.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank import monarch
    >>> m = monarch(np.eye(16))          # the identity is a Monarch matrix
    >>> m
    MonarchResult(shape=(16, 16), nblocks=4, L=(4, 4, 4), R=(4, 4, 4), dtype=float64)
    >>> bool(np.allclose(m.to_dense(), np.eye(16)))
    True
    >>> x = np.arange(16.0)
    >>> bool(np.allclose(m @ x, x) and np.allclose(x @ m, x))
    True
    >>> m.parameters
    128
    """

    L: np.ndarray
    R: np.ndarray
    perm: np.ndarray

    # numpy arrays defer ``x @ M`` (and every ufunc) to this class.
    __array_ufunc__ = None

    @property
    def shape(self):
        """``(N, N)``."""
        n = self.perm.shape[0]
        return (n, n)

    @property
    def dtype(self):
        """The dtype of the factors."""
        return self.L.dtype

    @property
    def nblocks(self):
        """``b``, the number of diagonal blocks of R (c x c each)."""
        return self.R.shape[0]

    @property
    def parameters(self):
        """Number of stored values, ``c b^2 + b c^2 = N (b + c)``."""
        return self.L.size + self.R.size

    def _operand(self, x, side):
        x = np.asarray(x)
        if x.dtype.kind not in "biufc":
            raise TypeError(f"`x` must be an array of numbers, got dtype {x.dtype}")
        n = self.shape[0]
        axis = 0 if side == "right" else -1
        if x.ndim not in (1, 2) or x.shape[axis] != n:
            need = "(N,) or (N, K)" if side == "right" else "(N,) or (K, N)"
            raise ValueError(
                f"`x` must have shape {need} with N = {n} for this {n} x {n} "
                f"Monarch matrix, got shape {x.shape}"
            )
        return x.astype(np.result_type(self.dtype, x.dtype), copy=False)

    def matvec(self, x):
        """``M @ x`` for ``x`` of shape (N,) or (N, K), in ``N (b + c) K`` flops."""
        x = self._operand(x, "right")
        c, b, _ = self.L.shape
        y = np.matmul(self.R, x.reshape(b, c, -1))  # y[j1] = R[j1] x[j1]
        z = np.matmul(self.L, y.transpose(1, 0, 2))  # z[i2] = L[i2] (P y)[i2]
        return z.transpose(1, 0, 2).reshape(x.shape)  # P^T z

    def rmatvec(self, x):
        """``M^H @ x`` (conjugate transpose) for ``x`` of shape (N,) or (N, K)."""
        x = self._operand(x, "right")
        c, b, _ = self.L.shape
        y = x.reshape(b, c, -1).transpose(1, 0, 2)  # P x
        z = np.matmul(self.L.conj().transpose(0, 2, 1), y)
        w = np.matmul(self.R.conj().transpose(0, 2, 1), z.transpose(1, 0, 2))
        return w.reshape(x.shape)

    def __matmul__(self, x):
        if isinstance(x, MonarchResult):
            return NotImplemented
        return self.matvec(x)

    def __rmatmul__(self, x):
        # x M = (M^H x^H)^H
        x = self._operand(x, "left")
        return self.rmatvec(x.T.conj()).conj().T

    def to_dense(self):
        """The N x N matrix ``P^T L P R`` as an ndarray."""
        n = self.shape[0]
        return np.einsum("kab,bkc->akbc", self.L, self.R).reshape(n, n)

    def aslinearoperator(self):
        """The matrix as a :class:`scipy.sparse.linalg.LinearOperator`."""
        from scipy.sparse.linalg import LinearOperator

        return LinearOperator(
            self.shape,
            matvec=self.matvec,
            rmatvec=self.rmatvec,
            matmat=self.matvec,
            rmatmat=self.rmatvec,
            dtype=self.dtype,
        )

    def __repr__(self):
        return (
            f"MonarchResult(shape={self.shape}, nblocks={self.nblocks}, "
            f"L={self.L.shape}, R={self.R.shape}, dtype={self.dtype})"
        )


class CURResult(NamedTuple):
    """Result of :func:`lowrank.cur`: ``A ≈ C @ U @ R``.

    Attributes
    ----------
    C : ndarray or sparse matrix, shape (M, c)
        The selected columns ``A[:, cols]`` (sparse when `a` is a
        scipy.sparse matrix or array: CSC for CSC input, CSR otherwise).
    U : ndarray, shape (c, r)
        The middle matrix.
    R : ndarray or sparse matrix, shape (r, N)
        The selected rows ``A[rows, :]`` (sparse for sparse `a`, in the
        format of C).
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


class IllPosedProblem(NamedTuple):
    """A discrete ill-posed problem ``A x = b`` with its exact solution.

    Returned by :func:`lowrank.datasets.shaw`; the order of the fields is
    that of Hansen's Regularization Tools (``[A, b, x] = shaw(n)``).

    Attributes
    ----------
    A : ndarray, shape (N, N)
        The discretised integral operator.
    b : ndarray, shape (N,)
        The exact right-hand side, ``A @ x``.
    x : ndarray, shape (N,)
        The true solution.
    """

    A: np.ndarray
    b: np.ndarray
    x: np.ndarray


class WhitenedSVDResult(NamedTuple):
    """Result of :func:`lowrank.whitened_svd`: ``W ≈ A @ B`` in the weighted norm.

    Attributes
    ----------
    A : ndarray, shape (M, k)
        Orthonormal columns: a basis of the range of the approximation.
    B : ndarray, shape (k, N)
        The coefficients, ``A @ B`` is the rank-k approximation of W.
    weighted_error : float
        ``||(W - A B) L||_F`` with ``G = L L^H``: the weighted error achieved
        (the optimum ``sqrt(sum_{j>k} s_j(W L)^2)`` to rounding).
    error : float
        The plain Frobenius error ``||W - A B||_F``.
    """

    A: np.ndarray
    B: np.ndarray
    weighted_error: float
    error: float


class SharedBasisResult(NamedTuple):
    """Result of :func:`lowrank.shared_basis`: one basis for several matrices.

    Attributes
    ----------
    basis : ndarray
        ``axis=0`` (matrices stacked as rows, a common input space): the
        shared (k, N) right factor, ``W_i ≈ coefficients[i] @ basis``.
        ``axis=1`` (matrices side by side, a common output space): the
        shared (M, k) left factor with orthonormal columns,
        ``W_i ≈ basis @ coefficients[i]``.
    coefficients : tuple of ndarray
        One per matrix: (M_i, k) for ``axis=0``, (k, N_i) for ``axis=1``.
    weighted_error : float
        ``sqrt(sum_i ||(W_i - W_i') L_i||_F^2)``, the summed weighted error
        (the plain one when no weighting was given).
    error : float
        ``sqrt(sum_i ||W_i - W_i'||_F^2)``, the summed plain Frobenius error.
    """

    basis: np.ndarray
    coefficients: tuple
    weighted_error: float
    error: float


class AdapterSplitResult(NamedTuple):
    """Result of :func:`lowrank.adapter_split`: ``W = residual + scaling B A``.

    Attributes
    ----------
    residual : ndarray, shape (M, N)
        ``W - scaling * (B @ A)``, computed explicitly from the returned
        factors, so that ``residual + scaling * (B @ A)`` equals W to the
        rounding of one subtraction and one addition, whatever the accuracy
        of the singular triplets.
    B : ndarray, shape (M, r)
        The adapter's output-side factor (LoRA's ``lora_B``).
    A : ndarray, shape (r, N)
        The adapter's input-side factor (LoRA's ``lora_A``).
    """

    residual: np.ndarray
    B: np.ndarray
    A: np.ndarray
