"""The Moore–Penrose pseudo-inverse: public entry point and method registry."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lowrank._backends.dask import SUPPORTED_METHODS as DASK_METHODS
from lowrank._backends.dispatch import as_oriented_operand, is_dask_array
from lowrank._backends.ndarray import DenseTall
from lowrank._core.arrays import conj_t
from lowrank._core.blas import matmul, svd_small
from lowrank._core.results import PinvResult
from lowrank._core.spectral import eigh_floor, spectral_filter
from lowrank._core.stacks import batched, per_matrix
from lowrank._core.validation import (
    as_matrix_stack,
    check_backend_method,
    check_damp,
    check_dask_matrix,
    check_hermitian,
    check_method,
    check_method_options,
    check_not_hermitian_dask,
    rank_cutoff_tolerances,
)
from lowrank.linalg._cod import cod_apply_stack, pinv_cod
from lowrank.linalg._newton import pinv_newton
from lowrank.linalg._svd import stacked_svd
from lowrank.linalg._tallqr import qr_chain

__all__ = ["choose_pinv_method", "pinv"]


class PinvOptions(NamedTuple):
    """Method options, validated: `damp` has the stack's shape."""

    damp: np.ndarray
    tol: float | None = None
    maxiter: int | None = None


def _from_svd(u, s, vh, atol, rtol, damp):
    """X = V diag(f(s)) U^H, for a single matrix or a stack."""
    f, rank = spectral_filter(s, s, atol, rtol, damp)
    if u.ndim == 2:
        # One matrix: skip the discarded singular vectors entirely.
        r = int(rank)
        return (conj_t(vh[:r]) * f[:r]) @ conj_t(u[:, :r]), rank
    return (conj_t(vh) * f[..., np.newaxis, :]) @ conj_t(u), rank


def _pinv_svd(a, atol, rtol, options):
    """A^+ = V diag(s)^+ U^H from the thin SVD.

    LAPACK's gesdd, except for large stacks of tiny matrices, where a parallel
    one-sided Jacobi kernel is faster (and at least as accurate).
    """
    u, s, vh = stacked_svd(a)
    return _from_svd(u, s, vh, atol, rtol, options.damp)


def _pinv_hermitian(a, atol, rtol, options):
    """A^+ = W diag(lambda)^+ W^H from the eigendecomposition A = W diag(lambda) W^H.

    The singular values of a Hermitian matrix are ``|lambda|``, so the rank
    rule is applied to them; the signs stay with the inverted eigenvalues
    (and ``lambda / (lambda^2 + d^2)`` is the damped inverse).
    """
    w, v = np.linalg.eigh(a)
    f, rank = spectral_filter(w, np.abs(w), atol, rtol, options.damp)
    return (v * f[..., np.newaxis, :]) @ conj_t(v), rank


def pinv_eigh_route(t, wide, atol, rtol, damp, shape):
    """Normal equations on the tall operand t (A, or A^H for wide A): ``(X, rank)``.

    ``t^H t = W diag(lambda) W^H`` and ``t^+ = W diag(lambda)^+ W^H t^H``:
    for tall A, ``X = (t M)^H`` with ``M = W diag(lambda)^+ W^H``; for wide
    A (t = A^H), ``A^+ = (t^+)^H = t M``. The rank rule is applied to
    sqrt(lambda), with the resolution floor of `eigh_floor`. One pass forms
    the Gram matrix, one more the product; a numpy operand may be a stack.
    """
    g, _ = t.gram()
    t.finite([g])
    lam, w = np.linalg.eigh(g)
    sigma = np.sqrt(np.maximum(lam, 0))
    floor = eigh_floor(shape, t.dtype)
    # 1 / (lambda + d^2) = f(sigma) / sigma with f the Tikhonov filter.
    f, rank = spectral_filter(sigma, sigma, atol, rtol, damp, floor=floor)
    inv = np.zeros_like(sigma)
    np.divide(f, sigma, out=inv, where=f != 0)
    middle = (w * inv[..., np.newaxis, :]) @ conj_t(w)
    return (t.apply(middle) if wide else t.apply_h(middle)), rank


