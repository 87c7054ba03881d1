"""Whitened (data-aware) truncated SVD: the best rank k in the norm of the data.

For W (M x N) and a weighting ``G = L L^H >= 0`` (N x N) the rank-k
``W_k`` minimising ``||(W - W_k) L||_F`` is ``[W L]_k L^+`` plus anything
invisible to G. It is computed here as ``U_k U_k^H W`` with U_k the k
leading left singular vectors of W L (`_subspace.py`): the same weighted
error, no pseudo-inverse of L, and W's component in G's null space kept
where the rank allows (the argument for that choice is in the docstring).
"""

from __future__ import annotations

import numpy as np

from lowrank._core.arrays import conj_t
from lowrank._core.results import WhitenedSVDResult
from lowrank._core.signs import canonical_signs
from lowrank._core.validation import (
    as_weight_matrix,
    as_weighting,
    check_choice,
    check_rank_target,
)
from lowrank.approx._truncated_svd import truncated_svd
from lowrank.weights._boundary import restore, to_numpy
from lowrank.weights._subspace import SUBSPACE_METHODS, leading_subspace
from lowrank.weights._whitening import whitener

__all__ = [
    "NULL_SPACE_RULES",
    "WHITENED_METHODS",
    "choose_whitened_method",
    "filled_basis",
    "plain_error",
    "weighted_factors",
    "whitened_svd",
    "working_dtype",
]

#: ``method`` of :func:`whitened_svd`: "auto" and the subspace registry.
WHITENED_METHODS = ("auto", *SUBSPACE_METHODS)
#: ``null_space``: keep W's component in G's null space (projected onto the
#: range of A), or give W_k none there.
NULL_SPACE_RULES = ("project", "zero")
#: Rows of W - A B formed at a time by `plain_error` (bounds its memory).
ERROR_BLOCK_ENTRIES = 2**22


def working_dtype(*dtypes):
    """The dtype computed in: W's precision (the first), complex if any input is.

    W decides the precision: float32 weights are computed in float32 even
    with a G accumulated in float64 (which is rounded once to float32), as
    the contract of the family says; a complex weighting makes it complex.
    """
    first = np.dtype(dtypes[0])
    complex_ = any(np.dtype(d).kind == "c" for d in dtypes)
    single = first in (np.dtype(np.float32), np.dtype(np.complex64))
    if complex_:
        return np.dtype(np.complex64 if single else np.complex128)
    return np.dtype(np.float32 if single else np.float64)


def choose_whitened_method(kind):
    """The rule of ``method="auto"``: "gram" for a given G, else "dense".

    A G given as a matrix defines the weighted objective only to its own
    rounding, ``eps ||G||_2`` relative, which is the rounding of the
    squared-Gram route; activations, factors and diagonals define it to
    ``eps`` in W L itself, which only the SVD of W L keeps.
    """
    return "gram" if kind == "gram" else "dense"


