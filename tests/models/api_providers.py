"""Test helpers for the Anthropic and Google backends: one fake server and spec per provider."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from onpar.config.schema import AnthropicModelSpec, GoogleModelSpec
from onpar.models.anthropic_chat import AnthropicChatModel
from onpar.models.api_common import ApiChatModel
from onpar.models.google_chat import GoogleChatModel
from onpar.records import ChatRequest, GenerationParams, Message
from tests.models import anthropic_server, google_server
from tests.models.api_server_base import FakeApiServer, Fault

KEY_ENV = {"anthropic": "ONPAR_TEST_ANTHROPIC_KEY", "google": "ONPAR_TEST_GEMINI_KEY"}


@dataclass(frozen=True)
class Provider:
    """What a parametrized test needs to know about one provider."""

    name: str
    server_class: type[FakeApiServer]
    model_class: type[ApiChatModel[Any]]
    spec_class: type[AnthropicModelSpec] | type[GoogleModelSpec]
    rate_limited: Callable[[float | None], Fault]
    server_error: Callable[[], Fault]
    overloaded: Callable[[], Fault]
    model: str

    def spec(self, server: FakeApiServer, **overrides: object) -> Any:
        fields: dict[str, object] = {
            "provider": self.name,
            "model": self.model,
            "base_url": server.root_url,
            "api_key_env": KEY_ENV[self.name],
            "concurrency": 4,
            "max_retries": 3,
            "timeout_s": 2.0,
            "backoff_initial_s": 0.01,
            "backoff_max_s": 0.05,
        }
        fields.update(overrides)
        return self.spec_class.model_validate(fields)

    def make(self, server: FakeApiServer, **overrides: object) -> ApiChatModel[Any]:
        return self.model_class(self.spec(server, **overrides))


ANTHROPIC = Provider(
    "anthropic",
    anthropic_server.FakeAnthropicServer,
    AnthropicChatModel,
    AnthropicModelSpec,
    anthropic_server.rate_limited,
    anthropic_server.server_error,
    anthropic_server.overloaded,
    "claude-fake",
)
GOOGLE = Provider(
    "google",
    google_server.FakeGoogleServer,
    GoogleChatModel,
    GoogleModelSpec,
    google_server.rate_limited,
    google_server.server_error,
    google_server.overloaded,
    "gemini-fake",
)


def serve(provider: Provider) -> Iterator[FakeApiServer]:
    """A started fake server, stopped (hangs released) afterwards."""
    server = provider.server_class()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def anthropic_fake() -> Iterator[FakeApiServer]:
    yield from serve(ANTHROPIC)


@pytest.fixture
def google_fake() -> Iterator[FakeApiServer]:
    yield from serve(GOOGLE)


def ask(text: str, system: str | None = None, **params: object) -> ChatRequest:
    messages = [Message(role="system", content=system)] if system else []
    messages.append(Message(role="user", content=text))
    sample_index = int(params.pop("sample_index", 0))  # type: ignore[call-overload]
    return ChatRequest(
        messages=tuple(messages),
        params=GenerationParams.model_validate(params),
        sample_index=sample_index,
    )
