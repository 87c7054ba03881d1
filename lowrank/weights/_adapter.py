"""Residual-exact adapter initialisation from singular triplets.

``W = W_res + scaling * B A`` with B A built from the top r singular
triplets of W (PiSSA), the bottom r (MiLoRA), or those of the whitened
W L (CorDA-style). The residual is computed from the returned factors, so
the split is exact to rounding however accurate the triplets are.
"""

from __future__ import annotations

import numpy as np

from lowrank._core.arrays import conj_t
from lowrank._core.results import AdapterSplitResult
from lowrank._core.validation import (
    as_weight_matrix,
    as_weighting,
    check_adapter_split,
    check_k,
    check_scaling,
)
from lowrank.linalg._svd import thin_svd
from lowrank.weights._boundary import restore, to_numpy
from lowrank.weights._whitened_svd import (
    WHITENED_METHODS,
    weighted_factors,
    working_dtype,
)
from lowrank.weights._whitening import whitener

__all__ = ["adapter_split"]


def _balanced(u, c, scaling):
    """``(B, A)`` with ``scaling B A = u c`` and the singular values split evenly.

    `u` (M x r) has orthonormal columns and ``c = u^H W`` (r x N); the SVD
    of the small c gives ``u c = (u P) S Q^H``, and
    ``B = u P sqrt(S / scaling)``, ``A = sqrt(S / scaling) Q^H``.
    """
    p, s, qh = np.linalg.svd(c, full_matrices=False)
    root = np.sqrt(s / scaling).astype(u.dtype, copy=False)
    return (u @ p) * root, root[:, None] * qh


