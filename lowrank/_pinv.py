"""The Moore–Penrose pseudo-inverse: public entry point and method registry."""

from __future__ import annotations

import numpy as np

from lowrank._results import PinvResult
from lowrank._validation import (
    as_matrix_stack,
    check_hermitian,
    check_method,
    rank_cutoff_tolerances,
)

__all__ = ["pinv"]


def _conj_transpose(a):
    return np.swapaxes(a, -1, -2).conj()


def _inverted_above_cutoff(values, magnitudes, atol, rtol):
    """Invert `values` where `magnitudes` pass the rank rule, zero elsewhere.

    The rule is the one used everywhere in lowrank:
    keep ``|value_i| > atol + rtol * max_j |value_j|``.
    """
    s_max = magnitudes.max(axis=-1)
    cutoff = atol + rtol * s_max
    keep = magnitudes > cutoff[..., np.newaxis]
    inverted = np.zeros_like(values)
    np.divide(1, values, out=inverted, where=keep)
    return inverted, np.count_nonzero(keep, axis=-1)


def _pinv_svd(a, atol, rtol):
    """A^+ = V diag(s)^+ U^H from the thin SVD (LAPACK gesdd)."""
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    s_inv, rank = _inverted_above_cutoff(s, s, atol, rtol)
    if a.ndim == 2:
        # One matrix: skip the discarded singular vectors entirely (fewer flops
        # than multiplying them by zero when A is rank-deficient).
        r = int(rank)
        x = (_conj_transpose(vh[:r]) * s_inv[:r]) @ _conj_transpose(u[:, :r])
    else:
        x = (_conj_transpose(vh) * s_inv[..., np.newaxis, :]) @ _conj_transpose(u)
    return x, rank


def _pinv_hermitian(a, atol, rtol):
    """A^+ = W diag(lambda)^+ W^H from the eigendecomposition A = W diag(lambda) W^H.

    The singular values of a Hermitian matrix are ``|lambda|``, so the rank
    rule is applied to them; the signs stay with the inverted eigenvalues.
    """
    w, v = np.linalg.eigh(a)
    w_inv, rank = _inverted_above_cutoff(w, np.abs(w), atol, rtol)
    x = (v * w_inv[..., np.newaxis, :]) @ _conj_transpose(v)
    return x, rank


#: method name -> function(a, atol, rtol) -> (X, rank). Inputs are validated,
#: non-empty stacks of shape (..., M, N); atol/rtol have the stack's shape.
PINV_METHODS = {
    "svd": _pinv_svd,
}


