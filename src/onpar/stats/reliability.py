"""Inter-rater reliability: percent agreement, Gwet's AC1/AC2, Fleiss, Cohen, Krippendorff.

Llama 2 (Touvron et al. 2023, §3.4.2) had 3 raters score each pair of answers
on a 7-point scale and reported Gwet's AC2 (0.37-0.55). Here ``ratings`` is an array of shape
(n_items, n_raters) holding category values, NaN where a rater skipped an item, and
``categories`` is the full scale (e.g. 1..7), so unused categories still count.

Missing ratings follow Gwet (2014), "Handbook of Inter-Rater Reliability", 4th ed., ch. 2
and 4: with r_ik raters putting item i in category k and r_i = sum_k r_ik,

* percent agreement p_a averages over items with r_i >= 2 only;
* category shares pi_k = (1/n') sum_i r_ik / r_i average over the n' items with r_i >= 1;
* items with no rating are ignored everywhere.

Undefined coefficients (0/0, e.g. kappa when everyone uses one category) are NaN.
Each coefficient is computed from per-item category counts by a kernel that also accepts a
leading batch axis, which ``reliability_report`` uses to bootstrap all resamples at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from onpar.stats.reliability_weights import WeightKind, check_categories, weights_matrix

AlphaLevel = Literal["nominal", "ordinal", "interval"]
ALPHA_LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval")


def check_ratings(
    ratings: np.ndarray | Sequence[Sequence[float]], categories: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Validated (ratings as float (n_items, n_raters), sorted categories).

    ValueError for: not 2-D, fewer than 2 raters, a rating outside ``categories``, or no
    item with at least 2 ratings (agreement needs a pair of ratings of the same item).
    """
    data = np.asarray(ratings, dtype=float)
    if data.ndim != 2:
        raise ValueError(f"ratings must be 2-D (n_items, n_raters), got shape {data.shape}")
    if data.shape[1] < 2:
        raise ValueError(f"need at least 2 raters (columns), got {data.shape[1]}")
    cats = check_categories(categories)
    known = np.isnan(data) | (data[..., None] == cats).any(axis=-1)
    if not known.all():
        stray = np.unique(data[~known])
        raise ValueError(f"ratings {stray[:10].tolist()} are not in categories {cats.tolist()}")
    if not (np.sum(~np.isnan(data), axis=1) >= 2).any():
        raise ValueError("no item has 2 or more ratings, so agreement is undefined")
    return data, cats


def one_hot(ratings: np.ndarray, categories: np.ndarray) -> np.ndarray:
    """Indicator array (n_items, n_raters, q): 1 where rater j put item i in category k."""
    return (ratings[..., None] == categories).astype(float)


def category_counts(ratings: np.ndarray, categories: np.ndarray) -> np.ndarray:
    """r_ik: how many raters put item i in category k, shape (n_items, q)."""
    return one_hot(ratings, categories).sum(axis=-2)


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den elementwise, NaN where den == 0 (no warnings)."""
    num, den = np.broadcast_arrays(np.asarray(num, dtype=float), np.asarray(den, dtype=float))
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den != 0)


def _kappa_form(pa: np.ndarray, pe: np.ndarray) -> np.ndarray:
    """Chance correction (p_a - p_e) / (1 - p_e); NaN where p_e = 1."""
    return _safe_ratio(pa - pe, 1.0 - pe)


def agreement_terms(counts: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted percent agreement p_a and category shares pi_k from counts (..., n, q).

        r*_ik = sum_l w_kl r_il
        p_a   = mean over items with r_i >= 2 of  sum_k r_ik (r*_ik - 1) / (r_i (r_i - 1))
        pi_k  = mean over items with r_i >= 1 of  r_ik / r_i

    Gwet (2014), Handbook, eqs. for AC1/AC2 with missing ratings (ch. 2, 4); Gwet (2008),
    Br. J. Math. Stat. Psychol. 61:29-48. p_a is NaN when no item has 2 ratings.
    """
    per_item = counts.sum(axis=-1)
    pairable = per_item >= 2
    agree = (counts * (counts @ weights.T - 1.0)).sum(axis=-1)
    item_pa = _safe_ratio(agree, per_item * (per_item - 1.0))
    pa = _safe_ratio(np.where(pairable, item_pa, 0.0).sum(axis=-1), pairable.sum(axis=-1))
    rated = per_item >= 1
    shares = counts / np.where(rated, per_item, 1.0)[..., None]
    pi = shares.sum(axis=-2) / np.maximum(rated.sum(axis=-1), 1)[..., None]
    return pa, pi


