"""Compiled kernels: the only package in lowrank that imports numba.

A kernel does what BLAS/LAPACK cannot do well -- for example the SVD of a large
stack of tiny matrices, where LAPACK's per-call overhead dominates and one core
does all the work.

Conventions
-----------
* Importing :mod:`lowrank` (or this package) does not import numba: this
  ``__init__`` imports nothing. Callers import a kernel module lazily, inside the
  function that needs it, e.g.
  ``from lowrank._kernels.small_svd import batched_small_svd``.
* Kernels compile lazily on their first call (and are cached on disk); the one
  decorator configuration lives in :mod:`lowrank._kernels._jit`.
* Parallel variants are chosen by an argument at call time, never by the
  environment at import time. Constants are arguments, not globals.
* Every kernel has a plain-numpy twin with the same output contract, used as
  the test oracle (``batched_small_svd`` / ``batched_small_svd_numpy``).
"""
