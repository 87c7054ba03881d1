"""Tests of lowrank.structured: Monarch and LoRA."""
