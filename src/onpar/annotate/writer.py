"""Group commit: one writer thread runs every write, many requests per fsync'd transaction.

With synchronous=FULL each COMMIT waits for the disk (milliseconds on a busy disk), so one
transaction per request would cap throughput at a few hundred writes per second. Here
requests queue their operation; the writer runs all queued operations in one
``BEGIN IMMEDIATE`` transaction, each inside its own SAVEPOINT (one failing operation rolls
back only itself), commits once, and only then answers every caller. Nothing is
acknowledged before it is on disk, and writes never wait on SQLite's busy handler.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from onpar.store.run_store import transaction

T = TypeVar("T")
Operation = Callable[[sqlite3.Connection], Any]
_MAX_BATCH = 256


class GroupCommitWriter:
    """Runs write operations on its own connection; ``run`` returns once they are durable."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._queue: queue.SimpleQueue[tuple[Operation, Future] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="annotate-writer", daemon=True)
        self._thread.start()

    def run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``operation(db)`` inside a write transaction; its result or its exception."""
        future: Future = Future()
        self._queue.put((operation, future))
        return future.result()

    async def run_async(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """``run`` for an event loop: awaits the commit instead of blocking the loop."""
        future: Future = Future()
        self._queue.put((operation, future))
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        db = self._connect()
        try:
            while (first := self._queue.get()) is not None:
                batch = [first]
                while len(batch) < _MAX_BATCH:
                    try:
                        queued = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if queued is None:
                        self._queue.put(None)  # finish this batch, then stop
                        break
                    batch.append(queued)
                _commit(db, batch)
        finally:
            db.close()


def _commit(db: sqlite3.Connection, batch: list[tuple[Operation, Future]]) -> None:
    """One transaction for the batch; answers go out only after COMMIT returned."""
    outcomes: list[tuple[Future, Any, BaseException | None]] = []
    try:
        with transaction(db):
            for operation, future in batch:
                outcomes.append((future, *_in_savepoint(db, operation)))
    except BaseException as exc:  # the COMMIT itself failed: nothing in the batch is saved
        for _, future in batch:
            future.set_exception(exc)
        return
    for future, value, error in outcomes:
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)


def _in_savepoint(db: sqlite3.Connection, operation: Operation) -> tuple[Any, Exception | None]:
    db.execute("SAVEPOINT operation")
    try:
        value = operation(db)
    except Exception as exc:
        db.execute("ROLLBACK TO operation")
        db.execute("RELEASE operation")
        return None, exc
    db.execute("RELEASE operation")
    return value, None
