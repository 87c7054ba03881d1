"""Tests of lowrank._kernels: the numba kernels and their numpy twins."""
