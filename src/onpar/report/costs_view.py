"""The report's cost table: tokens and USD per contestant and judge, unknown shown as such."""

from __future__ import annotations

from dataclasses import dataclass

from onpar.records import RunCosts

PRICE_LABELS = {
    "config": "from the config",
    "table": "default table",
    "local": "local (0)",
    "unknown": "unknown: not in the price table",
}


@dataclass(frozen=True)
class CostRow:
    """One member's line, formatted for the page."""

    role: str
    name: str
    model: str
    requests: str
    prompt_tokens: str
    completion_tokens: str
    price: str
    cost: str


@dataclass(frozen=True)
class CostsView:
    rows: list[CostRow]
    total: str
    budget: str | None
    prices_as_of: str


def format_usd(value: float | None) -> str:
    """Dollars with enough digits for small runs; None is 'unknown', never $0."""
    if value is None:
        return "unknown"
    return f"${value:,.2f}" if value >= 1 else f"${value:.4f}"


def costs_view(costs: RunCosts | None) -> CostsView | None:
    if costs is None or not costs.members:
        return None
    rows = [
        CostRow(
            role=m.role,
            name=m.name,
            model=m.model,
            requests=f"{m.requests:,}"
            + (f" ({m.cached_requests:,} cached)" if m.cached_requests else ""),
            prompt_tokens=f"{m.prompt_tokens:,}",
            completion_tokens=f"{m.completion_tokens:,}",
            price=PRICE_LABELS.get(m.price, m.price),
            cost=format_usd(m.cost_usd),
        )
        for m in costs.members
    ]
    budget = None if costs.max_cost is None else format_usd(costs.max_cost)
    return CostsView(rows, format_usd(costs.total_usd), budget, costs.prices_as_of)
