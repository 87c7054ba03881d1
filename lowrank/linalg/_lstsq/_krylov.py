"""Block LSQR and LSMR: K least-squares problems with one operator, in lockstep.

Each right-hand side b_j runs its own LSQR [1]_ or LSMR [2]_ recurrence, with
its own scalars (alpha, beta, the rotations, the norm estimates: arrays of
shape (k,), one entry per active column), but all columns share the operator
products: every iteration applies A to an n x k block and A^H to an m x k
block (level-3 work for a dense A) instead of k vectors one by one. A column
that meets a stopping test is frozen and dropped from the active block, so
finished columns cost nothing afterwards.

Everything except the operator products is column-wise: elementwise updates,
and column norms of Fortran-ordered blocks, which numpy sums column by column
in the same order whatever the block width. With an operator that treats
columns independently, a column's result is therefore bitwise the same as
when it is solved alone; with a BLAS product it is the same to rounding.

Internal: inputs are trusted (validated by the public caller).

References
----------
.. [1] C. C. Paige, M. A. Saunders, "LSQR: An algorithm for sparse linear
   equations and sparse least squares", ACM TOMS 8(1) (1982), 43-71.
   https://doi.org/10.1145/355984.355989
.. [2] D. C.-L. Fong, M. A. Saunders, "LSMR: An iterative algorithm for
   sparse least-squares problems", SIAM J. Sci. Comput. 33(5) (2011),
   2950-2971. https://doi.org/10.1137/10079687X
"""

from __future__ import annotations

import enum
from typing import NamedTuple

import numpy as np

__all__ = ["KrylovResult", "Stop", "block_lsmr", "block_lsqr", "converged_codes"]


class Stop(enum.IntEnum):
    """Why a column stopped: the ``istop`` codes of :class:`KrylovResult`.

    Codes 0-2 mean converged (``converged`` is True), codes 3-6 do not. When
    several tests pass in the same iteration the lowest code is reported, so
    a requested tolerance that is met always shows as convergence.
    """

    #: x = 0 is the exact answer: b = 0 or A^H b = 0. No iteration was run.
    TRIVIAL = 0
    #: test1, ``||r|| <= btol ||b|| + atol ||A|| ||x||``: a compatible system
    #: solved to the tolerances.
    RESIDUAL = 1
    #: test2, ``||A^H r|| <= atol ||A|| ||r||``: a least-squares solution to
    #: the tolerance.
    NORMAL = 2
    #: The estimate of cond(A) (of ``[A; damp I]``) reached `conlim`.
    CONDITION = 3
    #: Rounding level reached before the requested tolerances (which were
    #: below what the precision resolves): ``||r|| <= eps (||b|| + ||A|| ||x||)``
    #: or ``||A^H r|| <= eps ||A|| ||r||``. x is as good as this precision gives.
    ROUNDING = 4
    #: `maxiter` iterations done without meeting a test.
    MAXITER = 5
    #: The operator returned NaN or Inf; x is the last finite iterate.
    BREAKDOWN = 6


_RUNNING = -1
_CONVERGED_CODES = (Stop.TRIVIAL, Stop.RESIDUAL, Stop.NORMAL)


def converged_codes():
    """The ``istop`` codes that count as converged, as a tuple of ints.

    ``np.isin(result.istop, converged_codes())`` is ``result.converged``.
    """
    return tuple(int(code) for code in _CONVERGED_CODES)