def _pinv_eigh(a, atol, rtol, options):
    """Normal equations: A^H A = W diag(lambda) W^H, A^+ = W diag(lambda)^+ W^H A^H.

    Wide A uses A A^H and A^+ = A^H W diag(lambda)^+ W^H (`pinv_eigh_route`).
    """
    wide = a.shape[-2] < a.shape[-1]
    # gram is scipy's syrk, the rest (eigh, the products) numpy's: measured
    # the fastest split for this route (benchmarks/bench_tallskinny.py).
    t = DenseTall(conj_t(a) if wide else a, pool="numpy")
    return pinv_eigh_route(t, wide, atol, rtol, options.damp, a.shape)


def pinv_qr_route(t, wide, atol, rtol, damp):
    """Pseudo-inverse from the thin QR of the tall operand t (A, or A^H): ``(X, rank)``.

    ``t = Q R`` (`qr_chain`: sketch-preconditioned CholeskyQR / CholeskyQR2
    / shifted CholeskyQR3 / Householder), ``R = U S V^H``, ``t^+ = V f(S)
    U^H Q^H = (Q W)^H`` with ``W = U f(S) V^H``. Q stays implicit (``Q =
    q r_last^{-1}``), so X costs one product over the tall operand: ``(Q
    W)^H`` for tall A, ``Q W`` for wide A (``A^+ = (t^+)^H``).
    """
    chain = qr_chain(t)
    u, s, vh = svd_small(chain.r)
    f, rank = spectral_filter(s, s, atol, rtol, damp)
    k = int(rank)
    w = chain.small(matmul(u[:, :k] * f[:k], vh[:k]))
    return (chain.q.apply(w) if wide else chain.q.apply_h(w)), k


def _pinv_cholqr(a, atol, rtol, options):
    """The Cholesky-QR route for one matrix; wide A through A^H."""
    wide = a.shape[0] < a.shape[1]
    t = DenseTall(conj_t(a) if wide else a)
    return pinv_qr_route(t, wide, atol, rtol, options.damp)


def _pinv_cholqr_stack(a, atol, rtol, options):
    """The QR route for a stack of small matrices, batched.

    numpy's batched Householder QR of the tall operand t (A, or A^H for wide
    A), ``t = Q R``, and the batched SVD of R, ``R = U S V^H``: ``t^+ = V
    f(S) U^H Q^H``. For small matrices Householder is what the chain of
    `qr_chain` would be worth; batching removes the per-matrix calls.
    """
    wide = a.shape[-2] < a.shape[-1]
    q, r = np.linalg.qr(conj_t(a) if wide else a)
    u, s, vh = stacked_svd(r)
    f, rank = spectral_filter(s, s, atol, rtol, options.damp)
    x = (conj_t(vh) * f[..., np.newaxis, :]) @ conj_t(q @ u)
    return (conj_t(x) if wide else x), rank


def _pinv_qr(a, atol, rtol, options):
    """Complete orthogonal decomposition from column-pivoted QR (see _cod.py)."""
    return pinv_cod(a, atol, rtol)


def _pinv_qr_stack(a, atol, rtol, options):
    """The complete orthogonal decomposition of a stack of small matrices, batched."""
    return cod_apply_stack(a, None, atol, rtol)


def _pinv_newton(a, atol, rtol, options):
    """Truncated Newton–Schulz iteration (see _newton.py)."""
    x, rank, _, _ = pinv_newton(a, atol, rtol, tol=options.tol, maxiter=options.maxiter)
    return x, rank


