"""Fused residual and normal-equations residual ``r = b s - A x``, ``A^H r``.

Least-squares iterative refinement (``r = b - A x``, then ``A^H r``) and every
LSQR/LSMR step (``A v - alpha u``, then ``A^H`` of it) make two BLAS-2 passes
over the tall matrix A; both are memory-bound. :func:`residual_normal` makes
one: it cuts the rows into blocks, and for each chunk of rows of a block
computes that chunk of ``r`` and, while the chunk of A is still in cache, adds
its contribution to ``A^H r`` into the block's partial. The blocks run in
``numba.prange`` threads and the partials are added in a fixed order.

:func:`residual_normal_numpy` is the plain-numpy twin (two BLAS calls, the
test oracle) and :func:`use_residual_kernel` the measured rule for when the
kernel is worth calling.
"""

import numba
import numpy as np

from lowrank._kernels._jit import jit, jit_parallel
from lowrank._kernels._layout import check_kernel_matrix, row_major
from lowrank._kernels._rules import use_residual_kernel
from lowrank._kernels._threads import launch

__all__ = ["residual_normal", "residual_normal_numpy", "use_residual_kernel"]

# Rows per default block: the block count depends on m only (so the result
# does not depend on the thread count), and with 4096 rows there are enough
# blocks (24 for m = 1e5) that numba's static split over the threads stays
# balanced, while each block's partial (n x k) costs little to add.
_ROWS_PER_BLOCK = 4096
_MAX_BLOCKS = 64
# A chunk of rows is read from memory once and used by two BLAS calls, so it
# should stay in the per-core L2 cache (2 MiB here). Chunks of 128-512 KiB
# measured alike; 256 KiB leaves room for BLAS' packing buffers.
_CHUNK_BYTES = 262144
_MAX_CHUNK = 1024
# Each np.dot inside numba must stay below OpenBLAS' multithreading threshold,
# or it starts BLAS threads inside numba's (measured 5-15x slower). numba calls
# gemv when k = 1 and gemm otherwise. Measured with scipy's OpenBLAS 0.3.30 on
# this machine (serial below, threaded from): real gemm m*n*k ~1e6, real gemv
# m*n ~4.6e5, complex gemm m*n*k 65536, complex gemv m*n 4096. The caps keep
# a margin (real: the gram kernel's 262144; complex gemm: half) except for
# complex gemv, whose threshold is already tiny.
_SERIAL_MNK_REAL = 262144
_SERIAL_MNK_COMPLEX_GEMM = 32768
_SERIAL_MN_COMPLEX_GEMV = 4096


# --------------------------------------------------------------------------
# numba kernels
# --------------------------------------------------------------------------


@jit
def _chunk(ab, b, x, scale, c0, r, t, zbuf, zpart, rrc, rrpart):
    """Rows ``c0:c0+rows`` of ``r = b scale - A x``; add their part of the rest.

    ``ab`` (rows, n) holds those rows of A (C- or Fortran-contiguous). Adds
    ``A_c^T conj(r_c)`` to ``zpart`` (the caller conjugates the final sum:
    conjugating the short chunk of r instead of the chunk of A) and the chunk's
    ``sum |r_ic|^2`` to ``rrpart``. ``t`` (>= rows, k), ``zbuf`` (n, k) and
    ``rrc`` (k,) are scratch.
    """
    rows = ab.shape[0]
    k = x.shape[1]
    tc = t[:rows]
    np.dot(ab, x, tc)
    rrc[:] = 0
    for i in range(rows):
        for c in range(k):
            v = b[c0 + i, c] * scale[c] - tc[i, c]
            r[c0 + i, c] = v
            rrc[c] += v.real * v.real + v.imag * v.imag
            tc[i, c] = np.conj(v)
    np.dot(ab.T, tc, zbuf)
    zpart += zbuf
    rrpart += rrc


