"""When a kernel beats BLAS/LAPACK: the measured rules, free of numba.

Callers evaluate these before importing a kernel module, so a call that does
not use a kernel never imports numba.
"""

import math

import numpy as np

__all__ = ["use_gram_kernel", "use_residual_kernel", "use_small_svd"]


def use_small_svd(shape, dtype=np.float64):
    """Whether :func:`batched_small_svd` is expected to beat ``numpy.linalg.svd``.

    Parameters
    ----------
    shape : tuple of int
        Shape ``(..., m, n)`` of the stack.
    dtype : dtype, default float64
        Its dtype; complex arithmetic costs the Jacobi kernel relatively more.

    Returns
    -------
    bool
        True iff, with ``k = min(m, n)`` and ``p = max(m, n)``: the stack holds
        at least 8 matrices, ``1 <= k <= 8`` (real) or ``k <= 5`` (complex),
        and ``p * k**2 <= 2048``.

    Notes
    -----
    Measured on a 2-core x86-64 machine (numpy 2.4 with OpenBLAS, numba 0.68),
    single-threaded on both sides, as the ratio time(numpy) / time(kernel):

    ===========  =====  =====  =====  =====  ======  =====  =====  =====
    m x n         6x4    3x3   8x8    10x10  16x16   32x8   64x8   128x4
    ===========  =====  =====  =====  =====  ======  =====  =====  =====
    float64       3.0    3.5   1.3    1.1    0.75    1.1    0.85   1.2
    complex128    1.7    2.5   0.7    0.55   0.37    0.9    0.85   1.9
    ===========  =====  =====  =====  =====  ======  =====  =====  =====

    (float32 and complex64 gain more: 8x8 is 2.0x and 1.1x.) Jacobi needs
    more sweeps and O(k^2 p) work per sweep as k grows, while LAPACK's cost
    is dominated by its few-microsecond per-matrix overhead only for tiny
    matrices; the rule keeps a margin of about 1.1x or more. The kernel's own
    per-call overhead is a few microseconds, so it wins from about 4 matrices
    on; 8 is the threshold. With ``parallel=True`` and free cores the kernel
    gains up to a further factor of the core count on large stacks, which
    the rule does not count on.

    Examples
    --------
    >>> use_small_svd((20000, 6, 4))
    True
    >>> use_small_svd((20000, 16, 16))
    False
    >>> use_small_svd((20000, 6, 6), np.complex128)
    False
    """
    *batch, m, n = shape
    k, p = min(m, n), max(m, n)
    kmax = 5 if np.issubdtype(dtype, np.complexfloating) else 8
    return math.prod(batch) >= 8 and 1 <= k <= kmax and p * k * k <= 2048


def use_gram_kernel(shape, dtype=np.float64):
    """Whether :func:`gram_rowblocked` is expected to beat syrk/herk clearly.

    Parameters
    ----------
    shape : tuple of int
        ``(m, n)``.
    dtype : dtype, default float64
        The dtype of the matrix.

    Returns
    -------
    bool
        True iff `dtype` is real (float32/float64), ``1 <= n <= 32`` and
        ``m >= 16384``: there the kernel wins even on one core, and it is
        run serially (see Notes).

    Notes
    -----
    Measured with ``benchmarks/bench_kernels.py`` on a shared 2-core x86-64
    machine (numpy 2.4 / scipy 1.17 with OpenBLAS 0.3.30-31 SkylakeX, numba
    0.68; load average 1.6-1.9 from other processes), as the ratio
    time(:func:`lowrank.linalg._tallqr.gram`) / time(kernel), kernel with
    ``parallel=True`` / ``parallel=False``, medians of 7 runs:

    ===============  =========  =========  =========
    m x n             float64    float32    complex128
    ===============  =========  =========  =========
    200000 x 4       4.4 / 2.0
    200000 x 8       4.4 / 2.5  3.0 / 2.7  1.5 / 0.77
    200000 x 16      3.2 / 2.0
    200000 x 32      3.1 / 1.7  2.9 / 1.8  1.2 / 0.61
    200000 x 64      2.2 / 1.1
    200000 x 100     1.5 / 0.78
    20000 x 8        2.7 / 2.9
    2000000 x 8      5.4 / 3.0
    ===============  =========  =========  =========

    On the same machine idle (load < 1), the parallel kernel alone beat syrk
    up to n = 160 (100000 x 100: 1.5x), but inside the Cholesky-QR chain,
    interleaved with multi-threaded BLAS calls, numba's OpenMP threads and
    OpenBLAS's threads slowed each other down: tall_qr of 200000 x 32 took
    0.117 s with syrk, 0.092 s with the parallel kernel and 0.079 s with the
    serial one; 200000 x 8: 0.044 / 0.041 / 0.016 s; 100000 x 100: 0.219 /
    0.239 / 0.223 s. Hence the rule: serial kernel, n <= 32. (Timed alone
    on the idle machine, benchmarks/bench_kernels.py gave the serial kernel
    only 1.0-1.1x over syrk and the parallel one 2.0x for n <= 64; these
    timings vary a lot from run to run on this virtual machine.)

    OpenBLAS computes syrk for tall A with few columns on one thread; the
    kernel wins even serially (its gemm calls run on chunks of rows that stay
    in cache) and the rule asks for that, so it holds when the cores are
    busy, too: with parallel=True on an oversubscribed machine (load > 2 on
    2 cores) the threads' barrier cost up to ~16 ms per call (a single
    block, m < 32768 by default, runs serially). Complex input
    pays for conjugating each chunk and loses serially. Relative errors
    matched syrk's (~1e-15 float64, ~2e-7 float32).

    Examples
    --------
    >>> use_gram_kernel((200000, 8))
    True
    >>> use_gram_kernel((200000, 100)), use_gram_kernel((200000, 32))
    (False, True)
    >>> use_gram_kernel((200000, 8), np.complex128)
    False
    """
    m, n = (int(x) for x in shape)
    real = not np.issubdtype(np.dtype(dtype), np.complexfloating)
    return bool(real and 1 <= n <= 32 and m >= 16384)


