"""The price table and which price a model gets (config, table, local, unknown)."""

from __future__ import annotations

import pytest

from onpar.config.pricing import DEFAULT_PRICES, Price, default_price, estimate_tokens
from onpar.config.schema import HFModelSpec, OpenAIModelSpec, ResponsesFileSpec
from onpar.engine.costs import price_for
from onpar.records import Message


def test_snapshot_names_take_the_base_models_price() -> None:
    assert default_price("gpt-4o-2024-08-06") == DEFAULT_PRICES["gpt-4o"]
    assert default_price("gpt-4o-mini") == DEFAULT_PRICES["gpt-4o-mini"]  # not gpt-4o's
    assert default_price("claude-3-5-sonnet-20241022") == DEFAULT_PRICES["claude-3-5-sonnet"]
    assert default_price("claude-3-5-sonnet-latest") == DEFAULT_PRICES["claude-3-5-sonnet"]
    assert default_price("gemini-1.5-pro-002") == DEFAULT_PRICES["gemini-1.5-pro"]
    assert default_price("models/gemini-2.5-flash") == DEFAULT_PRICES["gemini-2.5-flash"]


def test_other_variants_are_not_guessed() -> None:
    assert default_price("gpt-4o-audio-preview") is None
    assert default_price("gpt-4o-realtime-preview-2024-12-17") is None
    assert default_price("my-finetune") is None


def test_cost_is_per_million_tokens() -> None:
    price = Price(input_per_mtok=2.5, output_per_mtok=10.0)
    assert price.cost(1_000_000, 0) == pytest.approx(2.5)
    assert price.cost(2000, 500) == pytest.approx(0.005 + 0.005)


def test_price_resolution_order() -> None:
    own = Price(input_per_mtok=1, output_per_mtok=2)
    override = Price(input_per_mtok=3, output_per_mtok=4)
    api = OpenAIModelSpec(provider="openai", model="gpt-4o")
    assert price_for(api, {}).price == DEFAULT_PRICES["gpt-4o"]
    assert price_for(api, {}).source == "table"
    assert price_for(api, {"gpt-4o": override}).price == override
    priced = OpenAIModelSpec(provider="openai", model="gpt-4o", price=own)
    assert price_for(priced, {"gpt-4o": override}).price == own  # the spec's own wins


def test_local_models_are_free_unless_priced_and_unknown_apis_are_unknown() -> None:
    local = HFModelSpec(provider="hf", model="bundled:smollm2-135m-instruct")
    assert (price_for(local, {}).source, price_for(local, {}).cost(100, 100)) == ("local", 0.0)
    loopback = OpenAIModelSpec(provider="openai", model="x", base_url="http://127.0.0.1:8000/v1")
    assert price_for(loopback, {}).source == "local"
    answers = ResponsesFileSpec(provider="responses", path="a.jsonl")
    assert price_for(answers, {}).source == "local"
    unknown = OpenAIModelSpec(provider="openai", model="brand-new-model")
    resolved = price_for(unknown, {})
    assert (resolved.source, resolved.price, resolved.cost(10, 10)) == ("unknown", None, None)
    assert resolved.cost(0, 0) == 0.0  # nothing used, nothing owed


def test_token_estimate_is_characters_over_four() -> None:
    messages = [Message(role="user", content="x" * 400), Message(role="assistant", content="")]
    assert estimate_tokens(messages) == 100 + 4 + 4
