"""Gram matrix ``A^H A`` of a tall matrix with few columns, as a row-blocked reduction.

For a tall ``m x n`` matrix with small ``n`` the Gram matrix is a long
reduction over rows into a tiny ``n x n`` result. OpenBLAS parallelises
syrk/herk and gemm over the *output* (its rows/columns), not over the
reduction dimension, so for small ``n`` it runs them on one thread (and the
product is memory-bound, not flop-bound). :func:`gram_rowblocked` instead cuts
the rows into blocks, lets ``numba.prange`` compute each block's partial Gram
matrix on its own thread and then adds the partials in a fixed order.

:func:`gram_numpy` is the plain-numpy twin (the test oracle) and
:func:`use_gram_kernel` the measured rule for when the kernel is worth calling
instead of :func:`lowrank.linalg._tallqr.gram` (syrk/herk).
"""

import numba
import numpy as np

from lowrank._kernels._jit import jit, jit_parallel
from lowrank._kernels._layout import check_kernel_matrix, row_major
from lowrank._kernels._rules import use_gram_kernel
from lowrank._kernels._threads import launch

__all__ = ["gram_numpy", "gram_rowblocked", "use_gram_kernel"]

# Rows per default block: blocks are large enough that the per-block work
# (allocation, n^2 partial sum) is negligible, and their number depends only
# on m, so the result does not depend on the number of threads.
_ROWS_PER_BLOCK = 16384
_MAX_BLOCKS = 64
# Rows handled at a time (copied into a thread-local buffer for Fortran-ordered
# input, and conjugated for the complex BLAS variant). Measured: 1024 rows is
# best for small n; the BLAS variant uses fewer, see below.
_CHUNK = 1024
# OpenBLAS runs gemm on min(m*n*k / (65536 * 4), cores) threads (65536 * 4 =
# SMP_THRESHOLD_MIN * GEMM_MULTITHREAD_THRESHOLD), so real calls below
# 2 * 262144 stay on one thread; the BLAS variant keeps each call below that
# so that the BLAS does not start threads inside numba's (measured: above ~1e6
# the nested threads make it 3-40x slower). Larger chunks amortise the call
# overhead: 100000 x 100, 2 threads: 27.5 ms with 26-row chunks (the earlier
# cap of 262144), 22.3 ms with 64 rows, 74 ms with 200 rows (nested threads).
# Complex gemm starts threads far earlier (measured at m*n*k = 65536).
_BLAS_SERIAL_MNK = 524288
_BLAS_SERIAL_MNK_COMPLEX = 32768


# --------------------------------------------------------------------------
# numba kernels
# --------------------------------------------------------------------------


@jit
def _accumulate_rows(blk, g):
    """``g[j, k] += sum_i conj(blk[i, j]) blk[i, k]`` for ``k >= j`` (upper triangle).

    Four rows at a time: each load/store of ``g`` carries four multiply-adds,
    and the inner loop over ``k`` is an independent (vectorisable) update.
    """
    rows, n = blk.shape
    i = 0
    while i + 4 <= rows:
        for j in range(n):
            c0 = np.conj(blk[i, j])
            c1 = np.conj(blk[i + 1, j])
            c2 = np.conj(blk[i + 2, j])
            c3 = np.conj(blk[i + 3, j])
            for k in range(j, n):
                g[j, k] += (c0 * blk[i, k] + c1 * blk[i + 1, k]) + (
                    c2 * blk[i + 2, k] + c3 * blk[i + 3, k]
                )
        i += 4
    while i < rows:
        for j in range(n):
            c0 = np.conj(blk[i, j])
            for k in range(j, n):
                g[j, k] += c0 * blk[i, k]
        i += 1


