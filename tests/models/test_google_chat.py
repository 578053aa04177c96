"""GoogleChatModel's wire details: path, headers, generationConfig, safety blocks, keys."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from onpar.models.google_chat import (
    DEFAULT_BASE_URL,
    FALLBACK_KEY_ENV,
    GoogleChatModel,
)
from onpar.records import ChatRequest, GenerationParams, Message
from onpar.safety.refusal import classify_refusal
from tests.models import google_server
from tests.models.api_providers import GOOGLE, KEY_ENV, ask, serve
from tests.models.api_server_base import FakeApiServer, Fault


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApiServer]:
    for name in (KEY_ENV["google"], "GEMINI_API_KEY", FALLBACK_KEY_ENV):
        monkeypatch.delenv(name, raising=False)
    yield from serve(GOOGLE)


def test_request_shape_path_roles_and_generation_config(server: FakeApiServer) -> None:
    conversation = (
        Message(role="system", content="Be kind."),
        Message(role="user", content="one"),
        Message(role="assistant", content="first"),
        Message(role="user", content="two"),
    )
    params = GenerationParams(temperature=0.7, top_p=0.9, max_new_tokens=40, seed=10)
    request = ChatRequest(messages=conversation, params=params, sample_index=2)
    [result] = GOOGLE.make(server).generate([request])
    assert result.ok, result.error
    [sent] = server.requests
    assert sent.path == "/v1beta/models/gemini-fake:generateContent"
    assert sent.body["systemInstruction"]["parts"] == [{"text": "Be kind."}]
    assert sent.body["contents"] == [
        {"role": "user", "parts": [{"text": "one"}]},
        {"role": "model", "parts": [{"text": "first"}]},
        {"role": "user", "parts": [{"text": "two"}]},
    ]
    assert sent.body["generationConfig"] == {
        "temperature": 0.7,
        "topP": 0.9,
        "maxOutputTokens": 40,
        "seed": 12,
        "candidateCount": 1,
    }


@pytest.mark.parametrize("reason", ["SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII"])
def test_blocked_answer_is_a_refusal_not_an_error(server: FakeApiServer, reason: str) -> None:
    server.fail_when("harmful", google_server.answer_blocked(reason))
    results = GOOGLE.make(server).generate([ask("something harmful"), ask("fine")])
    blocked = results[0]
    assert blocked.ok and blocked.error is None
    assert blocked.finish_reason == "provider_blocked"
    assert blocked.text is not None and f"({reason})" in blocked.text
    assert classify_refusal(blocked.text).label == "full_refusal"
    assert blocked.usage.prompt_tokens == 5
    assert results[1].text == "echo: fine (system: 0 chars)"
    assert len(server.requests_containing("harmful")) == 1  # an answer: not retried


@pytest.mark.parametrize("reason", ["SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "OTHER"])
def test_blocked_prompt_is_a_refusal_not_an_error(server: FakeApiServer, reason: str) -> None:
    server.fail_next(google_server.prompt_blocked(reason))
    [result] = GOOGLE.make(server).generate([ask("something harmful")])
    assert result.ok and result.error is None
    assert result.finish_reason == "provider_blocked"
    assert result.text is not None and f"({reason})" in result.text
    assert result.usage.prompt_tokens == 7
    assert len(server.requests) == 1


def test_no_candidates_and_no_block_reason_is_an_error(server: FakeApiServer) -> None:
    server.fail_next(Fault.reply({"usageMetadata": {"promptTokenCount": 3}}))
    [result] = GOOGLE.make(server).generate([ask("q")])
    assert result.error == "response has no candidates"
    assert result.usage.prompt_tokens == 3


def test_candidate_without_text_is_an_error_not_an_empty_answer(server: FakeApiServer) -> None:
    body = {"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "STOP"}]}
    server.fail_next(Fault.reply(body))
    [result] = GOOGLE.make(server).generate([ask("q")])
    assert result.text is None
    assert result.error == "response has no text (finishReason=STOP)"


def test_thought_parts_are_not_part_of_the_answer(server: FakeApiServer) -> None:
    parts = [{"text": "let me think", "thought": True}, {"text": "42"}]
    body = {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}]}
    server.fail_next(Fault.reply(body))
    [result] = GOOGLE.make(server).generate([ask("q")])
    assert result.text == "42"
    assert result.finish_reason == "stop"


def test_error_body_status_is_in_the_message(server: FakeApiServer) -> None:
    server.fail_when("nope", Fault.status_error(400, "INVALID_ARGUMENT", "Bad temperature."))
    [result] = GOOGLE.make(server).generate([ask("nope")])
    assert result.error == "HTTP 400: INVALID_ARGUMENT: Bad temperature. (1 attempt; not retryable)"


def test_key_goes_in_x_goog_api_key(server: FakeApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV["google"], "AIza-test-key")
    GOOGLE.make(server).generate([ask("hi")])
    assert server.requests[0].headers["x-goog-api-key"] == "AIza-test-key"


def test_default_variable_falls_back_to_google_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv(FALLBACK_KEY_ENV, "AIza-fallback")
    spec = GOOGLE.spec_class(provider="google", model="gemini-x")
    assert spec.api_key_env == "GEMINI_API_KEY"
    assert GoogleChatModel(spec)._api_key == "AIza-fallback"
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-primary")
    assert GoogleChatModel(spec)._api_key == "AIza-primary"


def test_explicit_variable_has_no_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FALLBACK_KEY_ENV, "AIza-fallback")
    monkeypatch.delenv("MY_GEMINI_KEY", raising=False)
    spec = GOOGLE.spec_class(provider="google", model="gemini-x", api_key_env="MY_GEMINI_KEY")
    with pytest.raises(ValueError, match="MY_GEMINI_KEY is not set"):
        GoogleChatModel(spec)


def test_render_shows_the_wire_contents(server: FakeApiServer) -> None:
    model = GOOGLE.make(server)
    rendered = json.loads(
        model.render([Message(role="system", content="S"), Message(role="user", content="é?")])
    )
    assert rendered == {
        "systemInstruction": {"parts": [{"text": "S"}]},
        "contents": [{"role": "user", "parts": [{"text": "é?"}]}],
    }


def test_default_base_url_is_google(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-x")
    spec = GOOGLE.spec_class(provider="google", model="gemini-x")
    assert GoogleChatModel(spec).identity()["base_url"] == DEFAULT_BASE_URL
