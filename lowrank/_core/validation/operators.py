"""Checks of operands: dense arrays, scipy.sparse matrices, LinearOperators.

What a function needs of its matrix (a single matrix, square, Hermitian
positive semidefinite, its entries), the shapes of factors that must fit
together, and the deferred checks on what an operator gives back: an
operator cannot be checked before its products are seen, so those checks
run on the products (`check_products_finite`) or on a small sample of the
operator (`check_core_hermitian`, `check_core_psd`).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from lowrank._core.validation.arrays import (
    as_matrix_stack,
    check_finite,
    result_dtype,
)
from lowrank._core.validation.options import or_list

#: The kinds of matrix lowrank takes (`operand_kind`), as messages name them.
OPERAND_KINDS = {
    "dense": "a dense array",
    "sparse": "a scipy.sparse matrix",
    "operator": "a LinearOperator",
}


def operand_kind(a):
    """``"operator"``, ``"sparse"`` or ``"dense"``: the kind of matrix `a` is."""
    if isinstance(a, scipy.sparse.linalg.LinearOperator):
        return "operator"
    if scipy.sparse.issparse(a):
        return "sparse"
    return "dense"


# --------------------------------------------------------------------------
# the operand itself
# --------------------------------------------------------------------------


def check_single_matrix(shape, name="a"):
    """Raise ValueError unless `shape` is that of one matrix (no stack)."""
    if len(shape) != 2:
        raise ValueError(
            f"`{name}` must be a single matrix of shape (M, N), got shape "
            f"{tuple(shape)}; stacks are not supported"
        )


def check_sparse_finite(data, name, elementwise):
    """NaN/Inf in the stored entries `data` of a sparse matrix raise ValueError.

    Without `elementwise`, one sum over the nonzeros is the test (a NaN or
    Inf entry makes it non-finite; so might overflow, which the elementwise
    test then clears), costing no temporary.
    """
    if elementwise:
        check_finite(data, name)
        return
    with np.errstate(over="ignore", invalid="ignore"):
        if not np.isfinite(data.sum()):
            check_finite(data, name)


def as_dense_matrix(x, name, *, check_finite=True, square=False, nonempty=False):
    """`x` as a dense 2-D ndarray in a supported dtype (`as_matrix_stack` rules).

    With `square` it must be square, with `nonempty` have at least one entry.
    """
    arr = as_matrix_stack(x, name, check_finite_values=check_finite)
    if arr.ndim != 2 or (square and arr.shape[0] != arr.shape[1]):
        what = "a square 2-D matrix" if square else "2-D (a single matrix)"
        raise ValueError(f"`{name}` must be {what}, got shape {arr.shape}")
    if nonempty and arr.size == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {arr.shape}")
    return arr


def check_explicit_matrix(a, name, needs):
    """TypeError for a LinearOperator where entries are needed (`needs` says why)."""
    if operand_kind(a) == "operator":
        raise TypeError(
            f"`{name}` is a LinearOperator; {needs}: pass a dense array or a "
            "scipy.sparse matrix"
        )


def check_operand_kind(
    method, kind, registry, restricted, *, name="method", needs=None, error=TypeError
):
    """Raise unless `method` of `registry` takes an operand of `kind`.

    `restricted` maps the methods that do not take every kind in
    `OPERAND_KINDS` to the kinds they take; the message offers the methods
    of `registry` that take `kind`. `needs` words what the method needs
    (default: the kinds it takes).
    """
    accepted = restricted.get(method, OPERAND_KINDS)
    if kind in accepted:
        return
    others = [m for m in registry if kind in restricted.get(m, OPERAND_KINDS)]
    needs = needs or " or ".join(OPERAND_KINDS[k] for k in accepted)
    raise error(
        f"{name}={method!r} needs {needs}, not {OPERAND_KINDS[kind]}; use "
        f"{name}={or_list(others)}"
    )


def check_hermitian_psd(a, name, purpose):
    """Check that `a` can be Hermitian positive semidefinite, before any work.

    `a` must be square. A dense or sparse `a` must be Hermitian (relative
    asymmetry ``||A - A^H||_F <= 10 n eps ||A||_F``, the rounding of a
    product like ``B B^H``) with no clearly negative diagonal entry. An
    operator is checked later, on a sample (`check_core_hermitian`,
    `check_core_psd`). `purpose` names the function in the messages.
    """
    shape = tuple(a.shape)
    n = shape[-1]
    if shape != (n, n):
        raise ValueError(
            f"`{name}` must be square (Hermitian positive semidefinite), got shape "
            f"{shape}"
        )
    kind = operand_kind(a)
    if kind == "operator":
        return
    sparse = kind == "sparse"

    def frobenius(x):
        if sparse:
            return float(np.linalg.norm(x.data)) if x.nnz else 0.0
        return float(np.linalg.norm(x))

    scale = frobenius(a)
    difference = a - a.conj().T
    asym = frobenius(difference.tocsr() if sparse else difference)
    if asym > 10 * max(n, 1) * np.finfo(a.dtype).eps * scale:
        raise ValueError(
            f"`{name}` is not Hermitian (relative asymmetry ||A - A^H||_F / "
            f"||A||_F = {asym / scale:.2e}); {purpose} needs a Hermitian "
            f"positive semidefinite `{name}`"
        )
    _negative_diagonal(np.real(a.diagonal()), n, a.dtype, name)


def _negative_diagonal(diag, n, dtype, name):
    # A PSD matrix has a non-negative diagonal; rounding in forming A (say
    # U diag(s) U^H with zero eigenvalues) leaves entries down to about
    # -n eps lambda_max, and lambda_max <= trace(A) <= sum |a_ii| for PSD A.
    if diag.size == 0:
        return
    i = int(np.argmin(diag))
    scale = float(np.sum(np.abs(diag)))
    if diag[i] < -10 * n * np.finfo(dtype).eps * scale:
        raise ValueError(
            f"`{name}` must be positive semidefinite, but its diagonal entry "
            f"{name}[{i}, {i}] = {diag[i]:.3g} is negative"
        )


# --------------------------------------------------------------------------
# factors that must fit together
# --------------------------------------------------------------------------


def as_singular_values(s, check, name="S"):
    """`s` as a dense 1-D real array (singular values) in a supported dtype."""
    if scipy.sparse.issparse(s) or isinstance(s, np.ma.MaskedArray):
        raise TypeError(f"`{name}` must be a dense 1-D array of real numbers")
    if not hasattr(s, "__array__") and not isinstance(s, list | tuple):
        raise TypeError(
            f"`{name}` must be a 1-D array of numbers, got {type(s).__name__}"
        )
    arr = np.asarray(s)
    if arr.ndim != 1:
        raise ValueError(
            f"`{name}` must be 1-D, with shape (k,); got shape {arr.shape}"
        )
    if arr.dtype.kind == "c":
        raise TypeError(
            f"`{name}` must be real (the singular values), got dtype {arr.dtype}; "
            "absorb complex phases into `U` or `Vh`"
        )
    arr = arr.astype(result_dtype(arr.dtype, name), copy=False)
    if check:
        check_finite(arr, name)
    return arr


def check_svd_factors(shape, u, s, vh):
    """`U` (M, k), `S` (k,) and `Vh` (k, N) must fit an M x N `a`."""
    m, n = shape
    k = s.shape[0]
    if u.shape[0] != m:
        raise ValueError(f"`a` has {m} rows but `U` has {u.shape[0]} (shape {u.shape})")
    if vh.shape[1] != n:
        raise ValueError(
            f"`a` has {n} columns but `Vh` has {vh.shape[1]} (shape {vh.shape})"
        )
    if u.shape[1] != k or vh.shape[0] != k:
        raise ValueError(
            f"the rank of the factors disagrees: `U` has {u.shape[1]} columns, "
            f"`S` has {k} entries and `Vh` has {vh.shape[0]} rows; they must be "
            "(M, k), (k,) and (k, N)"
        )


def check_product_shapes(x_shape, y_shape):
    """The product ``x @ y`` needs as many columns of `x` as rows of `y`."""
    if x_shape[1] != y_shape[0]:
        raise ValueError(
            f"shapes {tuple(x_shape)} and {tuple(y_shape)} do not chain: `x` has "
            f"{x_shape[1]} columns but `y` has {y_shape[0]} rows"
        )


def check_adapter_shapes(a_shape, b_shape, g_shape):
    """LoRA factors `a` (N, r), `b` (r, M) and their gradient `g` (N, M)."""
    (n, r), (r2, m) = a_shape, b_shape
    if r2 != r or tuple(g_shape) != (n, m):
        raise ValueError(
            "`a`, `b` and `g` must have shapes (N, r), (r, M) and (N, M), got "
            f"{tuple(a_shape)}, {tuple(b_shape)} and {tuple(g_shape)}"
        )


# --------------------------------------------------------------------------
# deferred checks: what an operator gives back
# --------------------------------------------------------------------------


def check_products_finite(
    x, what="the products with `a`", cause="NaN/Inf in the operator, or overflow"
):
    """Return `x`, or raise ValueError if products with A gave NaN/Inf.

    They must not reach LAPACK, some of whose builds loop forever on them;
    for an operator this is the only finiteness test there is. `what` names
    the product and `cause` the likely reason in the message.
    """
    if not np.isfinite(x).all():
        raise ValueError(f"{what} gave non-finite values ({cause})")
    return x


def check_core_hermitian(core, n, name, purpose):
    """For an operator: the l x l core ``Omega^H A Omega`` must be Hermitian.

    A non-Hermitian operator almost surely gives a non-Hermitian core for a
    random Omega. The tolerance covers rounding in products with A of order
    ``n eps`` relative, the worst case of a product's rounding.
    """
    scale = np.linalg.norm(core)
    asym = np.linalg.norm(core - core.conj().T)
    if asym > 10 * n * np.finfo(core.dtype).eps * scale:
        raise ValueError(
            f"the LinearOperator `{name}` is not Hermitian: on a random "
            f"subspace, ||W - W^H||_F / ||W||_F = {asym / scale:.2e} for "
            f"W = Omega^H A Omega; {purpose} needs a Hermitian positive "
            f"semidefinite `{name}`"
        )


def psd_tolerance(n, dtype):
    """Relative size of a negative eigenvalue of a core that rounding explains.

    The core's entries carry errors up to ``n eps ||A||`` (worst case of a
    product's rounding); below sqrt(eps) the matrix is PSD to the working
    precision either way.
    """
    eps = float(np.finfo(dtype).eps)
    return max(math.sqrt(eps), 10 * n * eps)


def check_core_psd(theta_min, scale, n, dtype, name):
    """The smallest eigenvalue of ``Omega^H A Omega`` must be >= -rounding."""
    if theta_min < -psd_tolerance(n, dtype) * scale:
        raise ValueError(
            f"`{name}` is not positive semidefinite: on a random subspace, "
            f"Omega^H A Omega has the eigenvalue {theta_min:.3g} "
            f"(||A Omega||_2 = {scale:.3g})"
        )
