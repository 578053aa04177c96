"""`onpar annotate serve|export`: the typer sub-app the main CLI mounts as `annotate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

annotate_app = typer.Typer(
    help="Blind side-by-side ratings by people, in a local web app.", no_args_is_help=True
)
RunDir = Annotated[Path, typer.Argument(help="The run's output_dir (holds run.sqlite).")]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@annotate_app.command()
def serve(
    run_dir: RunDir,
    raters: Annotated[Path, typer.Option(help="raters.yaml: the people who rate.")],
    per_item: Annotated[int, typer.Option(min=1, max=50, help="Raters per item.")] = 3,
    host: Annotated[
        str, typer.Option(help="Address to bind; others can reach it if not local.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8700,
    new_links: Annotated[
        bool, typer.Option("--new-links", help="Issue new keys; old links and sessions stop.")
    ] = False,
    slot_timeout: Annotated[
        float,
        typer.Option(
            min=1.0, help="Minutes an opened item waits for its answer before others may take it."
        ),
    ] = 30.0,
) -> None:
    """Serve the rating pages; prints each rater's personal link and the admin link."""
    try:
        import uvicorn

        from onpar.annotate.app import AppSettings, create_app
    except ImportError as exc:
        _fail(f"{exc.name} is missing: pip install 'onpar[annotate]'")
    from onpar.annotate.preparation import prepare
    from onpar.annotate.raters import load_raters
    from onpar.annotate.slots import SlotClock

    try:
        prepared = prepare(run_dir, load_raters(raters), new_links)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    typer.echo(f"{prepared.n_items} items ({prepared.n_new_items} new), {per_item} raters each")
    for link in prepared.links:
        url = link.url(base) or "(issued earlier; use --new-links to replace it)"
        typer.echo(f"{link.display_name:>20}: {url}")
    hosts = ("127.0.0.1", "localhost", host) if host not in ("0.0.0.0", "::") else ("*",)
    settings = AppSettings(
        run_dir=run_dir,
        per_item=per_item,
        allowed_hosts=hosts,
        slots=SlotClock(timeout_s=slot_timeout * 60.0),
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


@annotate_app.command()
def export(
    run_dir: RunDir,
    out: Annotated[Path, typer.Option(help="Pairwise ratings, onpar JSONL (for onpar stats).")],
    safety_out: Annotated[
        Path | None, typer.Option(help="Safety ratings JSONL (default: OUT with .safety.jsonl).")
    ] = None,
) -> None:
    """Write the human ratings; `onpar stats OUT` analyses the pairwise ones directly."""
    from onpar.annotate.export import export_ratings
    from onpar.annotate.store import AnnotationStore

    path = run_dir / "run.sqlite"
    if not path.is_file():
        _fail(f"{run_dir}: no run.sqlite here; is this a run's output_dir?")
    safety_path = safety_out or out.with_name(out.name.removesuffix(".jsonl") + ".safety.jsonl")
    store = AnnotationStore(path)
    try:
        pairwise, safety = export_ratings(store.db, out, safety_path)
    finally:
        store.close()
    typer.echo(f"{pairwise} pairwise ratings → {out}\n{safety} safety ratings → {safety_path}")
