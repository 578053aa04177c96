"""Confidence intervals: Wilson score intervals for proportions and percentile bootstrap.

Judged comparisons are small (tens to hundreds of prompts per breakdown) and rates sit
near 0 or 1 often, so proportions use the Wilson interval rather than the normal
(Wald) one, and compound statistics use the percentile bootstrap over prompts.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.stats import norm

from onpar.records import Estimate

# Upper bound on array elements materialised at once by ``paired_bootstrap``.
_MAX_BATCH_ELEMENTS = 4_000_000


def check_confidence(confidence: float) -> float:
    """Return ``confidence`` as a float, or raise ValueError unless 0 < confidence < 1."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return float(confidence)


def check_n_boot(n_boot: int) -> int:
    """Return ``n_boot``, or raise ValueError unless it is a positive integer."""
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    return int(n_boot)


def z_value(confidence: float) -> float:
    """Two-sided standard-normal quantile: z with P(|Z| <= z) = confidence (1.96 for 0.95)."""
    return float(norm.ppf(0.5 + check_confidence(confidence) / 2.0))


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Estimate:
    """Proportion ``successes / n`` with its Wilson score interval (no continuity correction).

    Chosen over the Wald interval because it keeps close to nominal coverage for small n
    and for proportions near 0 or 1, and never leaves [0, 1]. With p = k/n, z = z_value:

        centre = (p + z²/(2n)) / (1 + z²/n)
        half   = z / (1 + z²/n) · sqrt(p(1 - p)/n + z²/(4n²))
        CI     = [centre - half, centre + half]

    Reference: E. B. Wilson (1927), "Probable inference, the law of succession, and
    statistical inference", JASA 22:209-212; Brown, Cai & DasGupta (2001), Stat. Sci. 16:101.
    n = 0 gives ``Estimate(value=None)``.
    """
    if int(successes) != successes or int(n) != n or not 0 <= successes <= n:
        raise ValueError(f"need integers 0 <= successes <= n, got successes={successes!r}, n={n!r}")
    z = z_value(confidence)
    if n == 0:
        return Estimate(value=None)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    # At k = 0 and k = n the bound equals p exactly; pin it to avoid rounding past p.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Estimate(value=p, low=low, high=high)


def percentile_interval(
    replicates: np.ndarray, confidence: float = 0.95
) -> tuple[float, float] | None:
    """Percentile bootstrap interval: the α/2 and 1 - α/2 quantiles of the replicates.

    Non-finite replicates (resamples where the statistic is undefined, e.g. a ratio with
    zero denominator) are dropped first; None if nothing is left. Quantiles use numpy's
    default linear interpolation. Reference: Efron & Tibshirani (1993), "An Introduction
    to the Bootstrap", ch. 13.
    """
    alpha = 1.0 - check_confidence(confidence)
    values = np.asarray(replicates, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    low, high = np.quantile(values, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def estimate_from_replicates(value: float, replicates: np.ndarray, confidence: float) -> Estimate:
    """Pack a point value and its percentile interval; a non-finite value gives value None."""
    if not math.isfinite(value):
        return Estimate(value=None)
    interval = percentile_interval(replicates, confidence)
    if interval is None:
        return Estimate(value=float(value))
    return Estimate(value=float(value), low=interval[0], high=interval[1])


def _batch_sizes(n_boot: int, elements_per_resample: int) -> list[int]:
    """Split n_boot resamples into batches of at most ``_MAX_BATCH_ELEMENTS`` elements."""
    per_batch = max(1, _MAX_BATCH_ELEMENTS // max(1, elements_per_resample))
    full, rest = divmod(n_boot, per_batch)
    return [per_batch] * full + ([rest] if rest else [])


def _apply_statistic(
    statistic: Callable[[np.ndarray], np.ndarray], batch: np.ndarray
) -> np.ndarray:
    """Call a batched statistic and check it returns one value per resample."""
    result = np.asarray(statistic(batch), dtype=float)
    if result.shape != (batch.shape[0],):
        raise ValueError(
            f"statistic must map shape {batch.shape} to ({batch.shape[0]},), got {result.shape}"
        )
    return result


def paired_bootstrap(
    values_by_prompt: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> Estimate:
    """Percentile bootstrap of any statistic, resampling whole prompts (rows) with replacement.

    Use it for paired comparisons on the same prompts (two judges, two models against one
    reference): each row holds every measurement of one prompt, so resampling rows keeps
    their within-prompt correlation and the interval of a difference is not inflated.

    ``values_by_prompt`` has shape (n_prompts, ...). ``statistic`` is vectorised: it gets
    a stack of resampled data sets, shape (B, n_prompts, ...), and returns shape (B,);
    the point value is ``statistic(values_by_prompt[None])[0]``. NaN replicates are
    dropped (statistic undefined on that resample). Interval: ``percentile_interval``.
    n_prompts = 0 or a non-finite point value gives ``Estimate(value=None)``.
    """
    confidence = check_confidence(confidence)
    n_boot = check_n_boot(n_boot)
    data = np.asarray(values_by_prompt)
    if data.ndim == 0:
        raise ValueError("values_by_prompt needs a leading prompt axis")
    n = data.shape[0]
    if n == 0:
        return Estimate(value=None)
    value = float(_apply_statistic(statistic, data[np.newaxis])[0])
    rng = np.random.default_rng(seed)
    replicates = np.concatenate(
        [
            _apply_statistic(statistic, data[rng.integers(0, n, size=(size, n))])
            for size in _batch_sizes(n_boot, data.size)
        ]
    )
    return estimate_from_replicates(value, replicates, confidence)
