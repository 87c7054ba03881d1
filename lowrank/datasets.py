"""Test matrices generated in code: ill-posed, ill-conditioned and low-rank.

Nothing is downloaded; every matrix is computed from its definition, in the
requested dtype, and the random ones are reproducible from `rng` (an int, a
:class:`numpy.random.Generator` or None, as everywhere in lowrank).

============================= ================================================
:func:`shaw`                  Hansen's 1-D image restoration problem: a
                              discrete ill-posed problem with a known solution
:func:`hilbert`               the Hilbert matrix, cond ~ e^{3.5 n}
:func:`kahan`                 Kahan's triangular matrix, on which pivoted QR
                              fails to reveal the rank
:func:`gaussian_kernel`       a Gaussian (RBF) kernel matrix: symmetric
                              positive semidefinite, fast spectral decay
:func:`low_rank_plus_noise`   rank r with unit singular values plus Gaussian
                              noise of a chosen spectral norm
:func:`with_spectrum`         ``U diag(s) V^H`` with Haar U, V: any singular
                              values you prescribe
============================= ================================================
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from lowrank._core.results import IllPosedProblem
from lowrank._core.validation import check_rng
from lowrank.approx._sketch import random_test_matrix

__all__ = [
    "IllPosedProblem",
    "gaussian_kernel",
    "hilbert",
    "kahan",
    "low_rank_plus_noise",
    "shaw",
    "with_spectrum",
]

_REAL = (np.dtype(np.float32), np.dtype(np.float64))
_ANY = (*_REAL, np.dtype(np.complex64), np.dtype(np.complex128))


def _size(value, name, *, minimum=1):
    """An integer size ``>= minimum``, or TypeError/ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer, got {type(value).__name__}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}")
    return value


