"""The run store and the cross-run cache, on real SQLite files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from onpar.records import GenerationParams, Judgment, Message, Response, Usage
from onpar.store.cache import NullCache, OutputCache, request_key
from onpar.store.run_store import RunStore


def response(prompt_id: str, text: str | None = "hi", error: str | None = None) -> Response:
    return Response(
        contestant="a",
        prompt_id=prompt_id,
        turn_index=0,
        messages=(Message(role="user", content="q?"),),
        text=text,
        error=error,
        finish_reason="stop",
        usage=Usage(prompt_tokens=3, completion_tokens=1),
    )


def test_responses_round_trip_and_replace(tmp_path: Path) -> None:
    with RunStore(tmp_path / "run.sqlite") as store:
        store.put_responses(
            [("k1", response("p1", text=None, error="HTTP 500")), ("k2", response("p2"))]
        )
        store.put_responses(
            [("k1b", response("p1", text="fixed"))]
        )  # a retried item replaces its row
        rows = store.responses()
    assert [(k, r.prompt_id, r.text, r.error) for k, r in rows] == [
        ("k1b", "p1", "fixed", None),
        ("k2", "p2", "hi", None),
    ]
    assert rows[1][1] == response("p2")


def test_judgments_round_trip(tmp_path: Path) -> None:
    judgment = Judgment(
        judge="j",
        prompt_id="p",
        model_x="a",
        model_y="b",
        order="yx",
        score=2,
        option_probs=(0.1, 0.6, 0.1, 0.1, 0.05, 0.03, 0.02),
    )
    failed = Judgment(
        judge="j",
        prompt_id="p",
        model_x="a",
        model_y="b",
        order="xy",
        raw="??",
        error="unparseable",
    )
    with RunStore(tmp_path / "run.sqlite") as store:
        store.put_judgments([("k", judgment), ("k2", failed)])
        assert [j for _, j in store.judgments()] == [failed, judgment]


def test_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    with RunStore(tmp_path / "run.sqlite") as store:
        bad = [("k1", response("p1")), ("k2", "not a response")]
        with pytest.raises(AttributeError):
            store.put_responses(bad)  # type: ignore[arg-type]
        assert store.responses() == []


def test_meta_and_schema_version_guard(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    with RunStore(path) as store:
        store.set_meta("config", {"name": "x"})
        assert store.get_meta("config") == {"name": "x"}
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(RuntimeError, match="schema 999"):
        RunStore(path)


def test_request_key_is_stable_and_sensitive() -> None:
    params = GenerationParams(temperature=0.0)
    messages = (Message(role="user", content="hello"),)
    base = request_key({"model": "m"}, messages, params, 0)
    assert base == request_key({"model": "m"}, messages, params, 0)
    assert base != request_key({"model": "m2"}, messages, params, 0)
    assert base != request_key({"model": "m"}, messages, GenerationParams(temperature=0.1), 0)
    assert base != request_key({"model": "m"}, (Message(role="user", content="hello!"),), params, 0)
    assert base != request_key({"model": "m"}, messages, params, 1)


def test_output_cache_shared_between_connections(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "cache.sqlite"
    first, second = OutputCache(path), OutputCache(path)
    first.put_many({"a": {"text": "x"}, "b": [1, 2]})
    assert second.get_many(["a", "b", "c"]) == {"a": {"text": "x"}, "b": [1, 2]}
    first.close()
    second.close()
    assert NullCache().get_many(["a"]) == {}
