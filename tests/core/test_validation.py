"""Tests of the boundary layer (lowrank._core.validation)."""

import numpy as np
import pytest

import lowrank
from lowrank._core import validation as v


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (np.float32, np.float32),
        (np.float64, np.float64),
        (np.complex64, np.complex64),
        (np.complex128, np.complex128),
        (np.int32, np.float64),
        (np.uint8, np.float64),
        (np.bool_, np.float64),
    ],
)
def test_result_dtype(given, expected):
    assert v.result_dtype(given) == np.dtype(expected)


@pytest.mark.parametrize("dtype", [np.float16, "U3", object, "M8[s]"])
def test_result_dtype_refuses(dtype):
    with pytest.raises(TypeError, match="`b`"):
        v.result_dtype(dtype, "b")


def test_real_dtype():
    assert v.real_dtype(np.complex64) == np.float32
    assert v.real_dtype(np.float64) == np.float64


def test_as_matrix_stack_does_not_copy_supported_input():
    a = np.ones((3, 2), dtype=np.float32)
    assert v.as_matrix_stack(a) is a


def test_as_matrix_stack_rejects_non_arrays():
    with pytest.raises(TypeError, match="array-like"):
        v.as_matrix_stack({"a": 1})


def test_unchecked_input_still_refuses_non_finite_but_tolerates_overflow():
    big = np.finfo(np.float64).max
    a = np.array([[big, big], [big, -big]])
    assert v.as_matrix_stack(a, check_finite_values=False) is a
    a[0, 1] = np.nan
    with pytest.raises(ValueError, match="1 NaN entry"):
        v.as_matrix_stack(a, check_finite_values=False)


def test_rank_cutoff_tolerances_defaults():
    atol, rtol = v.rank_cutoff_tolerances(None, None, (4, 7, 3), np.float32)
    assert atol.shape == rtol.shape == (4,)
    assert np.all(atol == 0)
    np.testing.assert_allclose(rtol, 7 * np.finfo(np.float32).eps)


def test_rank_cutoff_tolerances_type():
    with pytest.raises(TypeError, match="`atol` must be a real number"):
        v.rank_cutoff_tolerances(1j, None, (3, 3), np.float64)


def test_check_k():
    assert v.check_k(np.int64(3), 5) == 3
    for bad in (0, -1, 6):
        with pytest.raises(
            ValueError, match=rf"`k` must satisfy 0 < k <= 5, got {bad}"
        ):
            v.check_k(bad, 5)
    for bad in (2.0, True, "2", None):
        with pytest.raises(TypeError, match="`k` must be an integer"):
            v.check_k(bad, 5)


def test_check_k_or_tol():
    assert v.check_k_or_tol(2, None, 4) == (2, None)
    assert v.check_k_or_tol(None, 1e-3, 4) == (None, 1e-3)
    with pytest.raises(ValueError, match="exactly one"):
        v.check_k_or_tol(None, None, 4)
    with pytest.raises(ValueError, match="exactly one"):
        v.check_k_or_tol(2, 0.1, 4)
    for bad in (0.0, 1.0, -1e-3, float("nan")):
        with pytest.raises(ValueError, match="0 < tol < 1"):
            v.check_k_or_tol(None, bad, 4)
    with pytest.raises(TypeError, match="`tol` must be a real number"):
        v.check_k_or_tol(None, "0.1", 4)


def test_check_rng_is_reproducible_and_isolated():
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    a = v.check_rng(7).standard_normal(3)
    b = v.check_rng(7).standard_normal(3)
    np.testing.assert_array_equal(a, b)
    gen = np.random.default_rng(1)
    assert v.check_rng(gen) is gen
    assert isinstance(v.check_rng(None), np.random.Generator)
    global_state = np.random.get_state()[1]  # noqa: NPY002
    np.testing.assert_array_equal(global_state, state)


@pytest.mark.parametrize("bad", [True, 1.5, "seed", np.random.RandomState(0)])
def test_check_rng_refuses(bad):
    with pytest.raises(TypeError, match="`rng` must be"):
        v.check_rng(bad)


def test_check_method():
    registry = {"a": 1, "b": 2}
    assert v.check_method("b", registry) == 2
    with pytest.raises(ValueError, match=r"`kind` must be one of 'a', 'b'; got 'c'"):
        v.check_method("c", registry, name="kind")
    with pytest.raises(ValueError, match="must be one of"):
        v.check_method(["a"], registry)


def test_check_hermitian_per_matrix_of_stack():
    good = np.eye(3)
    bad = np.triu(np.ones((3, 3)))
    v.check_hermitian(np.stack([good, good]))
    with pytest.raises(ValueError, match="not Hermitian"):
        v.check_hermitian(np.stack([good, bad]))
    v.check_hermitian(np.zeros((2, 0, 0)))


# --- messages ------------------------------------------------------------------


def test_check_k_on_an_empty_matrix_says_so():
    with pytest.raises(ValueError, match="the matrix is empty") as info:
        v.check_k(1, 0)
    assert "0 < k <= 0" not in str(info.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda: lowrank.truncated_svd(np.zeros((0, 5)), 1),
        lambda: lowrank.truncated_svd(np.zeros((5, 0)), 1, method="lanczos"),
        lambda: lowrank.randomized_svd(np.zeros((0, 5)), 1),
        lambda: lowrank.qb(np.zeros((4, 0)), 1),
        lambda: lowrank.rangefinder(np.zeros((0, 5)), 1),
        lambda: lowrank.interpolative(np.zeros((0, 5)), 1),
        lambda: lowrank.cur(np.zeros((0, 5)), 1),
        lambda: lowrank.nystrom(np.zeros((0, 0)), 1),
    ],
)
def test_k_on_empty_input_says_the_matrix_is_empty(call):
    with pytest.raises(ValueError, match="the matrix is empty"):
        call()


@pytest.mark.skipif(
    np.dtype(np.longdouble).itemsize <= 8, reason="longdouble is double here"
)
def test_longdouble_refusal_advises_a_dtype_that_keeps_the_values():
    with pytest.raises(TypeError, match=r"a\.astype\(np\.complex128\)") as info:
        v.result_dtype(np.clongdouble)
    assert "float64" not in str(info.value).split("Convert")[1]
    with pytest.raises(TypeError, match=r"a\.astype\(np\.float64\)"):
        v.result_dtype(np.longdouble)
    with pytest.raises(TypeError, match=r"`a`.*complex128"):
        lowrank.pinv(np.ones((3, 2), np.clongdouble))