@jit
def _block_gram(x, transposed, r0, r1, g, chunk, use_blas, rhs, g_rhs):
    """Add the Gram matrix of rows ``r0:r1`` of A into ``g`` (upper triangle).

    ``x`` is C-contiguous: A itself (m, n), or, if ``transposed``, A^T (n, m)
    (the view of a Fortran-ordered A). Rows of A^T-stored input are copied
    ``chunk`` at a time into a C-ordered buffer. With ``use_blas`` each chunk
    goes to gemm through ``np.dot`` (``chunk`` must then keep the call below
    OpenBLAS' threading threshold), otherwise to :func:`_accumulate_rows`.
    If ``rhs`` (m, k) has columns, ``A^H rhs`` of the same rows is added into
    ``g_rhs`` (n, k) while the chunk is in cache.
    """
    n = g.shape[0]
    k = rhs.shape[1]
    cplx = np.iscomplexobj(x)
    buf = np.empty((chunk, n), x.dtype)
    cbuf = np.empty((chunk, n), x.dtype)
    for c0 in range(r0, r1, chunk):
        c1 = min(c0 + chunk, r1)
        rows = c1 - c0
        if transposed:
            for j in range(n):
                for i in range(rows):
                    buf[i, j] = x[j, c0 + i]
            blk = buf[:rows]
        else:
            blk = x[c0:c1]
        if use_blas:
            if cplx:
                for i in range(rows):
                    for j in range(n):
                        cbuf[i, j] = np.conj(blk[i, j])
                g += np.dot(cbuf[:rows].T, blk)
                if k:
                    g_rhs += np.dot(cbuf[:rows].T, rhs[c0:c1])
            else:
                g += np.dot(blk.T, blk)
                if k:
                    g_rhs += np.dot(blk.T, rhs[c0:c1])
        else:
            _accumulate_rows(blk, g)
            if k:
                for i in range(rows):
                    for j in range(n):
                        cj = np.conj(blk[i, j])
                        for t in range(k):
                            g_rhs[j, t] += cj * rhs[c0 + i, t]


@jit
def _finish(parts, out):
    """Sum the partials in a fixed order; mirror the upper triangle, real diagonal."""
    nb, n = parts.shape[0], parts.shape[1]
    for j in range(n):
        for k in range(j, n):
            s = parts[0, j, k]
            for b in range(1, nb):
                s += parts[b, j, k]
            out[j, k] = s
    for j in range(n):
        out[j, j] = out[j, j].real
        for k in range(j + 1, n):
            out[k, j] = np.conj(out[j, k])


@jit
def _sum_partials(parts):
    out = parts[0].copy()
    for b in range(1, parts.shape[0]):
        out += parts[b]
    return out


@jit
def _gram_serial(x, transposed, m, n_blocks, chunk, use_blas, rhs):
    n = x.shape[0] if transposed else x.shape[1]
    parts = np.zeros((n_blocks, n, n), x.dtype)
    parts_rhs = np.zeros((n_blocks, n, rhs.shape[1]), x.dtype)
    for b in range(n_blocks):
        r0 = b * m // n_blocks
        r1 = (b + 1) * m // n_blocks
        _block_gram(x, transposed, r0, r1, parts[b], chunk, use_blas, rhs, parts_rhs[b])
    out = np.empty((n, n), x.dtype)
    _finish(parts, out)
    return out, _sum_partials(parts_rhs)


@jit_parallel
def _gram_parallel(x, transposed, m, n_blocks, chunk, use_blas, rhs):
    n = x.shape[0] if transposed else x.shape[1]
    parts = np.zeros((n_blocks, n, n), x.dtype)
    parts_rhs = np.zeros((n_blocks, n, rhs.shape[1]), x.dtype)
    for b in numba.prange(n_blocks):
        r0 = b * m // n_blocks
        r1 = (b + 1) * m // n_blocks
        _block_gram(x, transposed, r0, r1, parts[b], chunk, use_blas, rhs, parts_rhs[b])
    out = np.empty((n, n), x.dtype)
    _finish(parts, out)
    return out, _sum_partials(parts_rhs)


# --------------------------------------------------------------------------
# Python API
# --------------------------------------------------------------------------


_check_matrix = check_kernel_matrix


def gram_numpy(a):
    """The Gram matrix ``A^H A`` as ``a.conj().T @ a`` (the plain-numpy twin).

    Parameters
    ----------
    a : (m, n) array_like
        float32, float64, complex64 or complex128.

    Returns
    -------
    (n, n) ndarray
        ``A^H A`` in the dtype of `a`.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(6.0).reshape(3, 2)
    >>> gram_numpy(a)
    array([[20., 26.],
           [26., 35.]])
    """
    a = _check_matrix(a)
    return a.conj().T @ a


