"""Monarch matrices: the Frobenius-optimal projection of a square matrix.

A Monarch matrix (Dao et al. 2022) is ``M = P^T L P R`` with L and R
block-diagonal and P a fixed "reshape, transpose, flatten" permutation. With
``N = b c``, ``R`` has b blocks of size c x c and ``L`` has c blocks of size
b x b, and entrywise

    M[i1 c + i2, j1 c + j2] = L[i2, i1, j1] * R[j1, i2, j2].

So for each pair ``(i2, j1)`` the b x c slice ``S[i2, j1] = A[i1 c + i2,
j1 c + j2]`` (indexed by ``i1, j2``) of the 4-index array
``A.reshape(b, c, b, c)`` is matched by the rank-1 matrix
``L[i2, :, j1] R[j1, i2, :]``, and no parameter appears in two slices: the
best approximation in the Frobenius norm takes the top singular triplet of
every slice, found here by one batched SVD.
"""

from __future__ import annotations

import math

import numpy as np

from lowrank._core.results import MonarchResult
from lowrank._core.validation import as_dense_matrix, check_nblocks
from lowrank.linalg._svd import canonical_signs

__all__ = ["monarch"]


def _default_nblocks(n):
    """The largest divisor of ``n`` not above ``sqrt(n)`` (``sqrt(n)`` if square)."""
    for b in range(math.isqrt(n), 0, -1):
        if n % b == 0:
            return b
    return 1  # pragma: no cover - n >= 1 always has the divisor 1


def _slices(a, nblocks):
    """The ``c b`` slices of ``a`` that the Monarch factors fit, shape (c, b, b, c).

    ``S[i2, j1, i1, j2] = a[i1 c + i2, j1 c + j2]`` with ``c = N / nblocks``.
    """
    n = a.shape[0]
    b, c = nblocks, n // nblocks
    return a.reshape(b, c, b, c).transpose(1, 2, 0, 3)


def _project(a, b):
    """Monarch factors ``(L, R)`` of the best approximation of ``a``; see monarch."""
    slices = np.ascontiguousarray(_slices(a, b))
    u, s, vh = np.linalg.svd(slices, full_matrices=False)  # batched gesdd
    u1, vh1 = canonical_signs(u[..., :1], vh[..., :1, :])  # (c, b, b, 1), (.., 1, c)
    root = np.sqrt(s[..., :1]).astype(a.dtype)  # (c, b, 1)
    # L[i2, i1, j1] = sqrt(s) u[i2, j1, i1]; R[j1, i2, j2] = sqrt(s) vh[i2, j1, j2]
    left = (u1[..., 0] * root).transpose(0, 2, 1)
    right = (vh1[..., 0, :] * root).transpose(1, 0, 2)
    return np.ascontiguousarray(left), np.ascontiguousarray(right)


