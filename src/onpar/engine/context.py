"""What the stages of one run share: config, store, cache, models and progress display."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from onpar.config.schema import RunConfig
from onpar.engine.budget import Budget
from onpar.engine.executors import Executor, LocalExecutor
from onpar.models.registry import ModelPool
from onpar.store.cache import OutputCache
from onpar.store.run_store import RunStore

T = TypeVar("T")


@dataclass
class RunContext:
    """Handles for one run; created by `onpar.engine.run.execute_run`, passed to each stage."""

    config: RunConfig
    base_dir: Path
    store: RunStore
    cache: OutputCache
    pool: ModelPool
    console: Console
    progress: Progress
    budget: Budget | None = None  # max_cost; None: no budget (engine/budget.py)
    executor: Executor | None = None  # where batches run (engine/executors.py); None: locally

    def __post_init__(self) -> None:
        if self.executor is None:
            self.executor = LocalExecutor(self.pool)


def make_progress(console: Console, enabled: bool) -> Progress:
    """Rich bars with counts, rate and ETA (disabled: a Progress that draws nothing)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
    )


class RateColumn(ProgressColumn):
    """Items per second, as measured by rich over the last few updates."""

    def render(self, task: Task) -> Text:
        return Text("" if task.speed is None else f"{task.speed:.2f}/s", style="cyan")


_frozen_depth = 0


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Exempt the objects that exist now from the cyclic GC until the outermost block ends.

    A stage holds its prompts, answers and requests for its whole length; each full
    collection rescanned all of them (finding nothing), stalling the API event loop for
    0.15–0.2 s at a time (docs/benchmarks.md, "API judge throughput"). Objects made inside
    are collected as usual; a nested block also freezes what was made since the outer one.
    """
    global _frozen_depth
    gc.freeze()
    _frozen_depth += 1
    try:
        yield
    finally:
        _frozen_depth -= 1
        if _frozen_depth == 0:
            gc.unfreeze()


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
