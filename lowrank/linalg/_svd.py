"""The thin SVD, fast for tall-skinny and short-wide matrices."""

from __future__ import annotations

import numpy as np

from lowrank._backends.dask import SUPPORTED_METHODS as DASK_METHODS
from lowrank._backends.dispatch import as_oriented_operand, is_dask_array
from lowrank._backends.ndarray import DenseTall
from lowrank._core.arrays import conj_t
from lowrank._core.blas import svd_small
from lowrank._core.results import SVDResult
from lowrank._core.signs import canonical_signs
from lowrank._core.validation import (
    as_matrix_stack,
    check_backend_method,
    check_dask_matrix,
    check_method,
    check_single_matrix_method,
)
from lowrank._kernels._rules import use_small_svd
from lowrank.linalg._tallqr import qr_chain

__all__ = ["canonical_signs", "svd", "thin_svd"]


def _svd_gesdd(a):
    return np.linalg.svd(a, full_matrices=False)


def _svd_jacobi(a):
    # Imported here: importing lowrank must not import numba.
    from lowrank._kernels.small_svd import batched_small_svd

    return batched_small_svd(a)


def stacked_svd(a):
    """Thin SVD of a validated stack by the faster of gesdd and the Jacobi kernel.

    The kernel (one-sided Jacobi, parallel over the stack) wins by 3-7x on
    large stacks of tiny matrices; the rule is
    :func:`lowrank._kernels.small_svd.use_small_svd`, which is cheap and does
    not import numba.
    """
    if a.ndim > 2 and _use_jacobi(a.shape, a.dtype):
        return _svd_jacobi(a)
    return _svd_gesdd(a)


def _use_jacobi(shape, dtype):
    return use_small_svd(shape, dtype)


def signed_svd(chain, w, s, vh, wide, signs=None):
    """The SVD of A from ``t = Q W diag(S) Vh`` (t = A, or A^H if `wide`), signed.

    `chain` is the thin QR of the tall operand t (`qr_chain`, or any
    `ChainResult`); U (tall) or Vh (wide) is one product over it. The sign
    convention of `canonical_signs` is applied: for tall A by the operand
    (`signed_apply`; `signs` of real U if already certified), for wide A on
    the small U and folded into W. Returns an SVDResult of the backend's
    arrays.
    """
    w = chain.small(w)
    if not wide:
        u, vh = chain.q.signed_apply(w, vh, signs)
        return SVDResult(u, s, vh)
    # t = A^H = Q W S Vh_t, so A = Vh_t^H S (Q W)^H: U is small, Vh tall.
    u = conj_t(vh)
    u, phase_rows = canonical_signs(u, np.eye(u.shape[1], dtype=u.dtype))
    phase = np.diagonal(phase_rows)  # vh <- diag(phase) vh = (Q W conj(phase))^H
    return SVDResult(u, s, chain.q.apply_h(w * phase.conj()))


def svd_qr_route(t, wide):
    """The QR-first SVD of the tall operand t (A, or A^H if `wide`).

    ``t = Q R`` (`qr_chain`), ``R = U_R S V^H``, ``U = Q U_R``; Q is kept
    implicit, so U costs one product over the tall operand. Signed.
    """
    chain = qr_chain(t)
    u_r, s, vh = svd_small(chain.r)
    return signed_svd(chain, u_r, s, vh, wide)


def _svd_qr(a):
    """The QR-first route for either orientation (wide: through A^H), signed."""
    wide = a.shape[0] < a.shape[1]
    return svd_qr_route(DenseTall(conj_t(a) if wide else a), wide)


#: method name -> function(a) -> (U, S, Vh), thin, on validated non-empty input.
SVD_METHODS = {
    "gesdd": _svd_gesdd,
    "jacobi": _svd_jacobi,
    "qr": _svd_qr,
}