def _default_blocks(m):
    return int(min(_MAX_BLOCKS, max(1, m // _ROWS_PER_BLOCK)))


def gram_rowblocked(a, *, n_blocks=None, parallel=True, method="blas", rhs=None):
    """The Hermitian Gram matrix ``A^H A`` by a parallel reduction over row blocks.

    Parameters
    ----------
    a : (m, n) array_like
        float32, float64, complex64 or complex128; C- or Fortran-contiguous
        input is read in place, any other layout is first copied to C order.
        Computed in the precision of `a`. Not modified.
    n_blocks : int, optional
        Number of row blocks, each reduced to a partial Gram matrix by one
        thread. Default ``clip(m // 16384, 1, 64)``; it depends on `m` only,
        so the result is the same bit for bit whatever the number of threads
        and whether `parallel` is on. Clipped to ``[1, max(m, 1)]``.
    parallel : bool, default True
        Run the blocks in ``numba.prange`` threads; False runs them in a loop.
    method : {"blas", "loop"}, default "blas"
        How a block is reduced: gemm (``np.dot`` inside numba) on chunks of
        rows small enough (``rows * n^2 <= 524288``, 32768 for complex, at most
        1024 rows) for
        OpenBLAS to stay single-threaded inside each numba thread and for the
        chunk to stay in cache; or a compiled loop over rows (four at a time,
        upper triangle only). Measured, "blas" is 1.5-3x faster than "loop".
    rhs : (m,) or (m, k) array_like, optional
        If given, ``A^H rhs`` is computed in the same pass over `a` (each
        chunk of rows is still in cache) and returned as well; converted to
        the dtype of `a`.

    Returns
    -------
    (n, n) ndarray
        ``A^H A``, both triangles, exactly Hermitian (the lower triangle is the
        conjugate of the upper one, the diagonal is real), dtype of `a`.
    (n,) or (n, k) ndarray
        Only if `rhs` is given: ``A^H rhs``, summed over the same row blocks.

    Raises
    ------
    ValueError
        If `a` is not 2-D, `n_blocks` < 1 or `method` is unknown.
    TypeError
        If the dtype of `a` is not one of the four supported ones.

    See Also
    --------
    gram_numpy : the plain-numpy twin.
    lowrank.linalg._tallqr.gram : syrk/herk through scipy's BLAS.
    use_gram_kernel : when this kernel beats syrk/herk.

    Notes
    -----
    Cost: ``m n (n + 1) / 2`` multiply-adds (four times that in real
    arithmetic for complex input) plus ``n_blocks n^2`` additions; one pass
    over `a`. Each partial is a sum of at most ``ceil(m / n_blocks)`` terms
    and the partials are added pairwise in order, so the usual bound
    ``|G - fl(G)| <= gamma_m |A|^H |A|`` holds entrywise (Higham, *Accuracy
    and Stability of Numerical Algorithms*, 2nd ed., SIAM 2002, §3.1).
    No fused multiply-add or reassociation flags are used, so results are
    reproducible.

    The first call per dtype, memory order and variant compiles the kernel
    (a few seconds; cached on disk afterwards).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.random.default_rng(0).standard_normal((1000, 5))
    >>> g = gram_rowblocked(a, n_blocks=4)
    >>> bool(np.allclose(g, a.T @ a)) and bool(np.array_equal(g, g.T))
    True
    """
    a = _check_matrix(a)
    if method not in ("loop", "blas"):
        raise ValueError(f'`method` must be "loop" or "blas", got {method!r}')
    m, n = a.shape
    if n_blocks is None:
        n_blocks = _default_blocks(m)
    n_blocks = int(n_blocks)
    if n_blocks < 1:
        raise ValueError(f"`n_blocks` must be >= 1, got {n_blocks}")
    n_blocks = min(n_blocks, max(m, 1))
    vector = rhs is not None and np.ndim(rhs) == 1
    if rhs is not None and (np.ndim(rhs) not in (1, 2) or np.shape(rhs)[0] != m):
        raise ValueError(
            f"`rhs` must have shape (m,) or (m, k) with m = {m}, got {np.shape(rhs)}"
        )
    if rhs is None:
        rhs2 = np.zeros((m, 0), a.dtype)
    else:
        rhs2 = np.ascontiguousarray(np.asarray(rhs).reshape(m, -1), dtype=a.dtype)
    if n == 0 or m == 0:
        g, g_rhs = np.zeros((n, n), a.dtype), np.zeros((n, rhs2.shape[1]), a.dtype)
    else:
        x, transposed = row_major(a)
        use_blas = method == "blas"
        chunk = _CHUNK
        if use_blas:
            complex_ = a.dtype.kind == "c"
            cap = _BLAS_SERIAL_MNK_COMPLEX if complex_ else _BLAS_SERIAL_MNK
            chunk = max(16, min(_CHUNK, cap // (n * max(n, rhs2.shape[1]))))
        args = (x, transposed, m, n_blocks, chunk, use_blas, rhs2)
        # One block: no parallel region (starting numba's threads costs time).
        if parallel and n_blocks > 1:
            g, g_rhs = launch(_gram_parallel, _gram_serial, *args)
        else:
            g, g_rhs = _gram_serial(*args)
    if rhs is None:
        return g
    return g, (g_rhs[:, 0] if vector else g_rhs)
