"""What the stages of one run share: config, store, cache, models and progress display."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