class KrylovResult(NamedTuple):
    """Result of :func:`block_lsqr` and :func:`block_lsmr`, one entry per column.

    For ``damp > 0`` the residual is that of the augmented problem
    ``min ||[A; damp I] x - [b; 0]||``: ``r = [b - A x; -damp x]``.

    Attributes
    ----------
    x : ndarray, shape (N, K)
        The solutions, in the dtype of `b`.
    n_iter : ndarray of int, shape (K,)
        Iterations each column took (one operator application each way per
        iteration). 0 for ``Stop.TRIVIAL``.
    converged : ndarray of bool, shape (K,)
        True for ``istop`` in ``{TRIVIAL, RESIDUAL, NORMAL}``.
    istop : ndarray of int, shape (K,)
        The :class:`Stop` code of each column.
    normr : ndarray, real, shape (K,)
        Estimate of ``||r||``: ``||b - A x||``, or for ``damp > 0``
        ``sqrt(||b - A x||^2 + damp^2 ||x||^2)``. ``||b||`` for columns
        that did not iterate.
    normar : ndarray, real, shape (K,)
        Estimate of ``||A^H (b - A x) - damp^2 x||`` (the gradient of the
        damped objective, up to a factor -2). ``||A^H b||`` for columns that
        did not iterate (0 for ``Stop.TRIVIAL``).
    norma : ndarray, real, shape (K,)
        Estimate of ``||[A; damp I]||_F``: the Frobenius norm of the
        bidiagonal ``B_k`` built so far (plus ``damp^2`` per iteration), as
        in both papers; ``alpha_1 = ||A^H b|| / ||b||`` for columns that did
        not iterate. In exact arithmetic it grows towards the true value from
        below; in floating point, once the Lanczos vectors lose
        orthogonality, B_k repeats converged singular values and the
        estimate can exceed the true value (by a few times after many
        iterations). It only scales the stopping tests.

    Notes
    -----
    normr, normar and norma come from the scalar recurrences (no extra
    operator products). In exact arithmetic normr and normar are the true
    values; in floating point they follow the true values down to about
    ``eps ||A|| ||x||`` and ``eps ||A||^2 ||x||`` (measured: to 1e-10 and
    1e-8 relative above that), and may go on decreasing below it, so at
    rounding level they are optimistic. ``converged`` is decided on these
    estimates.
    """

    x: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    istop: np.ndarray
    normr: np.ndarray
    normar: np.ndarray
    norma: np.ndarray


# --- Column-wise helpers --------------------------------------------------


def _as_block(a, dtype):
    """An operator's output as a Fortran-ordered block in the working dtype.

    Fortran order makes `_column_norms` sum each column contiguously, the
    same way as a lone column (no copy when the operator returns it so).
    """
    return np.asfortranarray(a, dtype=dtype)


def _column_norms(a):
    """Euclidean norm of each column of a Fortran-ordered block (real dtype)."""
    return np.linalg.norm(a, axis=0)


def _normalise(a, norms):
    """Columns of `a` divided by `norms`; columns with norm 0 (or not finite,
    about to be dropped) are left as they are, so no 0/0 is ever evaluated."""
    ok = np.isfinite(norms) & (norms > 0)
    return a / np.where(ok, norms, 1)


def _givens(a, b):
    """Plane rotations ``[c s; -s c]`` with ``c a + s b = r >= 0``, ``-s a + c b = 0``.

    Elementwise on arrays of real scalars; r = 0 gives the identity.
    """
    r = np.hypot(a, b)
    safe = np.where(r > 0, r, 1)
    return np.where(r > 0, a / safe, 1), b / safe, r


def _take(a, keep):
    """The active columns `keep` (boolean mask) of a block or scalar array."""
    return np.asfortranarray(a[..., keep])


class _Columns:
    """State of the active columns: every attribute is an array whose last
    axis runs over them (blocks (rows, k), scalars (k,)), so dropping finished
    columns is one `_take` per attribute."""

    def __init__(self, **arrays):
        self.__dict__.update(arrays)

    def keep(self, mask):
        for name, value in list(vars(self).items()):
            setattr(self, name, _take(value, mask))