def monarch(a, nblocks=None, *, check_finite=True):
    """Best approximation of a square matrix by a Monarch matrix.

    Finds block-diagonal L and R minimising ``||A - P^T L P R||_F`` for the
    fixed permutation P of Dao et al. [1]_; the result applies the
    approximation to vectors in ``O(N^1.5)`` operations instead of ``N^2``.

    Parameters
    ----------
    a : array_like, shape (N, N)
        Square matrix, real or complex; float32/complex64 are computed in
        single precision, integers in float64.
    nblocks : int, optional
        ``b``, the number of diagonal blocks of R; it must divide N, and
        ``c = N / b`` is the block size of R and the number of blocks of L.
        Default: ``sqrt(N)`` when N is a perfect square, otherwise the
        largest divisor of N below ``sqrt(N)`` (1 for prime N, where the
        "approximation" is a dense, exact factorization).
    check_finite : bool, optional
        Check `a` for NaN/Inf entry by entry (default); with False a
        cheaper test of the sum is used.

    Returns
    -------
    MonarchResult
        ``M`` with factors ``L`` (shape (c, b, b)), ``R`` (shape (b, c, c))
        and the permutation ``perm``, in the dtype of `a`. ``M @ x``,
        ``x @ M``, ``M.to_dense()`` and ``M.parameters`` (``N (b + c)``
        stored values).

    Raises
    ------
    ValueError
        If `a` is not a 2-D square, non-empty matrix, has NaN/Inf entries, or
        `nblocks` does not divide N.
    TypeError
        For unsupported dtypes (float16, ...) or a non-integer `nblocks`.

    See Also
    --------
    MonarchResult : The structured matrix and its products.
    truncated_svd : The best approximation of low rank instead.

    Notes
    -----
    **Convention.** With ``N = b c`` and ``P`` the permutation matrix with
    ``P x = x.reshape(b, c).T.reshape(N)`` ("reshape to b x c, transpose,
    flatten"), a Monarch matrix is

    .. math:: M = P^T L P R,

    ``R = diag(R_0, ..., R_{b-1})`` with c x c blocks and
    ``L = diag(L_0, ..., L_{c-1})`` with b x b blocks: R mixes within
    contiguous groups of c entries, P regroups the entries by their
    position within the group, L mixes within these new groups, and ``P^T``
    restores the order. For ``b = c = sqrt(N)`` (the default for square N),
    ``P = P^T`` and this is the form ``M = P L P^T R = P L P R`` of [1]_
    (Section 3); for ``b != c`` it equals ``Q L Q^T R`` with ``Q = P^T``
    the "reshape to c x b, transpose, flatten" permutation, i.e. [1]_'s form
    with the roles of the two reshapes fixed so that ``L = R = I`` gives
    ``M = I``.

    **Projection.** Entrywise
    ``M[i1 c + i2, j1 c + j2] = L_{i2}[i1, j1] R_{j1}[i2, j2]``. For fixed
    ``(i2, j1)`` the b x c slice ``S_{i2 j1}[i1, j2] = A[i1 c + i2, j1 c + j2]``
    of A is therefore fitted by the rank-1 matrix ``l r^T`` with
    ``l = L_{i2}[:, j1]`` and ``r = R_{j1}[i2, :]``, and each entry of L and R
    belongs to exactly one of the ``N = b c`` slices. The problem separates:

    .. math::

        \\min_{L, R} \\| A - P^T L P R \\|_F^2
        = \\sum_{i_2, j_1} \\min_{l, r} \\| S_{i_2 j_1} - l r^T \\|_F^2
        = \\sum_{i_2, j_1} \\sum_{k \\ge 2} \\sigma_k(S_{i_2 j_1})^2,

    attained by the top singular triplet of each slice (Eckart–Young), which
    is what is computed: one batched SVD of the ``N`` slices (LAPACK gesdd
    on an (c, b, b, c) array, no Python loop), ``sqrt(sigma_1)`` put in
    each factor, the phase fixed so that the largest entry of each ``l`` is
    real and positive. Cost ``O(N^2 min(b, c))``, ``O(N^{2.5})`` for
    ``b = sqrt(N)``: about 3 s for N = 4096 on one core here. This is [1]_'s
    projection, which is exact, not a local optimum, despite the non-convex
    parametrisation.

    The product ``M x`` costs ``N (b + c)`` multiply-adds per vector, and
    the stored matrix has ``N (b + c)`` values: ``2 N^1.5`` for
    ``b = sqrt(N)``. A truncated SVD with as many parameters has rank
    ``(b + c) / 2``; which approximates better depends on A: Monarch wins on
    matrices with sparse or local structure, the low-rank one on matrices
    with fast singular value decay.

    References
    ----------
    .. [1] T. Dao, B. Chen, N. Sohoni, A. Desai, M. Poli, J. Grogan, A. Liu,
       A. Rao, A. Rudra and C. Ré, "Monarch: Expressive structured matrices
       for efficient and accurate training", Proceedings of the 39th
       International Conference on Machine Learning (ICML), PMLR 162
       (2022). https://arxiv.org/abs/2204.00595

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank import monarch
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((64, 64))
    >>> m = monarch(a)                      # b = c = 8
    >>> m.L.shape, m.R.shape, m.parameters
    ((8, 8, 8), (8, 8, 8), 1024)
    >>> x = rng.standard_normal(64)
    >>> bool(np.allclose(m @ x, m.to_dense() @ x))
    True

    The error is the sum of the slices' rank-1 tails:

    >>> slices = a.reshape(8, 8, 8, 8).transpose(1, 2, 0, 3)  # [i2, j1, i1, j2]
    >>> s = np.linalg.svd(slices, compute_uv=False)
    >>> err = np.linalg.norm(a - m.to_dense())
    >>> bool(np.isclose(err**2, np.sum(s[..., 1:] ** 2)))
    True

    A Monarch matrix is reproduced exactly:

    >>> exact = monarch(m.to_dense())
    >>> bool(np.allclose(exact.to_dense(), m.to_dense()))
    True

    Other block counts than ``sqrt(N)``: b blocks of size c x c in R,
    c blocks of size b x b in L:

    >>> monarch(np.eye(12), nblocks=3)
    MonarchResult(shape=(12, 12), nblocks=3, L=(4, 3, 3), R=(3, 4, 4), dtype=float64)
    """
    arr = as_dense_matrix(a, "a", check_finite=check_finite, square=True, nonempty=True)
    n = arr.shape[0]
    b = _default_nblocks(n) if nblocks is None else check_nblocks(nblocks, n)
    left, right = _project(arr, b)
    perm = np.arange(n).reshape(b, n // b).T.reshape(n)
    return MonarchResult(left, right, perm)
