"""A cross-run cache of model outputs, so runs that share a contestant or judge reuse its work.

Keys hash everything that determines an output: the backend's identity (provider, model,
file hash), sampling parameters, the exact messages and the sample index. Only successful
outputs are cached; failures are always retried.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from onpar.store.run_store import transaction


def request_key(*parts: Any) -> str:
    """A stable SHA-256 over JSON-serialisable parts (pydantic models are dumped first)."""
    payload = json.dumps([_plain(p) for p in parts], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def default_cache_path() -> Path:
    root = os.environ.get("ONPAR_CACHE_DIR")
    base = Path(root) if root else Path.home() / ".cache" / "onpar"
    return base / "cache.sqlite"


class OutputCache:
    """key → JSON value, in one SQLite file shared by runs (safe for concurrent readers)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outputs (key TEXT PRIMARY KEY, value TEXT NOT NULL,"
            " created_at TEXT NOT NULL DEFAULT (datetime('now')))"
        )

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, value in self._db.execute(
                f"SELECT key, value FROM outputs WHERE key IN ({marks})", chunk
            ):
                found[key] = json.loads(value)
        return found

    def put_many(self, items: dict[str, Any]) -> None:
        if not items:
            return
        with transaction(self._db):
            self._db.executemany(
                "INSERT OR REPLACE INTO outputs (key, value) VALUES (?, ?)",
                [(k, json.dumps(v, ensure_ascii=False)) for k, v in items.items()],
            )

    def close(self) -> None:
        self._db.close()


class NullCache(OutputCache):
    """The cache switched off: finds nothing, keeps nothing."""

    def __init__(self) -> None:  # no database at all
        pass

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        return {}

    def put_many(self, items: dict[str, Any]) -> None:
        return None

    def close(self) -> None:
        return None
