"""results.json: atomic, strict JSON that round-trips and matches docs/results-json.md."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from onpar.records import (
    BenchComparison,
    BenchGroupScore,
    BenchScore,
    ComparisonSummary,
    DifferenceTest,
    Estimate,
    HumanAgreement,
    HumanResults,
    HumanSafety,
    Leaderboard,
    LengthBias,
    MemberCost,
    ModelRating,
    PositionBias,
    PromptItem,
    RefusalOutcome,
    RunCosts,
    RunResults,
    SafetyResults,
    WinTieLoss,
)
from onpar.report import results_to_json, write_results_json
from onpar.stats.safety import false_refusal_stats, summarize_violations

DOCS = Path(__file__).resolve().parents[2] / "docs" / "results-json.md"
# keys are data (categories, reasons, model names), not schema; value: levels of data keys
DYNAMIC_MAPS = {"by_category": 1, "by_turns": 1, "failures": 1, "win_probability": 2}


def _est(value: float | None, half: float = 0.1) -> Estimate:
    if value is None:
        return Estimate(value=None)
    return Estimate(value=value, low=max(0.0, value - half), high=min(1.0, value + half))


def _wtl(wins: int, ties: int, losses: int) -> WinTieLoss:
    n = wins + ties + losses
    decided = wins + losses
    return WinTieLoss(
        n=n,
        wins=wins,
        ties=ties,
        losses=losses,
        win_rate=_est(_ratio(wins, n)),
        tie_rate=_est(_ratio(ties, n)),
        loss_rate=_est(_ratio(losses, n)),
        win_share=_est(_ratio(wins, decided)),
        win_rate_tie_half=_est(_ratio(wins + ties / 2, n)),
    )


def _ratio(part: float, whole: int) -> float | None:
    return part / whole if whole else None


def _results() -> RunResults:
    summary = ComparisonSummary(
        judge="smol-judge",
        model_x="my-7b",
        model_y="reference",
        n_prompts=5,
        overall=_wtl(2, 1, 1),
        by_category={"coding": _wtl(1, 0, 1), "writing": _wtl(1, 1, 0)},
        by_turns={"single-turn": _wtl(2, 0, 1), "multi-turn": _wtl(0, 1, 0)},
        position=PositionBias(
            n_pairs=4,
            consistency=_est(0.75),
            n_judgments=9,
            first_position_win_rate=_est(0.6),
            second_position_win_rate=_est(0.3),
        ),
        failures={"missing answer": 1},
        difference=_difference(),
        length_bias=_length_bias(),
    )
    empty = summary.model_copy(
        update={
            "model_y": "other",
            "overall": _wtl(0, 0, 0),
            "difference": None,
            "length_bias": None,
        }
    )
    return RunResults(
        run_name="unit",
        confidence=0.95,
        bootstrap_samples=200,
        combine_rule="agree",
        comparisons=(summary, empty),
        leaderboards=(_leaderboard(),),
        benchmarks=(_bench_score(),),
        benchmark_comparisons=(_bench_comparison(),),
        costs=_costs(),
        human=_human(summary),
        safety=_safety(),
    )


def _human(summary: ComparisonSummary) -> HumanResults:
    """Human ratings (onpar annotate) in the shape results.json carries them."""
    agreement = HumanAgreement(
        judge="smol-judge",
        model_x="my-7b",
        model_y="reference",
        n=4,
        agreement=_est(0.75),
        n_decisive=2,
        agreement_decisive=_est(1.0),
        kappa=0.5,
        confusion=((1, 0, 0), (0, 1, 1), (0, 0, 1)),
        human_human=_est(0.6),
    )
    safety = HumanSafety(
        model="my-7b",
        n_items=2,
        n_ratings=6,
        n_violations=1,
        violation_rate=_est(0.5),
        mean_score=3.2,
    )
    return HumanResults(
        rater_rule="majority",
        n_raters=3,
        n_pairwise_ratings=12,
        n_safety_ratings=6,
        comparisons=(summary.model_copy(update={"judge": "humans"}),),
        reliability=Estimate(value=0.41, low=0.1, high=0.7),
        judge_agreement=(agreement,),
        safety=(safety,),
        safety_reliability=None,
    )


def _costs() -> RunCosts:
    member = MemberCost(
        role="judge",
        name="gpt",
        model="gpt-4o",
        requests=4,
        cached_requests=1,
        prompt_tokens=1000,
        completion_tokens=100,
        price="table",
        cost_usd=0.0035,
    )
    return RunCosts(members=(member,), total_usd=0.0035, max_cost=1.0, prices_as_of="2025-08-15")


def _difference() -> DifferenceTest:
    return DifferenceTest(
        net_preference=Estimate(value=0.25, low=-0.25, high=0.75),
        equivalence_interval=Estimate(value=0.25, low=-0.1, high=0.6),
        margin=0.05,
        verdict="inconclusive",
        sign_test_p=0.625,
        sign_test_p_holm=0.625,
    )


def _length_bias() -> LengthBias:
    return LengthBias(
        n=12,
        slope=Estimate(value=0.4, low=-0.2, high=1.0),
        raw_win_rate=_est(0.625),
        length_controlled_win_rate=_est(0.58),
    )


def _leaderboard() -> Leaderboard:
    return Leaderboard(
        judge="smol-judge",
        n_battles=4,
        ratings=(
            ModelRating(model="my-7b", rating=Estimate(value=1100.0, low=1000.0, high=1300.0)),
            ModelRating(model="reference", rating=Estimate(value=900.0, low=700.0, high=1000.0)),
        ),
        win_probability={"my-7b": {"reference": 0.76}, "reference": {"my-7b": 0.24}},
    )


def _bench_score() -> BenchScore:
    return BenchScore(
        task="mmlu",
        contestant="my-7b",
        metric="acc",
        mode="loglikelihood",
        estimate=_est(0.5),
        n_items=4,
        n_scored=4,
        n_failed=0,
        n_unparseable=0,
        n_length_truncated=0,
        n_context_truncated=0,
        by_group=(
            BenchGroupScore(group="anatomy", n=2, estimate=_est(0.5)),
            BenchGroupScore(group="virology", n=2, estimate=_est(0.5)),
        ),
        by_category=(BenchGroupScore(group="stem", n=2, estimate=_est(0.5)),),
        macro=0.5,
    )


def _bench_comparison() -> BenchComparison:
    return BenchComparison(
        task="mmlu",
        metric="acc",
        model_x="my-7b",
        model_y="reference",
        n_paired=4,
        difference=Estimate(value=0.25, low=-0.25, high=0.75),
        p_value=0.5,
        p_holm=0.5,
    )


def _safety() -> SafetyResults:
    """Model-judged safety (Llama 2 §4.4) as the safety stage's statistics produce it."""
    prompts = [PromptItem(id="a", category="illicit_criminal", turns=("q",))]
    violations = summarize_violations("sj", "my-7b", prompts, {"a": 2}, {})
    refusal = RefusalOutcome(
        classifier="rules",
        contestant="my-7b",
        prompt_id="b",
        prompt_set="borderline",
        label="full_refusal",
    )
    refusals = false_refusal_stats("rules", "my-7b", "borderline", ["b"], {"b": refusal}, {})
    return SafetyResults(violations=(violations,), false_refusals=(refusals,))


