"""The annotation tables, kept in the run's own run.sqlite beside the model judges' verdicts.

Every connection uses WAL and synchronous=FULL: a rating is on disk before the server
answers, so neither a crash nor a power cut loses an acknowledged rating. All writes go
through one writer thread (``writer.GroupCommitWriter``) inside ``BEGIN IMMEDIATE``, so they
are serialised and the slot constraints below cannot be raced; reads use per-thread
connections and see only committed data (WAL).
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from onpar.annotate.items import Item
from onpar.annotate.slots import migrate
from onpar.annotate.writer import GroupCommitWriter

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS annotate_items (
    item_id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('pairwise', 'safety')),
    prompt_id TEXT NOT NULL, model_x TEXT NOT NULL, model_y TEXT NOT NULL DEFAULT '',
    turn INTEGER NOT NULL, category TEXT NOT NULL,
    position INTEGER NOT NULL, taken INTEGER NOT NULL DEFAULT 0,
    UNIQUE (kind, prompt_id, model_x, model_y)
);
CREATE INDEX IF NOT EXISTS annotate_items_by_fill ON annotate_items (taken, position);
CREATE TABLE IF NOT EXISTS annotate_raters (
    rater_id TEXT PRIMARY KEY, display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('rater', 'admin')), token_hash TEXT UNIQUE
);
CREATE TABLE IF NOT EXISTS annotate_sessions (
    session_hash TEXT PRIMARY KEY, rater_id TEXT NOT NULL REFERENCES annotate_raters,
    csrf_token TEXT NOT NULL, expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS annotate_login_failures (client TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS annotate_login_failures_by_client
    ON annotate_login_failures (client, at);
CREATE TABLE IF NOT EXISTS annotate_assignments (
    assignment_id TEXT PRIMARY KEY, item_id INTEGER NOT NULL REFERENCES annotate_items,
    rater_id TEXT NOT NULL REFERENCES annotate_raters,
    slot INTEGER, -- 0 .. per_item-1 while it counts; NULL once skipped (the slot is freed)
    a_is_x INTEGER NOT NULL, -- 1: model_x is shown as A (left); recorded per rater
    status TEXT NOT NULL CHECK (status IN ('open', 'rated', 'skipped')),
    seq INTEGER NOT NULL, -- claim order, for 'previous item' and stable listings
    claimed_at REAL NOT NULL DEFAULT 0, -- when the slot was (re)taken; see slots.py
    UNIQUE (item_id, rater_id), UNIQUE (item_id, slot)
);
CREATE INDEX IF NOT EXISTS annotate_assignments_by_rater
    ON annotate_assignments (rater_id, status, seq);
CREATE TABLE IF NOT EXISTS annotate_ratings (
    assignment_id TEXT PRIMARY KEY REFERENCES annotate_assignments,
    score INTEGER NOT NULL, unsafe INTEGER NOT NULL, comment TEXT NOT NULL,
    revision INTEGER NOT NULL, rated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS annotate_rating_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, assignment_id TEXT NOT NULL,
    score INTEGER, skipped INTEGER NOT NULL, unsafe INTEGER NOT NULL, comment TEXT NOT NULL,
    at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class StoredItem:
    """An item with its row id, as the assignment logic sees it."""

    item_id: int
    item: Item


class AnnotationStore:
    """Per-thread read connections and one group-committing writer, all on run.sqlite."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.db.executescript(_SCHEMA)
        migrate(self.db)
        self._writer = GroupCommitWriter(self._connect)

    def _connect(self) -> sqlite3.Connection:
        # closed by close() from whichever thread shuts down, hence check_same_thread=False
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        return db

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's read connection (sqlite3 connections must not cross threads)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            self._local.db = db
            with self._lock:
                self._opened.append(db)
        return db

    def write(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``operation(db)`` in a write transaction; returns once it is on disk."""
        return self._writer.run(operation)

    async def write_async(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """``write`` for async request handlers."""
        return await self._writer.run_async(operation)

    def close(self) -> None:
        self._writer.close()
        with self._lock:
            for db in self._opened:
                db.close()
            self._opened.clear()
        self._local = threading.local()

    # -- items ------------------------------------------------------------------------------
    def add_items(self, items: Iterable[Item], seed: int = 0) -> int:
        """Insert items not stored yet, in a shuffled order; returns how many were new."""
        items = list(items)
        order = list(range(len(items)))
        random.Random(seed).shuffle(order)

        def insert(db: sqlite3.Connection) -> int:
            base = db.execute("SELECT COALESCE(MAX(position), 0) FROM annotate_items").fetchone()[0]
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO annotate_items (kind, prompt_id, model_x, model_y, turn,"
                " category, position) VALUES (?,?,?,?,?,?,?)",
                [
                    (i.kind, i.prompt_id, i.model_x, i.model_y or "", i.turn, i.category, base + p)
                    for i, p in zip(items, order, strict=True)
                ],
            )
            return db.total_changes - before

        return self.write(insert)

    def items(self) -> list[StoredItem]:
        rows = self.db.execute(
            "SELECT item_id, kind, prompt_id, model_x, model_y, turn, category"
            " FROM annotate_items ORDER BY item_id"
        )
        return [stored_item(row) for row in rows]

    # -- raters -----------------------------------------------------------------------------
    def put_rater(self, rater_id: str, display_name: str, role: str) -> None:
        """Add a rater or admin (idempotent); an existing token stays valid."""
        self.write(
            lambda db: db.execute(
                "INSERT INTO annotate_raters (rater_id, display_name, role) VALUES (?,?,?)"
                " ON CONFLICT (rater_id) DO UPDATE SET display_name = excluded.display_name",
                (rater_id, display_name, role),
            )
        )

    def has_token(self, rater_id: str) -> bool:
        row = self.db.execute(
            "SELECT token_hash IS NOT NULL FROM annotate_raters WHERE rater_id = ?", (rater_id,)
        ).fetchone()
        return bool(row and row[0])

    def set_token_hash(self, rater_id: str, token_hash: str) -> None:
        """A new login token; the old one and every session of this rater stop working."""

        def replace(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE annotate_raters SET token_hash = ? WHERE rater_id = ?",
                (token_hash, rater_id),
            )
            db.execute("DELETE FROM annotate_sessions WHERE rater_id = ?", (rater_id,))

        self.write(replace)

    def raters(self) -> list[tuple[str, str]]:
        """(rater_id, display_name) of every rater (admins excluded), in id order."""
        rows = self.db.execute(
            "SELECT rater_id, display_name FROM annotate_raters WHERE role = 'rater'"
            " ORDER BY rater_id"
        )
        return [(r[0], r[1]) for r in rows]


def stored_item(row: tuple) -> StoredItem:
    """(item_id, kind, prompt_id, model_x, model_y, turn, category) → StoredItem."""
    item_id, kind, prompt_id, model_x, model_y, turn, category = row
    return StoredItem(item_id, Item(kind, prompt_id, model_x, model_y or None, turn, category))
