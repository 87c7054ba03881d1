"""Tests of lowrank.linalg: pinv, svd, tall QR, COD, Newton, diagnostics, lstsq."""