class _Output:
    """The (K,)-shaped results, filled in as columns are frozen."""

    def __init__(self, n, dtype, alpha, beta):
        k = beta.shape[0]
        self.x = np.zeros((n, k), dtype=dtype)
        self.n_iter = np.zeros(k, dtype=np.intp)
        self.istop = np.full(k, _RUNNING, dtype=np.intp)
        self.normr = beta.copy()
        self.normar = alpha * beta
        self.norma = alpha.copy()

    def freeze(self, columns, mask, s, n_iter, codes):
        """Record the active columns `mask` (original indices `columns[mask]`)."""
        index = columns[mask]
        self.x[:, index] = s.x[:, mask]
        self.n_iter[index] = n_iter
        self.istop[index] = codes[mask] if np.ndim(codes) else codes
        self.normr[index] = s.normr[mask]
        self.normar[index] = s.normar[mask]
        self.norma[index] = s.norma[mask]

    def result(self):
        converged = np.isin(self.istop, _CONVERGED_CODES)
        return KrylovResult(
            self.x,
            self.n_iter,
            converged,
            self.istop,
            self.normr,
            self.normar,
            self.norma,
        )


# --- Golub–Kahan bidiagonalization ----------------------------------------


def _unfused(matmat, rmatmat):
    """The fused step from two operator calls (the same arithmetic)."""

    def fused(v, u, alpha):
        w = matmat(v) - u * alpha
        return w, rmatmat(w)

    return fused


def _golub_kahan_step(fused, dtype, u, v, alpha):
    """``beta' u' = A v - alpha u`` and ``alpha' v' = A^H u' - beta' v``.

    ``A^H u'`` is taken as ``(A^H W) / beta'`` with ``W = A v - alpha u``
    (linearity), so both paths, with or without a fused kernel, do the same
    arithmetic. Returns ``(u', v', alpha', beta')``; non-finite alpha' or
    beta' flag a breakdown, and the caller drops those columns.
    """
    w, z = fused(v, u, alpha)
    w = _as_block(w, dtype)
    z = _as_block(z, dtype)
    beta = _column_norms(w)
    u = _normalise(w, beta)
    beta_used = np.where(np.isfinite(beta), beta, 0)
    z = _normalise(z, beta) - v * beta_used
    alpha = _column_norms(z)
    return u, _normalise(z, alpha), alpha, beta


# --- The two scalar recurrences -------------------------------------------
#
# `start(s)` adds a method's state to the common one (u, v, alpha, beta, damp,
# bnorm, anorm2, norma, normr, normar, xnorm, cond). `update(s, itn,
# want_cond)` runs after the bidiagonalization step of iteration `itn` (s
# then holds u_{k+1}, v_{k+1}, alpha_{k+1}, beta_{k+1} and norma = ||B_k||_F)
# and sets x, normr, normar, xnorm and, if asked, cond.


def _lsqr_start(s):
    s.x = np.zeros_like(s.v)
    s.w = s.v.copy()
    s.phibar = s.beta.copy()
    s.rhobar = s.alpha.copy()
    s.res2 = np.zeros_like(s.beta)  # sum of psi^2: the damp part of ||r||^2
    s.ddnorm = np.zeros_like(s.beta)


def _lsqr_update(s, itn, want_cond):
    """One LSQR step: QR of the damped bidiagonal by two rotations, then x."""
    # Rotate damp (the next row of the damp I block) into rhobar.
    cs1, sn1, rhobar1 = _givens(s.rhobar, s.damp)
    psi = -sn1 * s.phibar
    phibar = cs1 * s.phibar
    # Rotate beta_{k+1} away: row k of R_k is (rho_k, theta_{k+1}).
    c, sn, rho = _givens(rhobar1, s.beta)
    theta = sn * s.alpha
    s.rhobar = c * s.alpha
    phi = c * phibar
    s.phibar = -sn * phibar
    if want_cond:
        # cond(A) ~ ||B_k||_F ||D_k||_F with D_k = V_k R_k^{-1}, whose
        # columns are the search directions w_k / rho_k.
        s.ddnorm = s.ddnorm + (_column_norms(s.w) / rho) ** 2
        s.cond = s.norma * np.sqrt(s.ddnorm)
    s.x += s.w * (phi / rho)
    s.w = s.v - s.w * (theta / rho)
    s.res2 = s.res2 + psi * psi
    s.normr = np.sqrt(s.phibar * s.phibar + s.res2)
    # ||A^H r_k|| = alpha_{k+1} |c_k phibar_{k+1}| = alpha_{k+1} |s_k phi_k|.
    s.normar = s.alpha * np.abs(sn * phi)
    s.xnorm = _column_norms(s.x)


