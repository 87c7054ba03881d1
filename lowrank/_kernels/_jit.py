"""The one numba decorator configuration used by every kernel in lowrank.

``cache=True`` stores compiled code next to the source, so the compile cost is
paid once per machine; ``nogil=True`` lets kernels run in Python threads. No
``fastmath`` flags: they assume no NaN/Inf and allow reassociation, which would
break the NaN checks and the rounding-error analysis the kernels rely on.

Numba freezes module globals into cached code, so kernels take every constant
(tolerances, eps, sweep caps, ...) as an argument.
"""

import numba

__all__ = ["jit", "jit_parallel"]

_OPTIONS = {"cache": True, "nogil": True}


def jit(*args, **kwargs):
    """Compile a serial kernel lazily with lowrank's numba options.

    Use as ``@jit`` or ``@jit(...)``; extra keyword arguments are passed on to
    :func:`numba.njit` and override the defaults.
    """
    return numba.njit(*args, **{**_OPTIONS, **kwargs})


def jit_parallel(*args, **kwargs):
    """Like :func:`jit`, with ``parallel=True`` so ``numba.prange`` runs in threads."""
    return numba.njit(*args, **{**_OPTIONS, "parallel": True, **kwargs})
