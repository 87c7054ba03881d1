"""A posteriori estimate of the spectral-norm error of a low-rank approximation."""

from __future__ import annotations

import numpy as np
from scipy.sparse.linalg import LinearOperator

from lowrank._backends.linear_map import as_linear_map
from lowrank._core.validation import (
    as_dense_matrix,
    as_singular_values,
    check_n_iter,
    check_products_finite,
    check_rng,
    check_svd_factors,
)

__all__ = ["estimate_spectral_error"]

#: Number of random starting vectors. A block of a few vectors converges on
#: the top Ritz value at the rate (s_{b+1} / s_1)**2 per step instead of
#: (s_2 / s_1)**2, and is far less likely to start nearly orthogonal to the
#: dominant singular vector than a single vector is.
BLOCK_SIZE = 4

#: Relative change of the estimate below which the iteration stops early.
RTOL = 1e-3


def _random_block(rng, n, b, dtype):
    x = rng.standard_normal((n, b))
    if dtype.kind == "c":
        x = x + 1j * rng.standard_normal((n, b))
    return x.astype(dtype)


def estimate_spectral_error(a, U, S, Vh, *, rng=None, n_iter=20, check_finite=True):
    """Estimate the spectral norm of the error ``A - U @ diag(S) @ Vh``.

    The estimate runs a few steps of block power (subspace) iteration on
    ``E^H E`` with ``E = A - U diag(S) Vh``, applying E and its conjugate
    transpose as products with A and the factors. Neither E nor a dense copy
    of A is ever formed, so `a` may be a sparse matrix or a linear operator.

    Parameters
    ----------
    a : (M, N) array_like, sparse matrix or LinearOperator
        The matrix that was approximated. A
        :class:`scipy.sparse.linalg.LinearOperator` is used only through
        ``matmat`` and ``rmatmat``.
    U : (M, k) array_like
        Left factor of the approximation. ``k = 0`` is allowed; the estimate
        is then one of ``||A||_2``.
    S : (k,) array_like
        Real scale factors (usually the singular values); they need not be
        sorted or non-negative.
    Vh : (k, N) array_like
        Right factor of the approximation.
    rng : {None, int, numpy.random.Generator}, optional
        Source of the random starting vectors. The same integer seed gives the
        same estimate. Anything `numpy.random.default_rng` accepts (except a
        legacy ``RandomState``) is allowed.
    n_iter : int, optional
        Maximum number of power iterations (applications of ``E^H E`` to the
        block). Default is 20. The iteration stops earlier once the estimate
        has settled to about 1e-3 relative (see Notes).
    check_finite : bool, optional
        Whether to check that `a` (for a sparse matrix: its stored entries)
        and the factors contain only finite numbers. Default is True.
        Disabling may give a performance gain; non-finite products are still
        detected and raise ValueError.

    Returns
    -------
    float
        The estimate of ``||A - U diag(S) Vh||_2``. It is a lower bound on the
        true norm (up to rounding) that increases towards it with `n_iter`.

    Raises
    ------
    TypeError
        If an argument has an unsupported dtype (float16, longdouble,
        non-numeric), `S` is complex, a factor is sparse, or `rng` or `n_iter`
        has the wrong type.
    ValueError
        If the shapes do not agree, an argument is not of the required
        dimension, `n_iter` is not positive, or `a` or a factor (or, for a
        LinearOperator, its products) contain NaN or Inf.

    See Also
    --------
    lowrank.svd : The thin SVD, whose truncation this estimate checks.
    numpy.linalg.norm : ``norm(E, 2)`` gives the exact value for a dense E.
    scipy.sparse.linalg.svds : Partial SVD of a sparse matrix or operator.

    Notes
    -----
    The computation is done in the result dtype of `a`, `U`, `S` and `Vh`
    (integer input becomes float64); complex input uses conjugate transposes
    throughout. This is the idea of ``diffsnorm`` in fbpca; Halko, Martinsson
    and Tropp [1]_ (Sec. 4.3-4.4) discuss a posteriori error estimation for
    randomized low-rank approximation.

    A block X of four random Gaussian vectors (complex Gaussian for complex
    input) is orthonormalized; each step computes ``Y = E X``, takes the
    largest singular value of Y (the square root of the largest Ritz value of
    ``E^H E`` on the span of X) as the estimate, and replaces X by an
    orthonormal basis of ``E^H Y``. Each step costs one product with A and
    one with ``A^H`` on four vectors, plus ``O((M + N) k)`` per vector for
    the factors.

    For orthonormal X, ``||E X||_2 <= ||E||_2``, so the estimate never
    exceeds the true norm except by rounding (of order ``eps`` times
    ``||A||_2 + ||U diag(S) Vh||_2``). When the singular values of E are
    well separated, its relative error decays like ``(s_5 / s_1)**(4 j)``
    after j steps; without a gap the power method with a random start still
    converges, with an expected relative error of the Ritz value of order
    ``log(N) / j`` [2]_. Measured on 300 x 200 matrices truncated after k
    terms (20 random instances each, default settings): singular values
    ``0.9**j``, k = 10: relative error at most 3e-4 (median 1e-4); the
    slowly decaying ``1 / j``, k = 50 and 100 (neighbouring singular values
    1 to 2 percent apart): at most 0.8 percent (median 0.1 percent).

    The iteration stops early when the estimate has changed by no more than
    ``1e-3`` relative in the last step and the contraction of the last two
    changes predicts no more than that in all steps still to come, or when
    the changes are at the level of rounding (an exact factorization).

    References
    ----------
    .. [1] N. Halko, P. G. Martinsson and J. A. Tropp, "Finding structure
       with randomness: Probabilistic algorithms for constructing
       approximate matrix decompositions", SIAM Review 53(2) (2011),
       217-288.
    .. [2] J. Kuczyński and H. Woźniakowski, "Estimating the largest
       eigenvalue by the power and Lanczos algorithms with a random start",
       SIAM J. Matrix Anal. Appl. 13(4) (1992), 1094-1122.

    Examples
    --------
    >>> import numpy as np
    >>> import lowrank
    >>> rng = np.random.default_rng(0)
    >>> q1, _ = np.linalg.qr(rng.standard_normal((60, 40)))
    >>> q2, _ = np.linalg.qr(rng.standard_normal((40, 40)))
    >>> a = (q1 * 0.5 ** np.arange(40)) @ q2.T
    >>> u, s, vh = np.linalg.svd(a, full_matrices=False)
    >>> k = 5
    >>> err = lowrank.estimate_spectral_error(a, u[:, :k], s[:k], vh[:k], rng=1)
    >>> print(f"{err:.6f} {s[k]:.6f}")
    0.031250 0.031250
    """
    check = bool(check_finite)
    op = as_linear_map(a, check_finite=check)
    shape, dtype_a = op.shape, op.dtype
    u = as_dense_matrix(U, "U", check_finite=check)
    s = as_singular_values(S, check)
    vh = as_dense_matrix(Vh, "Vh", check_finite=check)
    check_svd_factors(shape, u, s, vh)
    n_iter = check_n_iter(n_iter, auto=False, positive=True)
    gen = check_rng(rng)
    dtype = np.result_type(dtype_a, u.dtype, s.dtype, vh.dtype)

    if 0 in shape:
        return 0.0
    return residual_norm(
        op,
        u,
        s,
        vh,
        gen,
        n_iter,
        dtype=dtype,
        is_operator=isinstance(a, LinearOperator),
    )


