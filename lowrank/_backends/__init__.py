"""Backends: the passes a driver may ask of a big operand, one module per array kind.

A driver (in `lowrank.linalg`, `lowrank.approx`) makes every numerical
decision and touches the big matrix only through the passes of its operand
(`protocol`); `numpy` implements them with BLAS and numba kernels, `dask`
with map-reduces over row blocks. Adding a backend adds passes, never a copy
of a driver.
"""
