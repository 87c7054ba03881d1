"""Registries are data: the names the command and the docs offer are the keys.

The command's ``--method`` choices, the parameter lists of the docstrings
and the messages of the checks all come from (or must equal) the
registries of the library functions; the sketch registry's two ways of
drawing a test matrix agree with each other.
"""

import argparse
import re

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

import lowrank
from lowrank._backends.linear_map import as_linear_map
from lowrank._cli.approximation import METHODS, SVD_METHODS
from lowrank.approx import _rangefinder, _sketch
from lowrank.approx._cur import MIDDLES, SELECTIONS
from lowrank.approx._interpolative import ID_METHODS
from lowrank.approx._rangefinder import NORMALIZERS
from lowrank.approx._sampled_matmul import PROBABILITIES
from lowrank.approx._sketch import SKETCHES
from lowrank.approx._truncated_svd import TRUNCATED_SVD_METHODS
from lowrank.cli import build_parser
from lowrank.linalg._pinv import PINV_METHODS
from lowrank.structured._lora import LORA_PRO_VARIANTS
from tests.helpers import eps

# --------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------


def _subcommand(name):
    parser = build_parser()
    (commands,) = (
        action
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    return commands.choices[name]


def _choices(command, dest="method"):
    (action,) = (a for a in _subcommand(command)._actions if a.dest == dest)
    return tuple(action.choices)


def test_compress_methods_are_the_registry():
    assert SVD_METHODS[0] == "auto"
    assert SVD_METHODS[1:] == tuple(TRUNCATED_SVD_METHODS)
    assert _choices("compress") == METHODS == (*SVD_METHODS, "id", "cur")


def test_pinv_methods_are_the_registry():
    assert _choices("pinv") == ("auto", *PINV_METHODS)


def test_compress_help_lists_the_registry():
    epilog = _subcommand("compress").epilog
    assert f"methods: {', '.join(SVD_METHODS)} (lowrank.truncated_svd" in epilog


# --------------------------------------------------------------------------
# the docs
# --------------------------------------------------------------------------


def _documented(function, parameter):
    """The names a numpydoc ``parameter : {"a", "b"}`` line lists."""
    match = re.search(rf"^\s*{parameter} : \{{([^}}]*)\}}", function.__doc__, re.M)
    assert match, (function.__name__, parameter)
    return set(re.findall(r'"([^"]+)"', match.group(1)))


@pytest.mark.parametrize(
    ("function", "parameter", "names"),
    [
        (lowrank.truncated_svd, "method", {"auto", *TRUNCATED_SVD_METHODS}),
        (lowrank.lora_ga_init, "method", {"auto", *TRUNCATED_SVD_METHODS}),
        (lowrank.interpolative, "method", {"auto", *ID_METHODS}),
        (lowrank.interpolative, "sketch", set(SKETCHES)),
        (lowrank.rangefinder, "sketch", set(SKETCHES)),
        (lowrank.qb, "sketch", set(SKETCHES)),
        (lowrank.randomized_svd, "sketch", set(SKETCHES)),
        (lowrank.rangefinder, "normalizer", set(NORMALIZERS)),
        (lowrank.cur, "select", set(SELECTIONS)),
        (lowrank.cur, "middle", set(MIDDLES)),
        (lowrank.sampled_matmul, "probs", set(PROBABILITIES)),
        (lowrank.lora_pro_gradients, "variant", set(LORA_PRO_VARIANTS)),
    ],
)
def test_docstrings_list_the_registry(function, parameter, names):
    assert _documented(function, parameter) == names


@pytest.mark.parametrize(
    ("call", "registry"),
    [
        (lambda: lowrank.randomized_svd(np.eye(4), 1, sketch="srht"), SKETCHES),
        (lambda: lowrank.interpolative(np.eye(4), 1, sketch="srht"), SKETCHES),
        (
            lambda: lowrank.truncated_svd(np.eye(4), 1, method="x"),
            TRUNCATED_SVD_METHODS,
        ),
        (lambda: lowrank.interpolative(np.eye(4), 1, method="x"), ID_METHODS),
        (lambda: lowrank.cur(np.eye(4), 1, select="x"), SELECTIONS),
    ],
)
def test_unknown_names_are_told_the_registry(call, registry):
    with pytest.raises(ValueError, match="must be one of") as info:
        call()
    for name in registry:
        assert repr(name) in str(info.value)


# --------------------------------------------------------------------------
# the sketch registry
# --------------------------------------------------------------------------


def test_one_sketch_registry():
    # the range finder and the dask backend read the registry of `_sketch`
    assert _rangefinder.SKETCHES is SKETCHES
    assert _rangefinder.SPARSE_SIGN_ZETA == _sketch.SPARSE_SIGN_ZETA
    assert set(SKETCHES) == {"gaussian", "sparse_sign"}


def _maps(a):
    yield "dense", as_linear_map(a)
    yield "sparse", as_linear_map(scipy.sparse.csr_array(a))
    yield "operator", as_linear_map(scipy.sparse.linalg.aslinearoperator(a))


@pytest.mark.parametrize("sketch", list(SKETCHES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("width", [1, 5, 12])
def test_sample_is_a_times_draw(sketch, dtype, width):
    """``sample(op)`` is ``A @ draw()`` from the same seed, on every kind of map."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((15, 20)).astype(dtype)
    if np.iscomplexobj(a):
        a = a + 1j * rng.standard_normal((15, 20)).astype(dtype)
    entry = SKETCHES[sketch]
    omega = entry.draw(np.random.default_rng(7), 20, width, np.dtype(dtype))
    assert omega.shape == (20, width)
    assert omega.dtype == dtype
    for kind, op in _maps(a):
        gen = np.random.default_rng(7)
        y = entry.sample(op, width, gen)
        assert y.shape == (15, width), kind
        after = np.random.default_rng(7)
        entry.draw(after, 20, width, np.dtype(dtype))
        # the same random numbers, consumed alike
        assert gen.bit_generator.state == after.bit_generator.state, kind
        np.testing.assert_allclose(
            y, a @ omega, rtol=50 * eps(dtype), atol=50 * eps(dtype) * 20, err_msg=kind
        )


def test_sparse_sign_draw_has_zeta_signs_per_row():
    omega = SKETCHES["sparse_sign"].draw(np.random.default_rng(0), 50, 12, np.float64)
    zeta = min(_sketch.SPARSE_SIGN_ZETA, 12)
    assert np.all(np.count_nonzero(omega, axis=1) == zeta)
    np.testing.assert_allclose(np.abs(omega[omega != 0]), 1 / np.sqrt(zeta))


def test_gaussian_draw_is_complex_for_complex():
    omega = SKETCHES["gaussian"].draw(np.random.default_rng(0), 30, 4, np.complex64)
    assert omega.dtype == np.complex64
    assert np.all(omega.imag != 0)