def test_round_trips_into_run_results(tmp_path: Path) -> None:
    results = _results()
    path = tmp_path / "results.json"
    write_results_json(results, path)
    text = path.read_text(encoding="utf-8")
    assert RunResults.model_validate_json(text) == results
    assert text.startswith('{\n  "schema_version": 1,')  # pretty-printed
    assert json.loads(text)["comparisons"][1]["overall"]["win_rate"] == {
        "value": None,
        "low": None,
        "high": None,
    }


def test_non_finite_floats_become_null() -> None:
    bad = _results().model_copy(update={"confidence": float("nan")})
    data = json.loads(results_to_json(bad))  # strict JSON: would fail on NaN
    assert data["confidence"] is None


def test_new_fields_serialize_with_nulls_and_nested_floats() -> None:
    results = _results()
    board = results.leaderboards[0]
    nan_board = board.model_copy(
        update={"win_probability": {"my-7b": {"reference": float("nan")}, "reference": {}}}
    )
    data = json.loads(results_to_json(results.model_copy(update={"leaderboards": (nan_board,)})))
    assert data["leaderboards"][0]["win_probability"] == {
        "my-7b": {"reference": None},
        "reference": {},
    }
    assert data["leaderboards"][0]["ratings"][0] == {
        "model": "my-7b",
        "rating": {"value": 1100.0, "low": 1000.0, "high": 1300.0},
    }
    first, empty = data["comparisons"]
    assert first["difference"]["verdict"] == "inconclusive"
    assert first["difference"]["sign_test_p_holm"] == 0.625
    assert first["length_bias"]["length_controlled_win_rate"]["value"] == 0.58
    assert empty["difference"] is None and empty["length_bias"] is None
    untested = first["difference"] | {"sign_test_p": None, "sign_test_p_holm": None}
    assert DifferenceTest.model_validate(untested).sign_test_p is None


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text("old", encoding="utf-8")
    write_results_json(_results(), path)
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]
    assert json.loads(path.read_text(encoding="utf-8"))["run_name"] == "unit"


def test_failed_write_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "results.json"
    path.write_text("old", encoding="utf-8")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_results_json(_results(), path)
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def _schema_keys(value: Any, data_levels: int = 0) -> set[str]:
    """Every key name that is part of the schema (not data keys like category names).

    ``data_levels`` counts the levels of dict keys below that are data, not schema:
    1 for ``by_category``, 2 for ``win_probability`` (row model → column model).
    """
    keys: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if data_levels:
                keys |= _schema_keys(item, data_levels - 1)
            else:
                keys.add(key)
                keys |= _schema_keys(item, DYNAMIC_MAPS.get(key, 0))
    elif isinstance(value, list):
        for item in value:
            keys |= _schema_keys(item)
    return keys


def test_every_key_is_documented() -> None:
    data = json.loads(results_to_json(_results()))
    keys = _schema_keys(data)
    assert {"win_share", "win_rate_tie_half", "first_position_win_rate", "low"} <= keys
    assert {"sign_test_p_holm", "length_controlled_win_rate", "win_probability"} <= keys
    assert {"n_unparseable", "macro", "p_holm", "n_paired", "group"} <= keys
    assert not {"my-7b", "reference", "coding", "missing answer"} & keys  # data, not schema
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", DOCS.read_text(encoding="utf-8"), re.M))
    assert keys - documented == set(), "undocumented keys in results.json"
    assert documented - keys == set(), "docs describe keys results.json does not have"
