"""Tests of lowrank.approx: range finder, truncated SVD, ID, CUR, Nystrom, ..."""
