"""The one boundary: every function that takes an option checks it alike.

Each checker of `lowrank._core.validation` that replaced several ad-hoc
ones is held here to its promise: the functions that share a constraint
reject the same bad value with the same error and message, and that
message is the checker's own.
"""

import ast
import pathlib

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

import lowrank
from lowrank._core import validation
from lowrank.approx._cur import SELECTIONS
from lowrank.approx._interpolative import ID_METHODS
from lowrank.approx._truncated_svd import TRUNCATED_SVD_METHODS
from tests.helpers import nan_operator

PACKAGE = pathlib.Path(lowrank.__file__).parent
A = np.random.default_rng(0).standard_normal((30, 20))
PSD = A.T @ A


def _raised(call):
    """``(type, message)`` of what `call()` raises."""
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    return type(info.value), str(info.value)


# --------------------------------------------------------------------------
# n_iter: one checker, three constraints
# --------------------------------------------------------------------------

#: "auto" or an integer >= 0 (power iterations with a rule).
WITH_AUTO = {
    "rangefinder": lambda n_iter: lowrank.rangefinder(A, 3, n_iter=n_iter),
    "qb": lambda n_iter: lowrank.qb(A, 3, n_iter=n_iter),
    "randomized_svd": lambda n_iter: lowrank.randomized_svd(A, 3, n_iter=n_iter),
    "truncated_svd": lambda n_iter: lowrank.truncated_svd(A, 3, n_iter=n_iter),
}
#: an integer >= 0.
PLAIN = {
    "interpolative": lambda n_iter: lowrank.interpolative(A, 3, n_iter=n_iter),
    "nystrom": lambda n_iter: lowrank.nystrom(PSD, 3, n_iter=n_iter),
}
#: an integer >= 1 (steps of an estimate).
POSITIVE = {
    "estimate_spectral_error": lambda n_iter: lowrank.estimate_spectral_error(
        A, A[:, :2], np.ones(2), A[:2], n_iter=n_iter
    ),
}
N_ITER_CASES = [
    (WITH_AUTO, {}, [-1, 2.5, True, None, "fast", "AUTO"]),
    (PLAIN, {"auto": False}, [-1, 2.5, True, None, "auto"]),
    (POSITIVE, {"auto": False, "positive": True}, [0, -1, 2.5, True, "auto"]),
]


@pytest.mark.parametrize(("functions", "constraint", "bad"), N_ITER_CASES)
def test_n_iter_same_error_everywhere(functions, constraint, bad):
    for value in bad:
        expected = _raised(lambda v=value: validation.check_n_iter(v, **constraint))
        assert expected[1].startswith("`n_iter` must be")
        for name, call in functions.items():
            assert _raised(lambda v=value, c=call: c(v)) == expected, (name, value)


def test_n_iter_values_the_constraints_accept():
    assert validation.check_n_iter("auto") == "auto"
    assert validation.check_n_iter(np.int64(0)) == 0
    assert validation.check_n_iter(3, auto=False) == 3
    assert validation.check_n_iter(1, auto=False, positive=True) == 1
    # every function rejects what no constraint allows, by the same type
    for functions in (WITH_AUTO, PLAIN, POSITIVE):
        for call in functions.values():
            assert _raised(lambda c=call: c(-1))[0] is ValueError
            assert _raised(lambda c=call: c(2.5))[0] is TypeError


def test_n_iter_is_reexported_for_the_dask_backend():
    from lowrank.approx import _rangefinder

    assert _rangefinder.check_n_iter is validation.check_n_iter
    assert _rangefinder.check_nonnegative_int is validation.check_nonnegative_int


# --------------------------------------------------------------------------
# the operand a method needs: check_operand_kind
# --------------------------------------------------------------------------

OPERATOR = scipy.sparse.linalg.aslinearoperator(A)
SPARSE = scipy.sparse.csr_array(A)
OPERAND_CASES = [
    # (function, registry, refused method, operand, name, error)
    (
        lambda a, m: lowrank.truncated_svd(a, 3, method=m, rng=0),
        TRUNCATED_SVD_METHODS,
        "dense",
        OPERATOR,
        "method",
        ValueError,
    ),
    (
        lambda a, m: lowrank.interpolative(a, 3, method=m, rng=0),
        ID_METHODS,
        "cpqr",
        SPARSE,
        "method",
        TypeError,
    ),
    (
        lambda a, m: lowrank.interpolative(a, 3, method=m, rng=0),
        ID_METHODS,
        "cpqr",
        OPERATOR,
        "method",
        TypeError,
    ),
    (
        lambda a, m: lowrank.cur(a, 3, select=m, rng=0),
        SELECTIONS,
        "norm",
        OPERATOR,
        "select",
        TypeError,
    ),
]


@pytest.mark.parametrize(
    ("call", "registry", "method", "operand", "name", "error"), OPERAND_CASES
)
def test_refused_operand_offers_methods_that_work(
    call, registry, method, operand, name, error
):
    kind, message = _raised(lambda: call(operand, method))
    assert kind is error
    assert message.startswith(f"{name}={method!r} needs ")
    assert validation.OPERAND_KINDS[validation.operand_kind(operand)] in message
    offered = [m for m in registry if m != method and repr(m) in message]
    assert offered
    for other in offered:  # every method the message offers takes the operand
        call(operand, other)


def test_operand_kind():
    assert validation.operand_kind(A) == "dense"
    assert validation.operand_kind(A.tolist()) == "dense"
    assert validation.operand_kind(SPARSE) == "sparse"
    assert validation.operand_kind(scipy.sparse.coo_matrix(A)) == "sparse"
    assert validation.operand_kind(OPERATOR) == "operator"


