"""The passes a driver may ask of a big operand: the backend protocol.

A driver (the Cholesky-QR chain, the tall least-squares routes, the QR-first
SVD and pseudo-inverse, the Gram and randomized truncated SVDs) makes every
numerical decision on small matrices (n x n Gram matrices, triangles, their
SVDs) and touches the big M x N operand only through the methods below.
Each backend implements them for its array type: `lowrank._backends.ndarray`
with BLAS calls and numba kernels on one numpy array, `lowrank._backends.dask`
with map-reduces over the row blocks of a dask array. A backend knows nothing
of the drivers' decisions; a driver knows nothing of a backend's types.

The operand is ``Y = A Z R_1^{-1} R_2^{-1} ...``: the tall matrix A (M x N,
M >= N) itself, or A times a small N x l matrix Z (a sketch or basis), with
the triangular solves of the Cholesky-QR passes made so far. The ndarray
backend forms Y (solving in place once it owns the memory); the dask backend
keeps it implicit and recomputes each block of it inside every pass.

Small results (Gram matrices, sketches, ``Y^H b``) are numpy arrays; tall
results (``Y W``) are of the backend's array type (a lazy dask array for
dask).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["TallOperand"]


@runtime_checkable
class TallOperand(Protocol):
    """A tall operand ``Y`` (M x l, M >= l) and the passes over it.

    Attributes
    ----------
    shape : tuple of int
        ``(M, l)``, the shape of Y.
    dtype : numpy.dtype
        The computing dtype (float32, float64, complex64 or complex128).
    pool : {"scipy", "numpy"}
        Whose LAPACK the drivers call for their small steps (Cholesky
        factors, triangular solves of l x l' matrices): the OpenBLAS pool
        the backend's own products use, so that one computation never
        alternates between two spinning pools (`lowrank._core.blas`).
    """

    shape: tuple[int, int]
    dtype: np.dtype
    pool: str

    def gram(self, *, b: Any = None, carry_a: bool = False):
        """``(Y^H Y, carried)`` in one pass over A.

        `carried` is a dict with ``"a"``: ``Y^H A`` (if `carry_a`) and
        ``"b"``: ``Y^H b`` (if `b`, an M x K right-hand side of the
        backend's type, is given), computed in the same pass.
        """

    def normal_equations(self, b):
        """``(A^H A, A^H b, ||b||^2 per column)`` in one pass (Y = A only)."""

    def residual(self, b, x):
        """``(A^H r, ||r||^2 per column)`` for ``r = b - A x``, in one pass."""

    def sketch(self, rows: int, zeta: int, seed: int) -> np.ndarray:
        """The sparse sign sketch ``S Y`` (`rows` x l) with `zeta` nonzeros per
        column of S, drawn deterministically from `seed`."""

    def solve(self, r: np.ndarray) -> TallOperand:
        """The operand ``Y R^{-1}`` for an upper triangular l x l R."""

    def times(self, z: np.ndarray) -> TallOperand:
        """The operand ``A Z`` for a small N x l' matrix Z (Y = A only)."""

    def householder(self, *, b: Any = None, carry_a: bool = False):
        """Householder (TSQR) factorization ``Y = Q R``: ``(Q, R, carried)``.

        Q is an operand whose `apply` gives ``Q W``; R is upper triangular
        with a real non-negative diagonal; `carried` as for `gram`, with Q
        in place of Y.
        """

    def apply(self, w: np.ndarray | None = None):
        """The tall product ``Y W`` (Y itself if W is None), the backend's type."""

    def apply_h(self, w: np.ndarray):
        """``(Y W)^H``, the backend's type, in the layout the backend prefers."""

    def adjoint_times(self):
        """``A^H Y`` (N x l), one pass: the A^H half of a power iteration."""

    def gram_extremes(self):
        """``(Y^H Y, column maxima, column minima)`` of Y in one pass.

        The extremes (None for complex Y) let a driver certify the signs of
        ``Y D`` for a small D without a further pass.
        """

    def signed_apply(self, w: np.ndarray, vh: np.ndarray, signs=None):
        """``(U, Vh)`` with ``U = Y W`` and the sign convention of
        `lowrank._core.signs.canonical_signs` applied to U and Vh (`signs`:
        the signs of real U's columns, when a driver has certified them)."""

    def finite(self, summaries) -> bool:
        """The deferred finiteness test on small results of a first pass.

        Raises ValueError naming the input if one of its entries is NaN or
        infinite; returns False if a summary overflowed although the input
        is finite, True otherwise.
        """
