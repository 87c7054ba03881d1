"""Public calls that reach each numba kernel, run from several Python threads.

Shared by ``test_threads.py`` (in the test process, under numba's default
threading layer) and by its subprocesses (one per layer named in
``NUMBA_THREADING_LAYER``), which run ``python -m tests.kernels.thread_paths``.
"""

import collections
import concurrent.futures
import sys
import threading

import numpy as np

import lowrank

#: The kernel modules whose parallel kernels start through ``launch``.
KERNEL_MODULES = ("gram", "residual", "sketch", "small_svd")


def _tall(m, n, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)), rng.standard_normal((m, 2))


def _pinv_stack():
    # >= 256 matrices: the Jacobi kernel splits the stack over threads.
    a = np.random.default_rng(1).standard_normal((512, 4, 3))
    return (a,), lambda a: lowrank.pinv(a)


def _svd_stack():
    a = np.random.default_rng(2).standard_normal((300, 3, 5))
    return (a,), lambda a: lowrank.svd(a)


def _lstsq_cholqr():
    # m >= 2 * 16384 rows, n <= 160: the parallel Gram kernel (two row
    # blocks); m n >= 2**19: the fused residual kernel in the refinement.
    a, b = _tall(32768, 16, 3)
    return (a, b), lambda a, b: lowrank.lstsq(a, b, method="cholqr")


def _lstsq_sketch():
    # C-ordered A: the row-partial sketch kernel (A and b). The residual
    # kernel needs m n >= 2**19; "lstsq-cholqr" runs it.
    a, b = _tall(4000, 8, 4)
    return (a, b[:, 0]), lambda a, b: lowrank.lstsq(a, b, method="sketch", rng=5)


def _lstsq_lsqr_sketch():
    a, b = _tall(4000, 8, 6)
    return (a, b), lambda a, b: lowrank.lstsq(
        a, b, method="lsqr", precond="sketch", rng=7
    )


def _randomized_svd_sparse_sign():
    # A S^T through the Fortran-ordered view A^T: the column-block kernel.
    a = np.random.default_rng(8).standard_normal((500, 200))
    return (a,), lambda a: lowrank.randomized_svd(a, 5, sketch="sparse_sign", rng=9)


def _tall_qr():
    # The serial Gram kernel (real, n <= 32, m >= 16384) and, with
    # m n >= 2**19, the serial sketch of the randomized Cholesky-QR.
    a = np.random.default_rng(10).standard_normal((16384, 32))
    return (a,), lambda a: lowrank.tall_qr(a)


#: name -> (make, kernel modules it must launch in parallel when numba has
#: more than one thread). ``make()`` returns ``(inputs, call)``.
PATHS = {
    "pinv-stack": (_pinv_stack, {"small_svd"}),
    "svd-stack": (_svd_stack, {"small_svd"}),
    "lstsq-cholqr": (_lstsq_cholqr, {"gram", "residual"}),
    "lstsq-sketch": (_lstsq_sketch, {"sketch"}),
    "lstsq-lsqr-sketch": (_lstsq_lsqr_sketch, {"sketch"}),
    "randomized_svd-sparse_sign": (_randomized_svd_sparse_sign, {"sketch"}),
    "tall_qr": (_tall_qr, set()),
}


def install_launch_spy(patch):
    """Count the parallel launches per kernel module.

    `patch(module, name, value)` replaces an attribute (pytest's
    ``monkeypatch.setattr`` or `setattr`). Returns the Counter.
    """
    import importlib

    seen = collections.Counter()
    lock = threading.Lock()
    for name in KERNEL_MODULES:
        module = importlib.import_module(f"lowrank._kernels.{name}")
        real = module.launch

        def spy(parallel, serial, *args, _name=name, _real=real):
            with lock:
                seen[_name] += 1
            return _real(parallel, serial, *args)

        patch(module, "launch", spy)
    return seen


def _leaves(result):
    if isinstance(result, tuple):
        for item in result:
            yield from _leaves(item)
    else:
        yield result


def assert_same(got, want):
    """Bitwise equality of two results (named tuples of arrays and scalars)."""
    got, want = list(_leaves(got)), list(_leaves(want))
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        if w is None:
            assert g is None
        else:
            np.testing.assert_array_equal(np.asarray(g), np.asarray(w), strict=True)


def run_from_threads(call, inputs, *, n_threads=4, rounds=3):
    """``call(*inputs)`` ``n_threads * rounds`` times from `n_threads` threads.

    A barrier before every round starts the threads' calls together, so
    their kernels overlap.
    """
    barrier = threading.Barrier(n_threads)

    def worker():
        out = []
        for _ in range(rounds):
            barrier.wait()
            out.append(call(*inputs))
        return out

    with concurrent.futures.ThreadPoolExecutor(n_threads) as pool:
        futures = [pool.submit(worker) for _ in range(n_threads)]
        return [r for f in futures for r in f.result()]


def check_path(name, *, n_threads=4, rounds=3):
    """Run path `name` single-threaded, then from threads; assert equal results.

    The inputs must come out unchanged. Returns the reference result.
    """
    make, _ = PATHS[name]
    inputs, call = make()
    copies = [x.copy() for x in inputs]
    want = call(*inputs)
    for got in run_from_threads(call, inputs, n_threads=n_threads, rounds=rounds):
        assert_same(got, want)
    for x, c in zip(inputs, copies, strict=True):
        np.testing.assert_array_equal(x, c, strict=True)
    return want


NO_LAYER = "No threading layer could be loaded"


def main(argv):
    """Check every path under numba's layer; exit 0, or 3 if the layer is missing.

    ``argv[0]``, if given, is the layer expected (``NUMBA_THREADING_LAYER``).
    """
    import numba

    seen = install_launch_spy(setattr)
    try:
        for name, (_, modules) in PATHS.items():
            before = seen.copy()
            check_path(name)
            launched = {m for m in modules if seen[m] > before[m]}
            if numba.get_num_threads() > 1 and launched != modules:
                print(f"{name}: launched {launched}, expected {modules}")
                return 1
    except ValueError as exc:
        if NO_LAYER in str(exc):
            print(str(exc).replace("\n", " "))
            return 3
        raise
    layer = numba.threading_layer()
    if argv and argv[0] != layer:
        print(f"ran on threading layer {layer!r}, not {argv[0]!r}")
        return 1
    print(f"ok {layer} {numba.get_num_threads()} threads {dict(seen)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