def plain_error(w, a, b):
    """``||W - A B||_F``, formed by blocks of rows."""
    rows = max(1, ERROR_BLOCK_ENTRIES // max(1, w.shape[1]))
    squared = 0.0
    for start in range(0, w.shape[0], rows):
        block = w[start : start + rows] - a[start : start + rows] @ b
        squared += float(np.linalg.norm(block)) ** 2
    return float(np.sqrt(squared))


def weighted_factors(w, weighting, k, tol, method, null_space, atol=None, rtol=None):
    """The driver: ``(A, B, weighted_error)`` for validated arguments.

    `weighting` is a validated `Weighting` or None (plain norm); exactly one
    of `k` and `tol` is set. Returns A (M x r) with orthonormal columns and
    ``B = A^H W`` (restricted to the range of G for ``null_space="zero"``).
    """
    m, n = w.shape
    if weighting is not None:
        w = w.astype(working_dtype(w.dtype, weighting.array.dtype), copy=False)
    kind = None if weighting is None else weighting.kind
    if method == "auto":
        method = choose_whitened_method(kind)
    wh = None
    if weighting is None:
        subspace = leading_subspace(method, k, tol, wl=w)
    elif method == "gram" and kind == "gram" and null_space == "project" and m <= n:
        g = weighting.array.astype(w.dtype, copy=False)
        subspace = leading_subspace(method, k, tol, w=w, gram=g)
    else:
        wh = whitener(weighting, w.dtype, atol, rtol)
        subspace = leading_subspace(method, k, tol, wl=wh.apply(w))
    u, rank_wl = subspace.u, subspace.numerical_rank
    if tol is not None:
        pass  # the rank tol needs never exceeds W L's (a zero tail beyond)
    elif null_space == "zero":
        u = u[:, : min(u.shape[1], rank_wl)]
    elif rank_wl < k:
        u = filled_basis(w, u[:, :rank_wl], k)
    b = conj_t(u) @ w
    if null_space == "zero" and wh is not None:
        b = wh.project_range(b)
    a, b = canonical_signs(np.ascontiguousarray(u), b, overwrite=True)
    return a, np.ascontiguousarray(b), subspace.tail


def filled_basis(w, u, k):
    """`u` completed to k columns by the leading left singular vectors of the rest.

    When W L has numerical rank r < k (G of low rank: fewer calibration
    samples than columns), every rank-k matrix through ``U_r U_r^H W`` has
    the least weighted error; the remaining k - r directions are chosen to
    reduce the plain error most, as the leading left singular vectors of
    ``W - U_r U_r^H W``.
    """
    rest = w - u @ (conj_t(u) @ w)
    extra = min(k - u.shape[1], min(w.shape) - u.shape[1])
    if extra <= 0:
        return u
    more = truncated_svd(rest, extra, rng=0, check_finite=False).U
    more -= u @ (conj_t(u) @ more)  # against the rounding of `rest`
    q = np.linalg.qr(np.concatenate([u, more], axis=1))[0]
    return q


def whitened_svd(
    w,
    k=None,
    *,
    gram=None,
    x=None,
    factor=None,
    diag=None,
    tol=None,
    ratio=None,
    method="auto",
    null_space="project",
    atol=None,
    rtol=None,
    check_finite=True,
):
    """The best rank-k approximation of W in the weighted norm of the data.

    For W (M x N) and a positive semidefinite ``G = L L^H`` (N x N), returns
    the rank-k ``W_k = A B`` minimising

    .. math:: \\|(W - W_k) L\\|_F^2 = \\operatorname{tr}((W - W_k) G (W - W_k)^H),

    the error on the outputs ``W x`` of inputs x distributed like the data
    behind G. With ``G = X^H X`` for activations X (one sample per row) it
    is the output error ``||X (W - W_k)^H||_F`` on those samples.

    Parameters
    ----------
    w : array_like, shape (M, N)
        The weight matrix (a linear layer maps x to ``W x``). float32 and
        complex64 are computed in single precision.
    k : int, optional
        The rank, ``1 <= k <= min(M, N)``. Give one of `k`, `tol`, `ratio`.
    gram : array_like, shape (N, N), optional
        G itself, Hermitian positive semidefinite, for example the
        accumulated ``X^H X`` of the layer's inputs. Singular and
        ill-conditioned G are fine (see Notes).
    x : array_like, shape (T, N), optional
        Activations, one input vector per row: ``G = X^H X``, never formed
        (X's thin SVD is used, which keeps X's conditioning).
    factor : array_like, shape (N, r), optional
        A factor L with ``G = L L^H`` (a Cholesky factor, say).
    diag : array_like, shape (N,), optional
        The diagonal of a diagonal G, non-negative (ASVD's per-channel
        weighting ``diag = s**2`` for channel scales s). Give at most one of
        `gram`, `x`, `factor`, `diag`; none gives the plain truncated SVD.
    tol : float, optional
        Relative weighted accuracy, ``0 < tol < 1``: the least rank with
        ``||(W - W_k) L||_F <= tol ||W L||_F``.
    ratio : float, optional
        A parameter budget, ``0 < ratio <= 1``: the factors keep
        ``k (M + N) <= ratio M N`` numbers, ``k = floor(ratio M N / (M + N))``.
    method : {"auto", "dense", "gram"}, optional
        How the leading singular subspace of W L is computed (Notes).
        ``"auto"``: "gram" when `gram` is given, else "dense".
    null_space : {"project", "zero"}, optional
        What W_k does in G's null space, which the weighted error cannot
        see. ``"project"`` (default): ``W_k = A A^H W`` keeps W's component
        there, projected onto the range of A, and fills a rank that the
        data do not need with the plain-error-optimal directions.
        ``"zero"``: ``W_k = [W L]_k L^+`` has no component in null(G) (the
        minimum-norm optimum); its rank is at most that of W L.
    atol, rtol : float, optional
        The rank rule on the singular values ``s_i`` of L (the square roots
        of G's eigenvalues): direction i is in G's range iff
        ``s_i > atol + rtol * s_max``; defaults 0 and ``max(shape) eps``,
        and for `gram` never below G's resolution ``sqrt(N eps) s_max``.
    check_finite : bool, optional
        Check the inputs for NaN/Inf entry by entry (default).

    Returns
    -------
    WhitenedSVDResult
        ``(A, B, weighted_error, error)``: A (M, k) with orthonormal columns
        (largest entry of each column real and positive), B (k, N) with
        ``W_k = A @ B``, the weighted error ``||(W - A B) L||_F`` achieved
        and the plain Frobenius error ``||W - A B||_F``. In W's precision
        (complex if W or the weighting is): float32 W is computed in
        float32 even with a float64 G.

    Raises
    ------
    ValueError
        If not exactly one of `k`, `tol`, `ratio` is given or it is out of
        range, more than one weighting is given, shapes do not fit, `gram`
        is not Hermitian or has a negative diagonal, `diag` has a negative
        entry, an input has NaN/Inf, or `method`/`null_space` is unknown.
    TypeError
        For unsupported dtypes or a non-integer `k`.

    See Also
    --------
    truncated_svd : The plain (unweighted) truncated SVD.
    shared_basis : One basis for several matrices.
    adapter_split : A residual-exact adapter from these triplets.

    Notes
    -----
    **The optimum** [1]_ [3]_. With ``G = L L^H`` every rank-k W' has
    ``||(W - W') L||_F >= ||W L - [W L]_k||_F = sqrt(sum_{j>k} s_j(W L)^2)``
    (Eckart–Young on W L), and ``W' = [W L]_k L^+`` attains it. With U_k
    the k leading left singular vectors of W L, ``[W L]_k = U_k U_k^H W L``,
    so ``U_k U_k^H W`` attains it too: it differs from ``[W L]_k L^+`` only
    by ``U_k U_k^H W (I - L L^+)``, which L annihilates. This is how it is
    computed: A = U_k, ``B = A^H W``; no inverse of L (or of a Cholesky
    factor) is formed, so the result is continuous in G as eigenvalues of G
    go to zero.

    **G's null space.** Directions the data never excite carry no weight.
    ``null_space="project"`` keeps W's action on them within the range of
    A: among all weighted optima it is the one closest to W in the plain
    norm (the optimum fixes ``W' L`` and hence the range of W' for
    ``s_k > s_{k+1}``; then ``A A^H W`` is the Frobenius projection), so
    inputs outside the calibration data are treated no worse than
    necessary. When G's rank makes W L's numerical rank r smaller than k,
    the weighted error is already zero at rank r and the other k - r
    columns of A are the leading left singular vectors of
    ``W - U_r U_r^H W``. With no data at all (G = 0) this is the plain
    truncated SVD. ``null_space="zero"`` returns ``[W L]_k L^+`` with the
    rank of W L capped at its numerical rank.

    **G's rank** follows the library's rule on the singular values of L
    (the square roots of G's eigenvalues from eigh for `gram`; of the thin
    SVD of X or L for `x` and `factor`, never forming ``X^H X``). For
    `gram` the cutoff is never below ``sqrt(N eps) s_max``: G's eigenvalues
    are known only to ``N eps lambda_max``. Directions below it count as
    null space.

    **Accuracy contract.** ``"dense"`` (LAPACK's SVD of W L, exact):
    ``|weighted_error - opt| <= c eps ||W||_2 ||L||_2`` with ``opt`` the
    optimum above. ``"gram"`` (eigh of ``W G W^H``, M x M, when ``M <= N``
    and G is given; of ``(W L)^H (W L)`` otherwise; only the k leading
    eigenpairs): ``|weighted_error^2 - opt^2| <= c M eps ||W L||_2^2``, the
    rounding of the squared objective, which is what a G given in floating
    point determines anyway (its entries carry ``eps ||G||_2``). float32
    input is computed in float32 on both routes (eps = 2**-23 in the
    bounds). `weighted_error` is reported from the spectrum (the discarded
    singular values, or for "gram" with `k` the trace minus the kept
    eigenvalues); `error` is computed from A and B.

    **Cost.** "dense": the thin SVD of W L (M x r, r = rank of G),
    ``O(M r min(M, r))``, plus eigh of G (``O(N^3)``) or the SVD of X or
    L. "gram" with G and ``M <= N``: two products (``2 M N (M + N)``
    flops) and a partial eigh of an M x M matrix. Against SVD-LLM's recipe
    (Cholesky, explicit inverse, full SVD of W L in float64) for W and G of
    order 4096 and k = 512, one thread: 3.3x faster on float64 input and
    6.3x on float32 input, at the same weighted error
    (benchmarks/bench_weights.py).

    References
    ----------
    .. [1] X. Wang, Y. Zheng, Z. Wan and M. Zhang, "SVD-LLM: Truncation-aware
       singular value decomposition for large language model compression",
       arXiv:2403.07378 (2024).
    .. [2] Z. Yuan, Y. Shang, Y. Song, Q. Wu, Y. Yan and G. Sun, "ASVD:
       Activation-aware singular value decomposition for compressing large
       language models", arXiv:2312.05821 (2023).
    .. [3] Y. Yang, X. Li, Z. Zhou, S. L. Song, J. Wu, L. Nie and B. Ghanem,
       "CorDA: Context-oriented decomposition adaptation of large language
       models", arXiv:2406.05223 (2024).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank import whitened_svd
    >>> rng = np.random.default_rng(0)
    >>> w = rng.standard_normal((60, 80))
    >>> x = rng.standard_normal((500, 80)) * np.geomspace(10, 0.1, 80)
    >>> a, b, werr, err = whitened_svd(w, 10, x=x)
    >>> a.shape, b.shape
    ((60, 10), (10, 80))

    The weighted error is the optimum, the tail of the singular values of
    ``W L`` (here ``L = X^H`` up to an orthogonal factor):

    >>> s = np.linalg.svd(w @ x.T, compute_uv=False)
    >>> bool(np.isclose(werr, np.sqrt(np.sum(s[10:] ** 2))))
    True
    >>> bool(np.isclose(werr, np.linalg.norm(x @ (w - a @ b).T)))
    True

    and beats the plain truncated SVD's weighted error:

    >>> u, sv, vh = np.linalg.svd(w, full_matrices=False)
    >>> plain = (u[:, :10] * sv[:10]) @ vh[:10]
    >>> bool(werr < np.linalg.norm(x @ (w - plain).T))
    True

    A Gram matrix and a parameter budget give the same kind of result:

    >>> res = whitened_svd(w, gram=x.T @ x, ratio=0.25)
    >>> res.A.shape[1] == (60 * 80) // (4 * 140)
    True
    """
    like = w
    w, gram, x, factor, diag = (to_numpy(v) for v in (w, gram, x, factor, diag))
    arr = as_weight_matrix(w, check_finite)
    check_choice(method, WHITENED_METHODS, "method")
    check_choice(null_space, NULL_SPACE_RULES, "null_space")
    k, tol = check_rank_target(k, tol, ratio, arr.shape)
    weighting = as_weighting(
        arr.shape[1],
        check_finite_values=check_finite,
        gram=gram,
        x=x,
        factor=factor,
        diag=diag,
    )
    a, b, weighted = weighted_factors(
        arr, weighting, k, tol, method, null_space, atol, rtol
    )
    error = plain_error(arr.astype(a.dtype, copy=False), a, b)
    if weighting is None:
        weighted = error
    return restore(WhitenedSVDResult(a, b, float(weighted), error), like)
