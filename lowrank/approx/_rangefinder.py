"""Randomized range finder, QB decomposition and randomized SVD.

The three public functions share one pipeline (Halko, Martinsson & Tropp
2011, Algorithms 4.1 and 4.4 followed by 5.1):

1. draw a test matrix ``Omega`` (N x l, ``l = k + oversample``, clipped to
   ``min(M, N)``) and form the sample ``Y = A Omega``;
2. run ``q`` power iterations ``Y <- A (A^H Y)``, re-normalising the sample
   after every product with A or A^H so its columns do not all collapse onto
   the dominant singular vector in floating point;
3. ``Q = orth(Y)`` by a thin QR;
4. ``B = Q^H A`` (the QB decomposition ``A ≈ Q B``);
5. ``B = U_B diag(S) Vh`` (a small dense SVD) and ``U = Q U_B``.

`a` enters only through the products ``A X`` and ``X^H A`` (an operator's
``matmat`` and ``rmatmat``), so dense arrays, scipy.sparse matrices and
:class:`scipy.sparse.linalg.LinearOperator` objects share the code and an
operator is never densified.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from lowrank._backends.dask import SUPPORTED_NORMALIZERS
from lowrank._backends.dispatch import as_oriented_operand, is_dask_array
from lowrank._backends.linear_map import MapOperand, as_linear_map
from lowrank._core.results import QBResult, SVDResult
from lowrank._core.validation import (
    check_backend_option,
    check_dask_matrix,
    check_given,
    check_k,
    check_k_or_tol,
    check_method,
    check_n_iter,
    check_nonnegative_int,
    check_rng,
)
from lowrank.approx._sketch import (
    SKETCHES,
    SPARSE_SIGN_ZETA,  # noqa: F401 (re-exported for older imports)
)
from lowrank.approx._tall_svd import randomized, randomized_svd_of

__all__ = ["qb", "randomized_svd", "rangefinder"]

#: ``n_iter="auto"`` runs the fewest power iterations that bring the factor of
#: Halko et al.'s average-case bound (see `auto_power_iterations`) down to this.
AUTO_ERROR_FACTOR = 2.0

#: With `tol`, the basis grows by blocks of this many columns (Yu, Gu & Li's
#: randQB_EI block size ``b``), each refined by this many power iterations
#: on the residual unless `n_iter` says otherwise.
TOL_BLOCK = 32
TOL_POWER_ITERATIONS = 2


# --------------------------------------------------------------------------
# options
# --------------------------------------------------------------------------


def _normalize_qr(y):
    from lowrank.approx._block_krylov import well_conditioned

    return well_conditioned(y)


def _normalize_lu(y):
    # P L of the partially pivoted LU: well-conditioned columns spanning
    # range(Y), cheaper than QR (Halko et al. §4.5; sklearn's "LU").
    return scipy.linalg.lu(y, permute_l=True, check_finite=False)[0]


def _normalize_none(y):
    return y


#: normalizer name -> function(Y) -> a matrix with the same column space: the
#: re-normalisation of the blocked randQB (fixed accuracy). The fixed-rank
#: pipeline applies the same names through the passes of its operand
#: (`lowrank.approx._tall_svd.NORMALIZERS`).
NORMALIZERS = {"qr": _normalize_qr, "lu": _normalize_lu, "none": _normalize_none}


def auto_power_iterations(shape, k, width):
    """The number of power iterations ``n_iter="auto"`` runs.

    Halko et al. (2011, Cor. 10.10 and §10.4) bound the expected error of
    the range finder with ``q`` power iterations by
    ``C^{1/(2q+1)} sigma_{k+1}`` with
    ``C = 1 + 4 sqrt(l min(M, N)) / (p - 1)`` and ``p = l - k``. The rule
    takes the fewest ``q`` with ``C^{1/(2q+1)} <= 2``. The bound holds for
    the worst spectrum, flat beyond ``k``, so on real spectra the error is
    much closer to ``sigma_{k+1}``. With ``p < 2`` (no bound) ``p - 1`` is
    taken as 1. When the sketch spans the whole range (``l = min(M, N)``)
    the answer is exact without iterations and ``q = 0``.
    """
    small = min(shape)
    if width >= small:
        return 0
    p = width - k
    c = 1.0 + 4.0 * math.sqrt(width * small) / max(p - 1, 1)
    return max(0, math.ceil((math.log(c) / math.log(AUTO_ERROR_FACTOR) - 1) / 2))


# --------------------------------------------------------------------------
# the pipeline
# --------------------------------------------------------------------------


def _chain(plan, carry_a):
    """The thin QR chain of the range finder's basis (`_tall_svd.randomized`)."""
    t = MapOperand(plan.op)
    y = t.sample(plan.sketch, plan.width, plan.rng)
    return randomized(t, y, plan.q, plan.normalizer, carry_a=carry_a)


