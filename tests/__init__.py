"""The test suite. Its folders mirror lowrank/ (tests/linalg for lowrank/linalg,
tests/core for lowrank/_core, ...); shared checkers live in tests/helpers.py and
the Hypothesis strategies in tests/strategies.py.

Every test folder is a package (it has an ``__init__.py``), so test modules are
imported as ``tests.<folder>.<module>``: two folders may hold files of the same
name, and ``from tests.helpers import ...`` works from any of them.
"""
