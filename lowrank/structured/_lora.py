"""Low-rank adapters (LoRA): gradient-based initialisation and projected gradients.

A LoRA adapter replaces the update of an N x M weight matrix by the product
``A B`` of an N x r and an r x M factor. Both tools here answer the question
how well a step on the factors can follow the full gradient G:

* a step ``(dA, dB)`` changes the product, to first order, by
  ``dA B + A dB``. :func:`lora_pro_gradients` picks ``(dA, dB)`` so that this
  change is the best approximation of G;
* plain gradient descent on the factors (``dA = G B^H``, ``dB = A^H G``)
  changes it by ``G B^H B + A A^H G``. :func:`lora_ga_init` picks the initial
  factors (orthonormal) so that this change is the best approximation of G.

Conventions: real matrices are written with ^T, complex ones use ^H (the
code always takes conjugate transposes).
"""

from __future__ import annotations

import warnings

import numpy as np

from lowrank._core.results import LoRAGAResult, LoRAProResult
from lowrank._core.validation import (
    as_dense_matrix,
    check_adapter_rank,
    check_adapter_shapes,
    check_method,
    rank_cutoff_tolerances,
    result_dtype,
)
from lowrank.approx._truncated_svd import truncated_svd
from lowrank.exceptions import IllConditionedWarning

__all__ = ["lora_ga_init", "lora_pro_gradients"]


# --------------------------------------------------------------------------
# LoRA-GA
# --------------------------------------------------------------------------


def lora_ga_init(g, r, *, method="dense", rng=None, check_finite=True):
    """LoRA-GA initialisation: factors whose first gradient step follows G best.

    Parameters
    ----------
    g : array_like, shape (N, M)
        The full gradient G of the loss with respect to the weight matrix
        (real or complex; float32/complex64 kept in single precision).
    r : int
        The adapter rank, ``1 <= r <= min(N, M) / 2``.
    method : {"dense", "auto", "randomized", "block_krylov", "lanczos"}, optional
        How the ``2r`` leading singular triplets of G are computed, passed to
        :func:`truncated_svd`. ``"dense"`` (default) is the exact LAPACK SVD;
        the others cost less for large G and give the triplets to their
        documented accuracy.
    rng : None, int, numpy.random.Generator, optional
        Randomness for the randomized methods (:func:`numpy.random.default_rng`).
    check_finite : bool, optional
        Check `g` for NaN/Inf entry by entry (default).

    Returns
    -------
    LoRAGAResult
        ``(A, B)``: ``A = U[:, :r]`` of shape (N, r) with orthonormal columns
        and ``B = Vh[r:2r, :]`` of shape (r, M) with orthonormal rows, from
        the SVD ``G = U diag(s) Vh`` (signs as :func:`truncated_svd`: the
        largest entry of each column of U real and positive).

    Raises
    ------
    ValueError
        If `g` is not 2-D or has NaN/Inf entries, or ``r`` is outside
        ``[1, min(N, M) / 2]``.
    TypeError
        For unsupported dtypes or a non-integer `r`.

    See Also
    --------
    lora_pro_gradients : The best gradients for the factors of any adapter.
    truncated_svd : The leading singular triplets.

    Notes
    -----
    With the weights ``W = W_0 + A B``, gradient descent on the factors
    moves the product, to first order, by ``-eta (A A^H G + G B^H B)``
    (``G B^H`` and ``A^H G`` are the gradients for A and B). LoRA-GA [1]_
    chooses orthonormal A and B so that this update is the best
    approximation of the full-training update ``-eta G``:

    .. math::

        \\min \\| A A^H G + G B^H B - G \\|_F .

    ``A A^H G`` projects G onto r directions of its column space and
    ``G B^H B`` onto r directions of its row space. With ``A = U[:, :r]``
    and ``B = Vh[r:2r, :]`` the two projections take the disjoint singular
    triplets ``1..r`` and ``r+1..2r``, their sum is the best rank-2r
    approximation of G, and

    .. math::

        \\| A A^H G + G B^H B - G \\|_F^2 = \\sum_{i > 2r} \\sigma_i^2,

    the least possible, since the sum of the two projections has rank at
    most 2r (Eckart–Young). Any split of the leading 2r triplets into two
    halves is optimal; this one gives A the leading r left singular vectors.
    [1]_'s reference implementation gives the leading r *right* singular
    vectors to the r x M factor instead (``A = U[:, r:2r]``,
    ``B = Vh[:r, :]`` in the notation here); that split is
    ``lora_ga_init(g.conj().T, r)`` with both factors conjugate-transposed
    and swapped. The scaling of the factors and the matching correction of
    ``W_0`` that [1]_ adds for training stability are left to the caller.

    Cost: the leading ``2r`` singular triplets of G (a full SVD,
    ``O(N M min(N, M))``, with ``method="dense"``).

    References
    ----------
    .. [1] S. Wang, L. Yu and J. Li, "LoRA-GA: Low-rank adaptation with
       gradient approximation", Advances in Neural Information Processing
       Systems 37 (2024). https://arxiv.org/abs/2407.05000

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank import lora_ga_init
    >>> rng = np.random.default_rng(0)
    >>> g = rng.standard_normal((40, 30))
    >>> a0, b0 = lora_ga_init(g, 4)
    >>> a0.shape, b0.shape
    ((40, 4), (4, 30))
    >>> bool(np.allclose(a0.T @ a0, np.eye(4)) and np.allclose(b0 @ b0.T, np.eye(4)))
    True
    >>> s = np.linalg.svd(g, compute_uv=False)
    >>> res = np.linalg.norm(a0 @ (a0.T @ g) + (g @ b0.T) @ b0 - g)
    >>> bool(np.isclose(res**2, np.sum(s[8:] ** 2)))
    True
    """
    arr = as_dense_matrix(g, "g", check_finite=check_finite)
    r = check_adapter_rank(r, arr.shape)
    u, _, vh = truncated_svd(arr, 2 * r, method=method, rng=rng, check_finite=False)
    return LoRAGAResult(np.ascontiguousarray(u[:, :r]), np.ascontiguousarray(vh[r:]))


