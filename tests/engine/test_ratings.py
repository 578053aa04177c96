"""`onpar stats`: statistics from judgments made elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onpar.cli import app
from onpar.data import load_judgments
from onpar.engine.ratings import analyse_ratings, combine_raters, rater_outcomes

runner = CliRunner()


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def three_raters(n_items: int = 30) -> list[dict]:
    """x = 'a' wins 2/3 of items by all humans; the judge always says A (position bias)."""
    rows = []
    for i in range(n_items):
        human_score = 2 if i % 3 else 6  # a better on 2 of 3 items
        for rater in ("h1", "h2", "h3"):
            rows.append(
                {
                    "item": f"q{i}",
                    "model_a": "a",
                    "model_b": "b",
                    "rater": rater,
                    "score": human_score,
                }
            )
        rows.append({"item": f"q{i}", "model_a": "b", "model_b": "a", "rater": "judge", "score": 1})
    return rows


def test_rater_outcomes_are_from_x_side_in_both_orders(tmp_path: Path) -> None:
    ratings = load_judgments(write_jsonl(tmp_path / "r.jsonl", three_raters(3)), "onpar")
    units = rater_outcomes(ratings)
    assert units[("a", "b", "q1", 0)] == {"h1": 2.0, "h2": 2.0, "h3": 2.0, "judge": -3.0}
    assert units[("a", "b", "q0", 0)]["h1"] == -2.0


def test_combining_raters() -> None:
    assert combine_raters({"h1": 1, "h2": 2, "h3": -3}, "majority") == "win"
    assert combine_raters({"h1": 1, "h2": 2, "h3": -3}, "mean") == "tie"
    assert combine_raters({"h1": 1, "h2": -1}, "majority") == "tie"  # no strict majority


def test_analysis_with_a_position_biased_judge(tmp_path: Path) -> None:
    ratings = load_judgments(write_jsonl(tmp_path / "r.jsonl", three_raters()), "onpar")
    analysis = analyse_ratings(ratings, judge="judge", n_boot=300)
    (comparison,) = analysis.comparisons
    assert (comparison.overall.wins, comparison.overall.losses) == (20, 10)  # humans only
    assert comparison.difference is not None and comparison.difference.verdict in {
        "different",
        "inconclusive",
    }
    agreement = analysis.judge_vs_humans.agreement  # type: ignore[union-attr]
    assert agreement.rates.with_ties.value == pytest.approx(10 / 30)  # it says b wins every time
    assert agreement.confusion == ((10, 0, 0), (0, 0, 0), (20, 0, 0))
    assert analysis.judge_vs_humans.human_human.with_ties.value == 1.0  # type: ignore[union-attr]
    ac2 = [r for r in analysis.reliability if r.coefficient == "gwet_ac2"]
    assert ac2 and all(r.estimate.value == pytest.approx(1.0) for r in ac2)  # humans agree fully
    assert [r.model for r in analysis.leaderboard.ratings] == ["a", "b"]  # type: ignore[union-attr]


def test_cli_json_and_errors(tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "r.jsonl", three_raters(6))
    result = runner.invoke(app, ["stats", str(good), "--json", "--bootstrap", "200"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["comparisons"][0]["model_x"] == "a" and data["reliability"]
    bad = write_jsonl(tmp_path / "bad.jsonl", [*three_raters(1), three_raters(1)[0]])
    result = runner.invoke(app, ["stats", str(bad)])
    assert result.exit_code == 2 and "bad.jsonl:5" in result.output
    off_scale = write_jsonl(tmp_path / "off.jsonl", [{**three_raters(1)[0], "score": 9}])
    result = runner.invoke(app, ["stats", str(off_scale)])
    assert result.exit_code == 2 and "off.jsonl:1" in result.output and "score" in result.output


def test_alpaca_eval_numbers_are_reproduced(tmp_path: Path) -> None:
    prefs = [2.0, 1.0, 1.5, 2.0, None, 1.75]
    rows = [
        {
            "instruction": f"do {i}",
            "output_1": "base",
            "output_2": "mine",
            "generator_1": "gpt4",
            "generator_2": "mine",
            "annotator": "weighted_alpaca_eval_gpt4_turbo",
            "preference": p,
        }
        for i, p in enumerate(prefs)
    ]
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    result = runner.invoke(
        app, ["stats", str(path), "--format", "alpaca_eval", "--json", "--bootstrap", "200"]
    )
    assert result.exit_code == 0, result.output
    numbers = json.loads(result.output)["alpaca_eval"]["mine vs gpt4"]
    kept = [p - 1 for p in prefs if p is not None]
    assert numbers["win_rate"] == pytest.approx(100 * sum(kept) / len(kept))
    assert numbers["n_total"] == 5


def test_mt_bench_single_grades(tmp_path: Path) -> None:
    rows = [
        {
            "question_id": q,
            "model": m,
            "judge": ["gpt-4", "single-v1"],
            "user_prompt": "u",
            "judgment": "j",
            "score": s,
            "turn": 1,
            "tstamp": 0.0,
        }
        for q, m, s in [(81, "m1", 8), (82, "m1", 6), (81, "m2", 3), (82, "m2", -1)]
    ]
    analysis = analyse_ratings(
        load_judgments(write_jsonl(tmp_path / "s.jsonl", rows), "mt_bench"), n_boot=200
    )
    grades = {g.model: g for g in analysis.single_grades}
    assert grades["m1"].mean_score.value == 7.0 and grades["m2"].n == 1
    assert analysis.n_failed == 1


def test_one_raters_contradicting_orders_are_a_tie(tmp_path: Path) -> None:
    rows = [
        {"item": "q", "model_a": "a", "model_b": "b", "rater": "r", "score": 3},  # a slightly
        {"item": "q", "model_a": "b", "model_b": "a", "rater": "r", "score": 2},  # b better
        {"item": "s", "model_a": "a", "model_b": "b", "rater": "r", "score": 1},  # a much
        {"item": "s", "model_a": "b", "model_b": "a", "rater": "r", "score": 6},  # a better
    ]
    units = rater_outcomes(load_judgments(write_jsonl(tmp_path / "r.jsonl", rows), "onpar"))
    assert units[("a", "b", "q", 0)] == {"r": 0.0}
    assert units[("a", "b", "s", 0)] == {"r": 2.5}


def test_cli_writes_an_html_report(tmp_path: Path) -> None:
    ratings = write_jsonl(tmp_path / "r.jsonl", three_raters(12))
    out = tmp_path / "stats.html"
    result = runner.invoke(
        app, ["stats", str(ratings), "--judge", "judge", "--bootstrap", "200", "--report", str(out)]
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "gwet_ac2" in html and "<svg" in html and "http" not in html.split("</head>")[1]
