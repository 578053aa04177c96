"""LocalExecutor: API batches overlap (no idle slots while a batch commits) within the limit."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from onpar.config.schema import OpenAIModelSpec
from onpar.engine.executors import LocalExecutor
from onpar.models.base import ChatModel
from onpar.models.registry import ModelPool
from onpar.records import ChatRequest, ChatResult, GenerationParams, Message
from tests.models.openai_server import FakeOpenAIServer


def _spec(server: FakeOpenAIServer, concurrency: int) -> OpenAIModelSpec:
    return OpenAIModelSpec(
        provider="openai",
        model="m",
        base_url=server.base_url,
        concurrency=concurrency,
        batch_size=4,
        max_retries=0,
    )


def _ask(text: str) -> ChatRequest:
    return ChatRequest(messages=(Message(role="user", content=text),), params=GenerationParams())


def _generate(model: ChatModel, payload: Sequence[ChatRequest]) -> list[ChatResult]:
    return model.generate(payload)


def test_api_batches_overlap_but_never_exceed_the_concurrency(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.latency_s = 0.05
    pool = ModelPool()
    try:
        spec = _spec(openai_server, concurrency=3)
        jobs = [(b, [_ask(f"batch {b} item {i}") for i in range(4)]) for b in range(5)]
        done = list(LocalExecutor(pool).map(spec, _generate, jobs))
    finally:
        pool.close()
    assert [tag for tag, _ in done] == list(range(5))  # results in input order
    for b, results in done:
        assert [r.text for r in results] == [
            f"echo: batch {b} item {i} (system: 0 chars)" for i in range(4)
        ]
    # With one batch at a time a 4-request batch leaves slots idle at its end (max 3 anyway);
    # overlapping must not lift the per-model limit.
    assert openai_server.max_in_flight == 3
    assert len(openai_server.requests) == 20


def test_batches_sent_before_a_refused_job_are_yielded_first(
    openai_server: FakeOpenAIServer,
) -> None:
    class Refused(Exception):
        pass

    def jobs():
        yield 0, [_ask("a")]
        yield 1, [_ask("b")]
        raise Refused("budget")

    pool = ModelPool()
    try:
        seen = []
        with pytest.raises(Refused):
            for tag, results in LocalExecutor(pool).map(_spec(openai_server, 2), _generate, jobs()):
                seen.append((tag, [r.text for r in results]))
    finally:
        pool.close()
    assert seen == [(0, ["echo: a (system: 0 chars)"]), (1, ["echo: b (system: 0 chars)"])]