def _lsmr_start(s):
    one = np.ones_like(s.beta)
    zero = np.zeros_like(s.beta)
    s.x = np.zeros_like(s.v)
    s.h = s.v.copy()
    s.hbar = np.zeros_like(s.v)
    s.alphabar = s.alpha.copy()
    s.zetabar = s.alpha * s.beta
    s.zeta = zero
    s.rho = one
    s.rhobar = one
    s.cbar = one
    s.sbar = zero
    # For the paper's estimate of ||r_k|| (with its extension to damp > 0).
    s.betadd = s.beta.copy()
    s.betad = zero
    s.rhodold = one
    s.tautildeold = zero
    s.thetatilde = zero
    s.dsum = zero
    # Extreme diagonal entries of Rbar_{k-1}, for the cond(A) estimate.
    s.maxrbar = zero
    s.minrbar = np.full_like(s.beta, np.inf)


def _lsmr_update(s, itn, want_cond):
    """One LSMR step: rotations P_k (and the damp one), Pbar_k, then h, hbar, x."""
    chat, shat, alphahat = _givens(s.alphabar, s.damp)
    rho_old = s.rho
    c, sn, s.rho = _givens(alphahat, s.beta)
    theta_new = sn * s.alpha
    s.alphabar = c * s.alpha
    rhobar_old = s.rhobar
    zeta_old = s.zeta
    thetabar = s.sbar * s.rho
    rhotemp = s.cbar * s.rho  # last diagonal entry of Rbar_k
    s.cbar, s.sbar, s.rhobar = _givens(rhotemp, theta_new)
    s.zeta = s.cbar * s.zetabar
    s.zetabar = -s.sbar * s.zetabar
    s.hbar = s.h - s.hbar * (thetabar * s.rho / (rho_old * rhobar_old))
    s.x += s.hbar * (s.zeta / (s.rho * s.rhobar))
    s.h = s.v - s.h * (theta_new / s.rho)
    _lsmr_residual_estimate(s, chat, shat, c, sn, thetabar, zeta_old)
    s.normar = np.abs(s.zetabar)
    s.xnorm = _column_norms(s.x)
    if want_cond:
        # rhobar_0 = 1 is only a starting value, not part of Rbar_k: leaving
        # it out keeps the estimate independent of the scaling of A.
        if itn > 1:
            s.maxrbar = np.maximum(s.maxrbar, rhobar_old)
            s.minrbar = np.minimum(s.minrbar, rhobar_old)
        s.cond = np.maximum(s.maxrbar, rhotemp) / np.minimum(s.minrbar, rhotemp)


def _lsmr_residual_estimate(s, chat, shat, c, sn, thetabar, zeta_old):
    """``||r_k||`` by applying this step's rotations to the rotated ``beta_1 e_1``.

    With ``t_k`` the solution in the rotated basis, ``||r_k||^2 = d_k +
    (betad_k - taud_k)^2 + betadd_{k+1}^2``, where ``d_k`` collects the parts
    rotated out by the damp rotations.
    """
    # The damp rotation Qhat_k, then P_k (here Q_k), on (betadd, 0).
    betaacute = chat * s.betadd
    betacheck = -shat * s.betadd
    betahat = c * betaacute
    s.betadd = -sn * betaacute
    # Qtilde_{k-1}: the rotation making R_k^T Rbar_k lower-bidiagonal.
    thetatilde_old = s.thetatilde
    ctilde, stilde, rhotilde = _givens(s.rhodold, thetabar)
    s.thetatilde = stilde * s.rhobar
    s.rhodold = ctilde * s.rhobar
    s.betad = -stilde * s.betad + ctilde * betahat
    s.tautildeold = (zeta_old - thetatilde_old * s.tautildeold) / rhotilde
    taud = (s.zeta - s.thetatilde * s.tautildeold) / s.rhodold
    s.dsum = s.dsum + betacheck * betacheck
    s.normr = np.sqrt(s.dsum + (s.betad - taud) ** 2 + s.betadd * s.betadd)


