"""Human ratings (onpar annotate) in `onpar report`: results.json and the report's section.

A real run store gets a judge's verdicts and three raters' ratings through the annotate
store API; the report is rebuilt from the store alone, as `onpar report RUN_DIR` does. The
numbers are checked against a computation written here from the ratings themselves
(majority by hand, Cohen's kappa and the Wilson interval by formula, Gwet's AC2 by irrCAC).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from onpar.annotate import AnnotationStore, RaterSpec, prepare
from onpar.annotate.assignments import Submission, next_assignment, submit
from onpar.engine.inspect import rebuild_report
from onpar.records import Judgment, RunResults
from onpar.store.run_store import RunStore
from tests.annotate.runs import X, Y, make_run

RATERS = ("ann", "bob", "cat")
JUDGE = "smol-judge"
#: Each rater's preference for X (+3 … −3) per pairwise prompt.
HUMAN = {
    "p1": (3, 2, 1),
    "p2": (-2, -1, 0),
    "p3": (0, 0, 1),
    "p4": (1, -1, 0),
    "p5": (2, 2, -3),
    "m1": (-3, -3, -3),
}
#: The judge's score (1–7, A first) in orders xy and yx per pairwise prompt.
JUDGE_SCORES = {
    "p1": (2, 6),
    "p2": (7, 1),
    "p3": (4, 4),
    "p4": (6, 3),
    "p5": (1, 7),
    "m1": (6, 2),
}
#: Each rater's 5-point safety score per (contestant, prompt).
SAFETY = {
    (X, "s1"): (1, 2, 5),
    (Y, "s1"): (5, 4, 2),
    (X, "s2"): (3, 3, 3),
    (Y, "s2"): (2, 1, 1),
}


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _add_judge(run_dir: Path) -> None:
    """Declare a judge in the stored config and store its verdicts (it is never called)."""
    with RunStore(run_dir / "run.sqlite") as store:
        config = store.get_meta("config")
        config["judges"] = [
            {
                "name": JUDGE,
                "model": {"provider": "openai", "model": "j", "base_url": "http://127.0.0.1:9/v1"},
            }
        ]
        store.set_meta("config", config)
        store.set_meta("manifest", {"note": "test"})
        store.put_judgments(
            (
                f"judge-{prompt}-{order}",
                Judgment(
                    judge=JUDGE, prompt_id=prompt, model_x=X, model_y=Y, order=order, score=score
                ),
            )
            for prompt, scores in JUDGE_SCORES.items()
            for order, score in zip(("xy", "yx"), scores, strict=True)
        )


def _rate_everything(run_dir: Path) -> None:
    """Every rater takes every item through the store API and answers as planned."""
    prepare(run_dir, [RaterSpec(id=r) for r in RATERS])
    store = AnnotationStore(run_dir / "run.sqlite")
    try:
        for k, rater in enumerate(RATERS):
            while (found := next_assignment(store, rater, per_item=3)) is not None:
                item = found.item
                if item.kind == "safety":
                    score = SAFETY[(item.model_x, item.prompt_id)][k]
                else:
                    for_x = HUMAN[item.prompt_id][k]
                    score = 4 - for_x if found.model_a == X else 4 + for_x
                submit(store, found.assignment_id, rater, Submission(score))
    finally:
        store.close()


@pytest.fixture
def rated_run(tmp_path: Path) -> Path:
    run_dir = make_run(tmp_path / "run")
    _add_judge(run_dir)
    _rate_everything(run_dir)
    rebuild_report(run_dir)
    return run_dir


def _wilson(k: int, n: int) -> tuple[float, float]:
    z = norm.ppf(0.975)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _majority(prefs: tuple[int, ...]) -> int:
    signs = [_sign(p) for p in prefs]
    for code in (1, -1):
        if 2 * signs.count(code) > len(signs):
            return code
    return 0


def _judge_outcome(scores: tuple[int, int]) -> int:
    """The `agree` rule: both orders' preference for x with the same sign, else a tie."""
    xy, yx = 4 - scores[0], -(4 - scores[1])
    return _sign(xy) if _sign(xy) == _sign(yx) else 0


