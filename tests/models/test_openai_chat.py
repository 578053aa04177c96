"""OpenAIChatModel against a real local HTTP server: success path, every fault, secrets."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading

import pytest

from onpar.config.schema import OpenAIModelSpec
from onpar.models.base import ChatModel, LogprobsUnsupportedError
from onpar.models.openai_chat import LOCAL_PLACEHOLDER_KEY, OpenAIChatModel, proxy_for
from onpar.records import ChatRequest, GenerationParams, Message
from tests.models.openai_server import FakeOpenAIServer, Fault

SECRET = "sk-test-Zq81secretvalue"
KEY_ENV = "ONPAR_TEST_OPENAI_KEY"


def make_spec(server: FakeOpenAIServer, **overrides: object) -> OpenAIModelSpec:
    fields: dict[str, object] = {
        "provider": "openai",
        "model": "fake-model",
        "base_url": server.base_url,
        "api_key_env": KEY_ENV,
        "concurrency": 4,
        "max_retries": 3,
        "timeout_s": 2.0,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
    }
    fields.update(overrides)
    return OpenAIModelSpec.model_validate(fields)


def ask(text: str, system: str | None = None, **params: object) -> ChatRequest:
    messages = [Message(role="system", content=system)] if system else []
    messages.append(Message(role="user", content=text))
    sample_index = int(params.pop("sample_index", 0))  # type: ignore[call-overload]
    return ChatRequest(
        messages=tuple(messages),
        params=GenerationParams.model_validate(params),
        sample_index=sample_index,
    )


@pytest.fixture(autouse=True)
def _no_key_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)


# success path ---------------------------------------------------------------------------------


def test_answer_usage_and_finish_reason(openai_server: FakeOpenAIServer) -> None:
    model = OpenAIChatModel(make_spec(openai_server))
    [result] = model.generate([ask("hello there", system="Be brief.")])
    assert result.ok
    assert result.text == "echo: hello there (system: 9 chars)"
    assert result.finish_reason == "stop"
    assert result.usage.prompt_tokens == 4
    assert result.usage.completion_tokens == 6


def test_params_and_derived_seed_are_forwarded(openai_server: FakeOpenAIServer) -> None:
    model = OpenAIChatModel(make_spec(openai_server))
    request = ask(
        "hi", system="sys", temperature=0.7, top_p=0.9, max_new_tokens=3, seed=10, sample_index=2
    )
    [result] = model.generate([request])
    [sent] = openai_server.requests
    assert sent.path == "/v1/chat/completions"
    body = sent.body
    assert body["model"] == "fake-model"
    assert body["temperature"] == 0.7
    assert body["top_p"] == 0.9
    assert body["max_tokens"] == 3
    assert body["seed"] == 12
    assert body["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hi"},
    ]
    assert result.finish_reason == "length"
    assert result.text == "echo: hi (system:"


def test_order_preserved_and_concurrency_limited(openai_server: FakeOpenAIServer) -> None:
    # Earlier prompts answer more slowly, so completion order is the reverse of request order.
    openai_server.latency_s = lambda text: 0.005 * (20 - int(text.split()[-1]))
    model = OpenAIChatModel(make_spec(openai_server, concurrency=4))
    results = model.generate([ask(f"prompt {i}") for i in range(20)])
    assert [r.text for r in results] == [f"echo: prompt {i} (system: 0 chars)" for i in range(20)]
    assert len(openai_server.requests) == 20
    assert 2 <= openai_server.max_in_flight <= 4


def test_empty_batch_makes_no_calls(openai_server: FakeOpenAIServer) -> None:
    assert OpenAIChatModel(make_spec(openai_server)).generate([]) == []
    assert openai_server.requests == []


def test_generate_works_inside_a_running_event_loop(openai_server: FakeOpenAIServer) -> None:
    model = OpenAIChatModel(make_spec(openai_server))

    async def caller() -> str | None:
        return model.generate([ask("from a loop")])[0].text

    assert asyncio.run(caller()) == "echo: from a loop (system: 0 chars)"


def _loop_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "onpar-api-loop")


def test_one_loop_serves_every_batch_until_close(openai_server: FakeOpenAIServer) -> None:
    """Batches share one event loop (and HTTP pool); close() stops it; a later call restarts."""
    before = _loop_threads()
    model = OpenAIChatModel(make_spec(openai_server))
    assert model.generate([ask("one")])[0].ok
    assert model.generate([ask("two"), ask("three")])[1].text == "echo: three (system: 0 chars)"
    assert _loop_threads() == before + 1
    model.close()
    assert _loop_threads() == before
    assert model.generate([ask("four")])[0].text == "echo: four (system: 0 chars)"
    model.close()
    assert _loop_threads() == before
    assert len(openai_server.requests) == 4


# faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault.rate_limited(),
        Fault.server_error(),
        Fault.unavailable(),
        Fault.overloaded(),
        Fault.malformed(),
        Fault.disconnect(),
        Fault.hang(10),
    ],
    ids=["429", "500", "503", "529", "malformed", "disconnect", "hang"],
)
def test_transient_fault_is_retried_then_succeeds(
    openai_server: FakeOpenAIServer, fault: Fault
) -> None:
    openai_server.fail_next(fault, times=2)
    model = OpenAIChatModel(make_spec(openai_server, timeout_s=0.3))
    [result] = model.generate([ask("again")])
    assert result.ok, result.error
    assert result.text == "echo: again (system: 0 chars)"
    assert [r.fault for r in openai_server.requests] == [fault, fault, None]


def test_retry_after_header_is_honoured(openai_server: FakeOpenAIServer) -> None:
    openai_server.fail_next(Fault.rate_limited(retry_after=1))
    model = OpenAIChatModel(make_spec(openai_server))  # jittered backoff alone is <= 0.05 s
    [result] = model.generate([ask("patience")])
    assert result.ok
    first, second = openai_server.requests
    assert second.received_at - first.received_at >= 1.0


def test_backoff_is_exponential_full_jitter_and_capped(openai_server: FakeOpenAIServer) -> None:
    delays: list[float] = []

    async def record_sleep(seconds: float) -> None:
        delays.append(seconds)

    openai_server.fail_next(Fault.server_error(), times=6)
    openai_server.fail_next(Fault.unavailable(retry_after=7), times=1)
    spec = make_spec(openai_server, max_retries=7, backoff_initial_s=1.0, backoff_max_s=8.0)
    model = OpenAIChatModel(spec, sleep=record_sleep, rng=random.Random(0))
    [result] = model.generate([ask("x")])
    assert result.ok
    ceilings = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert len(delays) == 7
    assert all(0.0 <= d <= c for d, c in zip(delays, ceilings, strict=False))
    assert len(set(delays[:6])) == 6  # jittered, not constant
    assert delays[6] == 7.0  # Retry-After replaces the jitter


def test_persistent_500_gives_up_with_attempt_count_others_succeed(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.fail_when("BOOM", Fault.server_error())
    model = OpenAIChatModel(make_spec(openai_server, max_retries=3))
    prompts = ["fine 0", "BOOM now", "fine 1", "fine 2"]
    results = model.generate([ask(p) for p in prompts])
    failed = results[1]
    assert not failed.ok and failed.text is None
    assert failed.error is not None
    assert "HTTP 500" in failed.error
    assert "4 attempts" in failed.error
    assert len(openai_server.requests_containing("BOOM")) == 4
    assert [r.text for i, r in enumerate(results) if i != 1] == [
        f"echo: fine {i} (system: 0 chars)" for i in range(3)
    ]


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_not_retried(openai_server: FakeOpenAIServer, status: int) -> None:
    openai_server.fail_when("bad", Fault.http(status, "Nope."))
    model = OpenAIChatModel(make_spec(openai_server))
    [result] = model.generate([ask("bad request")])
    assert result.error == f"HTTP {status}: Nope. (1 attempt; not retryable)"
    assert len(openai_server.requests) == 1


def test_malformed_forever_becomes_error(openai_server: FakeOpenAIServer) -> None:
    openai_server.fail_when("junk", Fault.malformed())
    model = OpenAIChatModel(make_spec(openai_server, max_retries=2))
    [result] = model.generate([ask("junk please")])
    assert result.error is not None
    assert "malformed response body" in result.error
    assert "3 attempts" in result.error
    assert len(openai_server.requests) == 3


def test_hang_forever_becomes_timeout_error(openai_server: FakeOpenAIServer) -> None:
    openai_server.fail_when("slow", Fault.hang(10))
    model = OpenAIChatModel(make_spec(openai_server, max_retries=1, timeout_s=0.2))
    [result] = model.generate([ask("slow one")])
    assert result.error == "timed out after 0.2s (gave up after 2 attempts)"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault.empty_choices(), "response has no choices"),
        (Fault.no_content(), "response has no message content (finish_reason=stop)"),
    ],
)
def test_answer_without_text_is_an_error(
    openai_server: FakeOpenAIServer, fault: Fault, message: str
) -> None:
    openai_server.fail_next(fault)
    [result] = OpenAIChatModel(make_spec(openai_server)).generate([ask("hm")])
    assert result.error == message
    assert result.usage.completion_tokens > 0


# keys and secrets -----------------------------------------------------------------------------


def test_key_is_sent_as_bearer_but_never_leaks(
    openai_server: FakeOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # the SDK's and httpx's debug logs too
    monkeypatch.setenv(KEY_ENV, SECRET)
    model = OpenAIChatModel(make_spec(openai_server, max_retries=1))
    openai_server.fail_when("FAIL", Fault.server_error())
    messages = [Message(role="user", content="hello")]
    results = model.generate([ask("hello"), ask("FAIL")])
    assert openai_server.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    openai_server.require_key = "sk-some-other-key"  # the server now rejects ours, echoing it
    results += model.generate([ask("rejected")])
    assert results[2].error is not None and "HTTP 401" in results[2].error
    visible = [str(r.error) for r in results]
    visible += [json.dumps(model.identity()), model.render(messages), repr(model)]
    visible += [record.getMessage() for record in caplog.records]
    assert any("retrying" in text for text in visible)
    assert all(SECRET not in text for text in visible)


def test_missing_key_for_remote_endpoint_names_the_variable(
    openai_server: FakeOpenAIServer,
) -> None:
    spec = make_spec(openai_server, base_url="https://api.example.com/v1")
    with pytest.raises(ValueError, match=KEY_ENV):
        OpenAIChatModel(spec)


def test_local_endpoint_without_key_uses_placeholder(openai_server: FakeOpenAIServer) -> None:
    OpenAIChatModel(make_spec(openai_server)).generate([ask("hi")])
    assert openai_server.requests[0].headers["authorization"] == f"Bearer {LOCAL_PLACEHOLDER_KEY}"


# protocol surface -----------------------------------------------------------------------------


def test_protocol_surface(openai_server: FakeOpenAIServer) -> None:
    model = OpenAIChatModel(make_spec(openai_server, concurrency=3))
    assert isinstance(model, ChatModel)
    assert model.preferred_batch_size == 48
    assert model.identity() == {
        "provider": "openai",
        "model": "fake-model",
        "base_url": openai_server.base_url,
    }
    messages = [Message(role="system", content="S"), Message(role="user", content="é?")]
    assert json.loads(model.render(messages)) == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "é?"},
    ]
    assert model.render(messages).startswith("[\n  {")
    with pytest.raises(LogprobsUnsupportedError):
        model.score_options([messages], ["A", "B"])
    model.close()
    model.close()


def test_default_base_url_is_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    spec = OpenAIModelSpec(provider="openai", model="gpt-x", api_key_env=KEY_ENV)
    assert OpenAIChatModel(spec).identity()["base_url"] == "https://api.openai.com/v1"


def test_proxy_from_environment_honours_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert proxy_for("https://api.openai.com/v1") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert proxy_for("https://api.openai.com/v1") == "http://proxy.internal:3128"
    assert proxy_for("http://127.0.0.1:8000/v1") is None
    assert proxy_for("http://api.example.com/v1") is None  # no HTTP_PROXY set