def _one_at_a_time(method, stack_method=None):
    """Run a single-matrix method over a stack (for methods LAPACK cannot batch).

    Stacks of small matrices (`lowrank._core.stacks.batched`) go to
    `stack_method` instead, where there is one.
    """

    def run(a, atol, rtol, options):
        if a.ndim == 2:
            return method(a, atol, rtol, options)
        if stack_method is not None and batched(a.shape):
            return stack_method(a, atol, rtol, options)
        batch = a.shape[:-2]
        x = np.empty((*batch, a.shape[-1], a.shape[-2]), dtype=a.dtype)
        rank = np.empty(batch, dtype=np.intp)
        for index, options_i in per_matrix(batch, options):
            x[index], rank[index] = method(
                a[index], atol[index], rtol[index], options_i
            )
        return x, rank

    run.__doc__ = method.__doc__
    return run


#: method name -> function(a, atol, rtol, options) -> (X, rank). Inputs are
#: validated, non-empty stacks of shape (..., M, N); atol, rtol and
#: options.damp have the stack's shape.
PINV_METHODS = {
    "svd": _pinv_svd,
    "eigh": _pinv_eigh,
    "cholqr": _one_at_a_time(_pinv_cholqr, _pinv_cholqr_stack),
    "qr": _one_at_a_time(_pinv_qr, _pinv_qr_stack),
    "newton": _one_at_a_time(_pinv_newton),
}

#: Methods that take `tol` and `maxiter`.
ITERATIVE_METHODS = frozenset({"newton"})

#: Methods that implement the damped (Tikhonov) inverse.
DAMPED_METHODS = frozenset({"svd", "eigh", "cholqr"})

#: "auto" takes the Cholesky-QR route for single matrices at least this
#: elongated and this large (see benchmarks/bench_tallskinny.py).
CHOLQR_ASPECT = 4
CHOLQR_MIN_SIZE = 50_000


def choose_pinv_method(shape):
    """The rule of ``method="auto"`` for :func:`pinv`, in one place.

    * A single matrix with ``max(M, N) >= 4 min(M, N)`` and ``M N >= 50000``:
      ``"cholqr"``. It is as accurate as ``"svd"`` at any condition number
      (its QR is that of :func:`tall_qr` with ``method="auto"``:
      sketch-preconditioned CholeskyQR or CholeskyQR2, falling back to
      shifted CholeskyQR3 and Householder as the conditioning requires) and
      3-5x faster there.
    * Everything else (square-ish or small matrices, stacks): ``"svd"``.

    ``"eigh"`` (normal equations) is never chosen: its error grows like
    ``cond(A)^2 eps``, more than 10x the SVD's once cond(A) > 10 (500x at
    cond 1e3 in benchmarks/bench_tallskinny.py).

    Parameters
    ----------
    shape : tuple of int
        The shape ``(..., M, N)`` of the input.

    Returns
    -------
    str
        The method ``pinv(method="auto")`` uses for that shape.

    Examples
    --------
    >>> import lowrank
    >>> lowrank.choose_pinv_method((100000, 100))
    'cholqr'
    >>> lowrank.choose_pinv_method((1000, 1000)), lowrank.choose_pinv_method((50, 6, 4))
    ('svd', 'svd')
    """
    if len(shape) == 2:
        m, n = shape
        if max(m, n) >= CHOLQR_ASPECT * min(m, n) and m * n >= CHOLQR_MIN_SIZE:
            return "cholqr"
    return "svd"


