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
from lowrank._core.validation.methods import (
    check_choice,
    check_dense_finite,
    check_dense_only_method,
    check_preconditioner,
    check_single_matrix_method,
    check_solver_options,
    check_tall_only,
    solver_rank_tolerances,
)
from lowrank._core.validation.operands import (
    as_rhs,
    check_backend_method,
    check_backend_option,
    check_dask_matrix,
    check_dask_rhs,
    check_dask_tol_method,
    check_no_precond_dask,
    check_not_hermitian_dask,
    check_operator_2d,
    check_pinv_pair,
    check_tall,
)

__all__ = [
    "SUPPORTED_DTYPES",
    "as_matrix_stack",
    "as_rhs",
    "check_backend_method",
    "check_backend_option",
    "check_choice",
    "check_damp",
    "check_dask_matrix",
    "check_dask_rhs",
    "check_dask_tol_method",
    "check_dense_finite",
    "check_dense_only_method",
    "check_finite",
    "check_hermitian",
    "check_iteration_options",
    "check_k",
    "check_k_or_tol",
    "check_method",
    "check_method_options",
    "check_no_precond_dask",
    "check_nonnegative_int",
    "check_not_hermitian_dask",
    "check_operator_2d",
    "check_pinv_pair",
    "check_preconditioner",
    "check_rng",
    "check_single_matrix_method",
    "check_solver_options",
    "check_tall",
    "check_tall_only",
    "default_rtol",
    "finite_or_raise",
    "rank_cutoff_tolerances",
    "real_dtype",
    "result_dtype",
    "solver_rank_tolerances",
]
