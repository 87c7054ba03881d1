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
from lowrank._core.validation.operators import (
    OPERAND_KINDS,
    as_dense_matrix,
    as_singular_values,
    check_adapter_shapes,
    check_core_hermitian,
    check_core_psd,
    check_explicit_matrix,
    check_hermitian_psd,
    check_operand_kind,
    check_product_shapes,
    check_products_finite,
    check_single_matrix,
    check_sparse_finite,
    check_svd_factors,
    operand_kind,
)
from lowrank._core.validation.options import (
    check_adapter_rank,
    check_applies,
    check_axis,
    check_deim_counts,
    check_given,
    check_n_iter,
    check_nblocks,
    check_probabilities,
    check_sample_size,
    check_sampling,
    or_list,
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
__all__ += [  # operators
    "OPERAND_KINDS",
    "as_dense_matrix",
    "as_singular_values",
    "check_adapter_shapes",
    "check_core_hermitian",
    "check_core_psd",
    "check_explicit_matrix",
    "check_hermitian_psd",
    "check_operand_kind",
    "check_product_shapes",
    "check_products_finite",
    "check_single_matrix",
    "check_sparse_finite",
    "check_svd_factors",
    "operand_kind",
]
__all__ += [  # options
    "check_adapter_rank",
    "check_applies",
    "check_axis",
    "check_deim_counts",
    "check_given",
    "check_n_iter",
    "check_nblocks",
    "check_probabilities",
    "check_sample_size",
    "check_sampling",
    "or_list",
]