def residual_norm(op, u, s, vh, gen, n_iter, *, dtype=None, is_operator=True):
    """Block power estimate of ``||A - U diag(s) Vh||_2`` for a linear map `op`.

    The engine of `estimate_spectral_error`, for callers holding validated
    factors (the fixed-accuracy range finder). `dtype` is the computing dtype
    (default: that of `op`); `is_operator` only words the error message.
    """
    dtype = op.dtype if dtype is None else np.dtype(dtype)
    matmat, rmatmat = op.matmat, op.rmatmat
    m, n = op.shape
    u = u.astype(dtype, copy=False)
    vh = vh.astype(dtype, copy=False)
    s = s.astype(np.finfo(dtype).dtype, copy=False)[:, np.newaxis]
    # Conjugate transposes once, not in every step.
    uh = np.ascontiguousarray(u.conj().T)
    v = np.ascontiguousarray(vh.conj().T)

    cause = (
        "the LinearOperator `a` returned NaN/Inf, or they overflowed"
        if is_operator
        else "overflow, or NaN/Inf input with check_finite=False"
    )

    def finite(out, what):
        # Must not reach LAPACK (some gesdd builds loop on NaN/Inf).
        return check_products_finite(out, what, cause)

    b = min(BLOCK_SIZE, n)
    x, _ = np.linalg.qr(_random_block(gen, n, b, dtype))
    eps = float(np.finfo(dtype).eps)
    scale = estimate = change_before = 0.0
    for step in range(n_iter + 1):
        # Non-finite values are reported by `finite`, not warned about.
        with np.errstate(invalid="ignore", over="ignore"):
            ax = np.asarray(matmat(x), dtype=dtype)
            y = finite(ax - u @ (s * (vh @ x)), "the product E x")
        previous = estimate
        estimate = float(np.linalg.svd(y, compute_uv=False)[0])
        # ||A X||_F / sqrt(b) <= ||A||_2: rounding in E X is of order eps
        # times this, so an estimate below it is noise that further steps
        # cannot sharpen (an exact factorization).
        scale = max(scale, float(np.linalg.norm(ax)) / np.sqrt(b))
        if estimate <= max(m, n) * eps * scale or step == n_iter:
            break
        change = estimate - previous
        # Stop when the last change is small and the contraction of the last
        # two changes predicts little more to come (the Ritz value of the
        # power method rises monotonically and, with a gap, geometrically).
        # The first change (from 0) says nothing about the rate: skip it.
        if step >= 2 and change <= RTOL * estimate:
            rate = change / change_before if change_before > 0 else 0.0
            if rate < 1.0 and change / (1.0 - rate) <= RTOL * estimate:
                break
        change_before = max(change, 0.0)
        with np.errstate(invalid="ignore", over="ignore"):
            z = np.asarray(rmatmat(y), dtype=dtype) - v @ (s * (uh @ y))
        x, _ = np.linalg.qr(finite(z, "the product E^H y"))
    return estimate
