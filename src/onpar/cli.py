"""The `onpar` command line. Heavy modules are imported inside commands so `--help` is instant."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from onpar import __version__
from onpar.annotate.cli import annotate_app
from onpar.safety.cli import safety_app

app = typer.Typer(
    name="onpar",
    help="Is this open model on par with that one, for these prompts? (Llama 2-style.)",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
prompt_app = typer.Typer(help="Inspect exactly what each contestant is sent.", no_args_is_help=True)
app.add_typer(prompt_app, name="prompt")
app.add_typer(annotate_app, name="annotate")
app.add_typer(safety_app, name="safety")

ConfigArg = Annotated[Path, typer.Argument(help="Run config (YAML).", show_default=False)]
DryRunOpt = Annotated[
    bool,
    typer.Option(
        "--dry-run", help="Count requests and estimate cost; build no model, call nothing."
    ),
]
BUDGET_EXIT_CODE = 3  # max_cost reached: resumable, distinct from bad input (2)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"onpar {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """onpar: side-by-side model comparison with honest statistics."""


def _fail(message: str) -> None:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)


def _dry_run(config, config_path: Path, **only) -> None:
    """`--dry-run`: the plan table (engine/plan.py); bad input exits 2 like a real run."""
    from rich.console import Console

    from onpar.data.errors import InputFileError
    from onpar.engine import RunSetupError
    from onpar.engine.plan import plan_run
    from onpar.engine.plan_view import print_plan

    try:
        plan = plan_run(config, config_path, **only)
    except (InputFileError, RunSetupError) as exc:
        _fail(str(exc))
    print_plan(plan, Console(stderr=False, width=200))


def _budget_stop(exc: Exception, config, config_path: Path) -> None:
    from onpar.engine.plan_view import budget_stop_message

    typer.secho(budget_stop_message(exc, config, config_path), err=True, fg=typer.colors.YELLOW)
    raise typer.Exit(code=BUDGET_EXIT_CODE)


def _load(config_path: Path):
    from onpar.config import ConfigError, load_config

    try:
        return load_config(config_path)
    except ConfigError as exc:
        _fail(str(exc))


@app.command()
def run(
    config_path: ConfigArg,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    dry_run: DryRunOpt = False,
) -> None:
    """Generate, judge, run benchmarks and report (resumes where a previous run stopped)."""
    from onpar.data.errors import InputFileError
    from onpar.engine import RunSetupError, execute_run
    from onpar.engine.budget import BudgetReached
    from onpar.engine.executors import ExecutorError

    config = _load(config_path)
    if dry_run:
        return _dry_run(config, config_path)
    try:
        outputs = execute_run(config, config_path, show_progress=progress)
    except (InputFileError, RunSetupError, ExecutorError) as exc:
        _fail(str(exc))
    except BudgetReached as exc:
        _budget_stop(exc, config, config_path)
    typer.echo(f"report:  {outputs.report_html}\nresults: {outputs.results_json}")


@app.command()
def bench(
    config_path: ConfigArg,
    task: Annotated[
        list[str] | None,
        typer.Option("--task", "-t", help="Run only this benchmark (repeatable)."),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    dry_run: DryRunOpt = False,
) -> None:
    """Run only the config's `benchmarks:` (MMLU, GSM8K, HumanEval …) and report them."""
    from onpar.data.errors import InputFileError
    from onpar.engine import RunSetupError, execute_run

    config = _load(config_path)
    if not config.benchmarks:
        _fail(f"{config_path}: no `benchmarks:` section; see docs/config.md")
    if dry_run:
        return _dry_run(config, config_path, benchmarks_only=True, tasks=task)
    try:
        outputs = execute_run(
            config, config_path, show_progress=progress, benchmarks_only=True, tasks=task
        )
    except (InputFileError, RunSetupError) as exc:
        _fail(str(exc))
    _print_bench_table(outputs.results_json)
    typer.echo(f"report:  {outputs.report_html}\nresults: {outputs.results_json}")


def _print_bench_table(results_path: Path) -> None:
    """The headline benchmark numbers in the terminal, as the report shows them."""
    from rich.console import Console
    from rich.table import Table

    from onpar.records import RunResults
    from onpar.report.benchmarks_view import score_flags

    results = RunResults.model_validate_json(results_path.read_text(encoding="utf-8"))
    table = Table(title="benchmarks")
    for column in ("task", "contestant", "metric", "score", "95% CI", "n", "notes"):
        table.add_column(column)
    for score in results.benchmarks:
        est = score.estimate
        ci = "" if est.low is None or est.high is None else f"{est.low:.3f}–{est.high:.3f}"
        table.add_row(
            score.task,
            score.contestant,
            score.metric,
            "—" if est.value is None else f"{est.value:.3f}",
            ci,
            f"{score.n_scored}/{score.n_items}",
            score_flags(score),
        )
    Console(stderr=False).print(table)


