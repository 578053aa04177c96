"""Bootstrap intervals for inter-rater reliability and the all-coefficients report.

Intervals are percentile bootstrap intervals over items: each resample draws n items with
replacement and keeps each item's ratings together (Efron & Tibshirani 1993, "An
Introduction to the Bootstrap", ch. 13). Items nobody rated are dropped first: no
coefficient uses them and they would only shrink the resamples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial

import numpy as np
from pydantic import Field

from onpar.records import Estimate, Record
from onpar.stats.intervals import check_confidence, check_n_boot, estimate_from_replicates
from onpar.stats.reliability import (
    alpha_from_counts,
    check_ratings,
    cohen_from_one_hot,
    fleiss_from_counts,
    gwet_from_counts,
    one_hot,
)
from onpar.stats.reliability_weights import weights_matrix

# Upper bound on array elements gathered at once when bootstrapping the report.
_MAX_BATCH_ELEMENTS = 4_000_000


class ReliabilityReport(Record):
    """One reliability coefficient for a ratings matrix, with its bootstrap interval."""

    coefficient: str = Field(
        description="gwet_ac1, gwet_ac2, krippendorff_alpha, fleiss_kappa or cohen_kappa."
    )
    weights: str = Field(
        description="Weights (identity, ordinal, quadratic) or alpha's level of measurement."
    )
    estimate: Estimate = Field(description="Value (None if undefined) and percentile CI.")
    n_items: int = Field(description="Items with at least one rating.")
    n_pairable_items: int = Field(description="Items with at least two ratings.")
    n_raters: int
    confidence: float
    n_boot: int


def resample_indices(n: int, n_boot: int, seed: int, batch: int) -> Iterator[np.ndarray]:
    """Bootstrap index arrays, ``batch`` resamples of n items at a time (last may be short).

    One ``rng.integers(0, n, n)`` draw per resample, so the stream of resamples for a seed
    does not depend on ``batch``.
    """
    rng = np.random.default_rng(seed)
    for start in range(0, n_boot, batch):
        size = min(batch, n_boot - start)
        yield np.stack([rng.integers(0, n, size=n) for _ in range(size)])


def _rated_rows(ratings: np.ndarray) -> np.ndarray:
    """The rows of a 2-D ratings array that hold at least one rating."""
    data = np.asarray(ratings, dtype=float)
    if data.ndim != 2:
        raise ValueError(f"ratings must be 2-D (n_items, n_raters), got shape {data.shape}")
    return data[~np.isnan(data).all(axis=1)]


def _or_nan(statistic: Callable[[np.ndarray], float], ratings: np.ndarray) -> float:
    """statistic(ratings), or NaN where it raises ValueError (undefined on this resample)."""
    try:
        return float(statistic(ratings))
    except ValueError:
        return float("nan")


def bootstrap_reliability(
    ratings: np.ndarray,
    statistic: Callable[[np.ndarray], float],
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """``statistic(ratings)`` with a percentile bootstrap interval, resampling items (rows).

    ``statistic`` maps a ratings matrix (n_items, n_raters) to a float, e.g.
    ``lambda r: gwet_ac2(r, range(1, 8))``. Rows without ratings are dropped before
    resampling; resamples on which the statistic is NaN or raises ValueError (say, no item
    with two ratings) are dropped from the interval. Errors on the full data propagate.
    Resample draws match ``reliability_report`` for the same seed. Interval:
    ``onpar.stats.intervals.percentile_interval`` (Efron & Tibshirani 1993, ch. 13).
    """
    confidence = check_confidence(confidence)
    n_boot = check_n_boot(n_boot)
    value = float(statistic(ratings))
    data = _rated_rows(ratings)
    if data.shape[0] == 0:
        return estimate_from_replicates(value, np.array([]), confidence)
    batch = max(1, _MAX_BATCH_ELEMENTS // data.shape[0])
    replicates = np.array(
        [
            _or_nan(statistic, data[row])
            for rows in resample_indices(data.shape[0], n_boot, seed, batch)
            for row in rows
        ]
    )
    return estimate_from_replicates(value, replicates, confidence)


def _bootstrap_kernel(
    features: np.ndarray,
    kernel: Callable[[np.ndarray], np.ndarray],
    n_boot: int,
    confidence: float,
    seed: int,
) -> Estimate:
    """Point value and percentile CI of a batched kernel over per-item feature rows."""
    value = float(kernel(features[np.newaxis])[0])
    batch = max(1, _MAX_BATCH_ELEMENTS // max(1, features.size))
    replicates = np.concatenate(
        [kernel(features[rows]) for rows in resample_indices(len(features), n_boot, seed, batch)]
    )
    return estimate_from_replicates(value, replicates, confidence)


_Spec = tuple[str, str, bool, Callable[[np.ndarray], np.ndarray]]


def _kernels(cats: np.ndarray, n_raters: int) -> list[_Spec]:
    """(coefficient, weights or level, uses one-hot features?, batched kernel) per report row."""
    identity, ordinal, quadratic = (
        weights_matrix(cats, k) for k in ("identity", "ordinal", "quadratic")
    )
    specs: list[_Spec] = [
        ("gwet_ac1", "identity", False, partial(gwet_from_counts, weights=identity)),
        ("gwet_ac2", "ordinal", False, partial(gwet_from_counts, weights=ordinal)),
        ("gwet_ac2", "quadratic", False, partial(gwet_from_counts, weights=quadratic)),
    ]
    specs += [
        ("krippendorff_alpha", lv, False, partial(alpha_from_counts, categories=cats, level=lv))
        for lv in ("nominal", "ordinal", "interval")
    ]
    specs.append(("fleiss_kappa", "identity", False, partial(fleiss_from_counts, weights=identity)))
    if n_raters == 2:
        specs.append(
            ("cohen_kappa", "identity", True, partial(cohen_from_one_hot, weights=identity))
        )
    return specs


def reliability_report(
    ratings: np.ndarray,
    categories: Sequence[float] | np.ndarray,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[ReliabilityReport]:
    """All coefficients for one ratings matrix, each with a bootstrap CI over items.

    In order: Gwet's AC1; AC2 with ordinal and with quadratic weights; Krippendorff's alpha
    (nominal, ordinal, interval); Fleiss' kappa; Cohen's kappa when there are exactly 2
    raters. Every coefficient sees the same resamples (same seed), as
    ``bootstrap_reliability`` with that seed would draw them; all resamples are evaluated
    at once. ValueError as in ``check_ratings``.
    """
    confidence = check_confidence(confidence)
    n_boot = check_n_boot(n_boot)
    data, cats = check_ratings(ratings, categories)
    data = _rated_rows(data)
    indicators = one_hot(data, cats)
    counts = indicators.sum(axis=-2)
    per_item = counts.sum(axis=-1)
    reports = []
    for name, weights, uses_one_hot, kernel in _kernels(cats, data.shape[1]):
        features = indicators if uses_one_hot else counts
        reports.append(
            ReliabilityReport(
                coefficient=name,
                weights=weights,
                estimate=_bootstrap_kernel(features, kernel, n_boot, confidence, seed),
                n_items=int(data.shape[0]),
                n_pairable_items=int((per_item >= 2).sum()),
                n_raters=int(data.shape[1]),
                confidence=confidence,
                n_boot=n_boot,
            )
        )
    return reports