@jit
def _block(a, transposed, b, x, scale, r0, r1, chunk, r, zpart, rrpart):
    """Rows ``r0:r1`` of r, and their partial sums of ``A^T conj(r)`` and ``|r|^2``.

    ``a`` is C-contiguous: A itself (m, n), or, if ``transposed``, A^T (n, m)
    (the view of a Fortran-ordered A), whose rows are copied ``chunk`` at a
    time into a small C-ordered buffer (one contiguous run per column of A).
    """
    n, k = x.shape
    t = np.empty((chunk, k), a.dtype)
    zbuf = np.empty((n, k), a.dtype)
    rrc = np.empty(k, rrpart.dtype)
    buf = np.empty(n * chunk if transposed else 0, a.dtype)
    for c0 in range(r0, r1, chunk):
        c1 = min(c0 + chunk, r1)
        if transposed:
            at = buf[: n * (c1 - c0)].reshape((n, c1 - c0))
            for j in range(n):
                at[j, :] = a[j, c0:c1]
            _chunk(at.T, b, x, scale, c0, r, t, zbuf, zpart, rrc, rrpart)
        else:
            _chunk(a[c0:c1], b, x, scale, c0, r, t, zbuf, zpart, rrc, rrpart)


@jit
def _finish(zparts, rrparts):
    """Sum the partials in block order; ``z = conj(sum A_b^T conj(r_b))``."""
    z = zparts[0].copy()
    rr = rrparts[0].copy()
    for blk in range(1, zparts.shape[0]):
        z += zparts[blk]
        rr += rrparts[blk]
    return np.conj(z), rr


@jit
def _residual_serial(a, transposed, b, x, scale, n_blocks, chunk):
    m, (n, k) = b.shape[0], x.shape
    r = np.empty((m, k), a.dtype)
    zparts = np.zeros((n_blocks, n, k), a.dtype)
    rrparts = np.zeros((n_blocks, k), scale.dtype)
    for blk in range(n_blocks):
        r0 = blk * m // n_blocks
        r1 = (blk + 1) * m // n_blocks
        _block(a, transposed, b, x, scale, r0, r1, chunk, r, zparts[blk], rrparts[blk])
    z, rr = _finish(zparts, rrparts)
    return r, z, rr


@jit_parallel
def _residual_parallel(a, transposed, b, x, scale, n_blocks, chunk):
    m, (n, k) = b.shape[0], x.shape
    r = np.empty((m, k), a.dtype)
    zparts = np.zeros((n_blocks, n, k), a.dtype)
    rrparts = np.zeros((n_blocks, k), scale.dtype)
    for blk in numba.prange(n_blocks):
        r0 = blk * m // n_blocks
        r1 = (blk + 1) * m // n_blocks
        _block(a, transposed, b, x, scale, r0, r1, chunk, r, zparts[blk], rrparts[blk])
    z, rr = _finish(zparts, rrparts)
    return r, z, rr


# --------------------------------------------------------------------------
# Python API
# --------------------------------------------------------------------------


def _as_operand(v, name, dtype):
    """`v` as an array of `dtype`; a complex `v` for real `dtype` is refused."""
    v = np.asarray(v)
    if v.dtype.kind not in "biufc" or not np.can_cast(v.dtype, dtype, "same_kind"):
        raise TypeError(f"`{name}` of dtype {v.dtype} cannot be converted to {dtype}")
    return v.astype(dtype, copy=False)


def _check_operands(a, b, x, scale):
    """Validated ``(a, b2, x2, scale1, vector)``: 2-D b and x, scale of shape (k,)."""
    a = check_kernel_matrix(a)
    b = _as_operand(b, "b", a.dtype)
    x = _as_operand(x, "x", a.dtype)
    if b.ndim not in (1, 2) or x.ndim != b.ndim:
        raise ValueError(
            "`b` and `x` must both be 1-D or both 2-D, "
            f"got shapes {b.shape} and {x.shape}"
        )
    (m, n), k = a.shape, (b.shape[1] if b.ndim == 2 else 1)
    if b.shape[0] != m or x.shape[0] != n or x.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"shapes do not match: a {a.shape}, b {b.shape}, x {x.shape} "
            "(need b (m, k) or (m,), x (n, k) or (n,))"
        )
    vector = b.ndim == 1
    if vector:
        b, x = b[:, None], x[:, None]
    return a, b, x, _check_scale(scale, k, a.dtype), vector