def _range(plan):
    """Orthonormal Q (M x l) for the range of A: Halko et al. Algorithm 4.4."""
    return _chain(plan, carry_a=False).q_explicit()


def _qb(plan):
    chain = _chain(plan, carry_a=True)
    return chain.q_explicit(), chain.carried["a"]


class Plan(NamedTuple):
    """Validated arguments: either `k` (and `width`, `q`) or `tol` is set."""

    op: object
    k: int | None
    tol: float | None
    width: int
    q: int
    normalizer: str  # a NORMALIZERS key
    sketch: object  # a SKETCHES value
    rng: np.random.Generator


def _setup(a, k, tol, oversample, n_iter, normalizer, sketch, rng, check_finite):
    """Validate every argument once."""
    check_method(normalizer, NORMALIZERS, "normalizer")
    sketch = check_method(sketch, SKETCHES, "sketch")
    oversample = check_nonnegative_int(oversample, "oversample")
    n_iter = check_n_iter(n_iter)
    rng = check_rng(rng)
    op = as_linear_map(a, check_finite=check_finite)
    k, tol = check_k_or_tol(k, tol, min(op.shape))
    return make_plan(op, k, tol, oversample, n_iter, normalizer, sketch, rng)


def make_plan(op, k, tol, oversample, n_iter, normalizer, sketch, rng):
    """The plan for validated arguments (a `NORMALIZERS` name, a `SKETCHES` value)."""
    small = min(op.shape)
    if tol is not None:
        q = TOL_POWER_ITERATIONS if n_iter == "auto" else n_iter
        return Plan(op, None, tol, TOL_BLOCK, q, normalizer, sketch, rng)
    width = min(k + oversample, small)
    q = auto_power_iterations(op.shape, k, width) if n_iter == "auto" else n_iter
    return Plan(op, k, None, width, q, normalizer, sketch, rng)


def _to_tolerance(plan):
    """``(U, S, Vh)`` of the smallest rank meeting ``plan.tol`` (blocked randQB)."""
    from lowrank.approx._block_krylov import RandQBBasis
    from lowrank.approx._fixed_accuracy import svd_to_tolerance

    if 0 in plan.op.shape:
        m, n = plan.op.shape
        real = np.finfo(plan.op.dtype).dtype
        return (
            np.zeros((m, 0), plan.op.dtype),
            np.zeros(0, real),
            np.zeros((0, n), plan.op.dtype),
        )

    def sample(width):
        return plan.sketch.sample(plan.op, width, plan.rng)

    normalize = NORMALIZERS[plan.normalizer]
    basis = RandQBBasis(plan.op, plan.width, plan.rng, plan.q, sample, normalize)
    return svd_to_tolerance(plan.op, basis, plan.tol, plan.rng)


def empty_svd(shape, dtype):
    """The rank-0 SVD of an M x N matrix (what a zero or empty matrix needs)."""
    m, n = shape
    real = np.finfo(dtype).dtype
    return SVDResult(
        np.zeros((m, 0), dtype), np.zeros(0, real), np.zeros((0, n), dtype)
    )


