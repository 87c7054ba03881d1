"""Least squares: the public entry point (`_api`) and its methods.

`_direct` (SVD, complete orthogonal decomposition), `_tall` (Cholesky-QR
with refinement, sketch-and-precondition), `_iterative` (LSQR/LSMR with
preconditioners) on the block solvers of `_krylov`.
"""
