"""`onpar run`: load → generate → judge → statistics → report, resumable at every step."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from onpar.annotate.results import run_human_results
from onpar.bench.loading import load_benchmarks
from onpar.config.benchmarks import BenchmarkSpec
from onpar.config.executor import ExecutorConfig
from onpar.config.safety import SafetyJudgeConfig
from onpar.config.schema import ContestantConfig, JudgeConfig, ResponsesFileSpec, RunConfig
from onpar.data import load_prompt_sets
from onpar.engine.benchmarks import participants, run_benchmarks, summarize_benchmarks
from onpar.engine.budget import BudgetUnpriced, check_priced, open_budget
from onpar.engine.context import RunContext, make_progress
from onpar.engine.costs import run_costs
from onpar.engine.executors import make_executor
from onpar.engine.generation import generate_responses
from onpar.engine.judging import judge_pairs, pair_verdicts
from onpar.engine.manifest import build_manifest
from onpar.engine.safety import run_safety, safety_notes
from onpar.engine.safety_summary import safety_sets_from_store, summarize_safety
from onpar.models.registry import ModelPool
from onpar.records import (
    ComparisonSummary,
    Leaderboard,
    PairVerdict,
    PromptItem,
    Response,
    RunResults,
)
from onpar.report import write_report, write_results_json
from onpar.safety.run_sets import load_safety_sets
from onpar.stats import summarize_comparison
from onpar.stats.verdicts import difference_test, leaderboard, length_bias, with_holm
from onpar.store.cache import NullCache, OutputCache, default_cache_path
from onpar.store.run_store import RunStore

WEAK_JUDGE_NOTE = (
    "The judge here is the same 135M-parameter model as the contestants. A model this small "
    "cannot judge reliably: treat these verdicts as a smoke test of the pipeline, not as "
    "evidence. For real conclusions, judge with a strong model, e.g.\n\n"
    "judges:\n"
    "  - name: gpt-4o\n"
    "    model: {provider: openai, model: gpt-4o, api_key_env: OPENAI_API_KEY}\n"
    "    verdict: text\n"
)


class RunSetupError(RuntimeError):
    """A contestant or judge cannot be set up (missing key, package or file); nothing was run."""


@dataclass(frozen=True)
class RunOutputs:
    """Where a finished run wrote its files."""

    output_dir: Path
    store: Path
    results_json: Path
    report_html: Path
    manifest_json: Path


def execute_run(
    config: RunConfig,
    config_path: Path,
    *,
    console: Console | None = None,
    show_progress: bool = True,
    benchmarks_only: bool = False,
    tasks: Sequence[str] | None = None,
) -> RunOutputs:
    """Run (or resume) the comparison described by `config`; returns the written files.

    ``benchmarks_only`` skips the side-by-side stages (`onpar bench`); ``tasks`` limits the
    benchmarks run to those names. Results already in the store are reported either way.
    """
    console = console or Console(stderr=True)
    base_dir = config_path.parent
    # Everything that can fail on bad input happens before the first file is written.
    prompts = load_prompt_sets(config.prompts, base_dir=base_dir)
    safety_sets = load_safety_sets(config.safety, base_dir) if config.safety else None
    bench_tasks = load_benchmarks(_chosen_benchmarks(config, tasks), base_dir)
    try:
        check_priced(config)  # max_cost cannot be kept without every member's price
    except BudgetUnpriced as exc:
        raise RunSetupError(str(exc)) from exc
    pool = ModelPool(base_dir=base_dir)
    try:
        identities = _load_models(config, pool, with_judges=not benchmarks_only)
        # Ray (executor: ray) only for generation and judging; benchmarks run locally.
        use_executor = bool(prompts) and not benchmarks_only
        executor_config = config.executor if use_executor else ExecutorConfig()
        executor = make_executor(executor_config, pool, base_dir)
    except BaseException:
        pool.close()
        raise
    out = config.output_dir
    out.mkdir(parents=True, exist_ok=True)
    store = RunStore(out / "run.sqlite")
    cache = _open_cache(config)
    progress = make_progress(console, show_progress)
    ctx = RunContext(config, base_dir, store, cache, pool, console, progress)
    ctx.budget = open_budget(config, store)  # raises BudgetReached from a stage when spent
    ctx.executor = executor  # local, or Ray workers (engine/executors.py)
    try:
        manifest = build_manifest(config, config_path, identities)
        store.set_meta("config", config.model_dump(mode="json"))
        store.set_meta("manifest", manifest)
        store.set_meta("prompts", [p.model_dump(mode="json") for p in prompts])
        if safety_sets is not None:
            store.set_meta("safety_prompts", safety_sets.to_meta())
        with progress:
            if prompts and not benchmarks_only:
                generate_responses(ctx, prompts)
                judge_pairs(ctx, prompts)
            run_benchmarks(ctx, bench_tasks)
            if safety_sets is not None and not benchmarks_only:
                run_safety(ctx, safety_sets, prompts)
        return write_outputs(ctx, prompts, manifest)
    finally:
        executor.close()
        pool.close()
        cache.close()
        store.close()


def _chosen_benchmarks(config: RunConfig, tasks: Sequence[str] | None) -> list[BenchmarkSpec]:
    if tasks is None:
        return list(config.benchmarks)
    known = [b.task_name for b in config.benchmarks]
    unknown = [t for t in tasks if t not in known]
    if unknown:
        raise RunSetupError(
            f"no benchmark named {', '.join(unknown)} in the config; known: "
            f"{', '.join(known) or 'none'}"
        )
    return [b for b in config.benchmarks if b.task_name in tasks]


def _open_cache(config: RunConfig) -> OutputCache:
    if not config.cache.enabled:
        return NullCache()
    return OutputCache(config.cache.path or default_cache_path())


def _load_models(
    config: RunConfig, pool: ModelPool, *, with_judges: bool = True
) -> dict[str, dict[str, object]]:
    """Build every contestant's and judge's backend; returns their identities for the manifest.

    A missing API key, package or answers file becomes a RunSetupError naming the member.
    """
    judges = config.judges if with_judges else []
    safety_judges = config.safety.judges if config.safety and with_judges else []
    members: Sequence[ContestantConfig | JudgeConfig | SafetyJudgeConfig] = [
        *config.contestants,
        *judges,
        *safety_judges,
    ]
    identities: dict[str, dict[str, object]] = {}
    for member in members:
        try:
            identities[member.name] = pool.get(member.model).identity()
        except (ValueError, OSError, ImportError) as exc:
            role = "contestant" if isinstance(member, ContestantConfig) else "judge"
            raise RunSetupError(f"{role} {member.name!r}: {exc}") from exc
    return identities


def write_outputs(ctx: RunContext, prompts: Sequence[PromptItem], manifest: dict) -> RunOutputs:
    """Statistics, results.json, manifest.json and report.html from what the store holds."""
    config, out = ctx.config, ctx.config.output_dir
    responses = [r for _, r in ctx.store.responses()]
    judgments = [j for _, j in ctx.store.judgments()]
    verdicts_by_comparison = pair_verdicts(ctx, prompts, responses, judgments)
    bench_scores, bench_comparisons = summarize_benchmarks(
        config,
        [o for _, o in ctx.store.bench_outcomes()],
        ctx.store.get_meta("bench_tasks") or {},
    )
    safety, safety_details = (
        summarize_safety(ctx, safety_sets_from_store(ctx), prompts, responses)
        if config.safety
        else (None, None)
    )
    results = RunResults(
        run_name=config.name,
        confidence=config.stats.confidence,
        bootstrap_samples=config.stats.bootstrap_samples,
        combine_rule=", ".join(sorted({j.combine for j in config.judges})) or "none",
        comparisons=tuple(
            _summaries(config, verdicts_by_comparison, final_lengths(responses, prompts))
        ),
        leaderboards=tuple(_leaderboards(config, verdicts_by_comparison)),
        benchmarks=tuple(bench_scores),
        benchmark_comparisons=tuple(bench_comparisons),
        safety=safety,
        costs=run_costs(config, responses, judgments),
        human=run_human_results(ctx.store.path, config, verdicts_by_comparison),
    )
    outputs = RunOutputs(
        out, out / "run.sqlite", out / "results.json", out / "report.html", out / "manifest.json"
    )
    write_results_json(results, outputs.results_json)
    _write_json_atomic(outputs.manifest_json, manifest)
    write_report(
        results,
        prompts,
        responses,
        judgments,
        [v for vs in verdicts_by_comparison.values() for v in vs],
        manifest,
        notes=_notes(config),
        path=outputs.report_html,
        bench_kinds={spec.task_name: spec.task for spec in config.benchmarks},
        safety_details=safety_details,
    )
    return outputs


def final_lengths(
    responses: Sequence[Response], prompts: Sequence[PromptItem]
) -> dict[tuple[str, str], int]:
    """(contestant, prompt_id) → characters in the answer to the prompt's final turn."""
    last_turn = {p.id: len(p.turns) - 1 for p in prompts}
    return {
        (r.contestant, r.prompt_id): len(r.text or "")
        for r in responses
        if r.ok and r.sample_index == 0 and last_turn.get(r.prompt_id) == r.turn_index
    }