# --- Driver -----------------------------------------------------------------


def _stopping_codes(s, atol, btol, conlim, eps):
    """Stop code of each active column (_RUNNING if none applies).

    Later assignments win: a met tolerance overrides the rounding and
    condition stops, so that those only report what the tolerances missed.
    """
    test1 = s.normr / s.bnorm
    ax_over_b = s.norma * s.xnorm / s.bnorm
    denominator = s.norma * s.normr
    # r = 0 makes test2 0/0; test1 = 0 decides such a column.
    test2 = np.divide(
        s.normar,
        denominator,
        out=np.full_like(denominator, np.inf),
        where=denominator > 0,
    )
    codes = np.full(test1.shape, _RUNNING, dtype=np.intp)
    codes[(test1 <= eps * (1 + ax_over_b)) | (test2 <= eps)] = Stop.ROUNDING
    if conlim is not None:
        codes[s.cond >= conlim] = Stop.CONDITION
    codes[test2 <= atol] = Stop.NORMAL
    codes[test1 <= btol + atol * ax_over_b] = Stop.RESIDUAL
    return codes


def _solve(method, matmat, rmatmat, b, damp, atol, btol, maxiter, fused, conlim):
    start, update = method
    dtype = b.dtype
    real = np.finfo(dtype).dtype
    eps = np.finfo(dtype).eps
    want_cond = conlim is not None
    step = _unfused(matmat, rmatmat) if fused is None else fused

    # beta_1 u_1 = b, alpha_1 v_1 = A^H u_1 (on all columns: this gives n).
    b = _as_block(b, dtype)
    beta = _column_norms(b)
    u = _normalise(b, beta)
    v = _as_block(rmatmat(u), dtype)
    alpha = _column_norms(v)
    v = _normalise(v, alpha)
    out = _Output(v.shape[0], dtype, alpha, beta)

    finite = np.isfinite(alpha) & np.isfinite(beta)
    out.istop[~finite] = Stop.BREAKDOWN
    out.istop[finite & ((beta == 0) | (alpha == 0))] = Stop.TRIVIAL
    active = np.flatnonzero(out.istop == _RUNNING)
    damp = np.broadcast_to(np.asarray(damp, dtype=real), beta.shape)
    s = _Columns(u=u, v=v, alpha=alpha, beta=beta, damp=damp, bnorm=beta)
    s.keep(out.istop == _RUNNING)
    zero = np.zeros_like(s.beta)
    s.anorm2, s.xnorm, s.cond = zero, zero, np.ones_like(s.beta)
    s.normr, s.normar, s.norma = s.beta, s.alpha * s.beta, s.alpha
    start(s)

    itn = 0
    while active.size and itn < maxiter:
        itn += 1
        s.anorm2 = s.anorm2 + s.alpha * s.alpha + s.damp * s.damp
        s.u, s.v, s.alpha, s.beta = _golub_kahan_step(step, dtype, s.u, s.v, s.alpha)
        bad = ~(np.isfinite(s.alpha) & np.isfinite(s.beta))
        if bad.any():
            # Freeze before the update: x stays the last finite iterate.
            out.freeze(active, bad, s, itn - 1, Stop.BREAKDOWN)
            s.keep(~bad)
            active = active[~bad]
            if not active.size:
                break
        s.anorm2 = s.anorm2 + s.beta * s.beta
        s.norma = np.sqrt(s.anorm2)
        update(s, itn, want_cond)
        codes = _stopping_codes(s, atol, btol, conlim, eps)
        done = codes != _RUNNING
        if done.any():
            out.freeze(active, done, s, itn, codes)
            s.keep(~done)
            active = active[~done]
    if active.size:
        out.freeze(active, np.ones(active.size, bool), s, itn, Stop.MAXITER)
    return out.result()


