"""Who rates what: claiming slots, recording ratings (with history) and counting progress.

An item has ``per_item`` slots. A rater claims one free slot of an item they have not had
yet, inside ``BEGIN IMMEDIATE``; ``UNIQUE (item_id, slot)`` and ``UNIQUE (item_id,
rater_id)`` make a double claim impossible even if two servers shared the file; all writes
go through the store's group-committing writer (``AnnotationStore.write``). A skip
frees its slot for another rater, and so does a claim left unanswered for the slot timeout
(``slots.py``). Items already partly rated are offered first, so complete triples (and
with them reliability figures) arrive early.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from typing import Literal

from onpar.annotate.items import Item
from onpar.annotate.slots import DEFAULT_CLOCK, SlotClock, free_slot, release_abandoned, retake
from onpar.annotate.store import AnnotationStore, StoredItem, stored_item

Status = Literal["open", "rated", "skipped"]
_ITEM_COLUMNS = "i.item_id, i.kind, i.prompt_id, i.model_x, i.model_y, i.turn, i.category"
_ASSIGNMENT_SELECT = (
    f"SELECT a.assignment_id, a.rater_id, a.a_is_x, a.status, a.seq, {_ITEM_COLUMNS},"
    " r.score, r.unsafe, r.comment FROM annotate_assignments a"
    " JOIN annotate_items i ON i.item_id = a.item_id"
    " LEFT JOIN annotate_ratings r ON r.assignment_id = a.assignment_id"
)


@dataclass(frozen=True)
class Submission:
    """What a rater sent for one assignment: a score, or None for a skip."""

    score: int | None
    unsafe: bool = False
    comment: str = ""


@dataclass(frozen=True)
class Assignment:
    """One rater's copy of an item, with the left/right order that rater sees."""

    assignment_id: str
    rater_id: str
    item_id: int
    item: Item
    a_is_x: bool
    status: Status
    seq: int
    current: Submission | None  # the latest rating, for edits

    @property
    def model_a(self) -> str:
        """Contestant shown as A (left); the safety page shows model_x alone."""
        return self.item.model_x if self.a_is_x or self.item.model_y is None else self.item.model_y

    @property
    def model_b(self) -> str | None:
        if self.item.model_y is None:
            return None
        return self.item.model_y if self.a_is_x else self.item.model_x


@dataclass(frozen=True)
class Progress:
    """One rater's counts; ``available`` is what they could still claim right now."""

    rater_id: str
    rated: int
    skipped: int
    open: int
    available: int

    @property
    def total(self) -> int:
        return self.rated + self.open + self.available


class AssignmentError(Exception):
    """A submission the rules refuse (unknown assignment, skipped slot, bad score)."""


def _assignment(row: tuple) -> Assignment:
    assignment_id, rater_id, a_is_x, status, seq, *item_row, score, unsafe, comment = row
    stored: StoredItem = stored_item(tuple(item_row))
    current = None if score is None else Submission(score, bool(unsafe), comment)
    return Assignment(
        assignment_id, rater_id, stored.item_id, stored.item, bool(a_is_x), status, seq, current
    )


def get_assignment(db: sqlite3.Connection, assignment_id: str, rater_id: str) -> Assignment | None:
    """The assignment if it belongs to this rater; None otherwise (no hint that it exists)."""
    row = db.execute(
        _ASSIGNMENT_SELECT + " WHERE a.assignment_id = ? AND a.rater_id = ?",
        (assignment_id, rater_id),
    ).fetchone()
    return None if row is None else _assignment(row)


def previous_assignment(db: sqlite3.Connection, rater_id: str, before_seq: int) -> str | None:
    """The rater's last rated assignment before ``before_seq``, for the 'previous' link."""
    row = db.execute(
        "SELECT assignment_id FROM annotate_assignments WHERE rater_id = ? AND status = 'rated'"
        " AND seq < ? ORDER BY seq DESC LIMIT 1",
        (rater_id, before_seq),
    ).fetchone()
    return None if row is None else row[0]


def next_assignment(
    store: AnnotationStore, rater_id: str, per_item: int, clock: SlotClock = DEFAULT_CLOCK
) -> Assignment | None:
    """The rater's open assignment, or a newly claimed slot; None when nothing is left."""
    assignment_id = store.write(lambda db: open_or_claim(db, rater_id, per_item, clock))
    return None if assignment_id is None else get_assignment(store.db, assignment_id, rater_id)


