"""The report's benchmark section: our scores beside the Llama 2 paper's Table 4.

Published numbers are facts from Touvron et al. (2023), "Llama 2: Open Foundation and
Fine-Tuned Chat Models", Table 4 (comparison to closed-source models on academic
benchmarks; the closed models' numbers are self-reported by their developers). They are
shown for orientation only: they come from the full test sets and the paper's own
harness, so a subset (``limit``) or another prompt format is not directly comparable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from onpar.records import BenchComparison, BenchScore

PUBLISHED_SOURCE = (
    "Touvron et al. (2023), Llama 2: Open Foundation and Fine-Tuned Chat Models, Table 4; "
    "closed-model numbers are self-reported. Full test sets, the paper's own evaluation setup."
)
PUBLISHED_MODELS = ("GPT-3.5", "GPT-4", "PaLM", "PaLM-2-L", "Llama 2 70B")
# task kind → (the paper's setting, score per model in percent; None where not reported)
PUBLISHED: dict[str, tuple[str, tuple[float | None, ...]]] = {
    "mmlu": ("MMLU (5-shot)", (70.0, 86.4, 69.3, 78.3, 68.9)),
    "gsm8k": ("GSM8K (8-shot)", (57.1, 92.0, 56.5, 80.7, 56.8)),
    "humaneval": ("HumanEval (0-shot, pass@1)", (48.1, 67.0, 26.2, None, 29.9)),
}
# The metric of ours that corresponds to the published number.
HEADLINE_METRIC = {"mmlu": "acc", "gsm8k": "exact_match", "humaneval": "pass@1"}

MODE_LABELS = {
    "loglikelihood": "log-likelihood of each choice",
    "letter": "chat model answers with a letter",
    "generation": "raw-text continuation",
    "chat": "answered as a chat turn",
    "code": "raw-text completion, run in the sandbox",
    "chat_code": "chat answer, code run in the sandbox",
}


@dataclass(frozen=True)
class PublishedRow:
    model: str
    value: float


@dataclass(frozen=True)
class BenchTaskView:
    """Everything the template shows for one benchmark task."""

    task: str
    kind: str
    scores: list[BenchScore]
    headline_metric: str | None
    published_setting: str | None
    published: list[PublishedRow]
    comparisons: list[BenchComparison]
    groups: list[BenchScore]


def benchmark_views(
    scores: Sequence[BenchScore],
    comparisons: Sequence[BenchComparison],
    kinds: Mapping[str, str],
) -> list[BenchTaskView]:
    """One view per task, in the order the tasks first appear in the results."""
    tasks = list(dict.fromkeys(s.task for s in scores))
    views = []
    for task in tasks:
        kind = kinds.get(task, task)
        setting, values = PUBLISHED.get(kind, (None, (None,) * len(PUBLISHED_MODELS)))
        task_scores = [s for s in scores if s.task == task]
        views.append(
            BenchTaskView(
                task=task,
                kind=kind,
                scores=task_scores,
                headline_metric=HEADLINE_METRIC.get(kind),
                published_setting=setting,
                published=[
                    PublishedRow(model, value)
                    for model, value in zip(PUBLISHED_MODELS, values, strict=True)
                    if value is not None
                ],
                comparisons=[c for c in comparisons if c.task == task],
                groups=[s for s in task_scores if s.by_group or s.by_category],
            )
        )
    return views


def score_flags(score: BenchScore) -> str:
    """'3 unparseable, 1 failed' — what a reader must know before trusting the number."""
    parts = [
        f"{count} {label}"
        for count, label in (
            (score.n_failed, "failed (not scored)"),
            (score.n_unparseable, "unparseable (scored wrong)"),
            (score.n_length_truncated, "hit max_new_tokens"),
            (score.n_context_truncated, "prompt cut to fit the context"),
        )
        if count
    ]
    return ", ".join(parts)
