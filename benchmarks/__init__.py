"""Peer benchmarks for lowrank: ``python -m benchmarks`` writes the full report.

The ``bench_*.py`` scripts are the detailed, single-topic benchmarks (each
runs on its own: ``python benchmarks/bench_pinv.py``); ``python -m
benchmarks`` runs the comparisons of all of them side by side with numpy,
scipy, scikit-learn, fbpca and dask and writes one markdown table and one
JSON file (see ``python -m benchmarks --help``). Importing this package has
no side effects.
"""