def submit(
    store: AnnotationStore,
    assignment_id: str,
    rater_id: str,
    submission: Submission,
    per_item: int | None = None,
    clock: SlotClock = DEFAULT_CLOCK,
) -> Assignment:
    """Record a rating or skip; a second rating of the same assignment is an edit (history kept).

    Raises AssignmentError if the assignment is not this rater's, the score is off the item's
    scale, or the item was skipped (its slot may now be someone else's). A late answer to a
    claim whose slot expired is taken if a slot of the item is still free (needs per_item).
    """
    return store.write(lambda db: record(db, assignment_id, rater_id, submission, per_item, clock))


def record_and_claim(
    db: sqlite3.Connection,
    assignment_id: str,
    rater_id: str,
    submission: Submission,
    per_item: int,
    clock: SlotClock = DEFAULT_CLOCK,
) -> str | None:
    """Inside a write transaction: ``record``, then ``open_or_claim`` (the next item's id)."""
    record(db, assignment_id, rater_id, submission, per_item, clock)
    return open_or_claim(db, rater_id, per_item, clock)


def open_or_claim(
    db: sqlite3.Connection, rater_id: str, per_item: int, clock: SlotClock = DEFAULT_CLOCK
) -> str | None:
    """Inside a write transaction: the open assignment's id, else a new claim's, else None.

    Claims unanswered for ``clock.timeout_s`` are released first (see ``slots``); the
    rater's own released claim is taken up again if its item still has a free slot.
    """
    now = clock.now()
    release_abandoned(db, now - clock.timeout_s)
    while (row := _open_assignment(db, rater_id)) is not None:
        assignment_id, item_id, slot = row
        if slot is not None or retake(db, assignment_id, item_id, per_item, now):
            return assignment_id
    return _claim(db, rater_id, per_item, now)


def _open_assignment(db: sqlite3.Connection, rater_id: str) -> tuple[str, int, int | None] | None:
    return db.execute(
        "SELECT assignment_id, item_id, slot FROM annotate_assignments"
        " WHERE rater_id = ? AND status = 'open' ORDER BY seq LIMIT 1",
        (rater_id,),
    ).fetchone()


def _claim(db: sqlite3.Connection, rater_id: str, per_item: int, now: float) -> str | None:
    """Take the lowest free slot of the fullest item this rater has not had (caller's txn).

    Walks items fullest first and stops at the first one this rater has not had (probing
    ``UNIQUE (item_id, rater_id)``), instead of listing all of the rater's items each time.
    """
    row = db.execute(
        "SELECT item_id FROM annotate_items i WHERE taken < ? AND NOT EXISTS"
        " (SELECT 1 FROM annotate_assignments a WHERE a.item_id = i.item_id AND a.rater_id = ?)"
        " ORDER BY taken DESC, position DESC LIMIT 1",
        (per_item, rater_id),
    ).fetchone()
    if row is None:
        return None
    item_id = row[0]
    slot = free_slot(db, item_id, per_item)
    if slot is None:  # taken < per_item said otherwise: the counter is wrong, refuse loudly
        raise RuntimeError(f"annotate_items.taken of item {item_id} disagrees with its slots")
    seq = db.execute(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM annotate_assignments WHERE rater_id = ?",
        (rater_id,),
    ).fetchone()[0]
    assignment_id = secrets.token_urlsafe(12)
    db.execute(
        "INSERT INTO annotate_assignments (assignment_id, item_id, rater_id, slot, a_is_x,"
        " status, seq, claimed_at) VALUES (?,?,?,?,?, 'open', ?, ?)",
        (assignment_id, item_id, rater_id, slot, secrets.randbelow(2), seq, now),
    )
    db.execute("UPDATE annotate_items SET taken = taken + 1 WHERE item_id = ?", (item_id,))
    return assignment_id


def record(
    db: sqlite3.Connection,
    assignment_id: str,
    rater_id: str,
    submission: Submission,
    per_item: int | None = None,
    clock: SlotClock = DEFAULT_CLOCK,
) -> Assignment:
    """Inside a write transaction: check and store one submission (see ``submit``)."""
    found = get_assignment(db, assignment_id, rater_id)
    if found is None:
        raise AssignmentError("no such assignment")
    _check(found, submission)
    now = clock.now()
    if found.status == "open" and submission.score is not None:
        _hold_slot(db, found, per_item, now)
    db.execute(
        "INSERT INTO annotate_rating_history (assignment_id, score, skipped, unsafe, comment,"
        " at) VALUES (?,?,?,?,?,?)",
        (
            assignment_id,
            submission.score,
            submission.score is None,
            submission.unsafe,
            submission.comment,
            now,
        ),
    )
    if submission.score is None:
        _skip(db, found)
    else:
        _rate(db, found, submission, now)
    return found


