"""The backend protocol: every backend has every pass, and the one driver gives
the same answer on each (numpy and dask, same matrix)."""

import inspect
import sys

import numpy as np
import pytest

from lowrank._backends.ndarray import DenseTall
from lowrank._backends.protocol import TallOperand
from lowrank.linalg._tallqr import QR_CHAIN, qr_chain

PASSES = sorted(
    name
    for name, member in inspect.getmembers(TallOperand)
    if inspect.isfunction(member) and not name.startswith("_")
)


def _tall(rng, m, n, cond, dtype=np.float64):
    u = np.linalg.qr(rng.standard_normal((m, n)))[0]
    v = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return ((u * np.logspace(0, -np.log10(cond), n)) @ v.T).astype(dtype)


def test_the_protocol_lists_the_passes():
    expected = {"gram", "householder", "sketch", "solve", "times", "apply"}
    assert expected <= set(PASSES)


def test_numpy_backend_has_every_pass_with_the_protocol_signature():
    for name in PASSES:
        assert hasattr(DenseTall, name), name
        want = inspect.signature(getattr(TallOperand, name)).parameters
        have = inspect.signature(getattr(DenseTall, name)).parameters
        assert list(have) == list(want), (name, list(have), list(want))


def test_dask_backend_has_every_pass_with_the_protocol_signature():
    pytest.importorskip("dask.array")
    from lowrank._backends.dask.operand import DaskTall

    for name in PASSES:
        assert hasattr(DaskTall, name), name
        want = list(inspect.signature(getattr(TallOperand, name)).parameters)
        have = list(inspect.signature(getattr(DaskTall, name)).parameters)
        # a backend may take extra keyword arguments of its own, after these
        assert have[: len(want)] == want, (name, have, want)


@pytest.mark.parametrize("start", QR_CHAIN)
@pytest.mark.parametrize("cond", [1e2, 1e9])
def test_one_chain_driver_same_answer_on_numpy_and_dask(start, cond):
    da = pytest.importorskip("dask.array")
    from lowrank._backends.dask.operand import DaskTall

    a = _tall(np.random.default_rng(3), 4000, 40, cond)
    b = np.random.default_rng(4).standard_normal((4000, 2))
    dense = qr_chain(DenseTall(a), start, b=b, carry_a=True)
    a_d = da.from_array(a, chunks=(1000, 40))
    b_d = da.from_array(b, chunks=(1000, 2))
    dist = qr_chain(DaskTall(a_d), start, b=b_d, carry_a=True)
    assert dense.method == dist.method
    eps = np.finfo(a.dtype).eps
    n = a.shape[1]
    # R of the unique thin QR (positive diagonal) is well determined: the same
    # to a few ulps of ||A|| = 1 on both backends, whatever sketch each drew;
    # Q and Q^H b are determined to about cond(A) eps.
    np.testing.assert_allclose(dist.r, dense.r, atol=100 * n * eps)
    np.testing.assert_allclose(dist.carried["a"], dense.r, atol=100 * n * eps)
    q_tol = 10 * cond * n * eps
    np.testing.assert_allclose(dist.carried["b"], dense.carried["b"], atol=q_tol * 100)
    q_dense, q_dist = dense.q_explicit(), np.asarray(dist.q_explicit())
    for q in (q_dense, q_dist):
        assert np.linalg.norm(q.T @ q - np.eye(n)) <= 10 * n * eps
    np.testing.assert_allclose(q_dist, q_dense, atol=q_tol)


def test_numpy_operand_never_writes_the_callers_array():
    a = _tall(np.random.default_rng(5), 3000, 20, 1e5)
    before = a.copy()
    for start in QR_CHAIN:
        qr_chain(DenseTall(a), start).q_explicit()
    np.testing.assert_array_equal(a, before)


def test_importing_the_protocol_imports_no_backend():
    code = (
        "import sys, lowrank._backends.protocol, lowrank._backends.dispatch; "
        "sys.exit(any(m.split('.')[0] in ('dask', 'numba') for m in sys.modules))"
    )
    import subprocess

    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