def _positive(value, name, *, allow_zero=False):
    """A finite real number > 0 (or >= 0), or TypeError/ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number, got {type(value).__name__}")
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not (ok and math.isfinite(value)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"`{name}` must be finite and {bound}, got {value!r}")
    return value


def _dtype(dtype, allowed):
    try:
        dtype = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"`dtype` must be a numpy dtype, got {dtype!r}") from err
    if dtype not in allowed:
        names = ", ".join(str(d) for d in allowed)
        raise TypeError(f"`dtype` must be one of {names}; got {dtype}")
    return dtype


def shaw(n, *, dtype=np.float64):
    r"""Shaw's 1-D image restoration problem, as in Hansen's Regularization Tools.

    The first-kind Fredholm integral equation
    :math:`\int_{-\pi/2}^{\pi/2} K(s, t) f(t)\,dt = g(s)` with kernel
    :math:`K(s, t) = (\cos s + \cos t)^2 (\sin u / u)^2`,
    :math:`u = \pi(\sin s + \sin t)`, and true solution
    :math:`f(t) = 2 e^{-6 (t - 0.8)^2} + e^{-2 (t + 0.5)^2}`, discretised by
    the midpoint rule on `n` points :math:`t_i = -\pi/2 + (i - 1/2)\pi/n`.

    Parameters
    ----------
    n : int
        Order of the problem; even and >= 2, as in Regularization Tools.
    dtype : {float64, float32}, optional
        dtype of the arrays.

    Returns
    -------
    IllPosedProblem
        ``(A, b, x)``: the symmetric ``n x n`` matrix
        ``A[i, j] = (pi / n) K(t_i, t_j)``, the exact right-hand side
        ``b = A @ x`` and the true solution ``x[i] = f(t_i)``.

    Raises
    ------
    TypeError
        If `n` is not an integer or `dtype` not float32/float64.
    ValueError
        If `n` is odd or smaller than 2.

    See Also
    --------
    lowrank.pinv : its `rtol` (truncation) and `damp` (Tikhonov) arguments
        regularise this problem.

    Notes
    -----
    A is symmetric with positive entries. Its singular values decay
    geometrically (``s_10 / s_1 ~ 1e-5``) until they reach rounding level:
    from ``n = 32`` on, about 20 of them lie above the default rank cutoff
    ``n * eps * s_1`` and the computed condition number exceeds ``1e16``.
    The solution of ``A x = b + e`` therefore amplifies noise ``e`` in the
    directions of the small singular values by up to ``1 / s_n``; the naive
    pseudo-inverse solution is useless for any realistic noise, and a
    truncated or damped pseudo-inverse recovers ``x`` to about the noise
    level. The matrix entries agree with Regularization Tools' ``shaw.m`` to
    rounding (we evaluate the kernel in closed form, with
    :math:`\sin u / u = 1` at :math:`u = 0`, instead of looping).

    References
    ----------
    .. [1] C. B. Shaw, Jr., "Improvements of the resolution of an
       instrument by numerical solution of an integral equation",
       J. Math. Anal. Appl. 37 (1972), pp. 83-112.
    .. [2] P. C. Hansen, "Regularization Tools version 4.0 for Matlab 7.3",
       Numer. Algorithms 46 (2007), pp. 189-194.
       https://doi.org/10.1007/s11075-007-9136-9

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank.datasets import shaw
    >>> A, b, x = shaw(64)
    >>> bool(np.allclose(A, A.T)) and bool(np.allclose(A @ x, b))
    True
    >>> s = np.linalg.svd(A, compute_uv=False)
    >>> bool(s[9] / s[0] < 1e-4) and bool(s[0] / s[-1] > 1e16)
    True
    """
    n = _size(n, "n", minimum=2)
    if n % 2:
        raise ValueError(f"`n` must be even (Shaw's problem is defined so), got {n}")
    dtype = _dtype(dtype, _REAL)
    h = np.pi / n
    t = -np.pi / 2 + (np.arange(n, dtype=np.float64) + 0.5) * h
    cos_t = np.cos(t)
    u = np.pi * (np.sin(t)[:, None] + np.sin(t)[None, :])
    # sin(u)/u with the removable singularity filled (u = 0 on the anti-diagonal)
    sinc = np.ones_like(u)
    nonzero = u != 0
    sinc[nonzero] = np.sin(u[nonzero]) / u[nonzero]
    a = h * ((cos_t[:, None] + cos_t[None, :]) * sinc) ** 2
    x = 2.0 * np.exp(-6.0 * (t - 0.8) ** 2) + np.exp(-2.0 * (t + 0.5) ** 2)
    a = a.astype(dtype, copy=False)
    x = x.astype(dtype, copy=False)
    return IllPosedProblem(a, a @ x, x)


def hilbert(n, *, dtype=np.float64):
    """The Hilbert matrix ``H[i, j] = 1 / (i + j + 1)`` (0-based indices).

    Parameters
    ----------
    n : int
        Order, >= 1.
    dtype : {float64, float32}, optional
        dtype of the result.

    Returns
    -------
    ndarray, shape (n, n)
        The Hilbert matrix, rounded to `dtype`.

    Raises
    ------
    TypeError
        If `n` is not an integer or `dtype` not float32/float64.
    ValueError
        If `n` < 1.

    See Also
    --------
    scipy.linalg.hilbert, scipy.linalg.invhilbert

    Notes
    -----
    H is symmetric positive definite, a Hankel and a Cauchy matrix, and its
    inverse has integer entries. Its 2-norm condition number grows like
    ``e^{3.5 n}`` (asymptotically ``(1 + sqrt 2)^{4n} / sqrt(n)`` up to a
    constant): about ``4.8e5`` for n = 5, ``1.6e13`` for n = 10 and beyond
    ``1 / eps`` from n = 12 on, where the stored matrix is numerically
    singular in double precision (numerical rank 11 of 12 at the default
    cutoff).

    References
    ----------
    .. [1] N. J. Higham, "Accuracy and Stability of Numerical Algorithms",
       2nd ed., SIAM, 2002, §28.1. https://doi.org/10.1137/1.9780898718027

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank.datasets import hilbert
    >>> float(np.linalg.cond(hilbert(5)))  # doctest: +NUMBER
    476607.25
    """
    n = _size(n, "n")
    dtype = _dtype(dtype, _REAL)
    i = np.arange(1, n + 1, dtype=np.float64)
    return (1.0 / (i[:, None] + i[None, :] - 1.0)).astype(dtype, copy=False)


def kahan(n, *, theta=1.2, perturbation=25.0, dtype=np.float64):
    """Kahan's upper triangular matrix, a trap for rank-revealing QR.

    ``K = diag(1, s, s^2, ..., s^{n-1}) (I - c T) + perturbation * eps *
    diag(n, n-1, ..., 1)``, with ``s = sin(theta)``, ``c = cos(theta)``,
    T the strictly upper triangular matrix of ones and eps the machine
    epsilon of `dtype` — the definition of Higham's Test Matrix Toolbox and
    ``gallery('kahan', n, theta, pert)``.

    Parameters
    ----------
    n : int
        Order, >= 1.
    theta : float, optional
        Angle, ``0 < theta < pi``; smaller angles give faster decay
        ``s^{i}`` of the diagonal. Default 1.2.
    perturbation : float, optional
        Multiple of ``eps`` added to the diagonal (``>= 0``). The default 25
        (Higham's) makes column-pivoted QR keep the columns in order despite
        rounding, for n up to at least 90 in double precision.
    dtype : {float64, float32}, optional
        dtype of the result.

    Returns
    -------
    ndarray, shape (n, n)
        The Kahan matrix.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If `n` < 1, `theta` is not in (0, pi) or `perturbation` < 0.

    See Also
    --------
    lowrank.interpolative : its ``method="cpqr"`` is column-pivoted QR.

    Notes
    -----
    Without the perturbation all columns of K have unit 2-norm, and so do
    the columns of every trailing block ``K[j:, j:] = s^j K_{n-j}`` (because
    ``c^2 + s^2 = 1``): column-pivoted QR (Businger–Golub) faces ties at
    every step, and the perturbation breaks them in favour of the leading
    column, so it makes no interchanges and returns ``R = K``. Its last diagonal entry
    ``s^{n-1}`` then overestimates the smallest singular value by a factor
    that grows exponentially with n: for ``theta = 1.2`` and n = 50 it is
    ``3.2e-2`` while ``s_min = 1.6e-8``; for n = 90, ``1.9e-3`` against
    ``4e-15``. Only ``s_min`` is small (``s_{n-1} = 2.4e-3`` for n = 90):
    K has a numerical rank of n - 1 that the R factor does not show, and a
    condition number near ``2e15`` for n = 90.

    References
    ----------
    .. [1] W. Kahan, "Numerical linear algebra", Canadian Math. Bull. 9
       (1966), pp. 757-801.
    .. [2] N. J. Higham, "Accuracy and Stability of Numerical Algorithms",
       2nd ed., SIAM, 2002, §8.3 (``gallery('kahan')``).
       https://doi.org/10.1137/1.9780898718027

    Examples
    --------
    Pivoted QR leaves the columns in place, and ``|R[-1, -1]|`` misses the
    smallest singular value by six orders of magnitude:

    >>> import numpy as np
    >>> import scipy.linalg
    >>> from lowrank.datasets import kahan
    >>> K = kahan(50)
    >>> R, piv = scipy.linalg.qr(K, mode="r", pivoting=True)
    >>> bool(np.all(piv == np.arange(50)))
    True
    >>> s = np.linalg.svd(K, compute_uv=False)
    >>> bool(s[-1] < 1e-6 * abs(R[-1, -1]))
    True
    """
    n = _size(n, "n")
    theta = _positive(theta, "theta")
    if not theta < np.pi:
        raise ValueError(f"`theta` must satisfy 0 < theta < pi, got {theta!r}")
    perturbation = _positive(perturbation, "perturbation", allow_zero=True)
    dtype = _dtype(dtype, _REAL)
    s, c = math.sin(theta), math.cos(theta)
    k = np.triu(np.full((n, n), -c, dtype=np.float64), 1)
    np.fill_diagonal(k, 1.0)
    k *= (s ** np.arange(n, dtype=np.float64))[:, None]
    # The perturbation is in units of the target precision: add it after
    # rounding to `dtype`, where it is still representable.
    k = k.astype(dtype, copy=False)
    eps = np.finfo(dtype).eps
    k[np.diag_indices(n)] += (perturbation * eps * np.arange(n, 0, -1)).astype(dtype)
    return k


def gaussian_kernel(n, *, dim=1, bandwidth=0.2, rng=None, dtype=np.float64):
    """A Gaussian (RBF) kernel matrix on `n` random points of the unit cube.

    ``K[i, j] = exp(-||p_i - p_j||^2 / (2 bandwidth^2))`` for points ``p_i``
    drawn uniformly from ``[0, 1]^dim``.

    Parameters
    ----------
    n : int
        Number of points (the order of K), >= 1.
    dim : int, optional
        Dimension of the points, >= 1. Default 1.
    bandwidth : float, optional
        Length scale, > 0. Default 0.2. Larger values give faster decay.
    rng : None, int or numpy.random.Generator, optional
        Source of the points.
    dtype : {float64, float32}, optional
        dtype of the result.

    Returns
    -------
    ndarray, shape (n, n)
        The kernel matrix.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If `n` or `dim` < 1 or `bandwidth` <= 0.

    See Also
    --------
    lowrank.nystrom : low-rank approximation of such matrices.

    Notes
    -----
    K is symmetric positive semidefinite (Bochner's theorem) with unit
    diagonal and entries in (0, 1]; its trace is n. Its eigenvalues decay
    faster than any power: for points in one dimension roughly like
    ``exp(-c j log j)``, in ``dim`` dimensions like
    ``exp(-c j^{1/dim} log j)``, so its numerical rank is small for smooth
    kernels and grows with `dim` and with ``1 / bandwidth``. With the
    defaults (1-D, bandwidth 0.2) fewer than 20 eigenvalues exceed 1e-8 times
    the largest, whatever n is — the regime the Nyström method is made for.

    References
    ----------
    .. [1] H. Wendland, "Scattered Data Approximation", Cambridge University
       Press, 2005, ch. 6 and 11.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank.datasets import gaussian_kernel
    >>> K = gaussian_kernel(500, rng=0)
    >>> eigenvalues = np.linalg.eigvalsh(K)[::-1]
    >>> bool(np.allclose(K, K.T)) and bool(eigenvalues[-1] > -1e-12 * 500)
    True
    >>> int(np.sum(eigenvalues > 1e-8 * eigenvalues[0])) < 20
    True
    """
    n = _size(n, "n")
    dim = _size(dim, "dim")
    bandwidth = _positive(bandwidth, "bandwidth")
    dtype = _dtype(dtype, _REAL)
    points = check_rng(rng).random((n, dim), dtype=np.float64)
    squared = np.sum(points * points, axis=1)
    distances = squared[:, None] + squared[None, :] - 2.0 * (points @ points.T)
    np.maximum(distances, 0.0, out=distances)  # rounding can make them < 0
    np.fill_diagonal(distances, 0.0)
    kernel = np.exp(distances * (-0.5 / bandwidth**2))
    return kernel.astype(dtype, copy=False)


def _haar(rng, n, k, dtype):
    """n x k with orthonormal columns, Haar distributed (Mezzadri 2007).

    The QR factorisation of a Gaussian matrix, with the signs (phases) of
    R's diagonal moved into Q so that the distribution is exactly uniform.
    """
    q, r = np.linalg.qr(random_test_matrix(rng, n, k, dtype))
    d = np.diagonal(r)
    magnitude = np.abs(d)
    phase = np.where(magnitude == 0, 1, d / np.where(magnitude == 0, 1, magnitude))
    return q * phase


def _spectrum_factors(m, n, singular_values, rng, dtype):
    """Validate and build ``U * s`` and ``V`` (working precision: double)."""
    m, n = _size(m, "m"), _size(n, "n")
    dtype = _dtype(dtype, _ANY)
    s = np.asarray(singular_values)
    if s.ndim != 1 or s.dtype.kind not in "biuf":
        raise ValueError(
            "`singular_values` must be a 1-D array of real numbers, got "
            f"shape {s.shape} and dtype {s.dtype}"
        )
    s = s.astype(np.float64)
    if s.size > min(m, n):
        raise ValueError(
            f"`singular_values` has {s.size} entries; a {m} x {n} matrix has at "
            f"most min(m, n) = {min(m, n)}"
        )
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("`singular_values` must be finite and >= 0")
    rng = check_rng(rng)
    work = np.complex128 if dtype.kind == "c" else np.float64
    u = _haar(rng, m, s.size, work)
    v = _haar(rng, n, s.size, work)
    return u * s, v, dtype


def with_spectrum(m, n, singular_values, rng=None, *, dtype=np.float64):
    """A random ``m x n`` matrix with prescribed singular values.

    ``A = U diag(s) V^H`` with U (``m x r``) and V (``n x r``) drawn from the
    Haar (uniform) distribution on matrices with orthonormal columns,
    ``r = len(s)``.

    Parameters
    ----------
    m, n : int
        Shape, >= 1 each.
    singular_values : array_like, shape (r,)
        Non-negative numbers, ``r <= min(m, n)``, in any order; the missing
        ``min(m, n) - r`` singular values are zero.
    rng : None, int or numpy.random.Generator, optional
        Source of U and V.
    dtype : {float64, float32, complex128, complex64}, optional
        dtype of the result; complex dtypes give complex Haar factors.

    Returns
    -------
    ndarray, shape (m, n)
        The matrix.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If `m`, `n` < 1, or `singular_values` is not 1-D, has negative or
        non-finite entries or more than ``min(m, n)`` of them.

    See Also
    --------
    low_rank_plus_noise

    Notes
    -----
    The singular values of the result are the sorted ``s`` (padded with
    zeros) up to the rounding of the product: an absolute error of a few
    ``eps * max(s)``, computed in double precision and rounded once to
    `dtype`. So the condition number, the decay and the error of the best
    rank-k approximation, ``s_{k+1}`` in the 2-norm, are known exactly.
    Because U and V are Haar, the singular vectors are incoherent: no row
    or column is special, which is the easy case for column sampling.

    References
    ----------
    .. [1] F. Mezzadri, "How to generate random matrices from the classical
       compact groups", Notices AMS 54 (2007), pp. 592-604.
       arXiv:math-ph/0609050

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank.datasets import with_spectrum
    >>> A = with_spectrum(300, 200, np.logspace(0, -10, 50), rng=0)
    >>> s = np.linalg.svd(A, compute_uv=False)
    >>> bool(np.allclose(s[:50], np.logspace(0, -10, 50), rtol=1e-5, atol=0))
    True
    >>> bool(s[50] < 1e-14)
    True
    """
    us, v, dtype = _spectrum_factors(m, n, singular_values, rng, dtype)
    return (us @ v.conj().T).astype(dtype, copy=False)


def low_rank_plus_noise(m, n, rank, noise=1e-3, rng=None, *, dtype=np.float64):
    """A rank-`rank` matrix with unit singular values plus Gaussian noise.

    ``A = U V^H + noise * G / (sqrt(m) + sqrt(n))`` with U, V Haar
    (orthonormal columns, ``rank`` of them) and G a standard Gaussian matrix
    (complex Gaussian with ``E|g_ij|^2 = 1`` for complex dtypes).

    Parameters
    ----------
    m, n : int
        Shape, >= 1 each.
    rank : int
        Rank of the signal, ``0 <= rank <= min(m, n)``.
    noise : float, optional
        Spectral norm of the noise, approximately (see Notes); >= 0.
        Default 1e-3.
    rng : None, int or numpy.random.Generator, optional
        Source of U, V and G.
    dtype : {float64, float32, complex128, complex64}, optional
        dtype of the result.

    Returns
    -------
    ndarray, shape (m, n)
        The matrix.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If a size is out of range or `noise` is negative or not finite.

    See Also
    --------
    with_spectrum

    Notes
    -----
    The noise ``E`` has ``||E||_2 <= noise * (1 + t / (sqrt m + sqrt n))``
    with probability at least ``1 - exp(-t^2 / 2)`` (Davidson–Szarek), and
    is close to `noise` for large m, n. By Weyl's inequality the singular
    values of A therefore satisfy ``|s_j - 1| <= ||E||_2`` for
    ``j <= rank`` and ``s_j <= ||E||_2`` for ``j > rank``: a gap of
    ``1 / noise`` at the rank, and a best rank-`rank` approximation with
    spectral error about `noise`. The Frobenius norm of the tail is larger,
    about ``noise * sqrt(m n) / (sqrt m + sqrt n)``, since the noise spectrum
    is flat (Marchenko–Pastur), the hard case for randomized methods without
    power iterations.

    References
    ----------
    .. [1] K. R. Davidson and S. J. Szarek, "Local operator theory, random
       matrices and Banach spaces", Handbook of the Geometry of Banach
       Spaces 1 (2001), pp. 317-366, Theorem II.13.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank.datasets import low_rank_plus_noise
    >>> A = low_rank_plus_noise(400, 300, 10, noise=1e-4, rng=0)
    >>> s = np.linalg.svd(A, compute_uv=False)
    >>> bool(np.all(abs(s[:10] - 1) < 2e-4)) and bool(s[10] < 1.2e-4)
    True
    """
    m, n = _size(m, "m"), _size(n, "n")
    rank = _size(rank, "rank", minimum=0)
    if rank > min(m, n):
        raise ValueError(
            f"`rank` must satisfy 0 <= rank <= min(m, n) = {min(m, n)}, got {rank}"
        )
    noise = _positive(noise, "noise", allow_zero=True)
    rng = check_rng(rng)
    us, v, dtype = _spectrum_factors(m, n, np.ones(rank), rng, dtype)
    work = np.dtype(np.complex128 if dtype.kind == "c" else np.float64)
    g = random_test_matrix(rng, m, n, work)
    scale = noise / (math.sqrt(m) + math.sqrt(n))
    if work.kind == "c":
        scale /= math.sqrt(2.0)  # real and imaginary parts each have variance 1
    a = us @ v.conj().T
    a += scale * g
    return a.astype(dtype, copy=False)
