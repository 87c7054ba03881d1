"""Pseudo-inverse by the Newton–Schulz (hyperpower) iteration, with truncation."""

from __future__ import annotations

import math
import warnings

import numpy as np

from lowrank._core.validation import check_iteration_options
from lowrank.exceptions import ConvergenceWarning

__all__ = ["pinv_newton"]

#: Subspace-refinement sweeps allowed after the rank decision.
_MAX_SWEEPS = 8
#: Newton steps allowed after the doubling phase, by default.
_EXTRA_STEPS = 30


def _doubling_steps(s_max, cutoff):
    """Steps K and scaling alpha with phi_K(cutoff) = 1/2 and alpha s_max^2 <= 1.

    After K Newton steps from ``X_0 = alpha A^H`` a singular value s is mapped
    to ``phi_K(s) = s x_K(s) = 1 - (1 - alpha s^2)^(2^K)``. For a given K,
    ``alpha = (1 - 2^(-2^-K)) / cutoff^2`` puts the cutoff exactly at 1/2;
    K is the least value for which that alpha is admissible.
    """
    ratio = (s_max / cutoff) ** 2  # >= 1
    k = 0
    while True:
        alpha_c2 = -math.expm1(-math.log(2.0) * 2.0**-k)  # alpha * cutoff^2
        if alpha_c2 * ratio <= 1.0:
            return k, alpha_c2 / cutoff**2
        k += 1


def _orth(b):
    return np.linalg.qr(b)[0]


