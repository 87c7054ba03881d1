"""Tests of lowrank._backends: the dask backend."""