#: "auto" takes the QR-first route when one side is at least this many times
#: the other and the matrix is big enough for BLAS-3 to pay (measured in
#: benchmarks/bench_tallskinny.py).
QR_ROUTE_ASPECT = 4
QR_ROUTE_MIN_SIZE = 50_000


def choose_svd_method(shape, dtype=np.float64):
    """The rule of ``method="auto"`` for :func:`svd`, in one place.

    A single matrix with ``max(M, N) >= 4 min(M, N)`` and ``M N >= 50000``
    takes the QR-first route ("qr"); a stack of at least 8 tiny matrices
    (``min(M, N) <= 8``, ``<= 5`` for complex, and ``max(M, N) min(M, N)^2 <=
    2048``) the parallel Jacobi kernel ("jacobi"); everything else LAPACK's
    gesdd.

    Parameters
    ----------
    shape : tuple of int
        The shape ``(..., M, N)`` of the input.
    dtype : dtype, optional
        Its dtype (complex input changes the Jacobi crossover).

    Returns
    -------
    str
        The method ``svd(method="auto")`` uses.

    Examples
    --------
    >>> import numpy as np
    >>> import lowrank
    >>> lowrank.choose_svd_method((100000, 100))
    'qr'
    >>> lowrank.choose_svd_method((20000, 6, 4)), lowrank.choose_svd_method((500, 400))
    ('jacobi', 'gesdd')
    >>> lowrank.choose_svd_method((20000, 6, 6), np.complex128)
    'gesdd'
    """
    if len(shape) != 2:
        return "jacobi" if _use_jacobi(shape, dtype) else "gesdd"
    m, n = shape
    small, large = min(m, n), max(m, n)
    if large >= QR_ROUTE_ASPECT * small and m * n >= QR_ROUTE_MIN_SIZE:
        return "qr"
    return "gesdd"


def thin_svd(a, method="auto"):
    """Thin SVD of validated input with canonical signs (internal entry point)."""
    if method == "auto":
        method = choose_svd_method(a.shape, a.dtype)
    m, n = a.shape[-2:]
    k = min(m, n)
    if a.size == 0:
        real = np.finfo(a.dtype).dtype
        return SVDResult(
            np.zeros((*a.shape[:-2], m, k), a.dtype),
            np.zeros((*a.shape[:-2], k), real),
            np.zeros((*a.shape[:-2], k, n), a.dtype),
        )
    if method == "qr":  # signed by the route itself
        return _svd_qr(a)
    u, s, vh = SVD_METHODS[method](a)
    u, vh = canonical_signs(u, vh, overwrite=True)
    return SVDResult(u, s, vh)


