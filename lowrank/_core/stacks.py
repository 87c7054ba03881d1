"""Loops over stacks of matrices, for the methods LAPACK cannot batch."""

from __future__ import annotations

import numpy as np

__all__ = ["SMALL_MATRIX_ENTRIES", "batched", "per_matrix"]


def per_matrix(batch, options):
    """``(index, options)`` for each matrix of a stack of shape `batch`.

    `options` is a NamedTuple whose `damp` has (or broadcasts to) the stack's
    shape; each matrix gets its own scalar damp.

    Examples
    --------
    >>> from typing import NamedTuple
    >>> class Options(NamedTuple):
    ...     damp: object
    >>> [(index, float(o.damp)) for index, o in per_matrix((2,), Options(0.5))]
    [((0,), 0.5), ((1,), 0.5)]
    """
    damp = np.broadcast_to(options.damp, batch)
    for index in np.ndindex(*batch):
        yield index, options._replace(damp=damp[index])


#: Stacks of matrices with at most this many entries each are computed by
#: the batched (numpy-vectorised) form of a method that has one, not one
#: LAPACK call per matrix: a call through scipy costs microseconds to
#: milliseconds (thread-pool wake-ups) whatever the size, which dominates
#: for small matrices. The threshold is a first guess, to be measured.
SMALL_MATRIX_ENTRIES = 1024


def batched(shape):
    """Whether a stack of this shape ``(..., M, N)`` takes the batched form."""
    return len(shape) > 2 and shape[-2] * shape[-1] <= SMALL_MATRIX_ENTRIES
