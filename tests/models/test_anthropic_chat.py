"""AnthropicChatModel's wire details: request shape, headers, stop reasons, error bodies."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from onpar.models.anthropic_chat import DEFAULT_BASE_URL, AnthropicChatModel, parse_message
from onpar.models.api_common import Failure
from onpar.records import ChatRequest, GenerationParams, Message
from onpar.safety.refusal import classify_refusal
from tests.models.anthropic_server import FakeAnthropicServer
from tests.models.api_providers import ANTHROPIC, KEY_ENV, ask, serve
from tests.models.api_server_base import FakeApiServer, Fault


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApiServer]:
    monkeypatch.delenv(KEY_ENV["anthropic"], raising=False)
    yield from serve(ANTHROPIC)


def message_body(stop_reason: str | None, content: list[dict[str, object]]) -> dict[str, object]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-fake",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": 3},
    }


def test_request_shape_system_top_level_and_headers(server: FakeApiServer) -> None:
    conversation = (
        Message(role="system", content="Be kind."),
        Message(role="user", content="one"),
        Message(role="assistant", content="first"),
        Message(role="user", content="two"),
    )
    request = ChatRequest(messages=conversation, params=GenerationParams(max_new_tokens=40))
    [result] = ANTHROPIC.make(server).generate([request])
    assert result.ok, result.error
    [sent] = server.requests
    assert sent.path == "/v1/messages"
    assert sent.headers["anthropic-version"]  # the SDK pins the API version
    assert sent.body == {
        "model": "claude-fake",
        "max_tokens": 40,
        "system": "Be kind.",
        "messages": [
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "first"},
            {"role": "user", "content": "two"},
        ],
    }


def test_sampling_parameters_are_not_sent_and_a_warning_says_so(
    server: FakeApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="onpar.models.anthropic_chat")
    model = ANTHROPIC.make(server)
    model.generate([ask("a", temperature=0.7, top_p=0.9), ask("b", temperature=0.7)])
    assert all("temperature" not in r.body and "top_p" not in r.body for r in server.requests)
    warnings = [r.getMessage() for r in caplog.records if "not sent" in r.getMessage()]
    assert len(warnings) == 1  # once per model, not once per request
    assert "temperature=0.7" in warnings[0]


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("pause_turn", "pause_turn"),
    ],
)
def test_stop_reasons_map_to_finish_reasons(
    server: FakeApiServer, stop_reason: str, finish: str
) -> None:
    body = message_body(
        stop_reason, [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]
    )
    server.fail_next(Fault.reply(body))
    [result] = ANTHROPIC.make(server).generate([ask("q")])
    assert result.text == "Hi there"
    assert result.finish_reason == finish
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (11, 3)


def test_refusal_stop_reason_is_a_recorded_refusal_not_an_error(server: FakeApiServer) -> None:
    server.fail_next(Fault.reply(message_body("refusal", [{"type": "text", "text": "Sure, h"}])))
    [result] = ANTHROPIC.make(server).generate([ask("something harmful")])
    assert result.ok and result.error is None
    assert result.finish_reason == "provider_blocked"
    assert result.text is not None and "(refusal)" in result.text
    assert classify_refusal(result.text).label == "full_refusal"
    assert len(server.requests) == 1  # a refusal is an answer: not retried


def test_thinking_blocks_are_not_part_of_the_answer() -> None:
    body = message_body(
        "end_turn",
        [{"type": "thinking", "thinking": "hmm", "signature": "s"}, {"type": "text", "text": "42"}],
    )
    result = parse_message(json.dumps(body))
    assert not isinstance(result, Failure)
    assert result.text == "42"


def test_answer_without_text_is_an_error_with_usage(server: FakeApiServer) -> None:
    server.fail_next(Fault.reply(message_body("end_turn", [])))
    [result] = ANTHROPIC.make(server).generate([ask("q")])
    assert result.error == "response has no text content (stop_reason=end_turn)"
    assert result.usage.prompt_tokens == 11


def test_json_without_content_list_is_malformed_and_retried(server: FakeApiServer) -> None:
    server.fail_next(Fault.reply({"type": "message", "content": "oops"}))
    [result] = ANTHROPIC.make(server).generate([ask("q")])
    assert result.ok, result.error
    assert len(server.requests) == 2


def test_overloaded_error_body_is_reported_with_its_type(server: FakeApiServer) -> None:
    server.fail_when("busy", Fault.status_error(529, "overloaded_error", "Overloaded"))
    [result] = ANTHROPIC.make(server, max_retries=1).generate([ask("busy")])
    assert result.error == "HTTP 529: overloaded_error: Overloaded (gave up after 2 attempts)"


def test_render_shows_the_wire_messages(server: FakeApiServer) -> None:
    model = ANTHROPIC.make(server)
    rendered = json.loads(
        model.render([Message(role="system", content="S"), Message(role="user", content="é?")])
    )
    assert rendered == {"system": "S", "messages": [{"role": "user", "content": "é?"}]}


def test_default_base_url_is_anthropic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV["anthropic"], "sk-ant-x")
    spec = ANTHROPIC.spec_class(
        provider="anthropic", model="claude-x", api_key_env=KEY_ENV["anthropic"]
    )
    assert AnthropicChatModel(spec).identity()["base_url"] == DEFAULT_BASE_URL


def test_default_key_variable_is_anthropic_api_key() -> None:
    spec = ANTHROPIC.spec_class(provider="anthropic", model="claude-x")
    assert spec.api_key_env == "ANTHROPIC_API_KEY"


def test_fake_server_rejects_non_alternating_roles_like_the_api() -> None:
    fake = FakeAnthropicServer()
    body = {"max_tokens": 5, "messages": [{"role": "user"}, {"role": "user"}]}
    assert fake.route_error("/v1/messages", body) == (
        400,
        "invalid_request_error",
        "messages: roles must alternate",
    )