def svd(a, *, method="auto", check_finite=True):
    """Thin singular value decomposition, fast for tall-skinny matrices.

    Parameters
    ----------
    a : array_like, shape (..., M, N)
        Matrix or stack of matrices (stacks use LAPACK's gesdd).
        A dask array chunked along its long side is computed on its blocks
        (see :doc:`/distributed`).
    method : {"auto", "gesdd", "jacobi", "qr"}, optional
        ``"gesdd"``: LAPACK divide and conquer (what numpy.linalg.svd runs).
        ``"jacobi"``: one-sided Jacobi [2]_ compiled with numba, parallel over
        a stack: for stacks of tiny matrices (3-7x faster than gesdd on
        20000 6 x 4 matrices); relatively accurate singular values.
        ``"qr"``: thin QR by :func:`tall_qr` (sketch-preconditioned
        CholeskyQR / CholeskyQR2 / shifted CholeskyQR3 / Householder, chosen
        safely), then gesdd of the small
        R; wide matrices go through ``A^H``; single matrices only.
        ``"auto"`` (default): the rule of :func:`choose_svd_method`: ``"qr"``
        for big elongated single matrices, ``"jacobi"`` for stacks of at
        least 8 tiny matrices, else ``"gesdd"``.
    check_finite : bool, optional
        Check elementwise for NaN/Inf (default); with False a cheaper sum test
        is used. For a dask array the test is always the deferred one (NaN/Inf
        show in the first pass's small results, so it is exact and costs no
        pass) and raises ValueError whatever this flag says.

    Returns
    -------
    SVDResult
        ``(U, S, Vh)`` with U of shape (..., M, K), S of shape (..., K) in
        descending order and in the real dtype, Vh of shape (..., K, N),
        ``K = min(M, N)``. Signs are deterministic: the largest-magnitude
        entry of each column of U is real and positive.

    Raises
    ------
    ValueError
        If `a` has fewer than 2 dimensions, contains NaN/Inf, `method` is
        unknown, or ``method="qr"`` is given a stack.
    TypeError
        For unsupported dtypes.
    numpy.linalg.LinAlgError
        If LAPACK's SVD does not converge.

    See Also
    --------
    tall_qr : The QR factorization used by ``"qr"``.
    numpy.linalg.svd : LAPACK's SVD.

    Notes
    -----
    For tall A the QR-first route computes ``A = Q R`` with ``O(eps)``
    orthogonality, then ``R = U_R diag(S) V^H`` and ``U = Q U_R``. Both steps
    are backward stable, so the singular values carry an absolute error of
    about ``N eps ||A||_2`` (the property checked against gesdd in the test
    suite: ``|S - S_gesdd| <= 10 N eps S_max``), as for gesdd itself. Almost all
    the work is three or four level-3 BLAS passes over A, about
    ``6 M N^2`` flops, instead of LAPACK's memory-bound Householder
    reflections [1]_.

    References
    ----------
    .. [1] T. Fukaya, Y. Nakatsukasa, Y. Yanagisawa, Y. Yamamoto,
       "CholeskyQR2: a simple and communication-avoiding algorithm for
       computing a tall-skinny QR factorization on a large-scale parallel
       system", ScalA 2014. https://doi.org/10.1109/ScalA.2014.11
    .. [2] J. Demmel and K. Veselić, "Jacobi's method is more accurate than
       QR", SIAM J. Matrix Anal. Appl. 13(4) (1992), 1204-1245.
       https://doi.org/10.1137/0613074

    Examples
    --------
    >>> import numpy as np
    >>> import lowrank
    >>> a = np.random.default_rng(0).standard_normal((20000, 10))
    >>> u, s, vh = lowrank.svd(a)
    >>> u.shape, s.shape, vh.shape
    ((20000, 10), (10,), (10, 10))
    >>> np.allclose(u * s @ vh, a)
    True
    >>> np.allclose(s, np.linalg.svd(a, compute_uv=False))
    True
    """
    if is_dask_array(a):
        check_backend_method(method, DASK_METHODS["svd"], "svd")
        return _svd_distributed(check_dask_matrix(a, "a"))
    check_method(method, {"auto": None, **SVD_METHODS})
    a = as_matrix_stack(a, "a", check_finite_values=check_finite)
    check_single_matrix_method(method, a.shape, ("qr",), '"gesdd" or "auto"')
    return thin_svd(a, method)


def _svd_distributed(a):
    """The thin SVD of a checked dask matrix: the QR-first route on its operand."""
    if a.size == 0:
        return empty_svd_like(a, min(a.shape))
    t, wide = as_oriented_operand(a)
    return svd_qr_route(t, wide)


def empty_svd_like(a, rank):
    """The SVD of an empty matrix, or a rank-0 truncation: zeros of the right kinds.

    The long side stays of A's type (for a dask array, a lazy zero array
    chunked like A); the rest are numpy arrays.
    """
    m, n = a.shape
    s = np.zeros(rank, np.finfo(a.dtype).dtype)
    if m >= n:
        u = a[:, :0] @ np.zeros((0, rank), a.dtype)
        return SVDResult(u, s, np.zeros((rank, n), a.dtype))
    vh = np.zeros((rank, 0), a.dtype) @ a[:0]
    return SVDResult(np.zeros((m, rank), a.dtype), s, vh)
