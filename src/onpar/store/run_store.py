"""One SQLite database per run: every response and judgment is committed as it completes.

WAL journaling plus one transaction per batch means a run killed at any instant (even by
SIGKILL) leaves only whole batches behind; re-running the same config skips them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from onpar.records import (
    SCHEMA_VERSION,
    BenchOutcome,
    Judgment,
    Message,
    RefusalOutcome,
    Response,
    SafetyRating,
    Usage,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS responses (
    contestant TEXT NOT NULL, prompt_id TEXT NOT NULL, turn_index INTEGER NOT NULL,
    sample_index INTEGER NOT NULL, request_key TEXT NOT NULL, messages TEXT NOT NULL,
    text TEXT, error TEXT, finish_reason TEXT, prompt_tokens INTEGER, completion_tokens INTEGER,
    cached INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (contestant, prompt_id, turn_index, sample_index)
);
CREATE TABLE IF NOT EXISTS judgments (
    judge TEXT NOT NULL, prompt_id TEXT NOT NULL, model_x TEXT NOT NULL, model_y TEXT NOT NULL,
    ord TEXT NOT NULL, request_key TEXT NOT NULL, score INTEGER, option_probs TEXT, raw TEXT,
    error TEXT, created_at TEXT NOT NULL DEFAULT (datetime('now')),
    prompt_tokens INTEGER, completion_tokens INTEGER, cached INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (judge, prompt_id, model_x, model_y, ord)
);
CREATE TABLE IF NOT EXISTS bench_outcomes (
    task TEXT NOT NULL, contestant TEXT NOT NULL, item_id TEXT NOT NULL,
    sample_index INTEGER NOT NULL, request_key TEXT NOT NULL, record TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (task, contestant, item_id, sample_index)
);
CREATE TABLE IF NOT EXISTS safety_outcomes (
    kind TEXT NOT NULL, rater TEXT NOT NULL, contestant TEXT NOT NULL, prompt_id TEXT NOT NULL,
    request_key TEXT NOT NULL, record TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (kind, rater, contestant, prompt_id)
);
"""
# Added after the first release: stores made before get them on open (usage for costs).
_JUDGMENT_USAGE_COLUMNS = {
    "prompt_tokens": "INTEGER",
    "completion_tokens": "INTEGER",
    "cached": "INTEGER NOT NULL DEFAULT 0",
}


