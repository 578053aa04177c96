"""Judgments keep their token usage; stores written before that column existed gain it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from onpar.records import Judgment, Usage
from onpar.store.run_store import RunStore

OLD_JUDGMENTS = """
CREATE TABLE judgments (
    judge TEXT NOT NULL, prompt_id TEXT NOT NULL, model_x TEXT NOT NULL, model_y TEXT NOT NULL,
    ord TEXT NOT NULL, request_key TEXT NOT NULL, score INTEGER, option_probs TEXT, raw TEXT,
    error TEXT, created_at TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (judge, prompt_id, model_x, model_y, ord)
);
INSERT INTO judgments (judge, prompt_id, model_x, model_y, ord, request_key, score)
VALUES ('j', 'p1', 'x', 'y', 'xy', 'k-old', 3);
"""


def judgment(prompt_id: str, usage: Usage, cached: bool = False) -> Judgment:
    return Judgment(
        judge="j",
        prompt_id=prompt_id,
        model_x="x",
        model_y="y",
        order="xy",
        score=2,
        usage=usage,
        cached=cached,
    )


def test_usage_and_cached_round_trip(tmp_path: Path) -> None:
    with RunStore(tmp_path / "run.sqlite") as store:
        store.put_judgments(
            [("k", judgment("p", Usage(prompt_tokens=120, completion_tokens=7), True))]
        )
        [(key, back)] = store.judgments()
    assert key == "k" and back.usage == Usage(prompt_tokens=120, completion_tokens=7)
    assert back.cached


def test_an_older_store_gains_the_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    db = sqlite3.connect(path)
    db.executescript(OLD_JUDGMENTS)
    db.close()
    with RunStore(path) as store:
        [(key, old)] = store.judgments()
        assert (key, old.score, old.usage, old.cached) == ("k-old", 3, Usage(), False)
        store.put_judgments([("k2", judgment("p2", Usage(prompt_tokens=5, completion_tokens=1)))])
        assert [j.usage.prompt_tokens for _, j in store.judgments()] == [0, 5]
