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