_SHARED_DOC = """
    Parameters
    ----------
    matmat : callable
        ``matmat(V)`` with V of shape (N, k) returns ``A @ V``, shape (M, k).
        k is the number of active columns (it shrinks as columns finish).
    rmatmat : callable
        ``rmatmat(U)`` with U of shape (M, k) returns ``A^H @ U``, shape
        (N, k) (the conjugate transpose for complex A).
    b : ndarray, shape (M, K)
        Right-hand sides, float32, float64, complex64 or complex128: the
        computation runs in this dtype, and operator outputs are cast to it
        (so for complex A, b must be complex too).
        The solve starts from x0 = 0; for a warm start x0 pass ``b - A x0``
        and add x0 to the returned correction.
    damp : float or ndarray of shape (K,), optional
        ``>= 0``: solve ``min ||A x - b||^2 + damp^2 ||x||^2``, one value for
        all columns or one per column. Default 0.
    atol, btol : float
        Stopping tolerances (per column, as in the papers): stop when
        ``||r|| <= btol ||b|| + atol ||A|| ||x||`` (test1, compatible
        systems) or ``||A^H r|| <= atol ||A|| ||r||`` (test2, least squares),
        with r and A the augmented ones for ``damp > 0``. Tolerances below
        the precision's eps are not reached: such columns stop with
        ``Stop.ROUNDING``, not converged.
    maxiter : int
        Maximum iterations per column (``>= 0``).
    fused : callable, optional
        ``fused(V, U, alpha)``, alpha of shape (k,), returns ``(W, Z)`` with
        ``W = A @ V - U * alpha`` and ``Z = A^H @ W``: the whole Golub–Kahan
        step in one call (a kernel that reads a dense A once). Then each
        iteration makes this one call instead of `matmat` + `rmatmat`;
        `rmatmat` is still called once, for ``A^H b``, and `matmat` not at
        all. Without `fused` the iteration computes the same W and Z as
        ``W = matmat(V) - U * alpha``, ``Z = rmatmat(W)``, so both paths do
        the same arithmetic apart from inside the operator products (and
        give bitwise equal results for a `fused` that computes exactly
        that).
    conlim : float, optional
        Stop a column (``Stop.CONDITION``, not converged) when its estimate
        of cond([A; damp I]) reaches conlim. Default None: no such test.

    Returns
    -------
    KrylovResult
        ``(x, n_iter, converged, istop, normr, normar, norma)``, see
        :class:`KrylovResult`; ``istop`` holds :class:`Stop` codes. Nothing
        is warned or printed: the caller reports non-convergence.

    Notes
    -----
    The operators may be called with k = 0 columns (only for K = 0, to learn
    N) and must not modify their arguments. They may return any memory
    layout. Columns with ``b = 0`` or ``A^H b = 0`` stop at once with
    ``x = 0`` (``Stop.TRIVIAL``, converged, 0 iterations).
"""


def _with_shared_doc(function):
    """Insert the Parameters/Returns/Notes the two solvers share (no-op
    under ``python -OO``, which strips docstrings)."""
    if function.__doc__:
        function.__doc__ = function.__doc__.format(shared=_SHARED_DOC)
    return function


