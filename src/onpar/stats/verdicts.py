"""The run-level answers built from the pure statistics: on par or not, length bias, ratings.

Each function turns per-prompt `PairVerdict`s (plus answer lengths) into the records that
results.json and the report show; formulas and references are in the functions they call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from onpar.records import (
    ComparisonSummary,
    DifferenceTest,
    Estimate,
    Leaderboard,
    LengthBias,
    ModelRating,
    PairVerdict,
)
from onpar.stats.bradley_terry import bradley_terry, bradley_terry_bootstrap, win_probability_matrix
from onpar.stats.intervals import estimate_from_replicates, wilson_interval
from onpar.stats.judge_bias import length_bias_slope, length_controlled_win_rate
from onpar.stats.significance import (
    equivalence_confidence,
    equivalence_verdict,
    holm_adjust,
    paired_difference_replicates,
    sign_test,
)

_CODES = {"win": 1, "tie": 0, "loss": -1}
MIN_OUTCOMES_FOR_LENGTH_BIAS = 10
#: Below this many outcomes a percentile-bootstrap interval can collapse to a point (all
#: ties → [0, 0]), so "on par" is not declared; see docs/statistics.md.
MIN_OUTCOMES_FOR_EQUIVALENCE = 20


def difference_test(
    verdicts: Sequence[PairVerdict], confidence: float, margin: float, n_boot: int, seed: int
) -> DifferenceTest | None:
    """Net preference (win − loss rate) with its CI, the TOST verdict and the sign test.

    One bootstrap distribution (prompts resampled) gives both the `confidence` interval
    and the 2·confidence − 1 interval used for equivalence (Schuirmann 1987). Guards for
    small samples: "on par" needs ≥ MIN_OUTCOMES_FOR_EQUIVALENCE outcomes, and "different"
    also needs the exact sign test to reject at 1 − confidence.
    """
    codes = np.array([_CODES[v.outcome] for v in verdicts if v.outcome is not None], dtype=float)
    if codes.size == 0:
        return None
    wins, losses = (codes > 0).astype(float), (codes < 0).astype(float)
    value, replicates = paired_difference_replicates(wins, losses, n_boot=n_boot, seed=seed)
    counts = (int(wins.sum()), int(losses.sum()), codes.size)
    interval = _at_least_newcombe(
        estimate_from_replicates(value, replicates, confidence), *counts, confidence
    )
    level = equivalence_confidence(confidence)
    tost = _at_least_newcombe(estimate_from_replicates(value, replicates, level), *counts, level)
    p_value = sign_test(counts[0], counts[1])
    verdict = equivalence_verdict(interval, margin, tost)
    if verdict == "on par" and codes.size < MIN_OUTCOMES_FOR_EQUIVALENCE:
        verdict = "inconclusive"
    if verdict == "different" and p_value >= 1 - confidence:  # tiny samples: trust the exact test
        verdict = "inconclusive"
    return DifferenceTest(
        net_preference=interval,
        equivalence_interval=tost,
        margin=margin,
        verdict=verdict,
        sign_test_p=p_value,
    )


def _at_least_newcombe(
    interval: Estimate, wins: int, losses: int, n: int, confidence: float
) -> Estimate:
    """The bootstrap interval widened, where needed, to Newcombe's hybrid Wilson interval.

    A percentile bootstrap collapses to a point when every outcome is the same (50 ties of
    50 give [0, 0]), which would call any such pair "on par". Newcombe's (1998, method 10)
    interval for a difference of proportions, d ± sqrt of the squared Wilson half-widths of
    the win and loss rates, stays honest there; taking the hull of both keeps the bootstrap's
    width where it is wider (it accounts for the win/loss covariance, Newcombe's does not).
    """
    win = wilson_interval(wins, n, confidence)
    loss = wilson_interval(losses, n, confidence)
    d = (wins - losses) / n
    low = d - math.hypot(win.value - win.low, loss.high - loss.value)  # type: ignore[operator]
    high = d + math.hypot(win.high - win.value, loss.value - loss.low)  # type: ignore[operator]
    return Estimate(
        value=interval.value,
        low=low if interval.low is None else min(interval.low, low),
        high=high if interval.high is None else max(interval.high, high),
    )


def with_holm(summaries: Sequence[ComparisonSummary]) -> list[ComparisonSummary]:
    """Holm-adjust the sign tests of all comparisons reported together (Holm 1979)."""
    tested = [i for i, s in enumerate(summaries) if s.difference is not None]
    if not tested:
        return list(summaries)
    adjusted = holm_adjust([summaries[i].difference.sign_test_p for i in tested])  # type: ignore[union-attr]
    out = list(summaries)
    for i, p in zip(tested, adjusted, strict=True):
        difference = out[i].difference.model_copy(update={"sign_test_p_holm": float(p)})  # type: ignore[union-attr]
        out[i] = out[i].model_copy(update={"difference": difference})
    return out


def length_bias(
    verdicts: Sequence[PairVerdict], answer_lengths: dict[tuple[str, str], int], confidence: float
) -> LengthBias | None:
    """Length slope and AlpacaEval 2-style length-controlled win rate for one comparison.

    `answer_lengths` maps (contestant, prompt_id) to the final answer's length.
    """
    rows = [
        (
            _CODES[v.outcome],
            answer_lengths[(v.model_x, v.prompt_id)] - answer_lengths[(v.model_y, v.prompt_id)],
        )
        for v in verdicts
        if v.outcome is not None
        and (v.model_x, v.prompt_id) in answer_lengths
        and (v.model_y, v.prompt_id) in answer_lengths
    ]
    if len(rows) < MIN_OUTCOMES_FOR_LENGTH_BIAS:
        return None
    outcomes, len_diff = (np.array(col, dtype=float) for col in zip(*rows, strict=True))
    slope = length_bias_slope(outcomes, len_diff, confidence)
    controlled = length_controlled_win_rate(outcomes, len_diff, confidence=confidence)
    return LengthBias(
        n=len(rows),
        slope=slope.slope,
        raw_win_rate=controlled.raw_win_rate,
        length_controlled_win_rate=controlled.lc_win_rate,
    )


def leaderboard(
    judge: str, verdicts: Sequence[PairVerdict], confidence: float, n_boot: int, seed: int
) -> Leaderboard | None:
    """Bradley–Terry ratings of every contestant one judge compared (Bradley & Terry 1952)."""
    decided = [v for v in verdicts if v.outcome is not None]
    models = sorted({v.model_x for v in decided} | {v.model_y for v in decided})
    if len(models) < 2:
        return None
    index = {m: i for i, m in enumerate(models)}
    first = np.array([index[v.model_x if v.outcome != "loss" else v.model_y] for v in decided])
    second = np.array([index[v.model_y if v.outcome != "loss" else v.model_x] for v in decided])
    ties = np.array([v.outcome == "tie" for v in decided])
    battles = (first, second, ties)
    estimates = bradley_terry_bootstrap(
        battles, len(models), n_boot=n_boot, confidence=confidence, seed=seed
    )
    probabilities = win_probability_matrix(bradley_terry(battles, len(models)))
    ranked = sorted(zip(models, estimates, strict=True), key=lambda pair: -(pair[1].value or 0.0))
    return Leaderboard(
        judge=judge,
        n_battles=len(decided),
        ratings=tuple(ModelRating(model=m, rating=e) for m, e in ranked),
        win_probability={
            a: {b: float(probabilities[index[a], index[b]]) for b in models if b != a}
            for a in models
        },
    )
