"""Rating scales and agreement weights for chance-corrected inter-rater reliability.

A rating scale is a set of q numeric categories (1..7 for the Llama 2 helpfulness scale,
1..5 for its safety scale). Weighted coefficients give partial credit to near misses through
a q x q matrix w with w_kk = 1 and 0 <= w_kl <= 1. Definitions follow K. L. Gwet (2014),
"Handbook of Inter-Rater Reliability", 4th ed., Advanced Analytics, ch. 3 (weighted
agreement coefficients).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

WeightKind = Literal["identity", "nominal", "ordinal", "linear", "quadratic"]
WEIGHT_KINDS: tuple[str, ...] = ("identity", "nominal", "ordinal", "linear", "quadratic")


def check_categories(categories: Sequence[float] | np.ndarray) -> np.ndarray:
    """The rating scale as a sorted float array; ValueError unless >= 2 distinct finite values."""
    cats = np.asarray(categories, dtype=float)
    if cats.ndim != 1 or cats.size < 2:
        raise ValueError(f"categories must list at least 2 values, got {categories!r}")
    if not np.isfinite(cats).all():
        raise ValueError(f"categories must be finite numbers, got {cats.tolist()}")
    ordered = np.sort(cats)
    if (np.diff(ordered) == 0).any():
        raise ValueError(f"categories must be distinct, got {cats.tolist()}")
    return ordered


def weights_matrix(
    categories: Sequence[float] | np.ndarray, kind: WeightKind | str = "identity"
) -> np.ndarray:
    """Gwet's q x q agreement weights for the (ascending-sorted) categories x_1 < ... < x_q.

    With k, l the ranks 1..q and x_k the category values:

        identity / nominal:  w_kl = 1 if k = l else 0
        linear:              w_kl = 1 - |x_k - x_l| / (x_q - x_1)
        quadratic:           w_kl = 1 - (x_k - x_l)² / (x_q - x_1)²
        ordinal:             w_kl = 1 - C(M_kl, 2) / C(q, 2),  M_kl = |k - l| + 1

    so ordinal weights use ranks only, linear and quadratic the category values.
    Reference: Gwet (2014), Handbook of Inter-Rater Reliability, 4th ed., ch. 3 (the same
    definitions as Gwet's irrCAC R package and its Python port).
    """
    cats = check_categories(categories)
    q = cats.size
    if kind in ("identity", "nominal"):
        return np.eye(q)
    if kind in ("linear", "quadratic"):
        scaled = np.abs(cats[:, None] - cats[None, :]) / (cats[-1] - cats[0])
        return 1.0 - (scaled if kind == "linear" else scaled**2)
    if kind == "ordinal":
        rank_gap = np.abs(np.arange(q)[:, None] - np.arange(q)[None, :])
        return 1.0 - rank_gap * (rank_gap + 1) / (q * (q - 1))
    raise ValueError(f"unknown weights kind {kind!r}; expected one of {WEIGHT_KINDS}")