def svd_from_plan(plan):
    """The truncated SVD a plan asks for: fixed rank k or fixed accuracy tol."""
    if plan.tol is not None:
        return _to_tolerance(plan)
    t = MapOperand(plan.op)
    y = t.sample(plan.sketch, plan.width, plan.rng)
    return randomized_svd_of(t, y, plan.k, plan.q, plan.normalizer)


def rangefinder(
    a,
    k=None,
    *,
    tol=None,
    oversample=10,
    n_iter="auto",
    normalizer="qr",
    sketch="gaussian",
    rng=None,
    check_finite=True,
):
    """Orthonormal basis of the approximate range of A (randomized range finder).

    Parameters
    ----------
    a : array_like (M, N), scipy.sparse matrix or LinearOperator
        The matrix. A :class:`scipy.sparse.linalg.LinearOperator` is used
        only through ``matmat`` and ``rmatmat``. Integer input is computed in
        float64, float32/complex64 in single precision.
    k : int, optional
        Target rank, ``1 <= k <= min(M, N)``. Give `k` or `tol`.
    tol : float, optional
        Relative accuracy ``0 < tol < 1``: return the narrowest basis found
        with ``||A - Q Q^H A||_2 <= tol ||A||_2`` (estimated a posteriori;
        see Notes).
    oversample : int, optional
        Extra sample columns ``p >= 0`` (default 10); the sketch has
        ``l = min(k + p, M, N)`` columns. Unused with `tol`.
    n_iter : "auto" or int, optional
        Number ``q >= 0`` of power iterations ``Y <- A (A^H Y)``; each costs
        two products with A. ``"auto"`` (default): the fewest that bring
        the factor of the error bound (see Notes) to at most 2, 0 when
        ``l = min(M, N)``; typically 3 to 7. With `tol`: per block, "auto"
        is 2.
    normalizer : {"qr", "lu", "none"}, optional
        Re-normalisation of the sample after every product in the power
        iterations: ``"qr"`` (default, most accurate: a backward-stable
        Cholesky-QR pass, Householder QR where Cholesky breaks down), ``"lu"``
        (the permuted L factor of partially pivoted LU) or
        ``"none"`` (fastest; loses the small singular directions to rounding
        when ``sigma_1 / sigma_k`` to the power ``2q + 1`` nears 1/eps).
    sketch : {"gaussian", "sparse_sign"}, optional
        The test matrix Omega: dense Gaussian (complex Gaussian for complex
        A; default) or a sparse sign embedding, ``Omega = S^T`` with 8
        nonzeros ``+-1/sqrt(8)`` per row of Omega (cheaper to apply to a
        dense A: ``8 M N`` instead of ``2 M N l`` flops).
    rng : None, int, numpy.random.Generator, optional
        Source of randomness (:func:`numpy.random.default_rng`); the same
        seed gives bitwise identical results on the same machine.
    check_finite : bool, optional
        Check the entries of a dense or sparse `a` for NaN/Inf (default);
        with False a cheaper sum test is used.

    Returns
    -------
    Q : ndarray, shape (M, L)
        Orthonormal columns, ``L = min(k + oversample, M, N)`` (with `tol`:
        the rank found, 0 for a zero matrix), in the computing dtype of `a`.

    Raises
    ------
    ValueError
        If `a` is not 2-D, has NaN/Inf, ``k`` is outside
        ``[1, min(M, N)]``, ``oversample`` or ``n_iter`` is negative, or
        `normalizer` / `sketch` is unknown.
    TypeError
        For unsupported dtypes (float16, ...) or non-integer ``k``,
        ``oversample``, ``n_iter``.

    See Also
    --------
    qb : The QB decomposition built on this basis.
    randomized_svd : The truncated SVD built on it.

    Notes
    -----
    This is Algorithm 4.4 of Halko, Martinsson & Tropp [1]_: ``Y = A Omega``,
    ``q`` power iterations re-normalised after every product, and
    ``Q = orth(Y)``. With ``p = l - k >= 2`` they prove (§10.4)

    .. math::

        \\mathbb{E} \\| A - Q Q^H A \\|_2 \\le
        \\left[1 + 4 \\sqrt{l \\min(M, N)} / (p - 1)\\right]^{1/(2q+1)}
        \\sigma_{k+1},

    whatever the spectrum; the power iterations push the factor toward 1.
    A wide `a` is not transposed: the cost is that of the products with A
    plus ``O((M + N) l^2)`` either way.

    With `tol`, the basis grows by blocks of 32 columns sampled from the
    residual ``A - Q Q^H A`` (the blocked randQB of Yu, Gu & Li [2]_, with
    power iterations) until a rank r passes an a posteriori estimate of its
    spectral error; the returned Q is the span of the r leading left
    singular vectors of ``Q Q^H A`` (see :func:`truncated_svd`, whose
    ``method="randomized"`` runs the same algorithm).

    References
    ----------
    .. [1] N. Halko, P.-G. Martinsson and J. A. Tropp, "Finding structure
       with randomness: probabilistic algorithms for constructing
       approximate matrix decompositions", SIAM Review 53(2), 217-288
       (2011). https://doi.org/10.1137/090771806
    .. [2] W. Yu, Y. Gu and Y. Li, "Efficient randomized algorithms for the
       fixed-precision low-rank matrix approximation", SIAM J. Matrix Anal.
       Appl. 39(3), 1339-1359 (2018). https://doi.org/10.1137/17M1141977

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank import rangefinder
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((300, 8)) @ rng.standard_normal((8, 200))
    >>> q = rangefinder(a, 8, rng=1)
    >>> q.shape
    (300, 18)
    >>> bool(np.allclose(q.T @ q, np.eye(18)))
    True
    >>> bool(np.allclose(q @ (q.T @ a), a))
    True
    """
    plan = _setup(a, k, tol, oversample, n_iter, normalizer, sketch, rng, check_finite)
    if plan.tol is not None:
        return _to_tolerance(plan)[0]
    return _range(plan)


