"""Prices for a run's members, token estimates, and the cost table built from the store.

One place decides what a model costs (``price_for``), so the dry run, the budget and the
report agree. Estimates before a call use characters / 4 for input (a rough rule for
English with GPT-style tokenizers) and ``max_new_tokens`` for output: an upper bound, so a
budget check errs on the side of stopping early.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlparse

from onpar.config.pricing import PRICES_AS_OF, Price, default_price
from onpar.config.schema import RunConfig
from onpar.records import Judgment, MemberCost, Response, RunCosts

_LOCAL_PROVIDERS = frozenset({"hf", "llamacpp", "responses"})
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_FREE = Price(input_per_mtok=0.0, output_per_mtok=0.0)

PriceSource = Literal["config", "table", "local", "unknown"]


@dataclass(frozen=True)
class ResolvedPrice:
    """A member's price (None: unknown) and where it came from, for the report."""

    price: Price | None
    source: PriceSource

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        if self.price is None:
            return None if prompt_tokens or completion_tokens else 0.0
        return self.price.cost(prompt_tokens, completion_tokens)


def price_for(spec: object, prices: dict[str, Price]) -> ResolvedPrice:
    """The spec's own ``price``, else ``prices:`` by model name, else the table, else local/unknown.

    A local model (hf, llamacpp, answers files, or an OpenAI-compatible server on loopback)
    costs 0 unless priced; an API model not in the table has an unknown cost, never 0.
    """
    own = getattr(spec, "price", None)
    if isinstance(own, Price):
        return ResolvedPrice(own, "config")
    model = str(getattr(spec, "model", None) or getattr(spec, "path", ""))
    if model in prices:
        return ResolvedPrice(prices[model], "config")
    if _is_local(spec):
        return ResolvedPrice(_FREE, "local")
    listed = default_price(model)
    return ResolvedPrice(listed, "table") if listed is not None else ResolvedPrice(None, "unknown")


def _is_local(spec: object) -> bool:
    provider = getattr(spec, "provider", "")
    if provider in _LOCAL_PROVIDERS:
        return True
    base_url = getattr(spec, "base_url", None)
    return bool(base_url) and urlparse(str(base_url)).hostname in _LOCAL_HOSTS


def run_costs(
    config: RunConfig, responses: Sequence[Response], judgments: Sequence[Judgment]
) -> RunCosts:
    """Tokens and cost per contestant and judge from what the store holds.

    Rows reused from the cross-run cache count as requests but not as spend: this run did
    not pay for them.
    """
    members = [
        _member(config, "contestant", c.name, c.model, responses) for c in config.contestants
    ]
    members += [_member(config, "judge", j.name, j.model, judgments) for j in config.judges]
    costs = [m.cost_usd for m in members]
    total = None if any(c is None for c in costs) else sum(c for c in costs if c is not None)
    return RunCosts(
        members=tuple(members), total_usd=total, max_cost=config.max_cost, prices_as_of=PRICES_AS_OF
    )


def _member(
    config: RunConfig,
    role: Literal["contestant", "judge"],
    name: str,
    spec: object,
    rows: Sequence[Response] | Sequence[Judgment],
) -> MemberCost:
    mine = [r for r in rows if _owner(r) == name]
    paid = [r for r in mine if not r.cached]
    prompt_tokens = sum(r.usage.prompt_tokens for r in paid)
    completion_tokens = sum(r.usage.completion_tokens for r in paid)
    resolved = price_for(spec, config.prices)
    return MemberCost(
        role=role,
        name=name,
        model=str(getattr(spec, "model", None) or getattr(spec, "path", "")),
        requests=len(mine),
        cached_requests=len(mine) - len(paid),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        price=resolved.source,
        cost_usd=resolved.cost(prompt_tokens, completion_tokens),
    )


def _owner(row: Response | Judgment) -> str:
    return row.contestant if isinstance(row, Response) else row.judge