def _summaries(
    config: RunConfig,
    verdicts_by_comparison: dict[tuple[str, str, str], list[PairVerdict]],
    lengths: dict[tuple[str, str], int],
) -> list[ComparisonSummary]:
    stats = config.stats
    summaries = []
    for verdicts in verdicts_by_comparison.values():
        summary = summarize_comparison(
            verdicts, confidence=stats.confidence, n_boot=stats.bootstrap_samples, seed=stats.seed
        )
        difference = difference_test(
            verdicts,
            stats.confidence,
            stats.equivalence_margin,
            stats.bootstrap_samples,
            stats.seed,
        )
        bias = length_bias(verdicts, lengths, stats.confidence)
        summaries.append(summary.model_copy(update={"difference": difference, "length_bias": bias}))
    return with_holm(summaries)


def _leaderboards(
    config: RunConfig, verdicts_by_comparison: dict[tuple[str, str, str], list[PairVerdict]]
) -> list[Leaderboard]:
    boards = []
    for judge in config.judges:
        verdicts = [
            v
            for (name, _, _), vs in verdicts_by_comparison.items()
            if name == judge.name
            for v in vs
        ]
        board = leaderboard(
            judge.name,
            verdicts,
            config.stats.confidence,
            config.stats.bootstrap_samples,
            config.stats.seed,
        )
        if board is not None:
            boards.append(board)
    return boards


def _notes(config: RunConfig) -> list[str]:
    notes = []
    if any(j.model.provider == "hf" and "smollm2-135m" in j.model.model for j in config.judges):
        notes.append(WEAK_JUDGE_NOTE)
    if config.prompts and not config.judges:
        notes.append("No judges are configured: answers were generated but not compared.")
    if config.safety is not None:
        notes.extend(safety_notes(config.safety))
    for spec in config.benchmarks:
        for contestant in participants(config, spec):
            if isinstance(contestant.model, ResponsesFileSpec):
                notes.append(
                    f"{contestant.name} did not take the benchmark {spec.task_name}: its answers "
                    "are read from a file, so it cannot be asked new questions."
                )
    return notes


def _write_json_atomic(path: Path, value: object) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
