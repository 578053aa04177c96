"""`onpar safety …`: load safety prompt sets and label completions as refusals.

Registered by ``onpar.cli`` as ``app.add_typer(safety_app, name="safety")``. Bad input files
end with their file:line message and exit code 2, and no output file is written.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

safety_app = typer.Typer(
    help="Safety the Llama 2 way: risk-tagged prompt sets and refusal labels.",
    no_args_is_help=True,
)

FileArg = Annotated[Path, typer.Argument(help="Input file.", show_default=False)]


def _fail(message: str) -> None:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)


@safety_app.command()
def classify(
    path: FileArg,
    prompt_col: Annotated[str, typer.Option("--prompt-col", help="Column with the prompt.")],
    completion_col: Annotated[
        str, typer.Option("--completion-col", help="Column with the model's completion.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Where to write the labelled copy.")],
) -> None:
    """Label each completion full_compliance / full_refusal / partial_refusal (offline rules)."""
    from onpar.data.errors import InputFileError
    from onpar.safety.completions import read_completions, write_labelled
    from onpar.safety.refusal import REFUSAL_LABELS, classify_refusals

    try:
        table = read_completions(path, prompt_col, completion_col)
    except InputFileError as exc:
        _fail(str(exc))
    labels = classify_refusals(table.completions)
    write_labelled(table, list(labels), out)
    counts = Counter(labels)
    summary = ", ".join(f"{label} {counts[label]}" for label in REFUSAL_LABELS)
    typer.echo(f"{len(labels)} completions: {summary}\nwrote {out}")


@safety_app.command()
def prompts(
    path: FileArg,
    fmt: Annotated[
        str,
        typer.Option("--format", help="onpar, harmbench, strongreject, advbench or xstest."),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the prompts as onpar JSONL.")
    ] = None,
) -> None:
    """Check a safety prompt set and count it by category and tag (prompt text is not shown)."""
    from onpar.data.errors import InputFileError
    from onpar.safety.prompt_sets import load_safety_prompts, write_safety_prompts

    try:
        items = load_safety_prompts(path, fmt)
    except InputFileError as exc:
        _fail(str(exc))
    by_category = Counter(item.category for item in items)
    multi = sum(item.is_multi_turn for item in items)
    typer.echo(f"{len(items)} prompts ({multi} multi-turn)")
    for category, count in sorted(by_category.items()):
        typer.echo(f"  {category}: {count}")
    if out is not None:
        write_safety_prompts(items, out)
        typer.echo(f"wrote {out}")
