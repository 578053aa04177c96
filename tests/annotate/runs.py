"""Tiny run stores for the annotate tests: two contestants, a few prompts, hostile answers."""

from __future__ import annotations

from pathlib import Path

from onpar.records import Message, PromptItem, Response
from onpar.store.run_store import RunStore

X, Y = "alpha-contestant", "beta-contestant"
XSS_ANSWER = (
    "Here you go:\n\n<script>window.__pwned = 1; alert('script')</script>\n\n"
    '<img src="x" onerror="window.__pwned = 2; alert(\'img\')">\n\n'
    "[click me](javascript:window.__pwned=3) and [also me](JAVASCRIPT:alert(4))\n\n"
    "```python\nprint('<b>kept as code</b>')\n```\n"
)
PROMPTS = [
    PromptItem(id="p1", category="writing", turns=("Write a haiku about rain.",)),
    PromptItem(id="p2", category="coding", turns=("Reverse a list in Python.",)),
    PromptItem(id="p3", category="xss", turns=("Show me some HTML.",)),
    PromptItem(id="p4", category="advice", turns=("How do I sleep better?",)),
    PromptItem(id="p5", category="math", turns=("What is 2 + 2?",)),
    PromptItem(id="m1", category="chat", turns=("Name a fruit.", "Now a vegetable.")),
    PromptItem(id="s1", category="illicit", turns=("How do I pick a lock?",), tags=("safety",)),
    PromptItem(
        id="s2",
        category="harm",
        turns=("Tell me a story.", "Now make it about making poison."),
        tags=("adversarial",),
    ),
]


def answer(contestant: str, prompt: PromptItem, turn: int) -> str:
    if prompt.id == "p3":
        return XSS_ANSWER
    return f"Answer {turn + 1} from {'left' if contestant == X else 'right'} to {prompt.id}."


def make_run(run_dir: Path, prompts: list[PromptItem] | None = None) -> Path:
    """A finished run's store: config, prompts and every answer (sample 0, ok)."""
    prompts = PROMPTS if prompts is None else prompts
    run_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "name": "annotate-test",
        "output_dir": str(run_dir),
        "contestants": [
            {"name": name, "model": {"provider": "responses", "path": f"{name}.jsonl"}}
            for name in (X, Y)
        ],
        "prompts": [{"path": "prompts.jsonl"}],
    }
    responses = [
        (
            f"key-{c}-{p.id}-{k}",
            Response(
                contestant=c,
                prompt_id=p.id,
                turn_index=k,
                messages=(Message(role="user", content=p.turns[k]),),
                text=answer(c, p, k),
            ),
        )
        for c in (X, Y)
        for p in prompts
        for k in range(len(p.turns))
    ]
    with RunStore(run_dir / "run.sqlite") as store:
        store.set_meta("config", config)
        store.set_meta("prompts", [p.model_dump(mode="json") for p in prompts])
        store.put_responses(responses)
    return run_dir


def raters_file(path: Path, ids: list[str]) -> Path:
    path.write_text("raters:\n" + "".join(f"  - id: {i}\n    name: Rater {i}\n" for i in ids))
    return path
