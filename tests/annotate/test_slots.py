"""Abandoned slots go back to the pool after the timeout, under a clock the test moves."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onpar.annotate.assignments import (
    AssignmentError,
    Submission,
    next_assignment,
    rated_assignments,
    submit,
)
from onpar.annotate.cli import annotate_app
from onpar.annotate.items import Item
from onpar.annotate.slots import SlotClock
from onpar.annotate.store import AnnotationStore
from tests.annotate.runs import X, Y, make_run

MINUTE = 60.0


class Clock:
    """A clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t

    def at(self, minutes: float) -> Clock:
        self.t = 1_000_000.0 + minutes * MINUTE
        return self


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path):
    """A store with ONE pairwise item, so every claim competes for the same slots."""
    run_dir = make_run(tmp_path / "run")
    annotation = AnnotationStore(run_dir / "run.sqlite")
    annotation.add_items([Item("pairwise", "p1", X, Y, 0, "writing")])
    for rater in ("ann", "bob", "cat"):
        annotation.put_rater(rater, rater, "rater")
    yield annotation
    annotation.close()


def _slots(store: AnnotationStore) -> tuple[int, list[str]]:
    """(annotate_items.taken, raters holding a slot): the two must always agree."""
    (taken,) = store.db.execute("SELECT taken FROM annotate_items").fetchone()
    holders = [
        r
        for (r,) in store.db.execute(
            "SELECT rater_id FROM annotate_assignments WHERE slot IS NOT NULL ORDER BY slot"
        )
    ]
    assert taken == len(holders)
    return taken, holders


def test_abandoned_slot_returns_to_the_pool_after_the_timeout(
    store: AnnotationStore, clock: Clock
) -> None:
    slots = SlotClock(timeout_s=30 * MINUTE, now=clock)
    ann = next_assignment(store, "ann", 2, slots)
    assert ann is not None
    clock.at(20)
    bob = next_assignment(store, "bob", 2, slots)
    assert bob is not None
    assert next_assignment(store, "cat", 2, slots) is None  # full: ann and bob hold it
    clock.at(29.9)
    assert next_assignment(store, "cat", 2, slots) is None  # not yet: 29.9 minutes
    clock.at(31)
    cat = next_assignment(store, "cat", 2, slots)  # ann's claim (minute 0) has expired
    assert cat is not None and cat.item_id == ann.item_id
    assert _slots(store) == (2, ["cat", "bob"])  # never more than per_item at once

    assert next_assignment(store, "ann", 2, slots) is None  # ann is back: item is full
    with pytest.raises(AssignmentError, match=r"given to another rater|skipped"):
        submit(store, ann.assignment_id, "ann", Submission(3), per_item=2, clock=slots)

    clock.at(45)  # bob (claimed at minute 20) has not timed out yet; both answers count
    submit(store, bob.assignment_id, "bob", Submission(2), per_item=2, clock=slots)
    submit(store, cat.assignment_id, "cat", Submission(6), per_item=2, clock=slots)
    assert sorted(a.rater_id for a in rated_assignments(store.db)) == ["bob", "cat"]
    assert _slots(store) == (2, ["cat", "bob"])


def test_late_answer_counts_when_a_slot_is_still_free(store: AnnotationStore, clock: Clock) -> None:
    slots = SlotClock(timeout_s=30 * MINUTE, now=clock)
    ann = next_assignment(store, "ann", 2, slots)
    clock.at(40)
    bob = next_assignment(store, "bob", 2, slots)  # releases ann's slot, takes one
    assert ann is not None and bob is not None
    assert _slots(store) == (1, ["bob"])
    clock.at(41)
    submit(store, ann.assignment_id, "ann", Submission(1), per_item=2, clock=slots)
    assert _slots(store) == (2, ["bob", "ann"])
    assert [a.rater_id for a in rated_assignments(store.db)] == ["ann"]


def test_ratings_never_expire_and_a_released_skip_frees_nothing_twice(
    store: AnnotationStore, clock: Clock
) -> None:
    slots = SlotClock(timeout_s=30 * MINUTE, now=clock)
    ann = next_assignment(store, "ann", 2, slots)
    assert ann is not None
    submit(store, ann.assignment_id, "ann", Submission(5), per_item=2, clock=slots)
    bob = next_assignment(store, "bob", 2, slots)
    assert bob is not None
    clock.at(500)
    cat = next_assignment(store, "cat", 2, slots)  # bob's slot expired; ann's rating stays
    assert cat is not None
    assert _slots(store) == (2, ["ann", "cat"])
    submit(store, bob.assignment_id, "bob", Submission(None), per_item=2, clock=slots)  # skip
    assert _slots(store) == (2, ["ann", "cat"])  # the skip did not free cat's slot
    assert [(a.rater_id, a.current.score) for a in rated_assignments(store.db)] == [("ann", 5)]


def test_a_store_from_before_slot_expiry_is_migrated(tmp_path: Path, clock: Clock) -> None:
    run_dir = make_run(tmp_path / "run")
    db = sqlite3.connect(run_dir / "run.sqlite")
    db.executescript(
        "CREATE TABLE annotate_assignments (assignment_id TEXT PRIMARY KEY,"
        " item_id INTEGER NOT NULL, rater_id TEXT NOT NULL, slot INTEGER,"
        " a_is_x INTEGER NOT NULL, status TEXT NOT NULL, seq INTEGER NOT NULL,"
        " UNIQUE (item_id, rater_id), UNIQUE (item_id, slot));"
    )
    db.close()
    store = AnnotationStore(run_dir / "run.sqlite")
    try:
        columns = {r[1] for r in store.db.execute("PRAGMA table_info(annotate_assignments)")}
        assert "claimed_at" in columns
        store.add_items([Item("pairwise", "p1", X, Y, 0, "writing")])
        store.put_rater("ann", "ann", "rater")
        assert next_assignment(store, "ann", 1, SlotClock(now=clock)) is not None
    finally:
        store.close()


def test_serve_documents_the_slot_timeout() -> None:
    result = CliRunner().invoke(annotate_app, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "--slot-timeout" in result.output
