"""The one input boundary: user input in, trusted operands out.

Public functions validate every argument here, once, and hand drivers
trusted operands; no other module re-validates or parses an error message.
The checks are grouped by concern in the submodules; this package re-exports
them.
"""

from lowrank._core.validation.arrays import (
    SUPPORTED_DTYPES,
    as_matrix_stack,
    check_damp,
    check_finite,
    check_hermitian,
    check_iteration_options,
    check_k,
    check_k_or_tol,
    check_method,
    check_method_options,
    check_nonnegative_int,
    check_rng,
    default_rtol,
    finite_or_raise,
    rank_cutoff_tolerances,
    real_dtype,
    result_dtype,
)

__all__ = [
    "SUPPORTED_DTYPES",
    "as_matrix_stack",
    "check_damp",
    "check_finite",
    "check_hermitian",
    "check_iteration_options",
    "check_k",
    "check_k_or_tol",
    "check_method",
    "check_method_options",
    "check_nonnegative_int",
    "check_rng",
    "default_rtol",
    "finite_or_raise",
    "rank_cutoff_tolerances",
    "real_dtype",
    "result_dtype",
]