@app.command()
def validate(config_path: ConfigArg) -> None:
    """Check a config, its prompt files and benchmark data without running anything."""
    from onpar.bench.loading import load_benchmarks
    from onpar.data import load_prompt_sets
    from onpar.data.errors import InputFileError

    config = _load(config_path)
    try:
        prompts = load_prompt_sets(config.prompts, base_dir=config_path.parent)
        tasks = load_benchmarks(config.benchmarks, config_path.parent)
        safety = _safety_summary(config, config_path.parent)
    except InputFileError as exc:
        _fail(str(exc))
    multi = sum(p.is_multi_turn for p in prompts)
    bench = "".join(f", {t.name} ({len(t.items)} items)" for t in tasks) + safety
    typer.echo(
        f"{config_path}: OK — {len(config.contestants)} contestants, {len(config.judges)} judges, "
        f"{len(prompts)} prompts ({multi} multi-turn), {len(config.comparison_pairs())} comparisons"
        f"{bench}"
    )


def _safety_summary(config: object, base_dir: Path) -> str:
    """', safety: N adversarial + M borderline' after checking a RunConfig's safety sets."""
    from onpar.safety.run_sets import load_safety_sets

    safety = getattr(config, "safety", None)
    if safety is None:
        return ""
    sets = load_safety_sets(safety, base_dir)
    return f", safety: {len(sets.adversarial)} adversarial + {len(sets.borderline)} borderline"


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="A run's output directory.")]) -> None:
    """Rebuild results.json and report.html from a run's store (no model is called)."""
    from onpar.engine import rebuild_report

    if not (run_dir / "run.sqlite").is_file():
        _fail(f"{run_dir}: no run.sqlite here; is this a run's output_dir?")
    outputs = rebuild_report(run_dir)
    typer.echo(f"report:  {outputs.report_html}\nresults: {outputs.results_json}")


@app.command()
def stats(
    path: Annotated[Path, typer.Argument(help="Judgments file.", show_default=False)],
    file_format: Annotated[
        str, typer.Option("--format", help="onpar | alpaca_eval | mt_bench")
    ] = "onpar",
    as_json: Annotated[bool, typer.Option("--json", help="Print the analysis as JSON.")] = False,
    report: Annotated[
        Path | None, typer.Option(help="Also write a self-contained HTML report here.")
    ] = None,
    judge: Annotated[
        str | None, typer.Option(help="Rater to compare with the majority of the others.")
    ] = None,
    rule: Annotated[str, typer.Option(help="Combine raters: majority | mean.")] = "majority",
    margin: Annotated[float, typer.Option(help="Equivalence margin on win − loss rate.")] = 0.05,
    confidence: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 2000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
) -> None:
    """Statistics from judgments made elsewhere (onpar, AlpacaEval, MT-Bench files)."""
    from onpar.data import JUDGMENT_FORMATS, JudgmentFileError, load_judgments
    from onpar.engine.ratings import analyse_ratings
    from onpar.engine.ratings_view import print_analysis

    if file_format not in JUDGMENT_FORMATS:
        _fail(f"--format must be one of {', '.join(JUDGMENT_FORMATS)}; got {file_format!r}")
    if rule not in ("majority", "mean"):
        _fail(f"--rule must be majority or mean; got {rule!r}")
    try:
        ratings = load_judgments(path, file_format)  # type: ignore[arg-type]
        analysis = analyse_ratings(
            ratings,
            rule=rule,
            judge=judge,
            source_format=file_format,  # type: ignore[arg-type]
            confidence=confidence,
            margin=margin,
            n_boot=bootstrap,
            seed=seed,
        )
    except (JudgmentFileError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(analysis.model_dump_json(indent=2))
    else:
        print_analysis(analysis)
    if report is not None:
        from onpar.report.ratings_html import write_ratings_report

        write_ratings_report(analysis, str(path), report)
        if not as_json:
            typer.echo(f"report: {report}")


@prompt_app.command("show")
def prompt_show(
    config_path: ConfigArg,
    contestant: Annotated[str, typer.Argument(help="Contestant name.")],
    prompt_id: Annotated[str, typer.Argument(help="Prompt id.")],
    turn: Annotated[int, typer.Option(help="1-based user turn (default: the last).")] = 0,
) -> None:
    """Print the exact text (or messages) sent to CONTESTANT for PROMPT_ID."""
    from onpar.data import PromptFileError
    from onpar.engine import show_prompt

    config = _load(config_path)
    try:
        typer.echo(show_prompt(config, config_path, contestant, prompt_id, turn))
    except (KeyError, PromptFileError, ValueError) as exc:
        _fail(str(exc).strip("'\""))
