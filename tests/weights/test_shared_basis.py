"""shared_basis: the reshaping cases against the stacked SVD, weightings."""

import numpy as np
import pytest

from lowrank import shared_basis, whitened_svd
from tests.weights._cases import activations, optimum, weighted_error


def _tail(mat, k):
    s = np.linalg.svd(mat, compute_uv=False)
    return np.sqrt(np.sum(s[k:] ** 2))


def _truncated(mat, k):
    u, s, vh = np.linalg.svd(mat, full_matrices=False)
    return (u[:, :k] * s[:k]) @ vh[:k]


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_rows_stacked_is_the_svd_of_the_stack(dtype):
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((m, 24)).astype(dtype) for m in (8, 8, 5)]
    res = shared_basis(ws, 6)
    assert res.basis.shape == (6, 24)
    assert [c.shape for c in res.coefficients] == [(8, 6), (8, 6), (5, 6)]
    stack = np.vstack(ws)
    approx = np.vstack([c @ res.basis for c in res.coefficients])
    tol = 100 * np.finfo(dtype).eps * np.linalg.norm(stack)
    assert np.linalg.norm(approx - _truncated(stack, 6)) <= tol
    assert np.isclose(res.error, _tail(stack, 6), rtol=1e-4)
    assert res.weighted_error == res.error
    assert res.basis.dtype == dtype


def test_side_by_side_is_the_svd_of_the_concatenation():
    rng = np.random.default_rng(1)
    ws = [rng.standard_normal((20, n)) for n in (10, 7, 12)]
    res = shared_basis(ws, 5, axis=1)
    assert res.basis.shape == (20, 5)
    assert [c.shape for c in res.coefficients] == [(5, 10), (5, 7), (5, 12)]
    assert np.allclose(res.basis.T @ res.basis, np.eye(5), atol=1e-12)
    cat = np.hstack(ws)
    approx = np.hstack([res.basis @ c for c in res.coefficients])
    assert np.allclose(approx, _truncated(cat, 5), atol=1e-11)
    assert np.isclose(res.error, _tail(cat, 5))


def test_a_3d_array_and_a_single_matrix():
    rng = np.random.default_rng(2)
    heads = rng.standard_normal((4, 6, 30))
    res = shared_basis(heads, 8)
    assert len(res.coefficients) == 4
    one = shared_basis([heads[0]], 3)
    ref = whitened_svd(heads[0], 3)
    assert np.allclose(one.coefficients[0] @ one.basis, ref.A @ ref.B, atol=1e-12)


def test_rows_stacked_with_one_weighting_is_the_whitened_svd_of_the_stack():
    rng = np.random.default_rng(3)
    ws = [rng.standard_normal((10, 30)) for _ in range(3)]
    x = activations(rng, 120, 30, decay=0.05)
    for kwargs in ({"x": x}, {"gram": x.T @ x}, {"diag": np.linspace(1, 3, 30)}):
        res = shared_basis(ws, 7, **kwargs)
        ref = whitened_svd(np.vstack(ws), 7, **kwargs)
        stacked = np.vstack([c @ res.basis for c in res.coefficients])
        assert np.allclose(stacked, ref.A @ ref.B, atol=1e-9)
        assert np.isclose(res.weighted_error, ref.weighted_error, rtol=1e-6)
    # and it is optimal: the summed weighted error of the stack
    res = shared_basis(ws, 7, x=x)
    opt, _ = optimum(np.vstack(ws), x.T, 7)
    total = np.sqrt(
        sum(
            weighted_error(w, c, res.basis, x.T) ** 2
            for w, c in zip(ws, res.coefficients, strict=True)
        )
    )
    assert np.isclose(total, opt, rtol=1e-10)


def test_side_by_side_with_per_matrix_weightings_is_optimal():
    rng = np.random.default_rng(4)
    ws = [rng.standard_normal((15, n)) for n in (12, 9)]
    xs = [activations(rng, 60, 12, decay=0.01), None]
    res = shared_basis(ws, 4, axis=1, x=xs)
    ls = [xs[0].T, np.eye(9)]
    whitened = np.hstack([w @ lf for w, lf in zip(ws, ls, strict=True)])
    opt = _tail(whitened, 4)
    total = np.sqrt(
        sum(
            weighted_error(w, res.basis, c, lf) ** 2
            for w, c, lf in zip(ws, res.coefficients, ls, strict=True)
        )
    )
    assert np.isclose(total, opt, rtol=1e-10)
    assert np.isclose(res.weighted_error, opt, rtol=1e-10)


def test_ratio_counts_all_entries():
    rng = np.random.default_rng(5)
    ws = [rng.standard_normal((16, 64)) for _ in range(4)]
    res = shared_basis(ws, ratio=0.5)
    k = res.basis.shape[0]
    assert k * (64 + 64) <= 0.5 * 64 * 64 < (k + 1) * 128


@pytest.mark.parametrize(
    ("args", "kwargs", "fragment"),
    [
        (([np.ones((3, 4)), np.ones((3, 5))], 2), {}, "same number of columns"),
        (([np.ones((3, 4)), np.ones((2, 4))], 2), {"axis": 1}, "same number of rows"),
        (([np.ones((3, 4))], 2), {"axis": 2}, "`axis` must be 0 or 1"),
        (([np.ones((3, 4))], 2), {"gram": [np.eye(4)]}, "with axis=0"),
        (([np.ones((3, 4))], 2), {"axis": 1, "x": np.ones((2, 4))}, "list of 1"),
        (([np.ones((3, 4))], 5), {}, "0 < k <= 3"),
    ],
)
def test_bad_arguments(args, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        shared_basis(*args, **kwargs)


def test_not_a_list():
    with pytest.raises(TypeError, match="non-empty list"):
        shared_basis([], 2)
    with pytest.raises(TypeError, match="non-empty list"):
        shared_basis(5, 2)
