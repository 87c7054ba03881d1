"""The dask backend: row-chunked ``dask.array.Array`` input, computed distributed.

This package is the only place in lowrank that imports dask, and it does so
lazily: :func:`is_dask_array` recognises a dask array without importing dask
(no dask array can exist unless ``dask.array`` has been imported), and
:func:`dask_call` imports the implementation (`lowrank._backends.dask._api`) only when
a public function is handed a dask array. Each public function that accepts
dask arrays starts with one dispatch line::

    if is_dask_array(a):
        return dask_call("pinv", locals())

so ``import lowrank`` never imports dask, and lowrank works without it.
"""

from __future__ import annotations

import sys

__all__ = ["dask_call", "is_dask_array"]


def is_dask_array(a):
    """Whether `a` is a ``dask.array.Array``, without importing dask.

    Examples
    --------
    >>> import numpy as np
    >>> is_dask_array(np.ones((3, 2)))
    False
    """
    if not type(a).__module__.startswith("dask"):
        return False
    dask_array = sys.modules.get("dask.array")
    return dask_array is not None and isinstance(a, dask_array.Array)


def dask_call(name, arguments):
    """Run the dask implementation of public function `name`.

    `arguments` are the public function's arguments by name (its ``locals()``
    taken as its first statement); the implementation in `lowrank._backends.dask._api`
    has the same signature.
    """
    from lowrank._backends.dask import _api

    return getattr(_api, name)(**arguments)
