"""Look inside a run without running it: the exact prompt a contestant gets, a report rebuild."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from onpar.config.schema import ResponsesFileSpec, RunConfig
from onpar.data import load_prompt_sets
from onpar.engine.context import RunContext, make_progress
from onpar.engine.generation import conversation
from onpar.engine.run import RunOutputs, write_outputs
from onpar.models.registry import ModelPool
from onpar.records import PromptItem, Response
from onpar.store.cache import NullCache
from onpar.store.run_store import RunStore


def show_prompt(
    config: RunConfig, config_path: Path, contestant: str, prompt_id: str, turn: int
) -> str:
    """The exact text (local models) or messages JSON (APIs) sent for one prompt and turn.

    Earlier answers of a multi-turn prompt come from the run's store when it has them;
    otherwise a visible placeholder stands in for each.
    """
    member = config.contestant(contestant)
    prompts = {p.id: p for p in load_prompt_sets(config.prompts, base_dir=config_path.parent)}
    if prompt_id not in prompts:
        raise KeyError(f"no prompt {prompt_id!r} in the config's prompt sets")
    prompt = prompts[prompt_id]
    turn_index = (turn or len(prompt.turns)) - 1
    if not 0 <= turn_index < len(prompt.turns):
        raise ValueError(
            f"prompt {prompt_id!r} has {len(prompt.turns)} turns; --turn {turn} is out of range"
        )
    earlier = _earlier_answers(config, contestant, prompt, turn_index)
    messages = conversation(member, prompt, turn_index, earlier)
    if isinstance(member.model, ResponsesFileSpec):
        return "This contestant's answers are read from a file; it is sent nothing."
    pool = ModelPool(base_dir=config_path.parent)
    try:
        return pool.get(member.model).render(messages)
    finally:
        pool.close()


def _earlier_answers(
    config: RunConfig, contestant: str, prompt: PromptItem, turn_index: int
) -> list[str]:
    stored: dict[int, Response] = {}
    store_path = config.output_dir / "run.sqlite"
    if store_path.is_file():
        with RunStore(store_path) as store:
            stored = {
                r.turn_index: r
                for _, r in store.responses()
                if r.contestant == contestant
                and r.prompt_id == prompt.id
                and r.sample_index == 0
                and r.ok
            }
    return [
        stored[k].text
        if k in stored and stored[k].text is not None
        else f"<answer to turn {k + 1}: not generated yet>"
        for k in range(turn_index)
    ]


def rebuild_report(run_dir: Path) -> RunOutputs:
    """results.json and report.html again from the store, e.g. after upgrading onpar."""
    with RunStore(run_dir / "run.sqlite") as store:
        config = RunConfig.model_validate({**store.get_meta("config"), "output_dir": str(run_dir)})
        prompts = [PromptItem.model_validate(p) for p in store.get_meta("prompts")]
        manifest = store.get_meta("manifest")
        console = Console(stderr=True)
        ctx = RunContext(
            config, run_dir, store, NullCache(), ModelPool(), console, make_progress(console, False)
        )
        return write_outputs(ctx, prompts, manifest)