def qb(
    a,
    k=None,
    *,
    tol=None,
    oversample=10,
    n_iter="auto",
    normalizer="qr",
    sketch="gaussian",
    rng=None,
    check_finite=True,
):
    """Randomized QB decomposition ``A ≈ Q B`` with ``B = Q^H A``.

    Parameters
    ----------
    a : array_like (M, N), scipy.sparse matrix or LinearOperator
        The matrix; a LinearOperator is used only through ``matmat`` and
        ``rmatmat``.
    k : int, optional
        Target rank, ``1 <= k <= min(M, N)``. Give `k` or `tol`.
    tol : float, optional
        Relative accuracy ``0 < tol < 1``: the narrowest Q found with
        ``||A - Q B||_2 <= tol ||A||_2`` (see :func:`rangefinder`).
    oversample : int, optional
        Extra sample columns ``p >= 0`` (default 10). Unused with `tol`.
    n_iter : "auto" or int, optional
        Number of power iterations ``q >= 0`` (default ``"auto"``, see
        :func:`rangefinder`).
    normalizer : {"qr", "lu", "none"}, optional
        Re-normalisation inside the power iterations (see :func:`rangefinder`).
    sketch : {"gaussian", "sparse_sign"}, optional
        The test matrix (see :func:`rangefinder`).
    rng : None, int, numpy.random.Generator, optional
        Source of randomness; the same seed gives the same result.
    check_finite : bool, optional
        Check a dense or sparse `a` for NaN/Inf elementwise (default).

    Returns
    -------
    QBResult
        ``(Q, B)`` with Q of shape (M, L) with orthonormal columns and B of
        shape (L, N), ``L = min(k + oversample, M, N)`` or, with `tol`, the
        rank found (then ``B = diag(S) Vh`` and ``Q = U`` of the truncated
        SVD, so the rows of B are orthogonal).

    Raises
    ------
    ValueError
        As :func:`rangefinder`; also if the products with a LinearOperator
        are not finite.
    TypeError
        For unsupported dtypes or non-integer ``k``, ``oversample``,
        ``n_iter``.

    See Also
    --------
    rangefinder : Q alone.
    randomized_svd : The SVD of ``Q B``.

    Notes
    -----
    ``Q B = Q Q^H A`` is the orthogonal projection of A onto the range of Q,
    so ``||A - Q B||_2`` obeys the bound of :func:`rangefinder`. B is
    computed as ``(A^H Q)^H``, so an operator needs only ``rmatmat`` here.
    Randomized QB is Algorithm 4.4 and Stage B (§5) of Halko et al. [1]_.

    References
    ----------
    .. [1] N. Halko, P.-G. Martinsson and J. A. Tropp, "Finding structure
       with randomness: probabilistic algorithms for constructing
       approximate matrix decompositions", SIAM Review 53(2), 217-288
       (2011). https://doi.org/10.1137/090771806

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank import qb
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((200, 5)) @ rng.standard_normal((5, 400))
    >>> q, b = qb(a, 5, oversample=5, rng=0)
    >>> q.shape, b.shape
    ((200, 10), (10, 400))
    >>> bool(np.allclose(q @ b, a))
    True

    With a tolerance the width is found: ``a`` has rank 5.

    >>> q, b = qb(a, tol=1e-10, rng=0)
    >>> q.shape
    (200, 5)
    """
    plan = _setup(a, k, tol, oversample, n_iter, normalizer, sketch, rng, check_finite)
    if plan.tol is not None:
        u, s, vh = _to_tolerance(plan)
        return QBResult(u, s[:, np.newaxis] * vh)
    return QBResult(*_qb(plan))


