"""Diagnostics: how well a computed result meets its defining conditions."""

from __future__ import annotations

import numpy as np

from lowrank._core.arrays import conj_t
from lowrank._core.results import MoorePenroseResiduals
from lowrank._core.validation import as_matrix_stack, check_pinv_pair

__all__ = ["moore_penrose_residuals"]


def _fro(a):
    return np.linalg.norm(a, axis=(-2, -1))


def _relative(numerator, denominator):
    # 0/0 := 0: every denominator here is zero only if its numerator is zero
    # in exact arithmetic (A = 0, X = 0, AX = 0 or XA = 0).
    safe = np.where(denominator > 0, denominator, 1)
    return numerator / safe


def _hermitian_defect(left, right):
    """``(||M^H - M||_F, ||M||_F)`` for ``M = left @ right`` without forming a big M.

    ``left`` is (..., k, p) and ``right`` (..., p, k). If k <= 2p, M (k x k) is
    formed. Otherwise both M and M^H map into range([left, right^H]) and have
    their rows there too, so with Q an orthonormal basis of that space (k x 2p,
    Householder QR) ``||M - M^H|| = ||Q^H M Q - (Q^H M Q)^H||`` and
    ``||M|| = ||Q^H M Q||`` exactly: the work is O(k p^2) and the memory O(k p).
    """
    k, p = left.shape[-2:]
    if p == 0:
        zeros = np.zeros(np.broadcast_shapes(left.shape[:-2], right.shape[:-2]))
        return zeros, zeros
    if k <= 2 * p:
        product = left @ right
    else:
        basis, _ = np.linalg.qr(np.concatenate([left, conj_t(right)], -1))
        product = (conj_t(basis) @ left) @ (right @ basis)
    return _fro(product - conj_t(product)), _fro(product)


def moore_penrose_residuals(a, x, *, check_finite=True):
    """Measure how well `x` meets the four Moore–Penrose conditions for `a`.

    Parameters
    ----------
    a : array_like, shape (..., M, N)
        Matrix or stack of matrices.
    x : array_like, shape (..., N, M)
        Candidate pseudo-inverse(s). The stack shapes of `a` and `x`
        broadcast.
    check_finite : bool, optional
        Check that the inputs have no NaN or infinite entries (default).

    Returns
    -------
    MoorePenroseResiduals
        Named tuple ``(axa, xax, ax_hermitian, xa_hermitian)`` of the relative
        residuals ``||AXA - A|| / ||A||``, ``||XAX - X|| / ||X||``,
        ``||(AX)^H - AX|| / ||AX||`` and ``||(XA)^H - XA|| / ||XA||`` in the
        Frobenius norm: floats for one matrix, arrays of shape ``(...)`` for a
        stack. A zero denominator (which in exact arithmetic implies a zero
        numerator) gives the numerator itself, i.e. 0 for ``A = 0, X = 0``.

    Raises
    ------
    ValueError
        If the shapes do not match, an input has fewer than 2 dimensions or
        (with ``check_finite=True``) contains NaN or Inf.
    TypeError
        For unsupported dtypes (see :func:`~lowrank.pinv`).

    See Also
    --------
    pinv : The pseudo-inverse these residuals judge.

    Notes
    -----
    The residuals are computed exactly (no random probes) and without forming
    an ``M x M`` or ``N x N`` matrix when that is large: for tall ``A``
    (``M > 2N``) the ``M x M`` projector ``AX`` has its range and co-range in
    ``range([A, X^H])``, so its Hermitian defect equals that of the
    ``2N x 2N`` matrix ``Q^H A X Q``, with ``Q`` an orthonormal basis of that
    range from a Householder QR; wide ``A`` is treated the same way for
    ``XA``. Cost ``O(M N min(M, N))`` flops and ``O(M N)`` memory.

    float32 and complex64 inputs are checked in double precision, so the
    residuals measure the stored ``X``. In double precision the products
    themselves are rounded, so residuals below about
    ``eps * ||A|| ||X||`` are not resolved.

    Examples
    --------
    >>> import numpy as np
    >>> import lowrank
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((1000, 5))
    >>> res = lowrank.moore_penrose_residuals(a, lowrank.pinv(a))
    >>> max(res) < 1e-13
    True

    The transpose is a generalized inverse of an orthonormal matrix but not of
    a general one:

    >>> res = lowrank.moore_penrose_residuals(a, a.T)
    >>> bool(res.axa > 0.1)
    True
    """
    a = as_matrix_stack(a, "a", check_finite_values=check_finite)
    x = as_matrix_stack(x, "x", check_finite_values=check_finite)
    batch = check_pinv_pair(a.shape, x.shape)
    m, n = a.shape[-2:]
    # Single precision is checked in double, so the residuals measure the
    # stored X and not the rounding of the check itself.
    dtype = np.result_type(a.dtype, x.dtype, np.float64)
    a = np.broadcast_to(a.astype(dtype, copy=False), (*batch, m, n))
    x = np.broadcast_to(x.astype(dtype, copy=False), (*batch, n, m))

    # Multiply in the order that keeps the intermediate min(M, N) square.
    if m >= n:
        xa = x @ a
        axa, xax = a @ xa, xa @ x
    else:
        ax = a @ x
        axa, xax = ax @ a, x @ ax

    ax_defect, ax_norm = _hermitian_defect(a, x)
    xa_defect, xa_norm = _hermitian_defect(x, a)
    residuals = (
        _relative(_fro(axa - a), _fro(a)),
        _relative(_fro(xax - x), _fro(x)),
        _relative(ax_defect, ax_norm),
        _relative(xa_defect, xa_norm),
    )
    if np.ndim(residuals[0]) == 0:
        residuals = tuple(float(r) for r in residuals)
    return MoorePenroseResiduals(*residuals)