def adapter_split(
    w,
    r,
    *,
    which="top",
    gram=None,
    x=None,
    factor=None,
    diag=None,
    scaling=1.0,
    method="auto",
    check_finite=True,
):
    """Split W into a frozen residual and a rank-r adapter, exactly.

    Returns ``W_res``, B (M x r) and A (r x N) with
    ``W_res + scaling * (B @ A) == W`` to rounding, B A taken from singular
    triplets of W: the top r (PiSSA), the bottom r (MiLoRA), or, with a
    weighting, those of the whitened ``W L`` (CorDA-style).

    Parameters
    ----------
    w : array_like, shape (M, N)
        The pretrained weight (``y = W x``).
    r : int
        The adapter rank, ``1 <= r <= min(M, N)``.
    which : {"top", "bottom"}, optional
        ``"top"`` (default): the r leading triplets, the principal part of
        W goes to the adapter (PiSSA; with a weighting, CorDA's
        instruction-previewed mode). ``"bottom"``: the r trailing triplets
        (MiLoRA; with a weighting, CorDA's knowledge-preserved mode), from
        LAPACK's full SVD.
    gram, x, factor, diag : optional
        A weighting as in :func:`whitened_svd` (at most one): the triplets
        are then those of W L with ``G = L L^H``.
    scaling : float, optional
        The adapter's scale, ``> 0`` (PEFT's ``lora_alpha / r``); the
        factors absorb ``1 / scaling`` so that ``scaling * B @ A`` is the
        split-off part. Default 1.
    method : {"auto", "dense", "gram"}, optional
        For ``which="top"``, how the leading subspace is computed (as in
        :func:`whitened_svd`; "auto" is exact "dense" without a weighting).
        ``which="bottom"`` takes only "auto" or "dense".
    check_finite : bool, optional
        Check the inputs for NaN/Inf entry by entry (default).

    Returns
    -------
    AdapterSplitResult
        ``(residual, B, A)`` in W's precision (complex if W or the
        weighting is).

    Raises
    ------
    ValueError
        If `r` is out of range, `which` or `method` is unknown, "bottom" is
        asked with a method other than "auto"/"dense", `scaling` is not
        positive, or a weighting is invalid (see :func:`whitened_svd`).
    TypeError
        For a non-integer `r` or unsupported dtypes.

    See Also
    --------
    whitened_svd : The data-aware triplets.
    lora_ga_init : Adapter factors from the gradient instead of the weight.

    Notes
    -----
    **Scaling convention.** With the SVD ``W = U S V^H`` and the chosen
    triplets (index set J, ``|J| = r``)

    .. math:: B = U_J (S_J / c)^{1/2}, \\qquad A = (S_J / c)^{1/2} V_J^H,

    c = `scaling`: both factors carry the square root of the singular
    values (PiSSA's convention [1]_, also MiLoRA's [2]_), so neither
    dominates the first gradient steps. With a weighting the split-off part
    is ``U_J U_J^H W`` for the whitened left singular vectors U_J (the
    projection of :func:`whitened_svd`; for the top triplets its weighted
    error is the optimum), balanced the same way through the SVD of the
    small ``U_J^H W``. CorDA [3]_ decomposes ``W C`` with the covariance C
    itself and multiplies by ``C^{-1}``; here the square-root factor L of
    SVD-LLM is used, which makes the top-r part the weighted-error optimum
    and needs no inverse.

    **Exactness.** The residual is ``W - scaling * (B @ A)`` computed from
    the returned factors, so ``residual + scaling * (B @ A)`` reproduces W
    to the rounding of those two operations, elementwise
    ``<= 2 eps (|W| + |scaling B A|)``, whatever the accuracy of the
    triplets themselves.

    **Bottom triplets.** Randomized and Krylov methods converge to the
    leading singular triplets; the trailing ones are where they fail (and a
    Gram route loses them below ``sqrt(eps) s_1``). ``which="bottom"``
    therefore always takes LAPACK's full SVD (gesdd), cost
    ``O(M N min(M, N))``; its triplets are accurate to ``eps ||W||_2``
    (backward stable), so the bottom subspace is exact when separated from
    the rest by a gap well above that.

    **Relation to LoRA-GA.** :func:`lora_ga_init` chooses adapter factors
    from the singular vectors of the *gradient* G (orthonormal, ``A0 =
    U_G[:, :r]``, ``B0 = Vh_G[r:2r]``, in its own naming) rather than of W;
    those factors are not residual-exact by themselves. The same exact
    residual applies: ``W_res = W - scaling * (A0 @ B0)`` (computed once,
    like here) gives ``W_res + scaling A0 B0 == W`` to rounding, which is
    the weight correction LoRA-GA's training recipe makes.

    References
    ----------
    .. [1] F. Meng, Z. Wang and M. Zhang, "PiSSA: Principal singular values
       and singular vectors adaptation of large language models",
       arXiv:2404.02948 (2024).
    .. [2] H. Wang, Y. Li, S. Wang, G. Chen and Y. Chen, "MiLoRA: Harnessing
       minor singular components for parameter-efficient LLM finetuning",
       arXiv:2406.09044 (2024).
    .. [3] Y. Yang, X. Li, Z. Zhou, S. L. Song, J. Wu, L. Nie and B. Ghanem,
       "CorDA: Context-oriented decomposition adaptation of large language
       models", arXiv:2406.05223 (2024).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank import adapter_split
    >>> rng = np.random.default_rng(0)
    >>> w = rng.standard_normal((50, 40))
    >>> res, b, a = adapter_split(w, 4, scaling=2.0)
    >>> b.shape, a.shape
    ((50, 4), (4, 40))
    >>> bool(np.allclose(res + 2.0 * (b @ a), w, rtol=0, atol=1e-14))
    True

    The top 4 triplets went to the adapter (PiSSA):

    >>> s = np.linalg.svd(w, compute_uv=False)
    >>> bool(np.allclose(np.linalg.svd(2.0 * b @ a, compute_uv=False)[:4], s[:4]))
    True

    and the bottom ones for MiLoRA:

    >>> res, b, a = adapter_split(w, 4, which="bottom")
    >>> bool(np.allclose(np.linalg.svd(b @ a, compute_uv=False)[:4], s[-4:]))
    True
    """
    like = w
    w, gram, x, factor, diag = (to_numpy(v) for v in (w, gram, x, factor, diag))
    arr = as_weight_matrix(w, check_finite)
    check_adapter_split(which, method, WHITENED_METHODS)
    r = check_k(r, min(arr.shape), "r")
    scaling = check_scaling(scaling)
    weighting = as_weighting(
        arr.shape[1],
        check_finite_values=check_finite,
        gram=gram,
        x=x,
        factor=factor,
        diag=diag,
    )
    if weighting is not None:
        arr = arr.astype(working_dtype(arr.dtype, weighting.array.dtype), copy=False)
    if which == "top":
        u, c, _ = weighted_factors(arr, weighting, r, None, method, "project")
        b, a = _balanced(u, c, scaling)
    elif weighting is None:
        uu, s, vh = thin_svd(arr, "gesdd")
        root = np.sqrt(s[-r:] / scaling).astype(arr.dtype, copy=False)
        b, a = uu[:, -r:] * root, root[:, None] * vh[-r:]
    else:
        wl = whitener(weighting, arr.dtype).apply(arr)
        uu = thin_svd(wl, "gesdd").U
        u = np.ascontiguousarray(uu[:, -min(r, uu.shape[1]) :]) if uu.shape[1] else uu
        b, a = _balanced(u, conj_t(u) @ arr, scaling)
    b, a = np.ascontiguousarray(b), np.ascontiguousarray(a)
    residual = arr - scaling * (b @ a)
    return restore(AdapterSplitResult(residual, b, a), like)
