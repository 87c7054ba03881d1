"""Warnings and errors raised by lowrank.

Every warning lowrank emits is an instance of :class:`LowrankWarning`, so one
filter silences or escalates them all::

    import warnings
    import lowrank
    warnings.simplefilter("error", lowrank.exceptions.LowrankWarning)

Numerical breakdown that cannot be recovered from raises
:class:`numpy.linalg.LinAlgError`, as numpy and scipy do; invalid arguments raise
:class:`ValueError` or :class:`TypeError`.
"""

__all__ = [
    "ConvergenceWarning",
    "FallbackWarning",
    "IllConditionedWarning",
    "LowrankWarning",
]


class LowrankWarning(UserWarning):
    """Base class of every warning emitted by lowrank."""


class ConvergenceWarning(LowrankWarning):
    """An iterative method stopped before reaching the requested tolerance.

    The result is returned anyway (with ``converged=False`` where the result
    has that field); it is less accurate than asked for.
    """


class FallbackWarning(LowrankWarning):
    """A fast method broke down and a slower, stable method was used instead.

    The result is as accurate as the stable method makes it; only speed is lost.
    """


class IllConditionedWarning(LowrankWarning):
    """The input is too ill-conditioned for the requested method's accuracy.

    The result may be inaccurate; the message says by how much and which
    method would do better.
    """
