"""Ratings flow on: export in onpar's layout, `onpar stats` reads it, admin shows the counts."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from onpar.annotate import human_ratings, safety_ratings
from onpar.annotate.assignments import Submission, next_assignment, submit
from onpar.annotate.cli import annotate_app
from onpar.annotate.store import AnnotationStore
from onpar.cli import app as onpar_app
from onpar.data import load_judgments
from onpar.engine.ratings import analyse_ratings
from tests.annotate.conftest import PreparedRun, signed_in
from tests.annotate.runs import X, Y

# Each rater's view of X against Y: +3 = X much better (so raters disagree on purpose).
LEAN = {"ann": 3, "bob": 2, "cat": -3}


def _rate_all(run: PreparedRun) -> None:
    """ann, bob and cat rate everything, each leaning their own way; dan gets nothing."""
    store = AnnotationStore(run.run_dir / "run.sqlite")
    for rater, lean in LEAN.items():
        while (found := next_assignment(store, rater, 3)) is not None:
            if found.model_b is None:
                score = 2 if found.model_a == X else 5
            else:
                score = 4 - lean if found.model_a == X else 4 + lean
            submit(store, found.assignment_id, rater, Submission(score, comment=f"{rater}!"))
    store.close()


def test_ratings_keep_each_raters_view(run: PreparedRun) -> None:
    _rate_all(run)
    store = AnnotationStore(run.run_dir / "run.sqlite")
    ratings = human_ratings(store.db)
    safety = safety_ratings(store.db)
    store.close()
    assert len(ratings) == 6 * 3 and len(safety) == 4 * 3
    for r in ratings:
        for_x = 4 - r.score if r.model_a == X else r.score - 4
        assert for_x == LEAN[r.rater]
    assert {r.model_a for r in ratings} == {X, Y}  # left/right really varies
    assert {r.item for r in ratings if r.turn == 1} == {"m1"}
    assert all(s.is_violation == (s.model == X) for s in safety)


def test_export_is_read_by_onpar_stats(run: PreparedRun, tmp_path: Path) -> None:
    _rate_all(run)
    out = tmp_path / "ratings.jsonl"
    result = CliRunner().invoke(annotate_app, ["export", str(run.run_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 18 and set(lines[0]) == {
        "item", "model_a", "model_b", "rater", "score", "turn", "category",
    }  # fmt: skip
    safety_lines = (tmp_path / "ratings.safety.jsonl").read_text().splitlines()
    assert len(safety_lines) == 12
    analysis = analyse_ratings(load_judgments(out, "onpar"), n_boot=200)
    [comparison] = analysis.comparisons
    assert (comparison.overall.wins, comparison.overall.losses) == (6, 0)  # majority: ann, bob
    assert analysis.reliability  # three raters per item: IRR is reported
    stats = CliRunner().invoke(onpar_app, ["stats", str(out), "--json", "--bootstrap", "200"])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.output)["n_ratings"] == 18


def test_admin_page_shows_progress_outcomes_and_disagreements(run: PreparedRun) -> None:
    _rate_all(run)
    admin = signed_in(run.app(), run.tokens["@admin"])
    page = admin.get("/admin").text
    assert "30 ratings of 30" in page
    assert "10 of 10 items" in page
    assert f"{X} vs {Y}" in page  # the admin may see names
    assert 'id="irr"' in page and "gwet_ac2" in page
    disagreements = page[page.index('<ul id="disagreements">') :]
    disagreements = disagreements[: disagreements.index("</ul>")]
    assert disagreements.count("<li>") == 6  # every pair: ann and bob for X, cat for Y
    assert 'id="safety"' in page and "100.0" in page  # X violates on every safety item


def test_exported_safety_ratings_round_trip_through_onpar_stats(
    run: PreparedRun, tmp_path: Path
) -> None:
    _rate_all(run)
    out = tmp_path / "ratings.jsonl"
    assert (
        CliRunner().invoke(annotate_app, ["export", str(run.run_dir), "--out", str(out)]).exit_code
        == 0
    )
    safety_file = tmp_path / "ratings.safety.jsonl"
    ratings = load_judgments(safety_file, "onpar")
    assert len(ratings) == 12 and {r.scale for r in ratings} == {"safety5"}
    assert {(r.model_a, r.model_b) for r in ratings} == {(X, None), (Y, None)}
    result = CliRunner().invoke(
        onpar_app, ["stats", str(safety_file), "--json", "--bootstrap", "200"]
    )
    assert result.exit_code == 0, result.output
    analysis = json.loads(result.output)
    assert analysis["comparisons"] == []
    rows = {row["model"]: row for row in analysis["safety"]}
    # _rate_all: every rater gives X's answers 2 (a violation) and Y's 5
    assert (rows[X]["n_items"], rows[X]["n_violations"], rows[X]["mean_score"]) == (2, 2, 2.0)
    assert (rows[Y]["n_violations"], rows[Y]["mean_score"]) == (0, 5.0)
    assert rows[X]["violation_rate"]["value"] == 1.0 and rows[X]["violation_rate"]["low"] < 1.0
    assert analysis["safety_reliability"]["value"] == 1.0  # the raters agree on every answer
    text = CliRunner().invoke(onpar_app, ["stats", str(safety_file), "--bootstrap", "200"])
    assert "violation rate" in text.output and "100.0%" in text.output


def test_safety_files_name_the_bad_line_and_field(tmp_path: Path) -> None:
    good = '{"item": "s1", "model": "m", "rater": "ann", "score": 1, "unsafe_flag": true}\n'
    cases = {
        '{"item": "s1", "model": "m", "rater": "ann", "score": 6}\n': "score",
        '{"item": "s1", "model": "m", "rater": "ann", "score": 2, "unsafe_flag": "maybe"}\n': (
            "unsafe_flag"
        ),
        '{"item": "s1", "model": "m", "rater": "ann", "score": 2, "modle_b": "x"}\n': "modle_b",
    }
    for line, field in cases.items():
        path = tmp_path / "bad.jsonl"
        path.write_text(good + line, encoding="utf-8")
        result = CliRunner().invoke(onpar_app, ["stats", str(path)])
        assert result.exit_code != 0
        assert f"{path}:2: field '{field}'" in result.output, result.output
    csv = tmp_path / "safety.csv"
    csv.write_text("item,model,rater,score,unsafe_flag\ns1,m,ann,1,true\ns1,m,bob,4,\n")
    [first, second] = load_judgments(csv, "onpar")
    assert (first.scale, first.unsafe_flag, second.unsafe_flag) == ("safety5", True, None)
