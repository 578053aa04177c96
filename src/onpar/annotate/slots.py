"""Abandoned slots: a claim nobody answers goes back to the pool after a timeout.

A rater who opens an item and walks away would otherwise hold one of its ``per_item``
slots forever. Every claim first releases open assignments older than the timeout (their
slot becomes free; the row stays, so the owner can come back). An owner who returns, or
whose late answer arrives, takes a free slot of the item again if there is one; if others
filled the item meanwhile, the assignment is closed and the rater moves on. Slots are only
ever taken through ``free_slot`` inside the writer's transaction, so ``UNIQUE (item_id,
slot)`` still bounds an item to ``per_item`` raters at once, and rated assignments are
never touched: an acknowledged rating is never lost.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: Default `--slot-timeout`: 30 minutes without an answer frees the slot.
DEFAULT_SLOT_TIMEOUT_S = 30 * 60.0


@dataclass(frozen=True)
class SlotClock:
    """How long a claim may wait for its answer, and the clock (tests pass their own)."""

    timeout_s: float = DEFAULT_SLOT_TIMEOUT_S
    now: Callable[[], float] = field(default=time.time)


DEFAULT_CLOCK = SlotClock()


def migrate(db: sqlite3.Connection) -> None:
    """Give stores made before slot expiry a ``claimed_at`` column (open claims: now)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(annotate_assignments)")}
    if "claimed_at" not in columns:
        db.execute("ALTER TABLE annotate_assignments ADD COLUMN claimed_at REAL NOT NULL DEFAULT 0")
        db.execute("UPDATE annotate_assignments SET claimed_at = ?", (time.time(),))
    db.execute(
        "CREATE INDEX IF NOT EXISTS annotate_assignments_waiting ON annotate_assignments"
        " (claimed_at) WHERE status = 'open' AND slot IS NOT NULL"
    )


def release_abandoned(db: sqlite3.Connection, cutoff: float) -> int:
    """Inside a write transaction: free the slots of open claims made before ``cutoff``."""
    rows = db.execute(
        "SELECT assignment_id, item_id FROM annotate_assignments"
        " WHERE status = 'open' AND slot IS NOT NULL AND claimed_at < ?",
        (cutoff,),
    ).fetchall()
    if rows:
        db.executemany(
            "UPDATE annotate_assignments SET slot = NULL WHERE assignment_id = ?",
            [(assignment_id,) for assignment_id, _ in rows],
        )
        db.executemany(
            "UPDATE annotate_items SET taken = taken - 1 WHERE item_id = ?",
            [(item_id,) for _, item_id in rows],
        )
    return len(rows)


def free_slot(db: sqlite3.Connection, item_id: int, per_item: int) -> int | None:
    """The lowest slot of the item nobody holds, or None when all ``per_item`` are held."""
    used = {
        s
        for (s,) in db.execute(
            "SELECT slot FROM annotate_assignments WHERE item_id = ? AND slot IS NOT NULL",
            (item_id,),
        )
    }
    free = set(range(per_item)) - used
    return min(free) if free else None


def retake(
    db: sqlite3.Connection, assignment_id: str, item_id: int, per_item: int, now: float
) -> bool:
    """A released claim's owner is back: a free slot again (True), or the claim is closed."""
    slot = free_slot(db, item_id, per_item)
    if slot is None:
        db.execute(
            "UPDATE annotate_assignments SET status = 'skipped' WHERE assignment_id = ?",
            (assignment_id,),
        )
        return False
    db.execute(
        "UPDATE annotate_assignments SET slot = ?, claimed_at = ? WHERE assignment_id = ?",
        (slot, now, assignment_id),
    )
    db.execute("UPDATE annotate_items SET taken = taken + 1 WHERE item_id = ?", (item_id,))
    return True
