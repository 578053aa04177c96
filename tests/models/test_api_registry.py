"""build_model for the anthropic and google providers, and the hint when an SDK is missing."""

from __future__ import annotations

import re
import sys

import pytest

from onpar.config.schema import AnthropicModelSpec, GoogleModelSpec
from onpar.models.anthropic_chat import AnthropicChatModel
from onpar.models.google_chat import GoogleChatModel
from onpar.models.registry import PROVIDERS, build_model

LOCAL = "http://127.0.0.1:9"


def test_providers_are_registered() -> None:
    assert {"anthropic", "google"} <= set(PROVIDERS)


def test_build_model_makes_each_backend() -> None:
    claude = build_model(AnthropicModelSpec(provider="anthropic", model="c", base_url=LOCAL))
    gemini = build_model(GoogleModelSpec(provider="google", model="g", base_url=LOCAL))
    assert isinstance(claude, AnthropicChatModel)
    assert isinstance(gemini, GoogleChatModel)
    assert gemini.identity() == {"provider": "google", "model": "g", "base_url": LOCAL}


@pytest.mark.parametrize(
    ("spec", "sdk", "module", "extra"),
    [
        (
            AnthropicModelSpec(provider="anthropic", model="c", base_url=LOCAL),
            "anthropic",
            "onpar.models.anthropic_chat",
            "onpar[anthropic]",
        ),
        (
            GoogleModelSpec(provider="google", model="g", base_url=LOCAL),
            "google.genai",
            "onpar.models.google_chat",
            "onpar[google]",
        ),
    ],
)
def test_missing_sdk_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
    spec: AnthropicModelSpec | GoogleModelSpec,
    sdk: str,
    module: str,
    extra: str,
) -> None:
    monkeypatch.setitem(sys.modules, sdk, None)  # `import sdk` now fails as if not installed
    monkeypatch.delitem(sys.modules, module)
    with pytest.raises(ModuleNotFoundError, match=re.escape(f"pip install '{extra}'")):
        build_model(spec)