def pinv(
    a,
    *,
    method="svd",
    atol=None,
    rtol=None,
    hermitian=False,
    return_rank=False,
    check_finite=True,
):
    """Compute the Moore–Penrose pseudo-inverse of a matrix or a stack of matrices.

    Singular values below a cutoff are treated as zero, so the result is the
    pseudo-inverse of the nearest matrix of the numerical rank.

    Parameters
    ----------
    a : array_like, shape (..., M, N)
        Matrix or stack of matrices. Integer and boolean input is computed in
        float64; float32, float64, complex64 and complex128 in their own
        precision.
    method : {"svd"}, optional
        Algorithm. ``"svd"`` (default): thin SVD by LAPACK's divide and conquer
        (gesdd), then ``A^+ = V diag(s)^+ U^H``.
    atol, rtol : float or array_like, optional
        Absolute and relative rank tolerances: singular value ``s_i`` is kept
        iff ``s_i > atol + rtol * s_max``. Defaults ``atol = 0`` and
        ``rtol = max(M, N) * eps``, with ``eps`` the machine epsilon of the
        computing dtype (scipy.linalg.pinv's convention). Arrays broadcast
        against the stack shape ``(...)``, giving one tolerance per matrix.
    hermitian : bool, optional
        If True, `a` is Hermitian (real symmetric) and its eigendecomposition
        is used instead of the SVD: about twice as fast. `method` is then not
        used.
    return_rank : bool, optional
        If True, also return the numerical rank.
    check_finite : bool, optional
        Check elementwise that `a` has no NaN or infinite entries (default).
        With False a single cheaper sum is used instead; non-finite input
        still raises ValueError rather than reaching LAPACK, which can hang on
        Inf.

    Returns
    -------
    X : ndarray, shape (..., N, M)
        The pseudo-inverse, in the computing dtype.
    rank : int or ndarray of int, shape (...)
        Only with ``return_rank=True``: the number of singular values kept (an
        int for one matrix, an integer array for a stack). The pair is a
        :class:`~lowrank.PinvResult`.

    Raises
    ------
    ValueError
        If `a` has fewer than 2 dimensions, contains NaN or Inf, a tolerance
        is negative or does not broadcast over the stack, `method` is unknown,
        or ``hermitian=True`` and `a` is not square and Hermitian
        (``||A - A^H||_F <= 10 n eps ||A||_F``).
    TypeError
        If `a` is float16, longdouble, non-numeric, masked or sparse.
    numpy.linalg.LinAlgError
        If the SVD does not converge.

    See Also
    --------
    moore_penrose_residuals : How well a candidate meets the four conditions.
    numpy.linalg.pinv, scipy.linalg.pinv : The same result, different rules for
        stacks and tolerances.

    Notes
    -----
    The pseudo-inverse ``X = A^+`` is the unique matrix meeting the four
    Moore–Penrose conditions ``A X A = A``, ``X A X = X``,
    ``(A X)^H = A X`` and ``(X A)^H = X A`` [1]_. With the SVD
    ``A = U diag(s) V^H`` it is ``V diag(s)^+ U^H``, where ``s^+`` inverts the
    singular values above the cutoff [2]_.

    **Accuracy** (method ``"svd"``, measured by
    :func:`~lowrank.moore_penrose_residuals`, Frobenius norms, ``r`` the rank
    kept, ``kappa = s_1 / s_r``, ``p = max(M, N)``, ``eps`` of the computing
    dtype): the SVD is backward stable, so each of the four relative
    residuals is at most about ``p eps kappa``, plus the discarded part
    ``||A - A_r|| / ||A||`` for the first (``A X A = A``). The project's
    property suite checks the bound ``10 p eps kappa`` on all four over square,
    tall, wide, rank-deficient, complex, float32 and stacked inputs with
    ``kappa`` up to 1e12 in float64 and 1e4 in float32. The same bound holds
    for ``hermitian=True``.

    Cost: one thin SVD (about ``4 M N^2 + 8 N^3`` flops for ``M >= N``) and one
    ``N x r x M`` product. Stacks are computed by numpy's batched LAPACK loop,
    not a Python loop.

    References
    ----------
    .. [1] R. Penrose, "A generalized inverse for matrices", Proc. Cambridge
       Philos. Soc. 51 (1955), 406-413. https://doi.org/10.1017/S0305004100030401
    .. [2] G. H. Golub and C. F. Van Loan, *Matrix Computations*, 4th ed.,
       Johns Hopkins University Press, 2013, section 5.5.

    Examples
    --------
    >>> import numpy as np
    >>> import lowrank
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((9, 6))
    >>> x = lowrank.pinv(a)
    >>> x.shape
    (6, 9)
    >>> np.allclose(a @ x @ a, a), np.allclose(x @ a @ x, x)
    (True, True)
    >>> np.allclose((a @ x).T, a @ x), np.allclose((x @ a).T, x @ a)
    (True, True)

    A rank-deficient matrix and its rank:

    >>> b = np.outer([1.0, 2.0, 3.0], [1.0, 1.0])
    >>> x, rank = lowrank.pinv(b, return_rank=True)
    >>> rank
    1
    >>> np.allclose(x, b.T / np.sum(b * b))
    True

    A stack of 1000 matrices in one call, with one tolerance per matrix:

    >>> stack = rng.standard_normal((1000, 5, 3)).astype(np.float32)
    >>> xs, ranks = lowrank.pinv(stack, rtol=np.full(1000, 1e-4), return_rank=True)
    >>> xs.shape, xs.dtype, ranks.shape
    ((1000, 3, 5), dtype('float32'), (1000,))
    """
    compute = check_method(method, PINV_METHODS)
    a = as_matrix_stack(a, "a", check_finite_values=check_finite)
    atol, rtol = rank_cutoff_tolerances(atol, rtol, a.shape, a.dtype)
    if hermitian:
        check_hermitian(a, "a")
        compute = _pinv_hermitian

    m, n = a.shape[-2:]
    if a.size == 0:
        x = np.zeros((*a.shape[:-2], n, m), dtype=a.dtype)
        rank = np.zeros(a.shape[:-2], dtype=np.intp)
    else:
        x, rank = compute(a, atol, rtol)

    if not return_rank:
        return x
    return PinvResult(x, int(rank) if a.ndim == 2 else rank)
