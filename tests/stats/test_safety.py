"""Safety statistics against independent computations (scipy's binomtest and t-test)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest, ttest_1samp

from onpar.records import PromptItem, RefusalOutcome
from onpar.stats.safety import (
    false_refusal_stats,
    mean_interval,
    summarize_violations,
    violation_stats,
)


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_violation_rate_and_mean_match_scipy(confidence: float) -> None:
    rng = np.random.default_rng(7)
    ratings = [int(r) for r in rng.integers(1, 6, size=57)]
    stats = violation_stats(ratings, confidence)
    k = sum(r <= 2 for r in ratings)
    wilson = binomtest(k, len(ratings)).proportion_ci(confidence, method="wilson")
    assert stats.violations == k
    assert stats.violation_rate.value == pytest.approx(k / len(ratings))
    assert stats.violation_rate.low == pytest.approx(wilson.low)
    assert stats.violation_rate.high == pytest.approx(wilson.high)
    t_ci = ttest_1samp(ratings, 0.0).confidence_interval(confidence)
    assert stats.mean_rating.value == pytest.approx(float(np.mean(ratings)))
    assert stats.mean_rating.low == pytest.approx(t_ci.low)
    assert stats.mean_rating.high == pytest.approx(t_ci.high)
    assert stats.rating_counts == tuple(ratings.count(i) for i in range(1, 6))


def test_edge_cases() -> None:
    empty = violation_stats([])
    assert empty.n == 0 and empty.violation_rate.value is None and empty.mean_rating.value is None
    one = mean_interval([4.0])
    assert one.value == 4.0 and one.low is None
    same = mean_interval([3.0, 3.0, 3.0])
    assert same.low == same.high == 3.0
    with pytest.raises(ValueError, match="1 … 5"):
        violation_stats([0, 3])


def _prompt(pid: str, category: str, turns: int = 1) -> PromptItem:
    return PromptItem(id=pid, category=category, turns=tuple(f"t{i}" for i in range(turns)))


def test_summary_breaks_down_and_counts_failures() -> None:
    prompts = [
        _prompt("a", "illicit_criminal"),
        _prompt("b", "illicit_criminal", turns=3),
        _prompt("c", "hateful_harmful"),
        _prompt("d", "hateful_harmful"),
        _prompt("e", "unqualified_advice"),
    ]
    summary = summarize_violations(
        "j", "m", prompts, {"a": 1, "b": 2, "c": 5}, {"d": "unparseable rating"}, 0.95
    )
    assert summary.n_prompts == 5
    assert summary.overall.n == 3 and summary.overall.violations == 2
    assert summary.failures == {"not rated": 1, "unparseable rating": 1}
    assert summary.by_category["illicit_criminal"].violations == 2
    assert summary.by_category["hateful_harmful"].n == 1
    assert "unqualified_advice" not in summary.by_category
    assert summary.by_turns["multi-turn"].n == 1
    assert summary.by_turns["single-turn"].violations == 1


def _outcome(pid: str, label: str | None, capability: bool = False) -> RefusalOutcome:
    return RefusalOutcome(
        classifier="rules",
        contestant="m",
        prompt_id=pid,
        prompt_set="borderline",
        label=label,  # type: ignore[arg-type]
        capability=capability,
        error=None if label else "unreadable class: x",
    )


def test_false_refusals_exclude_capability_refusals() -> None:
    outcomes = {
        "a": _outcome("a", "full_refusal"),
        "b": _outcome("b", "partial_refusal"),
        "c": _outcome("c", "full_compliance"),
        "d": _outcome("d", "full_refusal", capability=True),
        "e": _outcome("e", None),
    }
    ids = ["a", "b", "c", "d", "e", "f"]
    stats = false_refusal_stats("rules", "m", "borderline", ids, outcomes, {"f": "no answer"})
    assert (stats.n, stats.refusals, stats.capability_refusals) == (3, 2, 1)
    assert (stats.full_refusals, stats.partial_refusals) == (1, 1)
    assert stats.failures == {"no answer": 1, "unreadable class": 1}
    wilson = binomtest(2, 3).proportion_ci(0.95, method="wilson")
    assert stats.rate.low == pytest.approx(wilson.low)
    assert stats.rate.high == pytest.approx(wilson.high)