def randomized_svd(
    a,
    k,
    *,
    oversample=10,
    n_iter="auto",
    normalizer="qr",
    sketch="gaussian",
    rng=None,
    check_finite=True,
):
    """The ``k`` largest singular triplets of A by randomized SVD.

    Parameters
    ----------
    a : array_like (M, N), scipy.sparse matrix or LinearOperator
        The matrix; a LinearOperator is used only through ``matmat`` and
        ``rmatmat``, never densified. Complex input is supported.
        A dask array chunked along its long side is computed on its blocks
        (see :doc:`/distributed`).
    k : int
        Number of singular triplets, ``1 <= k <= min(M, N)`` (a larger k is
        an error, not silently reduced).
    oversample : int, optional
        Extra sample columns ``p >= 0`` (default 10).
    n_iter : "auto" or int, optional
        Number of power iterations ``q >= 0`` (default ``"auto"``, see
        :func:`rangefinder`).
    normalizer : {"qr", "lu", "none"}, optional
        Re-normalisation inside the power iterations (see :func:`rangefinder`).
    sketch : {"gaussian", "sparse_sign"}, optional
        The test matrix (see :func:`rangefinder`).
    rng : None, int, numpy.random.Generator, optional
        Source of randomness; the same seed gives bitwise identical results
        on the same machine.
    check_finite : bool, optional
        Check a dense or sparse `a` for NaN/Inf elementwise (default). For a
        dask array the test is always the deferred one (NaN/Inf show in the
        first pass's small results, so it is exact and costs no pass) and raises
        ValueError whatever this flag says.

    Returns
    -------
    SVDResult
        ``(U, S, Vh)`` with U of shape (M, k), S of shape (k,) in descending
        order and in the real dtype, Vh of shape (k, N). The largest-magnitude
        entry of each column of U is real and positive.

    Raises
    ------
    ValueError
        As :func:`qb`.
    TypeError
        For unsupported dtypes or non-integer ``k``, ``oversample``,
        ``n_iter``.

    See Also
    --------
    qb : The decomposition this factors.
    lowrank.svd : The exact thin SVD.
    scipy.sparse.linalg.svds : Krylov (ARPACK/PROPACK/LOBPCG) truncated SVD.

    Notes
    -----
    With ``A ≈ Q B`` from :func:`qb` and ``B = U_B diag(S) Vh``, the result
    is ``U = Q U_B`` truncated to k triplets (Halko et al. [1]_,
    Algorithm 5.1). Truncation adds at most ``sigma_{k+1}`` to the
    projection error, so with ``p = l - k >= 2`` and ``q`` power iterations

    .. math::

        \\mathbb{E} \\| A - U \\operatorname{diag}(S) V^H \\|_2 \\le
        \\sigma_{k+1} + \\left[1 + 4 \\sqrt{l \\min(M, N)} / (p - 1)
        \\right]^{1/(2q+1)} \\sigma_{k+1},

    and in practice (with ``n_iter="auto"``) the error is within a few
    percent of the optimum ``sigma_{k+1}`` (Eckart–Young). Measured
    (benchmarks/bench_lowrank.py, k = 50): 1.0009 for ``sigma_j = 1/j``
    and 1.00000 for ``exp(-j/10)`` on 4000 x 3000 matrices, 1.04 on a flat
    spectrum (scipy.sparse.random 20000 x 5000), and up to 1.08 on small
    matrices where ``k + p`` nears ``min(M, N)``. Where that matters,
    :func:`truncated_svd` (block Krylov, which adapts its depth) does
    better for the same cost. The singular values are underestimates,
    ``S_j <= sigma_j``.

    Cost: ``2q + 2`` products of A with l vectors and ``O((M + N) l^2)``.
    A wide A is not transposed (the cost is symmetric in M and N); the result
    is equally accurate for either orientation.
    Unlike :func:`sklearn.utils.extmath.randomized_svd`, complex input is
    handled with conjugate transposes throughout and ``k > min(M, N)``
    raises.

    References
    ----------
    .. [1] N. Halko, P.-G. Martinsson and J. A. Tropp, "Finding structure
       with randomness: probabilistic algorithms for constructing
       approximate matrix decompositions", SIAM Review 53(2), 217-288
       (2011). https://doi.org/10.1137/090771806

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank import randomized_svd
    >>> rng = np.random.default_rng(0)
    >>> u0, _ = np.linalg.qr(rng.standard_normal((500, 50)))
    >>> v0, _ = np.linalg.qr(rng.standard_normal((300, 50)))
    >>> s0 = 0.5 ** np.arange(50)
    >>> a = (u0 * s0) @ v0.T
    >>> u, s, vh = randomized_svd(a, 5, rng=0)
    >>> u.shape, s.shape, vh.shape
    ((500, 5), (5,), (5, 300))
    >>> bool(np.allclose(s, s0[:5]))
    True
    >>> err = np.linalg.norm(a - (u * s) @ vh, 2)
    >>> bool(err <= 1.01 * s0[5])
    True
    """
    if is_dask_array(a):
        return _randomized_svd_distributed(
            a, k, oversample, n_iter, normalizer, sketch, rng
        )
    check_given(k, "k", "randomized_svd")
    plan = _setup(a, k, None, oversample, n_iter, normalizer, sketch, rng, check_finite)
    return svd_from_plan(plan)


def _randomized_svd_distributed(a, k, oversample, n_iter, normalizer, sketch, rng):
    """randomized_svd of a dask array: its argument rules, then the tall route."""
    check_given(k, "k", "randomized_svd")
    check_method(normalizer, NORMALIZERS, "normalizer")
    check_backend_option(normalizer, SUPPORTED_NORMALIZERS, "normalizer")
    check_method(sketch, SKETCHES, "sketch")
    oversample = check_nonnegative_int(oversample, "oversample")
    n_iter = check_n_iter(n_iter)
    gen = check_rng(rng)
    a = check_dask_matrix(a, "a")
    k = check_k(k, min(a.shape))
    width = min(k + oversample, min(a.shape))
    q = auto_power_iterations(a.shape, k, width) if n_iter == "auto" else n_iter
    t, wide = as_oriented_operand(a)
    omega = SKETCHES[sketch].draw(gen, t.shape[1], width, t.dtype)
    return randomized_svd_of(t, t.times(omega), k, q, normalizer, wide)