def gwet_from_counts(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Gwet's AC1 (identity weights) / AC2 from counts (..., n, q).

        p_e = T_w / (q (q - 1)) * sum_k pi_k (1 - pi_k),  T_w = sum_kl w_kl
        AC  = (p_a - p_e) / (1 - p_e)

    Gwet (2008), Br. J. Math. Stat. Psychol. 61:29-48; Gwet (2014), Handbook, ch. 4.
    """
    pa, pi = agreement_terms(counts, weights)
    q = weights.shape[0]
    pe = weights.sum() / (q * (q - 1)) * (pi * (1.0 - pi)).sum(axis=-1)
    return _kappa_form(pa, pe)


def fleiss_from_counts(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Fleiss' generalized (weighted) kappa from counts (..., n, q).

        p_e = sum_kl w_kl pi_k pi_l,   kappa = (p_a - p_e) / (1 - p_e)

    Fleiss (1971), Psychol. Bull. 76:378-382, extended to weights and missing ratings as in
    Gwet (2014), Handbook, ch. 2 and 4.
    """
    pa, pi = agreement_terms(counts, weights)
    pe = np.einsum("...k,kl,...l->...", pi, weights, pi)
    return _kappa_form(pa, pe)


def cohen_from_one_hot(one_hot_pair: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Cohen's (weighted) kappa from indicators (..., n, 2, q) of two raters A and B.

        p_a   = sum over items rated by both of w(a_i, b_i) / #items rated by both
        p_A,k = share of A's ratings in category k (all items A rated); p_B,k likewise
        p_e   = sum_kl w_kl p_A,k p_B,l,     kappa = (p_a - p_e) / (1 - p_e)

    Cohen (1960), Educ. Psychol. Meas. 20:37-46; Cohen (1968), Psychol. Bull. 70:213-220;
    missing ratings as in Gwet (2014), Handbook, ch. 2 (marginals use every rating).
    """
    a, b = one_hot_pair[..., 0, :], one_hot_pair[..., 1, :]
    both = (a.sum(axis=-1) * b.sum(axis=-1)).sum(axis=-1)
    pa = _safe_ratio(np.einsum("...ik,kl,...il->...", a, weights, b), both)
    p_a = _safe_ratio(a.sum(axis=-2), a.sum(axis=(-2, -1))[..., None])
    p_b = _safe_ratio(b.sum(axis=-2), b.sum(axis=(-2, -1))[..., None])
    pe = np.einsum("...k,kl,...l->...", p_a, weights, p_b)
    return _kappa_form(pa, pe)


def _alpha_distances(categories: np.ndarray, margins: np.ndarray, level: str) -> np.ndarray:
    """Krippendorff's squared distances delta²_kl, shape (q, q) or (..., q, q) for ordinal.

    nominal: 1 if k != l; interval: (x_k - x_l)²; ordinal: (sum_{g=k..l} n_g - (n_k + n_l)/2)²,
    which equals (T_l - T_k)² with midpoint ranks T_k = sum_{g<=k} n_g - n_k / 2.
    """
    if level == "nominal":
        return 1.0 - np.eye(categories.size)
    if level == "interval":
        return (categories[:, None] - categories[None, :]) ** 2
    if level == "ordinal":
        mid = np.cumsum(margins, axis=-1) - margins / 2.0
        return (mid[..., None, :] - mid[..., :, None]) ** 2
    raise ValueError(f"unknown level {level!r}; expected one of {ALPHA_LEVELS}")


def alpha_from_counts(counts: np.ndarray, categories: np.ndarray, level: str) -> np.ndarray:
    """Krippendorff's alpha from counts (..., n, q), items with m_u >= 2 ratings only.

        o_kl = sum_u (r_uk r_ul - [k = l] r_uk) / (m_u - 1)     (coincidences)
        n_k  = sum_l o_kl,   n = sum_k n_k
        alpha = 1 - (n - 1) sum_kl o_kl delta²_kl / sum_kl n_k n_l delta²_kl

    Krippendorff (2011), "Computing Krippendorff's alpha-reliability", Univ. of
    Pennsylvania ScholarlyCommons; Krippendorff (2004), Content Analysis, 2nd ed., ch. 11.
    """
    per_item = counts.sum(axis=-1)
    inverse = _safe_ratio(1.0, per_item - 1.0)
    inverse = np.where(per_item >= 2, inverse, 0.0)
    o = np.einsum("...uk,...ul,...u->...kl", counts, counts, inverse)
    o = o - np.eye(categories.size) * np.einsum("...uk,...u->...k", counts, inverse)[..., None, :]
    margins = o.sum(axis=-1)
    delta = _alpha_distances(categories, margins, level)
    observed = (o * delta).sum(axis=(-2, -1))
    expected = np.einsum("...k,...l,...kl->...", margins, margins, delta)
    return 1.0 - _safe_ratio((margins.sum(axis=-1) - 1.0) * observed, expected)


def percent_agreement(
    ratings: np.ndarray,
    categories: Sequence[float] | np.ndarray,
    weights: WeightKind | str = "identity",
) -> float:
    """Share of agreeing rater pairs per item, averaged over items with >= 2 ratings.

    p_a = (1/n'') sum_{i: r_i>=2} sum_k r_ik (r*_ik - 1) / (r_i (r_i - 1)); with weights,
    near misses earn w_kl. Gwet (2014), Handbook, ch. 2. Same p_a as in ``gwet_ac1``.
    """
    data, cats = check_ratings(ratings, categories)
    pa, _ = agreement_terms(category_counts(data, cats), weights_matrix(cats, weights))
    return float(pa)


def gwet_ac1(ratings: np.ndarray, categories: Sequence[float] | np.ndarray) -> float:
    """Gwet's AC1: ``gwet_ac2`` with identity (nominal) weights. Gwet (2008)."""
    return gwet_ac2(ratings, categories, weights="identity")


def gwet_ac2(
    ratings: np.ndarray,
    categories: Sequence[float] | np.ndarray,
    weights: WeightKind | str = "quadratic",
) -> float:
    """Gwet's AC2 with weights ``weights``; formula in ``gwet_from_counts``.

    Reference: Gwet (2014), Handbook of Inter-Rater Reliability, 4th ed., ch. 4 (the
    coefficient reported by Llama 2); equals irrCAC's ``CAC(...).gwet()``.
    """
    data, cats = check_ratings(ratings, categories)
    return float(gwet_from_counts(category_counts(data, cats), weights_matrix(cats, weights)))


def fleiss_kappa(
    ratings: np.ndarray,
    categories: Sequence[float] | np.ndarray,
    weights: WeightKind | str = "identity",
) -> float:
    """Fleiss' generalized kappa; formula in ``fleiss_from_counts`` (irrCAC ``fleiss()``)."""
    data, cats = check_ratings(ratings, categories)
    return float(fleiss_from_counts(category_counts(data, cats), weights_matrix(cats, weights)))


def cohen_kappa(
    ratings: np.ndarray,
    categories: Sequence[float] | np.ndarray,
    weights: WeightKind | str = "identity",
) -> float:
    """Cohen's (weighted) kappa for exactly two raters; formula in ``cohen_from_one_hot``.

    Equals Conger's (1980) kappa for two raters, i.e. irrCAC ``CAC(...).conger()``, and
    on complete data irrCAC's contingency-table ``cohen()``.
    """
    data, cats = check_ratings(ratings, categories)
    if data.shape[1] != 2:
        raise ValueError(f"Cohen's kappa needs exactly 2 raters, got {data.shape[1]}")
    return float(cohen_from_one_hot(one_hot(data, cats), weights_matrix(cats, weights)))


def _observed_domain(ratings: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """Distinct finite ratings, padded with an unused value if fewer than 2 (alpha ignores it)."""
    data = np.asarray(ratings, dtype=float)
    values = np.unique(data[np.isfinite(data)])
    if values.size >= 2:
        return values
    return np.array([values[0], values[0] + 1.0]) if values.size else np.array([0.0, 1.0])


def krippendorff_alpha(
    ratings: np.ndarray,
    categories: Sequence[float] | np.ndarray | None = None,
    level: AlphaLevel | str = "nominal",
) -> float:
    """Krippendorff's alpha at level nominal, ordinal or interval; see ``alpha_from_counts``.

    Items with fewer than 2 ratings do not count (they are not pairable). Unused categories
    do not change alpha, so ``categories`` may be None (the observed values); given, it
    validates the ratings. Equals
    ``krippendorff.alpha(reliability_data=ratings.T, level_of_measurement=level)``.
    """
    if level not in ALPHA_LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {ALPHA_LEVELS}")
    if categories is None:
        categories = _observed_domain(ratings)
    data, cats = check_ratings(ratings, categories)
    return float(alpha_from_counts(category_counts(data, cats), cats, level))
