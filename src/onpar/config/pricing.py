"""Token prices: a default table for well-known API models, overridable from the config.

Costs are only as good as these numbers. The defaults are public list prices (standard
tier, short-context rate, no batch or cache discounts) copied from the providers' pricing
pages as of ``PRICES_AS_OF``; providers change them, so a config that matters should give
its own under ``prices:`` or a model spec's ``price:``. An API model missing from the table
has an *unknown* cost (never a silent 0); local models cost 0 unless given a price.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from onpar.records import Message

PRICES_AS_OF = "2025-08-15"
CHARS_PER_TOKEN = 4  # rough rule for English with GPT-style tokenizers
PRICE_SOURCES = (
    "https://openai.com/api/pricing/",
    "https://www.anthropic.com/pricing#api",
    "https://ai.google.dev/gemini-api/docs/pricing",
)


class Price(BaseModel):
    """USD per one million tokens, sent (input) and received (output)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_per_mtok: float = Field(ge=0, description="USD per 1M input (prompt) tokens.")
    output_per_mtok: float = Field(ge=0, description="USD per 1M output (completion) tokens.")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok
        ) / 1e6


def _p(input_per_mtok: float, output_per_mtok: float) -> Price:
    return Price(input_per_mtok=input_per_mtok, output_per_mtok=output_per_mtok)


# Model name (without a dated snapshot suffix) → list price as of PRICES_AS_OF.
DEFAULT_PRICES: Mapping[str, Price] = {
    # OpenAI
    "gpt-4o": _p(2.50, 10.00),
    "gpt-4o-mini": _p(0.15, 0.60),
    "gpt-4.1": _p(2.00, 8.00),
    "gpt-4.1-mini": _p(0.40, 1.60),
    "gpt-4.1-nano": _p(0.10, 0.40),
    "gpt-3.5-turbo": _p(0.50, 1.50),
    # Anthropic
    "claude-3-5-sonnet": _p(3.00, 15.00),
    "claude-3-7-sonnet": _p(3.00, 15.00),
    "claude-sonnet-4": _p(3.00, 15.00),
    "claude-3-5-haiku": _p(0.80, 4.00),
    "claude-3-haiku": _p(0.25, 1.25),
    "claude-3-opus": _p(15.00, 75.00),
    "claude-opus-4": _p(15.00, 75.00),
    "claude-opus-4-1": _p(15.00, 75.00),
    # Google (prompts up to 128k tokens for 1.5, 200k for 2.5 Pro)
    "gemini-1.5-pro": _p(1.25, 5.00),
    "gemini-1.5-flash": _p(0.075, 0.30),
    "gemini-2.0-flash": _p(0.10, 0.40),
    "gemini-2.0-flash-lite": _p(0.075, 0.30),
    "gemini-2.5-pro": _p(1.25, 10.00),
    "gemini-2.5-flash": _p(0.30, 2.50),
}

# A snapshot suffix that does not change the price: -2024-08-06, -20241022, -latest, -002.
_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|latest|\d{3})$")


def default_price(model: str) -> Price | None:
    """The table's price for `model`, also under a dated snapshot name; None if not listed.

    Only snapshot suffixes are stripped, so ``gpt-4o-audio-preview`` is *not* priced as
    ``gpt-4o``; a provider prefix such as ``models/`` or ``openai/`` is dropped.
    """
    name = model.rsplit("/", 1)[-1].lower()
    while True:
        if name in DEFAULT_PRICES:
            return DEFAULT_PRICES[name]
        stripped = _SNAPSHOT.sub("", name)
        if stripped == name:
            return None
        name = stripped


def estimate_tokens(messages: Sequence[Message]) -> int:
    """Input tokens of a conversation by the characters / 4 rule (plus 4 per message framing)."""
    return sum(len(m.content) // CHARS_PER_TOKEN + 4 for m in messages)