def _check_scale(scale, k, dtype):
    """`scale` as a real array of shape (k,) in the real dtype matching `dtype`."""
    real = np.finfo(dtype).dtype
    if scale is None:
        return np.ones(k, real)
    scale = np.asarray(scale)
    if scale.dtype.kind not in "biuf":
        raise TypeError(f"`scale` must be real, got dtype {scale.dtype}")
    if scale.shape not in ((), (k,)):
        raise ValueError(
            f"`scale` must be a scalar or of shape ({k},), got {scale.shape}"
        )
    # A fresh writeable copy of k numbers: one compiled signature for all.
    return np.array(np.broadcast_to(scale, (k,)), dtype=real)


def _twin(a, b, x, scale):
    """The two-BLAS-call computation on validated 2-D operands."""
    r = b * scale - a @ x
    if np.iscomplexobj(a):
        # A^H r = conj(A^T conj(r)): conjugates the short r, not A.
        z = (a.T @ r.conj()).conj()
        rr = (r.real * r.real).sum(axis=0) + (r.imag * r.imag).sum(axis=0)
    else:
        z = a.T @ r
        rr = (r * r).sum(axis=0)
    return r, z, rr


def _unpack(r, z, rr, vector):
    if vector:
        return r[:, 0], z[:, 0], rr[0]
    return r, z, rr


def residual_normal_numpy(a, b, x, scale=None):
    """``r = b scale - A x``, ``A^H r`` and ``||r||^2`` by two BLAS calls (the twin).

    Same contract as :func:`residual_normal`; the plain-numpy oracle for its
    tests and the fallback when the kernel is not expected to win.

    Parameters
    ----------
    a : (m, n) array_like
        float32, float64, complex64 or complex128.
    b : (m, k) or (m,) array_like
        Converted to the dtype of `a`.
    x : (n, k) or (n,) array_like
        As `b` (1-D if and only if `b` is).
    scale : None or real array_like of shape (k,) or scalar, optional
        Factor per column of `b`; None means 1.

    Returns
    -------
    r : (m, k) or (m,) ndarray
        ``b * scale - a @ x`` in the dtype of `a`.
    z : (n, k) or (n,) ndarray
        ``A^H r``.
    rr : (k,) ndarray or scalar
        Squared 2-norm of each column of `r`, in the real dtype of `a`.

    Raises
    ------
    ValueError
        If the shapes are wrong or do not match.
    TypeError
        If a dtype is not supported or would lose information (complex `b`
        for real `a`, complex `scale`).

    See Also
    --------
    residual_normal : the fused one-pass kernel.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    >>> r, z, rr = residual_normal_numpy(a, np.array([1.0, 2.0, 3.0]), np.ones(2))
    >>> r, z, float(rr)
    (array([0., 0., 1.]), array([1., 1.]), 1.0)
    """
    a, b, x, scale, vector = _check_operands(a, b, x, scale)
    return _unpack(*_twin(a, b, x, scale), vector)