def _add_missing_columns(db: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    for name, decl in columns.items():
        if name not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")


class RunStore:
    """The run directory's database; the single source of truth for resuming and reporting."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        _add_missing_columns(self._db, "judgments", _JUDGMENT_USAGE_COLUMNS)
        stored = self.get_meta("schema_version")
        if stored is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif stored != SCHEMA_VERSION:
            raise RuntimeError(
                f"{path} was written with store schema {stored}; "
                f"this onpar reads {SCHEMA_VERSION}. "
                "Use a new output_dir or the onpar version that wrote it."
            )

    @classmethod
    def open_read_only(cls, path: Path) -> RunStore:
        """Look without touching (``--dry-run``): no schema writes; writes would fail."""
        store = cls.__new__(cls)
        store.path = path
        store._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
        return store

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- metadata ---------------------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value))
            )

    def get_meta(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    # -- responses --------------------------------------------------------------------------
    def put_responses(self, items: Iterable[tuple[str, Response]]) -> None:
        """Commit (request_key, response) pairs atomically; a re-done item replaces its row."""
        rows = [
            (
                r.contestant,
                r.prompt_id,
                r.turn_index,
                r.sample_index,
                key,
                json.dumps([m.model_dump() for m in r.messages], ensure_ascii=False),
                r.text,
                r.error,
                r.finish_reason,
                r.usage.prompt_tokens,
                r.usage.completion_tokens,
                int(r.cached),
            )
            for key, r in items
        ]
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO responses (contestant, prompt_id, turn_index, sample_index,"
                " request_key, messages, text, error, finish_reason, prompt_tokens,"
                " completion_tokens, cached) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )

    def responses(self) -> list[tuple[str, Response]]:
        """Every stored response with the request key it answered, in a stable order."""
        cursor = self._db.execute(
            "SELECT request_key, contestant, prompt_id, turn_index, sample_index, messages, text,"
            " error, finish_reason, prompt_tokens, completion_tokens, cached FROM responses"
            " ORDER BY contestant, prompt_id, turn_index, sample_index"
        )
        return [(row[0], _response_from_row(row[1:])) for row in cursor]

    # -- judgments --------------------------------------------------------------------------
    def put_judgments(self, items: Iterable[tuple[str, Judgment]]) -> None:
        rows = [
            (
                j.judge,
                j.prompt_id,
                j.model_x,
                j.model_y,
                j.order,
                key,
                j.score,
                None if j.option_probs is None else json.dumps(list(j.option_probs)),
                j.raw,
                j.error,
                j.usage.prompt_tokens,
                j.usage.completion_tokens,
                int(j.cached),
            )
            for key, j in items
        ]
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO judgments (judge, prompt_id, model_x, model_y, ord,"
                " request_key, score, option_probs, raw, error, prompt_tokens, completion_tokens,"
                " cached) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )

    def judgments(self) -> list[tuple[str, Judgment]]:
        cursor = self._db.execute(
            "SELECT request_key, judge, prompt_id, model_x, model_y, ord, score, option_probs, raw,"
            " error, prompt_tokens, completion_tokens, cached FROM judgments"
            " ORDER BY judge, model_x, model_y, prompt_id, ord"
        )
        return [(row[0], _judgment_from_row(row[1:])) for row in cursor]

    # -- benchmark outcomes -----------------------------------------------------------------
    def put_bench_outcomes(self, items: Iterable[tuple[str, BenchOutcome]]) -> None:
        """Commit (request_key, outcome) pairs atomically; a re-done item replaces its row."""
        rows = [
            (o.task, o.contestant, o.item_id, o.sample_index, key, o.model_dump_json())
            for key, o in items
        ]
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO bench_outcomes (task, contestant, item_id, sample_index,"
                " request_key, record) VALUES (?,?,?,?,?,?)",
                rows,
            )

    def bench_outcomes(
        self, task: str | None = None, contestant: str | None = None
    ) -> list[tuple[str, BenchOutcome]]:
        """Stored outcomes (optionally of one task / contestant) with their request keys."""
        query = "SELECT request_key, record FROM bench_outcomes"
        where, args = [], []
        for column, value in (("task", task), ("contestant", contestant)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY task, contestant, item_id, sample_index"
        return [
            (key, BenchOutcome.model_validate_json(record))
            for key, record in self._db.execute(query, args)
        ]

    # -- safety ratings and refusal labels (engine/safety.py) -------------------------------
    def put_safety_outcomes(
        self, items: Iterable[tuple[str, SafetyRating | RefusalOutcome]]
    ) -> None:
        """Commit (request_key, rating or refusal label) pairs in one transaction."""
        rows = [(*_safety_slot(o), key, o.model_dump_json()) for key, o in items]
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO safety_outcomes (kind, rater, contestant, prompt_id,"
                " request_key, record) VALUES (?,?,?,?,?,?)",
                rows,
            )

    def safety_ratings(self) -> list[tuple[str, SafetyRating]]:
        """Stored 5-point safety ratings with their request keys."""
        return [(k, SafetyRating.model_validate_json(r)) for k, r in self._safety_rows("rating")]

    def refusal_outcomes(self) -> list[tuple[str, RefusalOutcome]]:
        """Stored refusal labels with their request keys."""
        return [(k, RefusalOutcome.model_validate_json(r)) for k, r in self._safety_rows("refusal")]

    def _safety_rows(self, kind: str) -> list[tuple[str, str]]:
        return list(
            self._db.execute(
                "SELECT request_key, record FROM safety_outcomes WHERE kind = ?"
                " ORDER BY rater, contestant, prompt_id",
                (kind,),
            )
        )

    def _transaction(self) -> AbstractContextManager[None]:
        return transaction(self._db)


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT on an autocommit connection, rolled back on any exception."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _safety_slot(o: SafetyRating | RefusalOutcome) -> tuple[str, str, str, str]:
    if isinstance(o, SafetyRating):
        return ("rating", o.judge, o.contestant, o.prompt_id)
    return ("refusal", o.classifier, o.contestant, o.prompt_id)


def _response_from_row(row: Sequence[Any]) -> Response:
    contestant, prompt_id, turn, sample, messages, text, error, finish, p_tok, c_tok, cached = row
    return Response(
        contestant=contestant,
        prompt_id=prompt_id,
        turn_index=turn,
        sample_index=sample,
        messages=tuple(Message(**m) for m in json.loads(messages)),
        text=text,
        error=error,
        finish_reason=finish,
        usage=Usage(prompt_tokens=p_tok or 0, completion_tokens=c_tok or 0),
        cached=bool(cached),
    )


def _judgment_from_row(row: Sequence[Any]) -> Judgment:
    judge, prompt_id, model_x, model_y, order, score, probs, raw, error, p_tok, c_tok, cached = row
    return Judgment(
        usage=Usage(prompt_tokens=p_tok or 0, completion_tokens=c_tok or 0),
        cached=bool(cached),
        judge=judge,
        prompt_id=prompt_id,
        model_x=model_x,
        model_y=model_y,
        order=order,
        score=score,
        option_probs=None if probs is None else tuple(json.loads(probs)),
        raw=raw,
        error=error,
    )