# --------------------------------------------------------------------------
# LoRA-Pro
# --------------------------------------------------------------------------
#
# Everything is computed in the bases of the thin SVDs
#   A = U_a diag(s_a) V_a^H   (N x r),     B = U_b diag(s_b) V_b^H   (r x M),
# truncated by the rank rule to r_a and r_b triplets. Then A^+ = V_a S_a^-1
# U_a^H, B^+ = V_b S_b^-1 U_b^H, A^H A = V_a S_a^2 V_a^H, B B^H = U_b S_b^2
# U_b^H, and with Gt = U_a^H G V_b (r_a x r_b) every C of the family is
# C = V_a Ct U_b^H. Each variant below maps (s_a, s_b, Gt) to Ct.


def _c_symmetric(s_a, s_b, gt):
    # C = -1/2 A^+ G B^+  =  -1/2 (A^H A)^-1 G_B B^H (B B^H)^-1
    return -0.5 * gt / s_a[:, None] / s_b[None, :]


def _c_lora_pro(s_a, s_b, gt):
    # A^H A C + C B B^H = -A^H G B^+, in the bases:
    # (s_a,i^2 + s_b,j^2) Ct_ij = -s_a,i Gt_ij / s_b,j.
    # hypot keeps s_a^2 + s_b^2 from overflowing or underflowing.
    h = np.hypot(s_a[:, None], s_b[None, :])
    return -gt * ((s_a[:, None] / h) / (s_b[None, :] * h))


#: How C (the free r x r matrix of the minimisers) is chosen.
LORA_PRO_VARIANTS = {"symmetric": _c_symmetric, "lora_pro": _c_lora_pro}


def _rank(s, atol, rtol):
    """Number of singular values above ``atol + rtol * s_max`` (s descending)."""
    if s.size == 0:
        return 0
    return int(np.count_nonzero(s > atol + rtol * s[0]))


def _warn_rank_deficient(name, gram, rank, r):
    warnings.warn(
        f"lora_pro_gradients: `{name}` has numerical rank {rank} < r = {r}, so "
        f"{gram} is singular; used pseudo-inverses (the gradients still give "
        "the minimal residual, and are the minimum-norm choice in the "
        "singular directions)",
        IllConditionedWarning,
        stacklevel=3,
    )


