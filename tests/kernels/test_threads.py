"""Numba kernels called from several Python threads, under every threading layer.

numba's ``workqueue`` layer aborts the process when two threads are inside
parallel regions at once; ``lowrank._kernels._threads.launch`` makes every
parallel launch of lowrank safe. These tests run each public path that
reaches a numba kernel (``tests/kernels/thread_paths.py``) from several
threads and compare with a single-threaded call, bit for bit: in this
process (numba's default layer, and with launches serialised as under
``workqueue``) and in a subprocess per layer.
"""

import ast
import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numba
import numpy as np
import pytest

import lowrank._kernels._threads as threads
import lowrank._kernels.gram as gram
import lowrank._kernels.residual as residual
import lowrank._kernels.sketch as sketch
import lowrank._kernels.small_svd as small_svd
from lowrank._kernels._rules import use_gram_kernel
from tests.kernels.thread_paths import (
    PATHS,
    assert_same,
    check_path,
    install_launch_spy,
)

ROOT = Path(__file__).resolve().parents[2]
KERNELS = ROOT / "lowrank" / "_kernels"


def _parallel():
    return "parallel"


def _serial():
    return "serial"


# --- the launch rule ---------------------------------------------------------------


@pytest.mark.parametrize("layer", ["tbb", "omp"])
def test_threadsafe_layer_launches_in_parallel_concurrently(monkeypatch, layer):
    monkeypatch.setattr(threads, "current_layer", lambda: layer)
    with threads._lock:  # another thread inside a parallel kernel
        assert threads.launch(_parallel, _serial) == "parallel"


@pytest.mark.parametrize("layer", ["workqueue", None, "a-future-layer"])
def test_other_layers_run_the_serial_twin_while_a_launch_runs(monkeypatch, layer):
    # None: numba has not chosen its layer yet (no parallel launch so far).
    monkeypatch.setattr(threads, "current_layer", lambda: layer)
    assert threads.launch(_parallel, _serial) == "parallel"
    with threads._lock:
        assert threads.launch(_parallel, _serial) == "serial"
    assert threads.launch(_parallel, _serial) == "parallel"
    assert not threads._lock.locked()


def test_launch_releases_the_lock_when_the_kernel_raises(monkeypatch):
    monkeypatch.setattr(threads, "current_layer", lambda: "workqueue")

    def fails():
        raise FloatingPointError("from the kernel")

    with pytest.raises(FloatingPointError, match="from the kernel"):
        threads.launch(fails, _serial)
    assert not threads._lock.locked()
    assert threads.launch(_parallel, _serial) == "parallel"


def test_at_most_one_parallel_launch_at_a_time_on_workqueue(monkeypatch):
    monkeypatch.setattr(threads, "current_layer", lambda: "workqueue")
    inside, most, ran = [0], [0], []
    count = threading.Lock()

    def parallel():
        with count:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.002)
        with count:
            inside[0] -= 1
        ran.append("parallel")

    def serial():
        ran.append("serial")

    barrier = threading.Barrier(8)

    def worker():
        for _ in range(20):
            barrier.wait()
            threads.launch(parallel, serial)

    workers = [threading.Thread(target=worker) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(ran) == 160
    assert most[0] == 1
    assert "parallel" in ran
    assert "serial" in ran


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_forked_child_gets_a_free_lock():
    with threads._lock, warnings.catch_warnings():
        # Python 3.12+ warns about forking a process that has threads; the
        # child only tries the lock and exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
        if pid == 0:  # child: the lock must not be inherited as held
            os._exit(0 if threads._lock.acquire(blocking=False) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_layer_is_threadsafe_reads_numba_without_changing_it():
    config = (numba.config.THREADING_LAYER, numba.config.THREADING_LAYER_PRIORITY)
    known = threads.current_layer()
    assert threads.layer_is_threadsafe() == (known in {"tbb", "omp"})
    assert config == (
        numba.config.THREADING_LAYER,
        numba.config.THREADING_LAYER_PRIORITY,
    )


def _parallel_kernels(tree):
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for dec in node.decorator_list:
                if isinstance(dec, ast.Name) and dec.id == "jit_parallel":
                    names.add(node.name)
    return names


def test_every_parallel_kernel_starts_through_launch():
    """A parallel kernel is called only inside a function handed to `launch`.

    Either passed to ``launch`` itself, or called from a nested function that
    is (to bind extra arguments); never called directly elsewhere in lowrank.
    """
    kernels, bad = {}, []
    for path in sorted(KERNELS.glob("*.py")):
        tree = ast.parse(path.read_text())
        kernels[path] = (tree, _parallel_kernels(tree))
    every = set().union(*(k for _, k in kernels.values()))
    assert every >= {"_gram_parallel", "_residual_parallel", "_svd_stack_parallel"}
    for path in sorted((ROOT / "lowrank").rglob("*.py")):
        tree = ast.parse(path.read_text())
        launched = set()
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "launch"
                and node.args
                and isinstance(node.args[0], ast.Name)
            ):
                launched.add(node.args[0].id)
        allowed = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in launched:
                allowed.update(id(n) for n in ast.walk(node))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, (ast.Name, ast.Attribute))
                and (getattr(node.func, "id", None) or node.func.attr) in every
                and id(node) not in allowed
            ):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, "parallel kernels called outside `launch`: " + ", ".join(bad)


