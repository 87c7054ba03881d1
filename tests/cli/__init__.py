"""Tests of lowrank._cli: the ``lowrank`` command."""
