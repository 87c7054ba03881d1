"""Compiled kernels: the only package in lowrank that imports numba.

A kernel does what BLAS/LAPACK cannot do well -- for example the SVD of a large
stack of tiny matrices, where LAPACK's per-call overhead dominates and one core
does all the work.

Kernels
-------
* :mod:`~lowrank._kernels.small_svd`: SVDs of stacks of tiny matrices.
* :mod:`~lowrank._kernels.gram`: ``A^H A`` of a tall matrix, row-blocked.
* :mod:`~lowrank._kernels.sketch`: sparse sign sketches ``S A``.
* :mod:`~lowrank._kernels.residual`: ``r = b s - A x``, ``A^H r`` and
  ``||r||^2`` in one pass over A (least-squares refinement, LSQR/LSMR steps).

The measured rules for when each kernel beats BLAS/LAPACK live, free of
numba, in :mod:`~lowrank._kernels._rules`.

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
* A parallel kernel is started only through
  :func:`~lowrank._kernels._threads.launch`, with a serial twin that gives
  the same result bit for bit: numba's ``workqueue`` threading layer aborts
  the process when two threads launch parallel kernels at once.
* Every kernel has a plain-numpy twin with the same output contract, used as
  the test oracle (``batched_small_svd`` / ``batched_small_svd_numpy``).
"""
