"""Shared builders of the weights tests: matrices, weightings and the optimum."""

import numpy as np


def eps(dtype):
    return float(np.finfo(dtype).eps)


def rand(rng, shape, dtype=np.float64):
    a = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c" or dtype is np.complex128:
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def activations(rng, t, n, decay=1e-2, dtype=np.float64):
    """T x N samples with an anisotropic covariance (singular values decaying)."""
    q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    x = (rand(rng, (t, n), np.complex128) * np.geomspace(1.0, decay, n)) @ q.T
    return (x if np.dtype(dtype).kind == "c" else x.real).astype(dtype)


def exact_factor(g):
    """L with G = L L^H from eigh in double precision (the brute-force reference)."""
    g = np.asarray(g, dtype=np.complex128 if np.iscomplexobj(g) else np.float64)
    lam, v = np.linalg.eigh(g)
    return v * np.sqrt(np.maximum(lam, 0))


def optimum(w, l_factor, k):
    """sqrt(sum_{j>k} s_j(W L)^2), and s_1(W L), in double precision."""
    wd = np.asarray(w, dtype=np.complex128 if np.iscomplexobj(w) else np.float64)
    s = np.linalg.svd(wd @ l_factor, compute_uv=False)
    return float(np.sqrt(np.sum(s[k:] ** 2))), float(s[0]) if s.size else 0.0


def weighted_error(w, a, b, l_factor):
    """||(W - A B) L||_F, in double precision."""
    up = np.complex128 if np.iscomplexobj(w) or np.iscomplexobj(a) else np.float64
    e = np.asarray(w, up) - np.asarray(a, up) @ np.asarray(b, up)
    return float(np.linalg.norm(e @ l_factor))