@_with_shared_doc
def block_lsqr(
    matmat, rmatmat, b, *, damp=0.0, atol, btol, maxiter, fused=None, conlim=None
):
    """Solve K damped least-squares problems with one operator by block LSQR.

    Column j gives ``x_j = argmin ||A x - b_j||^2 + damp_j^2 ||x||^2``; from
    x0 = 0 that is the minimum-norm solution when A is rank deficient or
    wide. The K LSQR recurrences (Paige & Saunders 1982) run in lockstep:
    one operator product per direction and iteration for the whole block.
    LSQR minimizes ``||r_k||`` over the Krylov subspace; its ``||A^H r_k||``
    may oscillate (LSMR makes that monotone).
    {shared}
    ``||x||`` in the tests is computed directly (the same cost as the x
    update). The cond(A) estimate (only formed when `conlim` is given, it
    costs one column norm per iteration) is ``||B_k||_F ||D_k||_F``, with
    D_k the search directions, as in the paper.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank.linalg._lstsq._krylov import block_lsqr
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((50, 10))
    >>> b = rng.standard_normal((50, 3))
    >>> res = block_lsqr(lambda v: a @ v, lambda u: a.T @ u, b,
    ...                  atol=1e-12, btol=1e-12, maxiter=100)
    >>> res.x.shape, res.converged.tolist()
    ((10, 3), [True, True, True])
    >>> x_ref = np.linalg.lstsq(a, b, rcond=None)[0]
    >>> bool(np.allclose(res.x, x_ref, rtol=1e-10, atol=0))
    True
    """
    return _solve(
        (_lsqr_start, _lsqr_update),
        matmat,
        rmatmat,
        b,
        damp,
        atol,
        btol,
        maxiter,
        fused,
        conlim,
    )


@_with_shared_doc
def block_lsmr(
    matmat, rmatmat, b, *, damp=0.0, atol, btol, maxiter, fused=None, conlim=None
):
    """Solve K damped least-squares problems with one operator by block LSMR.

    Column j gives ``x_j = argmin ||A x - b_j||^2 + damp_j^2 ||x||^2`` (the
    minimum-norm one from x0 = 0 in exact arithmetic). The K LSMR
    recurrences (Fong & Saunders 2011) run in lockstep on the same
    Golub–Kahan process as LSQR; LSMR minimizes ``||A^H r_k||`` over the
    Krylov subspace, so that quantity decreases monotonically and the
    least-squares test (test2) is often met earlier than with LSQR.
    {shared}
    ``||r||`` is estimated by the paper's recurrence (rotations applied to
    ``beta_1 e_1``), ``||A^H r||`` is ``|zetabar_{{k+1}}|``, and cond(A) is
    estimated by the ratio of the extreme diagonal entries of ``Rbar_k``
    (leaving out the starting value rhobar_0 = 1, which scipy's version
    includes).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank.linalg._lstsq._krylov import block_lsmr
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((50, 10)) + 1j * rng.standard_normal((50, 10))
    >>> b = rng.standard_normal((50, 2)) + 1j * rng.standard_normal((50, 2))
    >>> res = block_lsmr(lambda v: a @ v, lambda u: a.conj().T @ u, b,
    ...                  damp=np.array([0.0, 1.0]), atol=1e-12, btol=1e-12,
    ...                  maxiter=100)
    >>> res.x.dtype, res.normr.dtype, res.converged.tolist()
    (dtype('complex128'), dtype('float64'), [True, True])
    >>> aug = np.vstack([a, np.eye(10)])  # damp = 1: the augmented system
    >>> x1 = np.linalg.lstsq(aug, np.concatenate([b[:, 1], np.zeros(10)]),
    ...                      rcond=None)[0]
    >>> bool(np.allclose(res.x[:, 1], x1, rtol=1e-10, atol=0))
    True
    """
    return _solve(
        (_lsmr_start, _lsmr_update),
        matmat,
        rmatmat,
        b,
        damp,
        atol,
        btol,
        maxiter,
        fused,
        conlim,
    )