def _default_blocks(m):
    return int(min(_MAX_BLOCKS, max(1, m // _ROWS_PER_BLOCK)))


def _chunk_rows(n, k, dtype):
    """Rows per chunk: within the cache budget and BLAS' serial threshold."""
    rows = _CHUNK_BYTES // (n * dtype.itemsize)
    if dtype.kind == "c":
        if k == 1:
            rows = min(rows, (_SERIAL_MN_COMPLEX_GEMV - 1) // n)
        else:
            rows = min(rows, _SERIAL_MNK_COMPLEX_GEMM // (n * k))
    else:
        rows = min(rows, _SERIAL_MNK_REAL // (n * k))
    return max(1, min(_MAX_CHUNK, rows))


def residual_normal(a, b, x, scale=None, *, parallel=True, n_blocks=None):
    """``r = b scale - A x``, ``A^H r`` and ``||r||^2`` in one pass over A.

    Parameters
    ----------
    a : (m, n) array_like
        float32, float64, complex64 or complex128. C- or Fortran-contiguous
        input is read in place (Fortran-ordered rows are copied a chunk at a
        time into a small buffer), any other layout is first copied to C
        order. Computed in the precision of `a`. Not modified.
    b : (m, k) or (m,) array_like
        Converted to the dtype of `a` (and to C order); any layout.
    x : (n, k) or (n,) array_like
        As `b` (1-D if and only if `b` is).
    scale : None or real array_like of shape (k,) or scalar, optional
        Factor per column of `b` (for example LSQR's ``-alpha``); None means 1.
    parallel : bool, default True
        Run the row blocks in ``numba.prange`` threads; False runs them in a
        loop. The result is the same bit for bit.
    n_blocks : int, optional
        Number of row blocks, each reduced to a partial ``A^H r`` by one
        thread. Default ``clip(m // 4096, 1, 64)``; it depends on `m` only.
        Clipped to ``[1, max(m, 1)]``.

    Returns
    -------
    r : (m, k) or (m,) ndarray
        ``b * scale - a @ x`` in the dtype of `a`.
    z : (n, k) or (n,) ndarray
        ``A^H r`` (conjugate transpose for complex `a`).
    rr : (k,) ndarray or scalar
        Squared 2-norm of each column of `r`, in the real dtype of `a` (a
        numpy scalar for 1-D `b`).

    Raises
    ------
    ValueError
        If the shapes are wrong or do not match, or `n_blocks` < 1.
    TypeError
        If a dtype is not supported or would lose information (complex `b`
        for real `a`, complex `scale`).

    See Also
    --------
    residual_normal_numpy : the plain-numpy twin (two BLAS calls).
    use_residual_kernel : when this kernel beats the twin.

    Notes
    -----
    Each block of rows is processed a chunk of rows at a time (at most 256 KiB
    of A, and small enough for OpenBLAS to stay single-threaded inside each
    numba thread): ``r_c = b_c s - A_c x`` by one gemm/gemv, then
    ``A_c^T conj(r_c)`` by a second one on the chunk still in cache, added to
    the block's partial. The final sum of the partials is conjugated, which
    gives ``A^H r`` exactly as conjugating A would (conjugation is exact).
    Memory traffic: one read of A instead of two.

    Rounding: each entry of r is a product and a dot product of length n, so
    ``|r - fl(r)| <= gamma_{n+1} (|b||s| + |A||x|)`` entrywise; ``A^H r`` and
    ``||r||^2`` are summed within a chunk, then over the chunks of a block,
    then over the blocks (a sum of depth well below m), so
    ``|z - fl(z)| <= gamma_{m+n+2} |A|^T (|b||s| + |A||x|)`` entrywise (Higham,
    *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM 2002,
    §3.1 and §3.5), the same bound as for the twin. The partials are added in
    block order and no fastmath flags are used, so results are reproducible
    and do not depend on the number of threads.

    The first call per dtype and variant compiles the kernel (a few seconds;
    cached on disk afterwards). Empty dimensions (m, n or k = 0) are handled
    in numpy without the kernel.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((1000, 5))
    >>> b = rng.standard_normal((1000, 2))
    >>> x = rng.standard_normal((5, 2))
    >>> r, z, rr = residual_normal(a, b, x, scale=np.array([1.0, -0.5]))
    >>> bool(np.allclose(r, b * [1.0, -0.5] - a @ x))
    True
    >>> bool(np.allclose(z, a.T @ r)) and bool(np.allclose(rr, (r**2).sum(axis=0)))
    True
    >>> r1, z1, rr1 = residual_normal(a, b[:, 0], x[:, 0])
    >>> r1.shape, z1.shape, bool(np.isclose(rr1, rr[0]))
    ((1000,), (5,), True)
    """
    a, b, x, scale, vector = _check_operands(a, b, x, scale)
    (m, n), k = a.shape, b.shape[1]
    if n_blocks is None:
        n_blocks = _default_blocks(m)
    n_blocks = int(n_blocks)
    if n_blocks < 1:
        raise ValueError(f"`n_blocks` must be >= 1, got {n_blocks}")
    n_blocks = min(n_blocks, max(m, 1))
    if m == 0 or n == 0 or k == 0:
        return _unpack(*_twin(a, b, x, scale), vector)
    at, transposed = row_major(a)
    b = np.ascontiguousarray(b)
    x = np.ascontiguousarray(x)
    chunk = _chunk_rows(n, k, a.dtype)
    args = (at, transposed, b, x, scale, n_blocks, chunk)
    # One block: no parallel region (starting numba's threads costs time).
    if parallel and n_blocks > 1:
        r, z, rr = launch(_residual_parallel, _residual_serial, *args)
    else:
        r, z, rr = _residual_serial(*args)
    return _unpack(r, z, rr, vector)
