"""Parallel kernel launches that are safe from several Python threads.

numba runs ``parallel=True`` code on one of three threading layers, chosen
once per process on the first parallel launch (``NUMBA_THREADING_LAYER`` /
``numba.config.THREADING_LAYER``, else the first of ``tbb``, ``omp``,
``workqueue`` that loads). ``tbb`` and ``omp`` accept launches from several
threads at once. ``workqueue``, the fallback where neither TBB nor an OpenMP
runtime is installed, does not: a second thread entering a parallel region
while another is inside one aborts the whole process ("Concurrent access has
been detected"). lowrank's kernels release the GIL, so two Python threads
calling lowrank reach that state easily.

:func:`launch` is the one place every parallel kernel of lowrank is started
from. Where the layer is known to be thread-safe it runs the parallel kernel;
otherwise -- ``workqueue``, an unknown layer, or before numba has chosen one
-- only the thread holding a module-level lock does, and a thread that finds
the lock taken runs the kernel's serial twin instead of waiting. Every serial
twin computes the same result bit for bit, so which thread got the parallel
kernel never shows in a result.

The lock is a synchronisation primitive private to this module, not a
setting: numba's configuration is never changed, and lowrank's calls stay
correct whatever layer the user selects. It covers lowrank's own launches
only; under ``workqueue``, other code running numba parallel functions
concurrently with lowrank can still collide with it.
"""

import os
import threading

import numba

__all__ = ["THREADSAFE_LAYERS", "launch", "layer_is_threadsafe"]

#: numba's threading layers that take parallel launches from several threads
#: at once (numba documents both as thread-safe; its ``"threadsafe"`` choice
#: selects one of them).
THREADSAFE_LAYERS = frozenset({"tbb", "omp"})

_lock = threading.Lock()


def _renew_lock():
    # A child forked while another thread held the lock inherits it held,
    # with no thread left to release it.
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_lock)


def current_layer():
    """The threading layer numba uses, or None before its first parallel launch."""
    try:
        return numba.threading_layer()
    except ValueError:  # "Threading layer is not initialized."
        return None


def layer_is_threadsafe():
    """Whether parallel kernels may be launched from several threads at once.

    True only once numba has chosen its layer and that layer is ``tbb`` or
    ``omp``; before the first parallel launch numba does not say which layer
    it will load, and any layer may turn out to be ``workqueue``.
    """
    return current_layer() in THREADSAFE_LAYERS


def launch(parallel, serial, *args):
    """``parallel(*args)`` where that is safe now, else ``serial(*args)``.

    Parameters
    ----------
    parallel : callable
        A ``parallel=True`` kernel (or a partial of one).
    serial : callable
        Its serial twin; it must return the same result bit for bit.
    *args
        Passed to whichever of the two runs.

    Returns
    -------
    object
        What the kernel returns.

    Notes
    -----
    On a thread-safe layer the parallel kernel always runs. Otherwise a
    non-blocking attempt on the module's lock decides: the thread that gets
    it runs the parallel kernel, any other thread runs the serial twin at
    the same time on its own core. Nobody waits for the lock, so a thread
    never blocks behind another's long kernel and no deadlock is possible.
    """
    if layer_is_threadsafe():
        return parallel(*args)
    lock = _lock
    if not lock.acquire(blocking=False):
        return serial(*args)
    try:
        return parallel(*args)
    finally:
        lock.release()