def _hold_slot(db: sqlite3.Connection, found: Assignment, per_item: int | None, now: float) -> None:
    """A late answer whose slot expired counts only if it gets a free slot back."""
    (slot,) = db.execute(
        "SELECT slot FROM annotate_assignments WHERE assignment_id = ?", (found.assignment_id,)
    ).fetchone()
    if slot is not None:
        return
    if per_item is None or not retake(db, found.assignment_id, found.item_id, per_item, now):
        raise AssignmentError(
            "this item waited too long for an answer and was given to another rater"
        )


def _check(found: Assignment, submission: Submission) -> None:
    if found.status == "skipped":
        raise AssignmentError("this item was skipped and its place given to another rater")
    if submission.score is None and found.status == "rated":
        raise AssignmentError("a rated item cannot be skipped; change the rating instead")
    high = 7 if found.item.kind == "pairwise" else 5
    if submission.score is not None and not 1 <= submission.score <= high:
        raise AssignmentError(f"score must be 1 to {high}")


def _skip(db: sqlite3.Connection, found: Assignment) -> None:
    """Close the claim; free its slot unless the timeout already did (slots.py)."""
    (held,) = db.execute(
        "SELECT slot IS NOT NULL FROM annotate_assignments WHERE assignment_id = ?",
        (found.assignment_id,),
    ).fetchone()
    db.execute(
        "UPDATE annotate_assignments SET status = 'skipped', slot = NULL WHERE assignment_id = ?",
        (found.assignment_id,),
    )
    if held:
        db.execute(
            "UPDATE annotate_items SET taken = taken - 1 WHERE item_id = ?", (found.item_id,)
        )


def _rate(db: sqlite3.Connection, found: Assignment, submission: Submission, now: float) -> None:
    db.execute(
        "INSERT INTO annotate_ratings (assignment_id, score, unsafe, comment, revision, rated_at)"
        " VALUES (?,?,?,?,1,?) ON CONFLICT (assignment_id) DO UPDATE SET score = excluded.score,"
        " unsafe = excluded.unsafe, comment = excluded.comment, revision = revision + 1,"
        " rated_at = excluded.rated_at",
        (found.assignment_id, submission.score, submission.unsafe, submission.comment, now),
    )
    db.execute(
        "UPDATE annotate_assignments SET status = 'rated' WHERE assignment_id = ?",
        (found.assignment_id,),
    )


def rated_assignments(db: sqlite3.Connection) -> list[Assignment]:
    """Every rated assignment with its current rating, in a stable order (export, admin)."""
    rows = db.execute(_ASSIGNMENT_SELECT + " WHERE a.status = 'rated' ORDER BY i.item_id, a.slot")
    return [_assignment(row) for row in rows]


def progress(db: sqlite3.Connection, rater_id: str, per_item: int) -> Progress:
    """Counts for one rater's progress bar."""
    counts = dict(
        db.execute(
            "SELECT status, COUNT(*) FROM annotate_assignments WHERE rater_id = ? GROUP BY status",
            (rater_id,),
        ).fetchall()
    )
    # items with a free slot, minus those this rater already had (two index-only counts)
    available = db.execute(
        "SELECT (SELECT COUNT(*) FROM annotate_items WHERE taken < :p)"
        " - (SELECT COUNT(*) FROM annotate_assignments a JOIN annotate_items i"
        " ON i.item_id = a.item_id WHERE a.rater_id = :r AND i.taken < :p)",
        {"p": per_item, "r": rater_id},
    ).fetchone()[0]
    return Progress(
        rater_id,
        counts.get("rated", 0),
        counts.get("skipped", 0),
        counts.get("open", 0),
        available,
    )


def history_length(db: sqlite3.Connection, assignment_id: str) -> int:
    """How many submissions (ratings, edits, skips) an assignment has had."""
    return db.execute(
        "SELECT COUNT(*) FROM annotate_rating_history WHERE assignment_id = ?", (assignment_id,)
    ).fetchone()[0]
