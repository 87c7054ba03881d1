"""The dask backend: row-chunked ``dask.array.Array`` input, computed distributed.

`operand.DaskTall` implements the passes of `lowrank._backends.protocol` as
map-reduces over row blocks (`_passes`) of plain-numpy block functions
(`_chunks`); the drivers of `lowrank.linalg` and `lowrank.approx` run on it
unchanged. This package is the only place in lowrank that imports dask, and
only when a dask array is passed (`lowrank._backends.dispatch`); this
``__init__`` holds data only, so reading it imports nothing.
"""

#: What each public function offers for a dask array: its methods (one
#: machine has more). The public functions, the docs and the tests read it.
#: ``tall_qr`` is not listed: every one of its methods runs on dask (its
#: "householder" is TSQR).
SUPPORTED_METHODS = {
    "pinv": ("auto", "cholqr", "svd", "eigh"),
    "lstsq": ("auto", "cholqr", "svd"),
    "svd": ("auto", "qr"),
    "truncated_svd": ("auto", "dense", "gram", "randomized"),
}

#: The range-finder normalizers a dask array supports (randomized_svd).
SUPPORTED_NORMALIZERS = ("qr", "none")

__all__ = ["SUPPORTED_METHODS", "SUPPORTED_NORMALIZERS"]