def lora_pro_gradients(
    a, b, g, *, variant="symmetric", atol=None, rtol=None, check_finite=True
):
    """LoRA-Pro: gradients for the LoRA factors that best follow the full gradient.

    Parameters
    ----------
    a : array_like, shape (N, r)
        The left LoRA factor A.
    b : array_like, shape (r, M)
        The right LoRA factor B (the adapted weights are ``W_0 + A B``).
    g : array_like, shape (N, M)
        The full gradient G with respect to the weights. Real or complex;
        the three are computed in their common dtype (float32 and complex64
        in single precision).
    variant : {"symmetric", "lora_pro"}, optional
        Which of the (``r^2``-dimensional family of) minimisers to return;
        see Notes. ``"symmetric"`` (default) is the closed form, ``"lora_pro"``
        the one closest to the plain LoRA gradients ``(G B^H, A^H G)``.
    atol, rtol : float, optional
        Rank cutoff for the pseudo-inverses of ``A^H A`` and ``B B^H``:
        singular values of A (of B) are kept iff
        ``s_i > atol + rtol * s_max``; defaults ``atol = 0``,
        ``rtol = max(N, r) * eps`` (``max(r, M) * eps`` for B), as
        :func:`lowrank.pinv`.
    check_finite : bool, optional
        Check the inputs for NaN/Inf entry by entry (default).

    Returns
    -------
    LoRAProResult
        ``(H_A, H_B)`` of shapes (N, r) and (r, M) in the common dtype.

    Raises
    ------
    ValueError
        If the shapes are not (N, r), (r, M), (N, M), an input has NaN/Inf
        entries, `variant` is unknown or a tolerance is negative.
    TypeError
        For unsupported dtypes.

    Warns
    -----
    lowrank.exceptions.IllConditionedWarning
        If A or B has numerical rank below r (``A^H A`` or ``B B^H`` is
        singular; always when ``r > N`` or ``r > M``). Pseudo-inverses are
        used; the residual is still the least possible.

    See Also
    --------
    lora_ga_init : An initialisation whose plain gradients follow G best.
    pinv : The pseudo-inverse, with the same rank rule.

    Notes
    -----
    A step ``(H_A, H_B)`` on the factors changes ``A B`` by ``H_A B + A H_B``
    to first order. LoRA-Pro [1]_ takes the step whose change is closest to
    the full-training step G:

    .. math:: \\min_{H_A, H_B} \\| H_A B + A H_B - G \\|_F .

    With the LoRA gradients ``G_A = G B^H`` and ``G_B = A^H G`` and A, B of
    full rank r, the minimisers are, for any r x r matrix C,

    .. math::

        H_A = G_A (B B^H)^{-1} + A C, \\qquad
        H_B = (A^H A)^{-1} G_B \\big(I - B^H (B B^H)^{-1} B\\big) - C B,

    and ``H_A B + A H_B = Q_A G + G Q_B - Q_A G Q_B`` (``Q_A``, ``Q_B`` the
    orthogonal projectors onto the column space of A and the row space of
    B) does not depend on C; the residual is ``(I - Q_A) G (I - Q_B)``. The
    variants choose C:

    * ``"symmetric"``: ``C = -1/2 (A^H A)^{-1} G_B B^H (B B^H)^{-1}``, which
      gives ``H_A B = (I - Q_A / 2) G Q_B`` and
      ``A H_B = Q_A G (I - Q_B / 2)``;
    * ``"lora_pro"``: C minimising ``||H_A - G_A||_F^2 + ||H_B - G_B||_F^2``
      ([1]_). Setting the derivative in C to zero, and using
      ``(I - Q_B) B^H = 0``, gives the Sylvester equation

      .. math:: A^H A \\, C + C \\, B B^H = -A^H G_A (B B^H)^{-1},

      solved here in the eigenbases of ``A^H A`` and ``B B^H`` (from the
      SVDs of A and B): entrywise division by ``s_{A,i}^2 + s_{B,j}^2``,
      the same solution as the Bartels–Stewart algorithm of
      :func:`scipy.linalg.solve_sylvester`.

    The formulas are evaluated through the thin SVDs ``A = U_A S_A V_A^H``
    and ``B = U_B S_B V_B^H``: ``G_A (B B^H)^{-1} = G B^+`` and
    ``(A^H A)^{-1} G_B = A^+ G``. If A or B is rank-deficient (by the rank
    rule of :func:`pinv`), the inverses become pseudo-inverses, ``Q_A`` and
    ``Q_B`` remain the projectors, and every variant still attains the
    least residual ``(I - Q_A) G (I - Q_B)``; the Sylvester equation is
    then singular and its minimum-norm solution is taken. The work is two
    products with G (``G V_B`` and ``U_A^H G``, as for ``G_A`` and ``G_B``)
    and ``O((N + M) r^2)``.

    [1]_ writes the factors the other way round (``W_0 + s B A``, its B of
    size m x r being the A here) with a scaling s, and parametrises the
    same family with the projector on the other factor:
    ``H_A = (I - Q_A) G B^+ - A X``, ``H_B = A^+ G + X B``, which is the
    family above with ``C = -X - A^+ G B^+`` (for ``s = 1``). Its
    Sylvester equation for X, ``A^H A X + X B B^H = -(A^H A)^{-1} G_B
    B^H``, follows from the one above by this substitution, and both give
    the same ``(H_A, H_B)``.

    References
    ----------
    .. [1] Z. Wang, J. Liang, R. He, Z. Wang and T. Tan, "LoRA-Pro: Are
       low-rank adapters properly optimized?", International Conference on
       Learning Representations (ICLR) 2025. https://arxiv.org/abs/2407.18242

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank import lora_pro_gradients
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((30, 3))
    >>> b = rng.standard_normal((3, 20))
    >>> g = rng.standard_normal((30, 20))
    >>> ha, hb = lora_pro_gradients(a, b, g)
    >>> ha.shape, hb.shape
    ((30, 3), (3, 20))

    The residual is ``(I - Q_A) G (I - Q_B)`` for every variant:

    >>> qa = a @ np.linalg.pinv(a)
    >>> qb = np.linalg.pinv(b) @ b
    >>> best = (np.eye(30) - qa) @ g @ (np.eye(20) - qb)
    >>> bool(np.allclose(ha @ b + a @ hb - g, -best))
    True
    >>> pa, pb = lora_pro_gradients(a, b, g, variant="lora_pro")
    >>> bool(np.allclose(pa @ b + a @ pb, ha @ b + a @ hb))
    True

    and "lora_pro" stays closer to the plain LoRA gradients:

    >>> def distance(x, y):
    ...     return np.linalg.norm(x - g @ b.T) ** 2 + np.linalg.norm(y - a.T @ g) ** 2
    >>> bool(distance(pa, pb) <= distance(ha, hb))
    True
    """
    choose_c = check_method(variant, LORA_PRO_VARIANTS, "variant")
    arrs = [
        as_dense_matrix(x, name, check_finite=check_finite)
        for x, name in ((a, "a"), (b, "b"), (g, "g"))
    ]
    a_, b_, g_ = arrs
    check_adapter_shapes(a_.shape, b_.shape, g_.shape)
    r = a_.shape[1]
    dtype = result_dtype(np.result_type(*arrs))
    a_, b_, g_ = (x.astype(dtype, copy=False) for x in arrs)
    atol_a, rtol_a = rank_cutoff_tolerances(atol, rtol, a_.shape, dtype)
    atol_b, rtol_b = rank_cutoff_tolerances(atol, rtol, b_.shape, dtype)

    u_a, s_a, vh_a = np.linalg.svd(a_, full_matrices=False)
    u_b, s_b, vh_b = np.linalg.svd(b_, full_matrices=False)
    r_a = _rank(s_a, float(atol_a), float(rtol_a))
    r_b = _rank(s_b, float(atol_b), float(rtol_b))
    if r_a < r:
        _warn_rank_deficient("a", "A^H A", r_a, r)
    if r_b < r:
        _warn_rank_deficient("b", "B B^H", r_b, r)
    u_a, s_a, v_a = u_a[:, :r_a], s_a[:r_a], vh_a[:r_a].conj().T
    u_b, s_b, vh_b = u_b[:, :r_b], s_b[:r_b], vh_b[:r_b]

    gv = g_ @ vh_b.conj().T  # G V_b, N x r_b
    ug = u_a.conj().T @ g_  # U_a^H G, r_a x M
    gt = u_a.conj().T @ gv  # U_a^H G V_b, r_a x r_b
    ct = choose_c(s_a, s_b, gt).astype(dtype, copy=False)
    s_a_, s_b_ = s_a.astype(dtype), s_b.astype(dtype)
    # H_A = G B^+ + A C = (G V_b S_b^-1 + U_a S_a Ct) U_b^H
    h_a = (gv / s_b_ + (u_a * s_a_) @ ct) @ u_b.conj().T
    # H_B = A^+ G (I - V_b V_b^H) - C B
    #     = V_a (S_a^-1 U_a^H G - (S_a^-1 Gt + Ct S_b) V_b^H)
    h_b = v_a @ (ug / s_a_[:, None] - (gt / s_a_[:, None] + ct * s_b_) @ vh_b)
    return LoRAProResult(h_a, h_b)
