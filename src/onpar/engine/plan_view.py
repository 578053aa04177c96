"""The `--dry-run` table: requests and estimated cost per stage and member, in the terminal."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from onpar.config.pricing import PRICES_AS_OF
from onpar.config.schema import RunConfig
from onpar.engine.plan import RunPlan, plan_run
from onpar.report.costs_view import format_usd


def print_plan(plan: RunPlan, console: Console) -> None:
    """The plan table, then the budget, missing keys and notes (nothing was called)."""
    table = Table(title="dry run: nothing was called, nothing written")
    columns = ("stage", "member", "model", "requests", "in store", "in cache", "to do")
    for name in columns:
        table.add_column(name, justify="right" if name in columns[3:] else "left")
    for name in ("est. input tok", "max output tok", "price", "est. cost"):
        table.add_column(name, justify="right")
    for line in plan.lines:
        table.add_row(
            line.stage,
            line.member,
            line.model,
            f"{line.total:,}",
            f"{line.done:,}",
            f"{line.cached:,}",
            f"{line.to_do:,}",
            f"{line.input_tokens:,}",
            f"{line.output_tokens:,}",
            line.price,
            format_usd(line.cost_usd),
        )
    table.add_row(
        "total", "", "", "", "", "", f"{plan.to_do:,}", "", "", "", format_usd(plan.cost_usd)
    )
    console.print(table)
    console.print(
        f"Estimates: input tokens = characters / 4, output = max_new_tokens (an upper bound); "
        f"default prices as of {PRICES_AS_OF}, check your provider."
    )
    if plan.max_cost is not None:
        console.print(
            f"max_cost {format_usd(plan.max_cost)}; already spent {format_usd(plan.spent_usd)}"
        )
        estimate = plan.cost_usd
        if estimate is not None and (plan.spent_usd or 0.0) + estimate > plan.max_cost:
            console.print(
                "[yellow]the estimate exceeds max_cost: the run may stop before the end "
                "(estimates are upper bounds)[/yellow]"
            )
    for missing in plan.missing_keys:
        console.print(f"[red]missing API key[/red] {missing}")
    for note in plan.notes:
        console.print(f"note: {note}")


def budget_stop_message(exc: Exception, config: RunConfig, config_path: Path) -> str:
    """Why the run stopped and how to go on, with the requests left (from a fresh plan)."""
    left = plan_run(config, config_path).to_do
    return (
        f"{exc}.\nStopped before it: everything done so far is stored. About {left:,} requests "
        "are left; rerun with a higher max_cost to resume."
    )
