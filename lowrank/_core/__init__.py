"""The core every layer shares: the input boundary, result types, the rank rule, BLAS.

Nothing here knows an algorithm: `validation` turns user input into trusted
operands, `results` holds the NamedTuples the public functions return,
`spectral` the one rank rule and filter factors, `blas` the routing of
products to one OpenBLAS pool.
"""