def pinv_newton(a, atol, rtol, *, tol=None, maxiter=None):
    """Pseudo-inverse of one matrix by a truncated Newton–Schulz iteration.

    Internal: `a`, `atol` and `rtol` are trusted (validated by the caller);
    `tol` and `maxiter` are checked by
    :func:`lowrank._core.validation.check_iteration_options`.

    Parameters
    ----------
    a : ndarray, shape (M, N)
        Non-empty matrix in float32, float64, complex64 or complex128. Not
        modified.
    atol, rtol : float
        Rank tolerances: singular values ``s > atol + rtol * s_max`` are
        inverted, the others are not (see Notes for the decision).
    tol : float, optional
        Stop the final Newton phase when the relative change
        ``||X_{k+1} - X_k||_F / ||X_{k+1}||_F <= tol``, or earlier once the
        residual ``||I - X_k C||_F`` of that phase stops decreasing (rounding
        level reached). Default ``10 * max(M, N) * eps``.
    maxiter : int, optional
        Cap on the total number of iterations (doubling steps + refinement
        sweeps + final Newton steps). Default ``2 K + 30 + 8``, with ``K`` the
        length of the doubling phase (see Notes): enough for a cold restart of
        the final phase on the hardest matrices.

    Returns
    -------
    X : ndarray, shape (N, M)
        Approximation of the pseudo-inverse of the rank-``r`` part of `a`,
        in ``a.dtype``.
    rank : int
        The number ``r`` of singular values treated as nonzero.
    n_iter : int
        Iterations used (all three phases).
    converged : bool
        False if `maxiter` was reached first; a
        :class:`~lowrank.exceptions.ConvergenceWarning` is then issued and the
        current iterate returned.

    Raises
    ------
    ValueError, TypeError
        For a bad `tol` or `maxiter`.

    Notes
    -----
    A wide ``A`` is handled as ``(A^H)^+ ^H``, so below ``M >= N`` and every
    square product is ``N x N``; no ``M x M`` matrix is formed.

    **Newton–Schulz.** ``X_{k+1} = (2I - X_k A) X_k`` from
    ``X_0 = alpha A^H``, ``0 < alpha < 2 / s_max^2``, converges to ``A^+``
    [1]_, [2]_: in terms of each singular value, ``phi_k(s) = s x_k(s)``
    obeys ``1 - phi_{k+1} = (1 - phi_k)^2``, so
    ``phi_K(s) = 1 - (1 - alpha s^2)^(2^K)``. Small singular values need
    about ``log2(1 / (alpha s^2))`` steps before convergence sets in, and the
    rounding-level ones of a (numerically) rank-deficient matrix are
    eventually inverted too: without truncation the iteration is unstable
    [3]_.

    **Truncation (how the cutoff is honoured).** Three phases:

    1. *Doubling.* ``s_max`` is taken from the largest eigenvalue of the
       ``N x N`` Gram matrix ``A^H A`` (needed anyway for the first step),
       ``sigma_cut = atol + rtol * s_max`` (raised to ``eps * s_max`` if
       smaller: nothing below rounding level can be resolved). ``K`` and
       ``alpha <= 1 / s_max^2`` are chosen so that
       ``phi_K(sigma_cut) = 1/2`` exactly; ``K ~ log2(s_max^2 / sigma_cut^2)``.
       After ``K`` steps the eigenvalues ``phi_K(s_i)`` of the Hermitian
       ``N x N`` matrix ``X_K A`` exceed 1/2 exactly for the singular values
       above the cutoff; their count is the rank ``r``, their eigenvectors
       ``W`` (N x r) approximate the retained right singular subspace.
    2. *Refinement.* ``X_K`` itself cannot simply be projected: by then the
       rounding-level singular values ``s ~ eps s_max`` carry components
       ``x_K(s) ~ phi_K(s) / s ~ 1 / (p^2 eps s_max)``, far larger than
       ``||A_r^+||`` when ``A`` is rank-deficient but well conditioned, and
       the rounding errors of products with them pollute ``X_K A`` at the
       level ``1 / p^2``. So ``W`` is only a starting basis: a few sweeps of
       subspace iteration ``W <- orth(A^H orth(A W))`` make it accurate to
       rounding level (stopped when the subspace moves by less than `tol`;
       at most 8).
    3. *Newton on the compressed matrix.* ``C = A W`` (M x r) has full
       column rank, where Newton–Schulz is stable. It starts afresh from
       ``Y_0 = C^H / s_max(C)^2``, so that every iterate has the form
       ``p(C^H C) C^H`` and ``C Y_k`` is Hermitian up to one step's rounding,
       and runs to the stopping rule of `tol`: about
       ``2 log2(s_1 / s_r) + 6`` steps. The result is
       ``X = W Y ~= (A W W^H)^+``.

       The restart is done even if ``r = N`` (then ``W`` only rotates): with
       ``W`` close to the right singular vectors, the columns of ``C`` are
       nearly orthogonal with graded norms ``~ s_i`` and the rounding errors
       of the products stay graded. Simply continuing ``X_K`` (or plain
       Newton–Schulz from ``A^H / s_max^2``) on a full-rank 100 x 100 matrix
       with ``kappa = 1e8`` left ``||(AX)^H - AX|| / ||AX||`` at about
       ``1e3 p eps kappa``, and warm-starting phase 3 from ``W^H X_K`` left
       it at ~30 ``p eps kappa`` (``kappa = 1e12``); the restart brings it to
       ``1e-3 p eps kappa``. Symmetrizing ``X_k A`` inside the iteration
       makes it far worse. The price is ``2 log2(kappa) + 6`` extra steps.

    **Cost.** Each doubling step costs ``4 M N^2`` flops (two products with
    an ``N x N`` matrix), each refinement sweep about ``4 M N r`` and each
    final step about ``4 M r^2``, plus one ``N x N`` eigendecomposition. At
    the default ``rtol = p eps`` (``p = max(M, N)``),
    ``K = log2(1 / (alpha sigma_cut^2)) ~ 2 log2(1 / (p eps))``: about 90
    in float64 and 35 in float32. In total ``n_iter`` is about
    ``K + 1 + 2 log2(kappa) + 6`` (measured for 40 x 20 matrices in float64:
    about 120 at ``kappa = 1e3``, 153 at ``kappa = 1e8``; 61 in float32 at
    ``kappa = 1e3``), i.e. dozens of
    SVDs' worth of matrix products: much slower than the SVD route for a
    one-off pseudo-inverse. It is useful where matrix products are all that
    is fast, or to study the iteration.

    **Accuracy.** The four relative Moore–Penrose residuals are about
    ``C p eps kappa`` with ``kappa = s_1 / s_r``; on the random test matrices
    of ``tests/linalg/test_newton.py`` (square, tall, wide, rank-deficient,
    complex, float32, ``kappa`` up to 1e12) and on 1500 random matrices
    drawn like ``tests/strategies.py`` the largest measured ``C`` is about 1
    (reached on 1 x 1 and 2 x 1 matrices; below 0.2 from about 8 x 8 on);
    the tests check ``C = 10``. The rank agrees with the SVD rule
    when no singular value lies within a factor ~100 of the cutoff; closer
    to it the decision rests on ``phi_K(s)`` computed with rounding errors
    of order ``eps ||X_K|| ||A||``, so it can differ from the SVD's.

    References
    ----------
    .. [1] A. Ben-Israel and D. Cohen, "On iterative computation of
       generalized inverses and associated projections", SIAM J. Numer. Anal.
       3(3) (1966), 410-419. https://doi.org/10.1137/0703035
    .. [2] V. Pan and R. Schreiber, "An improved Newton iteration for the
       generalized inverse of a matrix, with applications", SIAM J. Sci. Stat.
       Comput. 12(5) (1991), 1109-1130. https://doi.org/10.1137/0912058
    .. [3] T. Söderström and G. W. Stewart, "On the numerical properties of
       an iterative method for computing the Moore–Penrose generalized
       inverse", SIAM J. Numer. Anal. 11(1) (1974), 61-74.
       https://doi.org/10.1137/0711008

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank.linalg._newton import pinv_newton
    >>> a = np.outer([1.0, 2.0, 3.0], [1.0, 1.0])
    >>> x, rank, n_iter, converged = pinv_newton(a, 0.0, 3 * np.finfo(float).eps)
    >>> rank, converged
    (1, True)
    >>> bool(np.allclose(x, a.T / np.sum(a * a)))
    True
    """
    tol, maxiter = check_iteration_options(tol, maxiter)
    m, n = a.shape
    if m < n:
        x, rank, n_iter, converged = _pinv_newton_tall(
            a.conj().T, float(atol), float(rtol), tol, maxiter
        )
        return x.conj().T, rank, n_iter, converged
    return _pinv_newton_tall(a, float(atol), float(rtol), tol, maxiter)