def use_residual_kernel(shape, dtype=np.float64, *, k=1, order="C"):
    """Whether :func:`residual_normal` is expected to beat its numpy twin.

    Parameters
    ----------
    shape : tuple of int
        ``(m, n)``, the shape of A.
    dtype : dtype, default float64
        The dtype of A.
    k : int, default 1
        Number of right-hand sides (columns of b; 1 for a vector).
    order : {"C", "F"}, default "C"
        "F" if A is Fortran-contiguous (and not C-contiguous), else "C" (the
        kernel copies any other layout to C order first).

    Returns
    -------
    bool
        True iff ``m >= 8192`` (two row blocks or more, so the kernel runs
        in parallel), ``m * n >= 2**19``, ``1 <= k <= 32``, and: for real
        dtypes ``n <= 2048`` and, for Fortran order, ``k >= 2``; for complex
        dtypes C order, ``n <= 1000`` and ``n * k <= 1600``.

    Notes
    -----
    Measured on a 2-core x86-64 machine (numpy 2.4 with OpenBLAS 0.3.31 for
    the twin, numba 0.68 with scipy's OpenBLAS 0.3.30 inside the kernel, load
    average about 1), as the ratio time(:func:`residual_normal_numpy`) /
    time(:func:`residual_normal`) with ``parallel=True`` / ``parallel=False``,
    medians of 7 runs after a warm-up, each function timed in its own run of
    calls:

    ============  ===  ===========  ===========  ===========  ===========
    m x n          k   float64 C    float64 F    complex C    complex F
    ============  ===  ===========  ===========  ===========  ===========
    100000 x 100   1   1.9 / 1.1    0.62 / 0.31  2.1 / 1.1    0.69 / 0.35
    100000 x 100   8   4.8 / 2.4    2.4 / 1.3    1.9 / 0.96   1.4 / 0.77
    200000 x 500   1   1.8 / 1.0    0.64 / 0.33  1.5 / 0.89   0.59 / 0.31
    200000 x 500   8   4.2 / 2.1    1.8 / 0.89   1.0 / 0.52   0.78 / 0.40
    20000 x 50     1   1.1 / 0.62   0.51 / 0.24  1.4 / 0.56   0.51 / 0.20
    20000 x 50     8   4.0 / 1.9    2.7 / 1.4    1.7 / 0.80   1.4 / 0.67
    2000 x 20      1   0.84         0.58         1.0          0.65
    2000 x 20      8   1.8          1.4          1.1          1.0
    ============  ===  ===========  ===========  ===========  ===========

    ("complex" is complex128; 2000 x 20 is a single row block, run serially
    either way.) Further points, parallel: float32 and complex64, 100000 x
    100, C order, k = 1: 2.3 and 2.2; Fortran order, k = 2: float64 3.1
    (100000 x 100) and 1.8 (200000 x 500); float64, C order, k = 1: 20000 x
    1000 1.8, 16384 x 2048 1.7, 8192 x 64 1.0, 16384 x 16 0.91, 4000 x 1000
    0.69, 2000 x 2000 0.56; complex128, C order: 16384 x 2048 (k = 1) 0.52,
    10000 x 1000 (k = 1) 1.4, (k = 8) 0.70, 100000 x 100 (k = 16) 1.35,
    (k = 32) 0.91, 20000 x 100 (k = 20) 1.03. Repeated runs varied by up to
    about 20%.

    The twin makes two multi-threaded BLAS-2 passes over A; the kernel one
    pass, split over numba threads, with single-threaded BLAS calls on
    chunks of rows that stay in cache, so it wins by about the saved pass in
    C order. OpenBLAS' gemv is fast for Fortran-ordered A (long columns)
    while the kernel has to gather each chunk's rows from n strided runs, so
    there the kernel wins only from k = 2 on (real: 1.8-3.1x at k = 2).
    Complex BLAS calls go multi-threaded at much smaller sizes (gemv at
    m*n = 4096, gemm at m*n*k = 65536), which caps the kernel's chunks at a
    few rows for large n*k. Below m*n ~ 5e5 the calls take < 0.1 ms and
    either side may win; with m < 8192 the kernel runs on one block
    (serially) and loses to the twin for square or wide A (0.2-0.7x).
    Run back to back with other multi-threaded BLAS calls, the parallel
    kernel gains less (100000 x 100, k = 1: 1.3x instead of 2x): OpenBLAS'
    idle threads spin for a while after each call.

    Examples
    --------
    >>> use_residual_kernel((100000, 100))
    True
    >>> use_residual_kernel((100000, 100), order="F"), use_residual_kernel(
    ...     (100000, 100), k=8, order="F")
    (False, True)
    >>> use_residual_kernel((2000, 20)), use_residual_kernel((4000, 1000))
    (False, False)
    >>> use_residual_kernel((200000, 500), np.complex128, k=8)
    False
    """
    m, n = (int(v) for v in shape)
    k = int(k)
    if order not in ("C", "F"):
        raise ValueError(f'`order` must be "C" or "F", got {order!r}')
    if m < 8192 or m * n < 2**19 or not 1 <= k <= 32:
        return False
    if np.issubdtype(np.dtype(dtype), np.complexfloating):
        return order == "C" and n <= 1000 and n * k <= 1600
    return n <= 2048 and (order == "C" or k >= 2)
