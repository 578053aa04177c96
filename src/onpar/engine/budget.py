"""`max_cost`: stop a run before a batch would take its spending past the budget.

Spent money is what the store's usage says this run's calls cost (cache hits are free);
a batch's cost is estimated up front as an upper bound (engine/costs.py), so the budget is
not exceeded by the batch that would cross it. Stopping raises ``BudgetReached`` after the
last whole batch was committed; rerunning with a higher ``max_cost`` resumes from there.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from onpar.config.pricing import Price, estimate_tokens
from onpar.config.schema import RunConfig
from onpar.engine.costs import price_for, run_costs
from onpar.records import Message, Usage
from onpar.store.run_store import RunStore


class BudgetReached(RuntimeError):
    """The next batch could take the run past ``max_cost``; everything before it is stored."""

    def __init__(self, spent: float, estimate: float, budget: float, member: str) -> None:
        self.spent, self.estimate, self.budget, self.member = spent, estimate, budget, member
        super().__init__(
            f"budget reached: spent ${spent:.4f} of max_cost ${budget:.4f}; the next batch for "
            f"{member} could cost up to ${estimate:.4f}"
        )


class BudgetUnpriced(ValueError):
    """``max_cost`` is set but some member's price is unknown, so it cannot be enforced."""


@dataclass
class Budget:
    """Running spend against ``max_cost``; prices are looked up once per model spec.

    An executor may prepare the next batches before the earlier ones are committed, so a
    checked batch's estimate stays *reserved* until its usage is charged (batches are
    committed in the order they were checked).
    """

    limit: float
    prices: dict[str, Price]
    spent: float = 0.0
    _cache: dict[object, Price] = field(default_factory=dict)
    _reserved: deque[float] = field(default_factory=deque)

    def price(self, spec: object) -> Price:
        if spec not in self._cache:
            resolved = price_for(spec, self.prices).price
            if resolved is None:
                raise BudgetUnpriced(f"no price for model {getattr(spec, 'model', spec)!r}")
            self._cache[spec] = resolved
        return self._cache[spec]

    def check(
        self, spec: object, member: str, conversations: Sequence[Sequence[Message]], max_out: int
    ) -> None:
        """Raise ``BudgetReached`` if the batch's upper-bound cost would cross the budget."""
        if not conversations:
            return
        price = self.price(spec)
        tokens_in = sum(estimate_tokens(c) for c in conversations)
        estimate = price.cost(tokens_in, max_out * len(conversations))
        if self.spent + sum(self._reserved) + estimate > self.limit:
            raise BudgetReached(self.spent, estimate, self.limit, member)
        self._reserved.append(estimate)

    def charge(self, spec: object, usages: Sequence[Usage]) -> None:
        """Add a committed batch's real cost, releasing its reservation (none if empty)."""
        if not usages:
            return
        if self._reserved:
            self._reserved.popleft()
        price = self.price(spec)
        self.spent += sum(price.cost(u.prompt_tokens, u.completion_tokens) for u in usages)


def open_budget(config: RunConfig, store: RunStore) -> Budget | None:
    """The run's budget with what earlier attempts already spent (None without max_cost).

    Raises ``BudgetUnpriced`` naming the member whose price is unknown.
    """
    if config.max_cost is None:
        return None
    check_priced(config)
    costs = run_costs(config, [r for _, r in store.responses()], [j for _, j in store.judgments()])
    spent = sum(m.cost_usd or 0.0 for m in costs.members)
    return Budget(limit=config.max_cost, prices=dict(config.prices), spent=spent)


def check_priced(config: RunConfig) -> None:
    """With ``max_cost``, every contestant and judge needs a known price (else BudgetUnpriced)."""
    if config.max_cost is None:
        return
    members = [(c.name, c.model) for c in config.contestants]
    members += [(j.name, j.model) for j in config.judges]
    for name, spec in members:
        if price_for(spec, config.prices).price is None:
            raise BudgetUnpriced(
                f"max_cost needs a price for {name!r} (model {getattr(spec, 'model', '?')!r}), "
                "which is not in the default price table: give it `price:` in its model spec "
                "or an entry under `prices:`"
            )