def pinv(
    a,
    *,
    method="auto",
    atol=None,
    rtol=None,
    damp=0.0,
    hermitian=False,
    return_rank=False,
    check_finite=True,
    tol=None,
    maxiter=None,
):
    """Compute the Moore–Penrose pseudo-inverse of a matrix or a stack of matrices.

    Singular values below a cutoff are treated as zero, so the result is the
    pseudo-inverse of the nearest matrix of the numerical rank; with `damp`
    it is the Tikhonov-damped inverse.

    Parameters
    ----------
    a : array_like, shape (..., M, N)
        Matrix or stack of matrices. Integer and boolean input is computed in
        float64; float32, float64, complex64 and complex128 in their own
        precision.
        A dask array chunked along its long side is computed on its blocks
        (see :doc:`/distributed`).
    method : {"auto", "svd", "cholqr", "qr", "eigh", "newton"}, optional
        Algorithm (see Notes for accuracy and cost):

        * ``"auto"`` (default): ``"cholqr"`` for a single matrix with
          ``max(M, N) >= 4 min(M, N)`` and ``M N >= 50000``, otherwise
          ``"svd"`` (the rule is :func:`choose_pinv_method`).
        * ``"svd"``: thin SVD by LAPACK's divide and conquer (gesdd), then
          ``A^+ = V diag(s)^+ U^H``. Stacks are computed in one batched call;
          stacks of at least 8 tiny matrices (``min(M, N) <= 8``) by a
          parallel one-sided Jacobi SVD kernel instead, 3-7x faster.
        * ``"cholqr"``: thin QR as :func:`tall_qr` computes it with
          ``method="auto"`` (sketch-preconditioned CholeskyQR for large
          tall A, else CholeskyQR2; shifted CholeskyQR3 where those break
          down, Householder for numerically rank-deficient A), SVD of the
          small R, ``A^+ = V diag(s)^+ U^H Q^H``. Wide A goes through
          ``A^H``; stacks are processed one matrix at a time, except stacks
          of small matrices (at most 1024 entries each), which take one
          batched Householder QR and a batched SVD of R.
        * ``"qr"``: complete orthogonal decomposition from column-pivoted QR;
          the diagonal of the pivoted R, which only brackets the singular
          values, is compared with the SVD rule's cutoff (``s_max`` is R's
          largest singular value), so near the cutoff the rank can differ
          from the SVD's rank. One matrix at a time, except stacks of small
          matrices (at most 1024 entries each), which are factored together
          by a numpy-vectorised pivoted QR.
        * ``"eigh"``: normal equations, eigendecomposition of the Gram matrix
          ``A^H A`` (``A A^H`` for wide A). Fastest, but its error grows like
          ``cond(A)^2 eps`` and it cannot resolve singular values below
          ``sqrt(max(M, N) eps) s_max`` (they count as zero).
        * ``"newton"``: truncated Newton–Schulz (hyperpower) iteration
          ``X_{k+1} = X_k (2 I - A X_k)`` from ``X_0 = alpha A^H``, with the
          cutoff enforced (see ``lowrank.linalg._newton``). Needs about
          ``2 log2(1 / (p eps)) + 2 log2(kappa)`` steps of ``4 M N min(M, N)``
          flops: many times slower than ``"svd"`` for a one-off inverse; it
          is there for matrix-multiply-only settings and as a reference.
          Emits :class:`~lowrank.exceptions.ConvergenceWarning` if
          `maxiter` is reached first. One matrix at a time.
    atol, rtol : float or array_like, optional
        Absolute and relative rank tolerances: singular value ``s_i`` is kept
        iff ``s_i > atol + rtol * s_max``. Defaults ``atol = 0`` and
        ``rtol = max(M, N) * eps``, with ``eps`` the machine epsilon of the
        computing dtype (scipy.linalg.pinv's convention). Arrays broadcast
        against the stack shape ``(...)``, giving one tolerance per matrix.
    damp : float or array_like, optional
        Tikhonov damping ``d >= 0`` (default 0): returns
        ``(A^H A + d^2 I)^{-1} A^H``, computed stably from the spectrum with
        the filter factors ``s / (s^2 + d^2)``, never by forming
        ``A^H A + d^2 I``. Singular values below the cutoff are dropped first
        (they would contribute at most ``cutoff / d^2``). Broadcasts over the
        stack like the tolerances. Not supported by methods other than
        ``"svd"``, ``"cholqr"``, ``"eigh"`` and ``hermitian=True``.
    hermitian : bool, optional
        If True, `a` is Hermitian (real symmetric) and its eigendecomposition
        is used instead: about twice as fast. `method` is then not used.
    return_rank : bool, optional
        If True, also return the numerical rank.
    check_finite : bool, optional
        Check elementwise that `a` has no NaN or infinite entries (default).
        With False a single cheaper sum is used instead; non-finite input still
        raises ValueError rather than reaching LAPACK, which can hang on Inf.
        For a dask array the test is always the deferred one (NaN/Inf show in
        the first pass's small results, so it is exact and costs no pass) and
        raises ValueError whatever this flag says.
    tol : float, optional
        ``"newton"`` only: stop when the relative change of an iterate is at
        most `tol` (default ``10 max(M, N) eps``), or when it stagnates at
        rounding level.
    maxiter : int, optional
        ``"newton"`` only: the iteration cap (default: twice the doubling
        steps the cutoff needs, plus 38).

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
        or `damp` is negative or does not broadcast over the stack, `method`
        is unknown or does not support `damp`, `tol`/`maxiter` are given to
        a direct method, or ``hermitian=True`` and `a`
        is not square and Hermitian (``||A - A^H||_F <= 10 n eps ||A||_F``).
    TypeError
        If `a` is float16, longdouble, non-numeric, masked or sparse.
    numpy.linalg.LinAlgError
        If the SVD does not converge.

    See Also
    --------
    moore_penrose_residuals : How well a candidate meets the four conditions.
    tall_qr : The thin QR behind ``"cholqr"``.
    numpy.linalg.pinv, scipy.linalg.pinv : The same result, different rules for
        stacks and tolerances.

    Notes
    -----
    The pseudo-inverse ``X = A^+`` is the unique matrix meeting the four
    Moore–Penrose conditions ``A X A = A``, ``X A X = X``,
    ``(A X)^H = A X`` and ``(X A)^H = X A`` [1]_. With the SVD
    ``A = U diag(s) V^H`` it is ``V diag(s)^+ U^H``, where ``s^+`` inverts the
    singular values above the cutoff [2]_.

    **Accuracy**, measured by :func:`~lowrank.moore_penrose_residuals`
    (Frobenius norms; ``r`` the rank kept, ``kappa = s_1 / s_r``,
    ``p = max(M, N)``, ``eps`` of the computing dtype). Each of the four
    relative residuals is at most about

    * ``"svd"``, ``"cholqr"``, ``"qr"``, ``"newton"``, ``hermitian=True``:
      ``p eps kappa`` — the direct routes are backward stable (the QR of
      ``"cholqr"`` is orthogonal to ``O(eps)`` at every condition number),
      and Newton's last phase is self-correcting;
    * ``"eigh"``: ``p eps kappa^2``, as the Gram matrix squares the condition
      number;

    plus the discarded part ``||A - A_r|| / ||A||`` for the first condition.
    The project's property suite checks these bounds with a constant of 10
    (``"eigh"``: 10 on ``p eps kappa^2``) over square, tall, wide,
    rank-deficient, complex, float32 and stacked inputs with ``kappa`` up to
    1e12 in float64 and 1e4 in float32.

    **Cost** for ``M >= N``: ``"svd"`` about ``4 M N^2 + 8 N^3`` flops in
    LAPACK's partly memory-bound SVD; ``"cholqr"`` about ``4 M N^2`` flops
    with the sketch preconditioner (``6 M N^2`` by CholeskyQR2) almost all
    in level-3 BLAS (trsm, syrk, gemm) — 3-5x faster for ``M >> N`` on a
    2-core machine; ``"eigh"`` ``3 M N^2``.

    References
    ----------
    .. [1] R. Penrose, "A generalized inverse for matrices", Proc. Cambridge
       Philos. Soc. 51 (1955), 406-413.
       https://doi.org/10.1017/S0305004100030401
    .. [2] G. H. Golub and C. F. Van Loan, *Matrix Computations*, 4th ed.,
       Johns Hopkins University Press, 2013, section 5.5.
    .. [3] T. Fukaya, R. Kannan, Y. Nakatsukasa, Y. Yamamoto, Y. Yanagisawa,
       "Shifted Cholesky QR for computing the QR factorization of
       ill-conditioned matrices", SIAM J. Sci. Comput. 42(1) (2020),
       A477-A503. https://doi.org/10.1137/18M1218212

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

    A tall data matrix takes the Cholesky-QR route and agrees with the SVD:

    >>> tall = rng.standard_normal((20000, 50))
    >>> np.allclose(lowrank.pinv(tall), lowrank.pinv(tall, method="svd"))
    True

    Damping is the limit-free, stable form of ``(A^T A + d^2 I)^{-1} A^T``:

    >>> d = 0.5
    >>> direct = np.linalg.solve(a.T @ a + d**2 * np.eye(6), a.T)
    >>> np.allclose(lowrank.pinv(a, damp=d), direct)
    True

    A stack of 1000 matrices in one call, with one tolerance per matrix:

    >>> stack = rng.standard_normal((1000, 5, 3)).astype(np.float32)
    >>> xs, ranks = lowrank.pinv(stack, rtol=np.full(1000, 1e-4), return_rank=True)
    >>> xs.shape, xs.dtype, ranks.shape
    ((1000, 3, 5), dtype('float32'), (1000,))
    """
    distributed = is_dask_array(a)
    if distributed:
        method = check_backend_method(method, DASK_METHODS["pinv"], "pinv")
        check_not_hermitian_dask(hermitian)
        a = check_dask_matrix(a, "a")
    else:
        if method != "auto":
            check_method(method, PINV_METHODS)
        a = as_matrix_stack(a, "a", check_finite_values=check_finite)
    atol, rtol = rank_cutoff_tolerances(atol, rtol, a.shape, a.dtype)
    if method == "auto":
        method = "cholqr" if distributed else choose_pinv_method(a.shape)
    damp = check_damp(damp, a.shape, a.dtype)
    # hermitian=True replaces the method by one that supports damping.
    tol, maxiter = check_method_options(
        method,
        tol,
        maxiter,
        damp if not hermitian else 0.0,
        iterative=ITERATIVE_METHODS,
        damped=DAMPED_METHODS,
    )
    if distributed:
        x, rank = _pinv_distributed(a, method, float(atol), float(rtol), float(damp))
        return PinvResult(x, rank) if return_rank else x
    options = PinvOptions(damp, tol, maxiter)
    compute = PINV_METHODS[method]
    if hermitian:
        check_hermitian(a, "a")
        compute = _pinv_hermitian

    m, n = a.shape[-2:]
    if a.size == 0:
        x = np.zeros((*a.shape[:-2], n, m), dtype=a.dtype)
        rank = np.zeros(a.shape[:-2], dtype=np.intp)
    else:
        x, rank = compute(a, atol, rtol, options)

    if not return_rank:
        return x
    return PinvResult(x, int(rank) if a.ndim == 2 else rank)


def _pinv_distributed(a, method, atol, rtol, damp):
    """``(X, rank)`` of a checked dask matrix: the drivers on the dask operand.

    "eigh" is the normal-equations route; every other method is the QR
    route (for a tall dask array the SVD is computed through its QR).
    X is a lazy dask array chunked like A along its long side.
    """
    if a.size == 0:
        return conj_t(a), 0  # empty: the (N, M) result has no entries
    t, wide = as_oriented_operand(a)
    if method == "eigh":
        x, rank = pinv_eigh_route(t, wide, atol, rtol, damp, a.shape)
        return x, int(rank)
    return pinv_qr_route(t, wide, atol, rtol, damp)
