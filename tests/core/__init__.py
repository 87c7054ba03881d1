"""Tests of lowrank._core: validation and the BLAS helpers."""
