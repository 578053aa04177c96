"""Typed records for academic benchmark items (MMLU, GSM8K, HumanEval) and their file error.

The benchmark readers turn third-party files into these records and nothing else, so the
later engine stage (model calls, scoring) reads one schema whatever the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from onpar.config.benchmarks import BenchmarkSpec
from onpar.data.errors import InputFileError
from onpar.records import Record


class BenchFileError(InputFileError):
    """A benchmark data file cannot be used; the message says ``file:line: field 'x': ...``."""


class MultipleChoiceItem(Record):
    """One question scored by comparing the log-likelihood of each continuation.

    ``context`` is the whole prompt (few-shot examples included) and ``choices`` are the
    continuations appended to it (for MMLU ``" A"`` … ``" D"``; the option texts live in the
    context), so a scorer needs nothing else.
    """

    id: str = Field(description="Unique within a benchmark, e.g. 'abstract_algebra/0'.")
    subject: str
    context: str
    choices: tuple[str, ...] = Field(min_length=2)
    answer: int = Field(ge=0, description="Index into `choices` of the correct continuation.")
    source_line: int = Field(ge=1, description="Line of the source file the question starts on.")
    letter_prompt: str | None = Field(
        default=None,
        description="The question with lettered options ending in 'Answer:', for chat models "
        "that answer with a letter; None when `context` already is that (MMLU).",
    )


class GenerationItem(Record):
    """One question answered by free generation, scored against ``reference``."""

    id: str
    prompt: str
    reference: str = Field(description="Normalised final answer, e.g. '72' for GSM8K.")
    source_line: int = Field(ge=1)
    group: str = Field(default="", description="Reported separately, e.g. a category.")


class CodeItem(Record):
    """One HumanEval-style problem: complete ``prompt``, then run ``test`` on ``entry_point``."""

    task_id: str
    prompt: str
    test: str
    entry_point: str


TaskKind = Literal["multiple_choice", "generation", "code"]
AnyItem = MultipleChoiceItem | GenerationItem | CodeItem


@dataclass(frozen=True)
class LoadedTask:
    """A configured benchmark with its items read and validated, ready for the engine."""

    name: str
    kind: TaskKind
    spec: BenchmarkSpec
    items: tuple[AnyItem, ...]


def item_id(item: AnyItem) -> str:
    return item.task_id if isinstance(item, CodeItem) else item.id


def item_group(item: AnyItem, task: str) -> str:
    if isinstance(item, MultipleChoiceItem):
        return item.subject
    if isinstance(item, GenerationItem):
        return item.group or task
    return task