# --------------------------------------------------------------------------
# options that apply to some methods only: check_applies
# --------------------------------------------------------------------------


def test_tol_and_sampling_name_where_they_apply():
    _, message = _raised(lambda: lowrank.truncated_svd(A, tol=0.1, method="lanczos"))
    assert message.startswith("`tol` is not supported by method='lanczos' (")
    applies = message.split("it applies to")[1]
    for method in TRUNCATED_SVD_METHODS:
        assert (repr(method) in applies) == (method != "lanczos")
    _, message = _raised(lambda: lowrank.cur(A, 3, select="deim", sampling="top"))
    assert message == (
        "`sampling` is not supported by select='deim'; it applies to "
        "select='leverage' or 'norm'"
    )


# --------------------------------------------------------------------------
# products of operators: check_products_finite
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: lowrank.randomized_svd(nan_operator(30, 20), 3, rng=0),
        lambda: lowrank.truncated_svd(nan_operator(30, 20), 3, rng=0),
        lambda: lowrank.interpolative(nan_operator(30, 20), 3, rng=0),
        lambda: lowrank.cur(nan_operator(30, 20), 3, select="uniform", rng=0),
        lambda: lowrank.nystrom(nan_operator(20, 20), 3, rng=0),
    ],
)
def test_broken_operator_same_message(call):
    expected = _raised(lambda: validation.check_products_finite(np.array([np.nan])))
    assert _raised(call) == expected


# --------------------------------------------------------------------------
# operands: Hermitian PSD, dense matrices, factor shapes
# --------------------------------------------------------------------------


def test_nystrom_hermitian_check_dense_and_sparse_agree():
    a = PSD.copy()
    a[0, 1] += 1.0
    dense = _raised(lambda: lowrank.nystrom(a, 3))
    sparse = _raised(lambda: lowrank.nystrom(scipy.sparse.csr_array(a), 3))
    assert dense[0] is sparse[0] is ValueError
    assert dense[1].split("=")[0] == sparse[1].split("=")[0]
    assert dense[1].endswith("nystrom needs a Hermitian positive semidefinite `a`")
    assert sparse[1].endswith("nystrom needs a Hermitian positive semidefinite `a`")


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda x: lowrank.lora_ga_init(x, 1), "g"),
        (
            lambda x: lowrank.lora_pro_gradients(x, np.ones((2, 5)), np.ones((6, 5))),
            "a",
        ),
        (lambda x: lowrank.estimate_spectral_error(A, x, np.ones(2), A[:2]), "U"),
    ],
)
def test_stacks_refused_by_name(call, name):
    stack = np.ones((2, 6, 2))
    assert _raised(lambda: call(stack)) == (
        ValueError,
        f"`{name}` must be 2-D (a single matrix), got shape (2, 6, 2)",
    )


def test_as_dense_matrix():
    np.testing.assert_array_equal(validation.as_dense_matrix([[1, 2]], "x"), [[1, 2]])
    with pytest.raises(ValueError, match="`x` must be a square 2-D matrix"):
        validation.as_dense_matrix(np.ones((2, 3)), "x", square=True)
    with pytest.raises(ValueError, match="`x` must not be empty"):
        validation.as_dense_matrix(np.ones((0, 0)), "x", square=True, nonempty=True)


def test_integer_options_name_the_argument():
    cases = [
        (lambda: lowrank.interpolative(A, 3, axis=2), "`axis` must be 1"),
        (lambda: lowrank.monarch(np.eye(12), nblocks=5), "`nblocks` must be a"),
        (lambda: lowrank.monarch(np.eye(12), nblocks=2.0), "`nblocks` must be an"),
        (lambda: lowrank.sampled_matmul(A, A.T, 0), "`r` must be a positive"),
        (lambda: lowrank.lora_ga_init(A, 11), "`r` must satisfy 0 < r <= "),
        (lambda: lowrank.randomized_svd(A, None), "missing required argument: 'k'"),
    ]
    for call, start in cases:
        assert start in _raised(call)[1]


def test_sampled_matmul_checks_probs_before_the_empty_shortcut():
    empty_x, empty_y = np.ones((3, 0)), np.ones((0, 2))
    with pytest.raises(ValueError, match="`probs` must be one of 'optimal'"):
        lowrank.sampled_matmul(empty_x, empty_y, 2, probs="best")
    with pytest.raises(ValueError, match=r"shape \(0,\)"):
        lowrank.sampled_matmul(empty_x, empty_y, 2, probs=[1.0])


def test_or_list():
    assert validation.or_list([]) == ""
    assert validation.or_list(["a"]) == "'a'"
    assert validation.or_list(["a", "b", "c"]) == "'a', 'b' or 'c'"
    assert validation.or_list(["x", "y"], quote=str) == "x or y"


# --------------------------------------------------------------------------
# no checks outside the boundary
# --------------------------------------------------------------------------

#: The parts of the package whose argument checks live in the boundary.
CHECKED = ["approx", "structured", "weights", "_backends/linear_map.py"]


def _modules():
    for part in CHECKED:
        path = PACKAGE / part
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def test_no_argument_errors_raised_outside_the_boundary():
    """ValueError/TypeError come from `_core.validation`; LinAlgError may stay."""
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and node.exc is not None:
                exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(exc, ast.Name) and exc.id in ("ValueError", "TypeError"):
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []


def test_no_module_parses_an_error_message():
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "str"
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in ("err", "error", "exc", "e")
            ):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []
