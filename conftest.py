"""Repository-wide pytest configuration: what not to collect.

The dask backend (`lowrank/_backends/dask/`) imports dask, an optional
dependency, and so does the page "Beyond one machine" (`docs/distributed.rst`):
without dask (and distributed) their doctests are not collected.
tests/backends/test_dask.py skips itself then.
"""


def _dask_available():
    try:
        import dask.array  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


collect_ignore_glob = []
if not _dask_available():
    collect_ignore_glob += ["lowrank/_backends/dask/*.py", "docs/distributed.rst"]