# --- the serial twins give the parallel result bit for bit ------------------------


def _gram_case():
    a = np.random.default_rng(0).standard_normal((40000, 6))
    return lambda: gram.gram_rowblocked(a, rhs=a[:, :2])


def _residual_case():
    rng = np.random.default_rng(1)
    a, b, x = (rng.standard_normal(s) for s in ((20000, 30), (20000, 3), (30, 3)))
    return lambda: residual.residual_normal(a, b, x)


def _small_svd_case():
    a = np.random.default_rng(2).standard_normal((400, 5, 3))
    return lambda: small_svd.batched_small_svd(a)


def _sketch_case(order):
    a = np.asarray(np.random.default_rng(3).standard_normal((3000, 40)), order=order)
    rows, signs = sketch.sparse_sign_indices(90, 3000, 8, rng=4)
    return lambda: sketch.apply_sparse_sign(rows, signs, a, 90, 8, n_blocks=3)


TWIN_CASES = {
    "gram": _gram_case,
    "residual": _residual_case,
    "small_svd": _small_svd_case,
    "sketch-C": lambda: _sketch_case("C"),
    "sketch-F": lambda: _sketch_case("F"),
}


@pytest.mark.parametrize("case", sorted(TWIN_CASES))
def test_serial_fallback_equals_parallel_kernel_bitwise(monkeypatch, case):
    if numba.get_num_threads() < 2 and case == "small_svd":
        pytest.skip("numba has one thread: the Jacobi kernel never runs in parallel")
    call = TWIN_CASES[case]()
    seen = install_launch_spy(monkeypatch.setattr)
    monkeypatch.setattr(threads, "current_layer", lambda: "workqueue")
    parallel = call()
    assert sum(seen.values()) == 1
    with threads._lock:  # another thread's parallel kernel: the twin runs
        serial = call()
    assert sum(seen.values()) == 2
    assert_same(serial, parallel)


# --- public paths from threads, in this process -----------------------------------


@pytest.mark.parametrize("serialised", [False, True], ids=["numba-layer", "serialised"])
@pytest.mark.parametrize("name", list(PATHS))
def test_public_path_from_threads_equals_single_threaded(monkeypatch, name, serialised):
    """4 threads x 2 calls each, bitwise equal to one call; inputs unchanged.

    "serialised" treats the layer as not thread-safe (as for workqueue), so
    that the threads really take the lock-or-serial-twin branch.
    """
    seen = install_launch_spy(monkeypatch.setattr)
    if serialised:
        monkeypatch.setattr(threads, "current_layer", lambda: "workqueue")
    check_path(name, rounds=2)
    _, modules = PATHS[name]
    if numba.get_num_threads() > 1:
        assert {m for m in seen if seen[m]} == modules
        assert all(seen[m] >= 9 for m in modules)  # every call launched
    if name == "tall_qr":  # the numba-backed path that runs serial kernels only
        inputs, _ = PATHS[name][0]()
        assert use_gram_kernel(inputs[0].shape, inputs[0].dtype)


# --- each threading layer, in a subprocess ----------------------------------------


@pytest.mark.parametrize("layer", ["workqueue", "omp", "tbb"])
def test_public_paths_from_threads_under_each_layer(layer):
    """Exit 0 under NUMBA_THREADING_LAYER=layer; before the fix, workqueue aborted.

    Skipped only where numba cannot load the layer (TBB or an OpenMP runtime
    not installed), with numba's message as the reason.
    """
    env = {**os.environ, "NUMBA_THREADING_LAYER": layer}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.kernels.thread_paths", layer],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode == 3:
        pytest.skip(
            f"numba's {layer} threading layer is not available here: "
            f"{proc.stdout.strip()}"
        )
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr[-3000:])
    assert proc.stdout.startswith(f"ok {layer} "), proc.stdout
