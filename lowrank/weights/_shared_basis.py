"""A shared low-rank basis for several matrices (joint low rank).

Stacked as rows (``axis=0``: W_1 ... W_p with one input space, such as the
key and value projections of all heads reading the same hidden state) the
matrices get a common right factor, the down-projection to a latent space
of TransMLA/MLA; side by side (``axis=1``, one output space) a common left
basis. Both optima are one whitened truncated SVD of the stack.
"""

from __future__ import annotations

import numpy as np

from lowrank._core.arrays import conj_t
from lowrank._core.results import SharedBasisResult
from lowrank._core.signs import canonical_signs
from lowrank._core.validation import (
    as_weighting_list,
    check_choice,
    check_matrix_list,
    check_rank_target,
)
from lowrank.weights._boundary import restore, to_numpy
from lowrank.weights._subspace import leading_subspace
from lowrank.weights._whitened_svd import (
    WHITENED_METHODS,
    filled_basis,
    plain_error,
    weighted_factors,
    working_dtype,
)
from lowrank.weights._whitening import whitener

__all__ = ["shared_basis"]


def shared_basis(
    ws,
    k=None,
    *,
    axis=0,
    gram=None,
    x=None,
    factor=None,
    diag=None,
    tol=None,
    ratio=None,
    method="auto",
    check_finite=True,
):
    """One rank-k basis shared by several matrices, with per-matrix coefficients.

    Parameters
    ----------
    ws : sequence of array_like, or array_like of shape (p, M_i, N)
        The matrices W_1, ..., W_p. With ``axis=0`` they share their number
        of columns N (stacked as rows, ``[W_1; ...; W_p]``); with ``axis=1``
        their number of rows M (side by side, ``[W_1, ..., W_p]``).
    k : int, optional
        The rank of the basis, at most the smaller side of the stack. Give
        one of `k`, `tol`, `ratio`.
    axis : {0, 1}, optional
        ``0`` (default): a common right factor ``basis`` (k, N) and
        ``W_i ≈ coefficients[i] @ basis``, coefficients (M_i, k): the
        latent down-projection of multi-head keys and values (TransMLA).
        ``1``: a common left basis (M, k) with orthonormal columns and
        ``W_i ≈ basis @ coefficients[i]``, coefficients (k, N_i).
    gram, x, factor, diag : optional
        The weighting of :func:`whitened_svd`. With ``axis=0`` one
        weighting for all (the matrices read the same inputs; per-matrix
        weightings of a shared right factor have no closed-form optimum and
        raise ValueError). With ``axis=1`` a list with one entry per matrix
        (None for an unweighted one).
    tol : float, optional
        Relative accuracy of the summed weighted error, ``0 < tol < 1``.
    ratio : float, optional
        Parameter budget relative to all entries: the basis and the
        coefficients keep at most ``ratio * sum_i M_i N_i`` numbers.
    method : {"auto", "dense", "gram"}, optional
        As in :func:`whitened_svd`.
    check_finite : bool, optional
        Check the inputs for NaN/Inf entry by entry (default).

    Returns
    -------
    SharedBasisResult
        ``(basis, coefficients, weighted_error, error)``: the errors are
        summed over the matrices, ``sqrt(sum_i ||.||_F^2)``.

    Raises
    ------
    ValueError
        If the matrices do not agree along the shared side, the rank
        target or a weighting is invalid (see :func:`whitened_svd`), or
        ``axis=0`` is given a list of weightings.
    TypeError
        If `ws` is not a list of matrices, or for unsupported dtypes.

    See Also
    --------
    whitened_svd : The single-matrix case.

    Notes
    -----
    ``axis=0``: ``sum_i ||(W_i - C_i B) L||_F^2 = ||(W - C B) L||_F^2`` for
    the stack W and ``C = [C_1; ...; C_p]``: the whitened truncated SVD of
    the stack, ``C = U_k`` split by blocks and ``B = U_k^H W``. This is how
    a multi-head attention's key/value projections become a latent
    (MLA-style) pair [1]_ [2]_; with no weighting it is the truncated SVD
    of the stacked matrix, exactly.

    ``axis=1``: ``sum_i ||(W_i - A B_i) L_i||_F^2 = ||[W_1 L_1, ...,
    W_p L_p] - A [B_1 L_1, ...]||_F^2``, minimised by the k leading left
    singular vectors A of the whitened concatenation and ``B_i = A^H W_i``
    (the reasoning of :func:`whitened_svd`, matrix by matrix), so each
    matrix may have its own weighting. W's components in a null space of
    G_i are kept projected onto A (``null_space="project"``).

    Accuracy and cost are those of :func:`whitened_svd` on the stack.

    References
    ----------
    .. [1] F. Meng, Z. Yao and M. Zhang, "TransMLA: Multi-head latent
       attention is all you need", arXiv:2502.07864 (2025).
    .. [2] T. Ji et al., "Towards economical inference: Enabling
       DeepSeek's multi-head latent attention in any transformer-based
       LLMs" (MHA2MLA), arXiv:2502.14837 (2025).

    Examples
    --------
    Four heads' key projections (16 x 64 each) sharing a rank-24 latent:

    >>> import numpy as np
    >>> from lowrank import shared_basis
    >>> rng = np.random.default_rng(0)
    >>> heads = [rng.standard_normal((16, 64)) for _ in range(4)]
    >>> basis, coef, werr, err = shared_basis(heads, 24)
    >>> basis.shape, [c.shape for c in coef]
    ((24, 64), [(16, 24), (16, 24), (16, 24), (16, 24)])

    Without a weighting it is the truncated SVD of the stack:

    >>> s = np.linalg.svd(np.vstack(heads), compute_uv=False)
    >>> bool(np.isclose(err, np.sqrt(np.sum(s[24:] ** 2))))
    True
    """
    like = ws
    ws = [to_numpy(w) for w in ws] if isinstance(ws, list | tuple) else to_numpy(ws)
    arrays = check_matrix_list(ws, axis, check_finite)
    check_choice(method, WHITENED_METHODS, "method")
    if axis == 0:
        shape = (sum(a.shape[0] for a in arrays), arrays[0].shape[1])
    else:
        shape = (arrays[0].shape[0], sum(a.shape[1] for a in arrays))
    k, tol = check_rank_target(k, tol, ratio, shape)
    weightings = as_weighting_list(
        {"gram": gram, "x": x, "factor": factor, "diag": diag},
        len(arrays),
        axis,
        [a.shape[1] for a in arrays],
        check_finite,
    )
    dtypes = [a.dtype for a in arrays] + [v.array.dtype for v in weightings if v]
    dtype = working_dtype(np.result_type(*(a.dtype for a in arrays)), *dtypes)
    arrays = [a.astype(dtype, copy=False) for a in arrays]
    if axis == 0:
        w = np.concatenate(arrays, axis=0)
        a, b, weighted = weighted_factors(w, weightings[0], k, tol, method, "project")
        error = plain_error(w, a, b)
        splits = np.cumsum([m.shape[0] for m in arrays])[:-1]
        coefficients = tuple(np.ascontiguousarray(c) for c in np.split(a, splits))
        result = SharedBasisResult(b, coefficients, float(weighted), error)
        if weightings[0] is None:
            result = result._replace(weighted_error=error)
        return restore(result, like)
    return restore(_side_by_side(arrays, weightings, k, tol, method), like)


def _side_by_side(arrays, weightings, k, tol, method):
    """``axis=1``: the left basis of ``[W_1 L_1, ..., W_p L_p]``."""
    blocks = []
    for w, weighting in zip(arrays, weightings, strict=True):
        blocks.append(w if weighting is None else whitener(weighting, w.dtype).apply(w))
    wl = np.concatenate(blocks, axis=1)
    if method == "auto":
        method = "dense"
    subspace = leading_subspace(method, k, tol, wl=wl)
    u = subspace.u
    w = np.concatenate(arrays, axis=1)
    if tol is None and subspace.numerical_rank < k:
        u = filled_basis(w, u[:, : subspace.numerical_rank], k)
    u, b = canonical_signs(np.ascontiguousarray(u), conj_t(u) @ w, overwrite=True)
    error = plain_error(w, u, b)
    splits = np.cumsum([m.shape[1] for m in arrays])[:-1]
    coefficients = tuple(np.ascontiguousarray(c) for c in np.split(b, splits, axis=1))
    unweighted = all(v is None for v in weightings)
    weighted = error if unweighted else subspace.tail
    return SharedBasisResult(u, coefficients, float(weighted), error)
