"""What the Anthropic and Google backends must both do, each against its own fake server.

Every test runs once per provider over real sockets; the provider-specific wire details are in
test_anthropic_chat.py and test_google_chat.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Iterator

import pytest

from onpar.models.base import ChatModel, LogprobsUnsupportedError
from onpar.records import ChatRequest, GenerationParams, Message
from tests.models.api_providers import ANTHROPIC, GOOGLE, KEY_ENV, Provider, ask, serve
from tests.models.api_server_base import FakeApiServer, Fault

SECRET = "sk-test-Zq81secretvalue"


@pytest.fixture(params=[ANTHROPIC, GOOGLE], ids=lambda p: p.name)
def provider(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Provider:
    chosen: Provider = request.param
    monkeypatch.delenv(KEY_ENV[chosen.name], raising=False)
    return chosen


@pytest.fixture
def server(provider: Provider) -> Iterator[FakeApiServer]:
    yield from serve(provider)


# success path ---------------------------------------------------------------------------------


def test_answer_usage_and_finish_reason(provider: Provider, server: FakeApiServer) -> None:
    [result] = provider.make(server).generate([ask("hello there", system="Be brief.")])
    assert result.ok, result.error
    assert result.text == "echo: hello there (system: 9 chars)"
    assert result.finish_reason == "stop"
    assert result.usage.prompt_tokens == 2
    assert result.usage.completion_tokens == 6


def test_token_limit_is_finish_reason_length(provider: Provider, server: FakeApiServer) -> None:
    [result] = provider.make(server).generate([ask("hi", system="sys", max_new_tokens=3)])
    assert result.text == "echo: hi (system:"
    assert result.finish_reason == "length"


def test_order_preserved_and_concurrency_limited(provider: Provider, server: FakeApiServer) -> None:
    # Earlier prompts answer more slowly, so completion order is the reverse of request order.
    server.latency_s = lambda text: 0.005 * (16 - int(text.split()[-1]))
    results = provider.make(server, concurrency=4).generate([ask(f"prompt {i}") for i in range(16)])
    assert [r.text for r in results] == [f"echo: prompt {i} (system: 0 chars)" for i in range(16)]
    assert len(server.requests) == 16
    assert 2 <= server.max_in_flight <= 4


def test_empty_batch_makes_no_calls(provider: Provider, server: FakeApiServer) -> None:
    assert provider.make(server).generate([]) == []
    assert server.requests == []


def test_generate_works_inside_a_running_event_loop(
    provider: Provider, server: FakeApiServer
) -> None:
    model = provider.make(server)

    async def caller() -> str | None:
        return model.generate([ask("from a loop")])[0].text

    assert asyncio.run(caller()) == "echo: from a loop (system: 0 chars)"


def test_consecutive_same_role_messages_are_merged(
    provider: Provider, server: FakeApiServer
) -> None:
    messages = (
        Message(role="system", content="S1"),
        Message(role="system", content="S2"),
        Message(role="user", content="part one"),
        Message(role="user", content="part two"),
    )
    model = provider.make(server)
    [result] = model.generate([ChatRequest(messages=messages, params=GenerationParams())])
    assert result.ok, result.error  # the fake, like the real API, rejects repeated roles
    assert result.text == "echo: part one\n\npart two (system: 6 chars)"
    assert "part one\\n\\npart two" in model.render(messages)


def test_system_message_mid_conversation_is_rejected_without_a_call(
    provider: Provider, server: FakeApiServer
) -> None:
    messages = (
        Message(role="user", content="hi"),
        Message(role="system", content="late"),
        Message(role="user", content="again"),
    )
    model = provider.make(server)
    [result] = model.generate([ChatRequest(messages=messages, params=GenerationParams())])
    assert result.error is not None
    assert "message 2 is a system message after the conversation started" in result.error
    assert "not retryable" in result.error
    assert server.requests == []
    assert "cannot be sent" in model.render(messages)


# faults ---------------------------------------------------------------------------------------

TRANSIENT = ["429", "500", "overloaded", "malformed", "truncated", "disconnect", "hang"]


def _fault(provider: Provider, name: str) -> Fault:
    return {
        "429": lambda: provider.rate_limited(None),
        "500": provider.server_error,
        "overloaded": provider.overloaded,
        "malformed": Fault.malformed,
        "truncated": Fault.truncated,
        "disconnect": Fault.disconnect,
        "hang": lambda: Fault.hang(10),
    }[name]()


@pytest.mark.parametrize("name", TRANSIENT)
def test_transient_fault_is_retried_then_succeeds(
    provider: Provider, server: FakeApiServer, name: str
) -> None:
    fault = _fault(provider, name)
    server.fail_next(fault, times=2)
    [result] = provider.make(server, timeout_s=0.3).generate([ask("again")])
    assert result.ok, result.error
    assert result.text == "echo: again (system: 0 chars)"
    assert [r.fault for r in server.requests] == [fault, fault, None]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("500", "HTTP 500"),
        ("overloaded", "overload"),
        ("malformed", "malformed response body"),
        ("truncated", "connection error"),
        ("hang", "timed out after 0.2s"),
    ],
)
def test_persistent_fault_becomes_error_and_others_succeed(
    provider: Provider, server: FakeApiServer, name: str, expected: str
) -> None:
    server.fail_when("BOOM", _fault(provider, name))
    model = provider.make(server, max_retries=2, timeout_s=0.2)
    results = model.generate([ask(p) for p in ["fine 0", "BOOM now", "fine 1"]])
    failed = results[1]
    assert failed.text is None and failed.error is not None
    assert expected in failed.error
    assert "gave up after 3 attempts" in failed.error
    assert len(server.requests_containing("BOOM")) == 3
    assert [results[0].text, results[2].text] == [
        "echo: fine 0 (system: 0 chars)",
        "echo: fine 1 (system: 0 chars)",
    ]


def test_retry_after_header_is_honoured(provider: Provider, server: FakeApiServer) -> None:
    server.fail_next(provider.rate_limited(1))
    [result] = provider.make(server).generate([ask("patience")])  # jitter alone is <= 0.05 s
    assert result.ok, result.error
    first, second = server.requests
    assert second.received_at - first.received_at >= 1.0


def test_backoff_is_exponential_full_jitter_and_capped(
    provider: Provider, server: FakeApiServer
) -> None:
    delays: list[float] = []

    async def record_sleep(seconds: float) -> None:
        delays.append(seconds)

    server.fail_next(provider.server_error(), times=5)
    server.fail_next(provider.rate_limited(7), times=1)
    spec = provider.spec(server, max_retries=6, backoff_initial_s=1.0, backoff_max_s=4.0)
    model = provider.model_class(spec, sleep=record_sleep, rng=random.Random(0))
    [result] = model.generate([ask("x")])
    assert result.ok, result.error
    assert len(delays) == 6
    assert all(0.0 <= d <= c for d, c in zip(delays, [1.0, 2.0, 4.0, 4.0, 4.0], strict=False))
    assert len(set(delays[:5])) == 5  # jittered, not constant
    assert delays[5] == 7.0  # Retry-After replaces the jitter


@pytest.mark.parametrize("status", [400, 403, 404])
def test_client_errors_are_not_retried(
    provider: Provider, server: FakeApiServer, status: int
) -> None:
    server.fail_when("bad", Fault.status_error(status, message="Nope, scripted."))
    [result] = provider.make(server).generate([ask("bad request")])
    assert result.error is not None
    assert result.error.startswith(f"HTTP {status}: ")
    assert result.error.endswith("Nope, scripted. (1 attempt; not retryable)")
    assert len(server.requests) == 1


# keys and secrets -----------------------------------------------------------------------------


def test_key_is_sent_but_never_leaks(
    provider: Provider,
    server: FakeApiServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # the SDKs' and httpx's debug logs too
    monkeypatch.setenv(KEY_ENV[provider.name], SECRET)
    model = provider.make(server, max_retries=1)
    server.fail_when("FAIL", provider.server_error())
    results = model.generate([ask("hello"), ask("FAIL")])
    assert results[0].ok
    assert server.sent_key(server.requests[0].headers) == SECRET
    server.require_key = "some-other-key"  # the server now rejects ours, echoing it back
    results += model.generate([ask("rejected")])
    assert results[2].error is not None and "HTTP 401" in results[2].error
    assert "***" in results[2].error  # the echoed key was there, and was redacted
    messages = [Message(role="user", content="hello")]
    visible = [str(r.error) for r in results]
    visible += [json.dumps(model.identity()), model.render(messages), repr(model)]
    visible += [record.getMessage() for record in caplog.records]
    assert any("retrying" in text for text in visible)
    assert all(SECRET not in text for text in visible)


def test_missing_key_for_remote_endpoint_names_the_variable(
    provider: Provider, server: FakeApiServer
) -> None:
    spec = provider.spec(server, base_url="https://api.example.com")
    with pytest.raises(ValueError, match=KEY_ENV[provider.name]):
        provider.model_class(spec)


# protocol surface -----------------------------------------------------------------------------


def test_protocol_surface(provider: Provider, server: FakeApiServer) -> None:
    model = provider.make(server, concurrency=3)
    assert isinstance(model, ChatModel)
    assert model.preferred_batch_size == 48  # 16 × concurrency
    assert model.identity() == {
        "provider": provider.name,
        "model": provider.model,
        "base_url": server.root_url,
    }
    with pytest.raises(LogprobsUnsupportedError):
        model.score_options([[Message(role="user", content="q")]], ["A", "B"])
    model.close()
    model.close()