def _pinv_newton_tall(a, atol, rtol, tol, maxiter):
    m, n = a.shape
    dtype = a.dtype
    eps = float(np.finfo(dtype).eps)
    zeros = np.zeros((n, m), dtype=dtype)
    if tol is None:
        tol = 10 * m * eps

    # Scale by a power of two (exact) so that the products cannot overflow.
    big = float(np.max(np.abs(a)))
    if big == 0.0:
        return zeros, 0, 0, True
    scale = 2.0 ** -math.frexp(big)[1]
    a_s = a * dtype.type(scale)  # a new array; `a` is never written

    gram = a_s.conj().T @ a_s
    gram = (gram + gram.conj().T) / 2
    s_max = math.sqrt(max(float(np.linalg.eigvalsh(gram)[-1]), 0.0))
    cutoff = atol * scale + rtol * s_max
    if s_max == 0.0 or not cutoff < s_max:
        return zeros, 0, 0, True
    cutoff = max(cutoff, eps * s_max)
    n_doubling, alpha = _doubling_steps(s_max, cutoff)
    if maxiter is None:
        maxiter = 2 * n_doubling + _EXTRA_STEPS + _MAX_SWEEPS
    n_iter = 0

    # Phase 1: doubling, X_{k+1} = 2 X_k - (X_k A) X_k.
    x = a_s.conj().T * dtype.type(alpha)
    g = gram * dtype.type(alpha)
    while n_iter < n_doubling:
        if n_iter == maxiter:
            return _not_converged(x * dtype.type(scale), g, n_iter)
        x = 2 * x - g @ x
        g = x @ a_s  # not symmetrized: X_k must stay p(A^H A) A^H
        n_iter += 1

    phi, vecs = np.linalg.eigh((g + g.conj().T) / 2)
    keep = phi > 0.5
    rank = int(np.count_nonzero(keep))
    if rank == 0:
        return zeros, 0, n_iter, True
    w = vecs[:, keep]

    # Phase 2: subspace iteration on the retained right singular subspace.
    for _ in range(_MAX_SWEEPS):
        if n_iter == maxiter:
            return _not_converged(x * dtype.type(scale), g, n_iter, rank)
        q = _orth(a_s @ w)
        w_new = _orth(a_s.conj().T @ q)
        moved = np.linalg.norm(w_new - w @ (w.conj().T @ w_new))
        w = w_new
        n_iter += 1
        if moved <= tol * math.sqrt(rank):
            break

    # Phase 3: Newton on the full-column-rank C = A W (M x r), started afresh
    # so that every iterate is p(C^H C) C^H (C Y_k Hermitian); see Notes.
    c = a_s @ w
    c_gram = c.conj().T @ c
    c_max2 = float(np.linalg.eigvalsh((c_gram + c_gram.conj().T) / 2)[-1])
    y = c.conj().T * dtype.type(1.0 / c_max2)
    eye = np.eye(rank, dtype=dtype)
    previous = math.inf
    converged = False
    while True:
        h = y @ c
        residual = float(np.linalg.norm(eye - h))
        if previous < 0.25 and residual >= previous / 2:
            converged = True  # quadratic convergence has hit rounding level
            break
        if n_iter == maxiter:
            break
        y_new = 2 * y - h @ y
        change = np.linalg.norm(y_new - y) / np.linalg.norm(y_new)
        y = y_new
        n_iter += 1
        previous = residual
        if change <= tol:
            converged = True
            break
    x = (w @ y) * dtype.type(scale)
    if not converged:
        _warn(n_iter)
    return x, rank, n_iter, converged


def _warn(n_iter):
    warnings.warn(
        f"Newton–Schulz pseudo-inverse did not converge in maxiter={n_iter} "
        "iterations; the returned iterate is less accurate than requested",
        ConvergenceWarning,
        stacklevel=4,
    )


def _not_converged(x, g, n_iter, rank=None):
    """Stop early: return the current iterate (not truncated)."""
    if rank is None:
        rank = int(np.count_nonzero(np.linalg.eigvalsh((g + g.conj().T) / 2) > 0.5))
    _warn(n_iter)
    return x, rank, n_iter, False
