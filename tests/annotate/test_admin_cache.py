"""The admin page recomputes its statistics only when the ratings changed."""

from __future__ import annotations

from onpar.annotate.assignments import Submission, next_assignment, submit
from tests.annotate.conftest import PreparedRun, signed_in


def _rate_one(store, rater: str, score: int = 3) -> None:
    found = next_assignment(store, rater, 3)
    assert found is not None
    submit(store, found.assignment_id, rater, Submission(score if found.model_b else 4))


def test_admin_stats_are_cached_until_a_rating_changes(run: PreparedRun) -> None:
    app = run.app()
    state = app.state.annotate
    admin = signed_in(app, run.tokens["@admin"])
    _rate_one(state.store, "ann")
    assert "1 ratings of 30" in admin.get("/admin").text
    assert state.stats_cache.computations == 1
    for _ in range(3):  # reloads, and a claim that changes no rating, reuse the numbers
        admin.get("/admin")
    next_assignment(state.store, "bob", 3)
    assert "1 ratings of 30" in admin.get("/admin").text
    assert state.stats_cache.computations == 1

    _rate_one(state.store, "cat")  # a new rating: recomputed once, then cached again
    assert "2 ratings of 30" in admin.get("/admin").text
    admin.get("/admin")
    assert state.stats_cache.computations == 2

    found = next_assignment(state.store, "dan", 3)  # an edit is a change too
    assert found is not None
    submit(state.store, found.assignment_id, "dan", Submission(1 if found.model_b else 2))
    assert "3 ratings of 30" in admin.get("/admin").text
    assert state.stats_cache.computations == 3
    submit(state.store, found.assignment_id, "dan", Submission(2 if found.model_b else 3))
    assert "3 ratings of 30" in admin.get("/admin").text
    assert state.stats_cache.computations == 4