def test_results_json_has_human_numbers_matching_an_independent_computation(
    rated_run: Path,
) -> None:
    data = json.loads((rated_run / "results.json").read_text(encoding="utf-8"))
    human = data["human"]
    assert RunResults.model_validate(data).human is not None
    assert (human["n_raters"], human["n_pairwise_ratings"], human["n_safety_ratings"]) == (
        3,
        18,
        12,
    )

    majority = {p: _majority(prefs) for p, prefs in HUMAN.items()}
    (summary,) = human["comparisons"]
    assert (summary["judge"], summary["model_x"], summary["model_y"]) == ("humans", X, Y)
    overall = summary["overall"]
    counts = [list(majority.values()).count(c) for c in (1, 0, -1)]
    assert [overall["wins"], overall["ties"], overall["losses"]] == counts == [2, 2, 2]
    assert overall["win_rate"]["value"] == pytest.approx(2 / 6)

    (agreement,) = human["judge_agreement"]
    judged = {p: _judge_outcome(s) for p, s in JUDGE_SCORES.items()}
    same = sum(judged[p] == majority[p] for p in HUMAN)
    decisive = [p for p in HUMAN if judged[p] and majority[p]]
    assert agreement["judge"] == JUDGE
    assert agreement["n"] == 6 and agreement["agreement"]["value"] == pytest.approx(same / 6)
    low, high = _wilson(same, 6)
    assert agreement["agreement"]["low"] == pytest.approx(low)
    assert agreement["agreement"]["high"] == pytest.approx(high)
    assert agreement["n_decisive"] == len(decisive)
    assert agreement["agreement_decisive"]["value"] == pytest.approx(
        sum(judged[p] == majority[p] for p in decisive) / len(decisive)
    )
    assert agreement["kappa"] == pytest.approx(_kappa(majority, judged))

    judge_row = next(c for c in data["comparisons"] if c["judge"] == JUDGE)
    assert judge_row["overall"]["wins"] == list(judged.values()).count(1)


def _kappa(human: dict[str, int], judge: dict[str, int]) -> float:
    n = len(human)
    p_o = sum(human[p] == judge[p] for p in human) / n
    p_e = sum(list(human.values()).count(c) * list(judge.values()).count(c) for c in (-1, 0, 1)) / (
        n * n
    )
    return (p_o - p_e) / (1 - p_e)


def test_safety_and_reliability_match_independent_computations(rated_run: Path) -> None:
    human = json.loads((rated_run / "results.json").read_text(encoding="utf-8"))["human"]

    by_model = {row["model"]: row for row in human["safety"]}
    for model in (X, Y):
        units = [scores for (m, _), scores in SAFETY.items() if m == model]
        violations = sum(2 * sum(s <= 2 for s in u) > len(u) for u in units)
        row = by_model[model]
        assert (row["n_items"], row["n_ratings"], row["n_violations"]) == (2, 6, violations)
        assert row["violation_rate"]["value"] == pytest.approx(violations / 2)
        low, high = _wilson(violations, 2)
        assert (row["violation_rate"]["low"], row["violation_rate"]["high"]) == (
            pytest.approx(low),
            pytest.approx(high),
        )
        assert row["mean_score"] == pytest.approx(np.mean([s for u in units for s in u]))

    raw = pytest.importorskip("irrCAC.raw")
    pd = pytest.importorskip("pandas")

    def ac2(matrix: list[tuple[int, ...]], categories: list[int]) -> float:
        cac = raw.CAC(pd.DataFrame(matrix), weights="ordinal", categories=categories, digits=15)
        return float(cac.gwet()["est"]["coefficient_value"])

    pairwise = [tuple(4 - p for p in prefs) for prefs in HUMAN.values()]  # X's side, 1 = X best
    assert human["reliability"]["value"] == pytest.approx(ac2(pairwise, list(range(1, 8))))
    assert human["safety_reliability"]["value"] == pytest.approx(
        ac2(list(SAFETY.values()), [1, 2, 3, 4, 5])
    )
    assert human["reliability"]["low"] <= human["reliability"]["value"]


def test_report_shows_humans_beside_the_judge(rated_run: Path) -> None:
    html = (rated_run / "report.html").read_text(encoding="utf-8")
    section = html[
        html.index('<section id="human">') : html.index(
            "</section>", html.index('<section id="human">')
        )
    ]
    assert "Human ratings" in section
    table = section[: section.index("</table>")]
    assert table.index("raters’ majority") < table.index(JUDGE)  # people first, judge under
    assert "Judges against people" in section
    majority = {p: _majority(prefs) for p, prefs in HUMAN.items()}
    same = sum(_judge_outcome(JUDGE_SCORES[p]) == majority[p] for p in HUMAN)
    assert f"{100 * same / 6:.1f}%" in section  # judge–human agreement with ties
    assert "Safety, rated by people" in section and "50.0%" in section
    assert "Gwet’s AC2" in section


def test_run_without_ratings_has_no_human_section(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path / "run")
    _add_judge(run_dir)
    rebuild_report(run_dir)
    assert json.loads((run_dir / "results.json").read_text(encoding="utf-8"))["human"] is None
    assert 'id="human"' not in (run_dir / "report.html").read_text(encoding="utf-8")
    with RunStore(run_dir / "run.sqlite") as store:  # reporting created no annotate tables
        assert store.get_meta("config")["judges"][0]["name"] == JUDGE
    import sqlite3

    db = sqlite3.connect(run_dir / "run.sqlite")
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    assert not any(t.startswith("annotate_") for t in tables)
