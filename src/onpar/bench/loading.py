"""From a `benchmarks:` entry of the config to a `LoadedTask`: the one place that reads files."""

from __future__ import annotations

from pathlib import Path

from onpar.bench.generic import load_generation, load_multiple_choice
from onpar.bench.gsm8k import load_gsm8k
from onpar.bench.humaneval import load_humaneval
from onpar.bench.mmlu import load_mmlu, mmlu_subjects
from onpar.bench.tasks import BenchFileError, LoadedTask
from onpar.config.benchmarks import (
    BenchmarkSpec,
    GenerationSpec,
    Gsm8kSpec,
    HumanEvalSpec,
    MmluSpec,
    MultipleChoiceSpec,
)


def load_benchmark(spec: BenchmarkSpec, base_dir: Path) -> LoadedTask:
    """Read and validate a benchmark's data; any problem is a BenchFileError with file:line."""
    name = spec.task_name
    if isinstance(spec, MmluSpec):
        root = _resolve(spec.path, base_dir)
        found = mmlu_subjects(root)
        if not found:
            raise BenchFileError(str(spec.path), "no test/<subject>_test.csv files in this folder")
        subjects = spec.subjects or list(found)
        unknown = [s for s in subjects if s not in found]
        if unknown:
            raise BenchFileError(
                str(spec.path), f"no test file for subject(s) {', '.join(unknown)}"
            )
        items = tuple(
            item
            for subject in subjects
            for item in load_mmlu(root, [subject], spec.num_fewshot)[: spec.limit]
        )
        return LoadedTask(name, "multiple_choice", spec, items)
    if isinstance(spec, Gsm8kSpec):
        root = _resolve(spec.path, base_dir)
        items = load_gsm8k(root / "test.jsonl", root / "train.jsonl", spec.num_fewshot)
        return LoadedTask(name, "generation", spec, items[: spec.limit])
    if isinstance(spec, HumanEvalSpec):
        path = None if spec.path is None else _resolve(spec.path, base_dir)
        return LoadedTask(name, "code", spec, load_humaneval(path)[: spec.limit])
    if isinstance(spec, MultipleChoiceSpec):
        return LoadedTask(name, "multiple_choice", spec, load_multiple_choice(spec, base_dir))
    if isinstance(spec, GenerationSpec):
        return LoadedTask(name, "generation", spec, load_generation(spec, base_dir))
    raise TypeError(f"unknown benchmark spec {type(spec).__name__}")


def load_benchmarks(specs: list[BenchmarkSpec], base_dir: Path) -> list[LoadedTask]:
    return [load_benchmark(spec, base_dir) for spec in specs]


def _resolve(path: Path, base_dir: Path) -> Path:
    return path if path.is_absolute() else base_dir / path
