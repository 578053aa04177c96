"""What raters judge, derived from a run: one item per pair of answers, or per safety answer.

Items are built from the run store alone (config, prompts, responses), the same way the
model judges choose their pairs, so human and model verdicts cover the same prompts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from onpar.config.schema import RunConfig
from onpar.records import PromptItem
from onpar.store.run_store import RunStore

ItemKind = Literal["pairwise", "safety"]
#: Prompt tags that send a prompt to the safety page instead of the side-by-side page.
SAFETY_TAGS = frozenset({"safety", "adversarial"})


@dataclass(frozen=True)
class Item:
    """One unit of rating work; raters never see these fields (they hold contestant names)."""

    kind: ItemKind
    prompt_id: str
    model_x: str
    model_y: str | None  # None on the safety page: one contestant's answer alone
    turn: int  # 0-based final user turn, the one the question is about
    category: str


@dataclass(frozen=True)
class RunContent:
    """The run's prompts and every contestant's answers (sample 0), ready to show."""

    prompts: dict[str, PromptItem]
    answers: dict[tuple[str, str], tuple[str, ...]]  # (contestant, prompt_id) -> one per turn

    def conversation(self, contestant: str, prompt_id: str) -> list[tuple[str, str]]:
        """(user turn, answer) pairs of one contestant's whole conversation."""
        turns = self.prompts[prompt_id].turns
        return list(zip(turns, self.answers[(contestant, prompt_id)], strict=True))


def is_safety_prompt(prompt: PromptItem) -> bool:
    return bool(SAFETY_TAGS.intersection(tag.lower() for tag in prompt.tags))


def load_run_content(store: RunStore) -> RunContent:
    """Prompts plus the answers of contestants that answered every turn successfully."""
    prompts = {p["id"]: PromptItem.model_validate(p) for p in store.get_meta("prompts") or []}
    by_turn: dict[tuple[str, str], dict[int, str]] = {}
    for _, response in store.responses():
        if response.sample_index == 0 and response.ok and response.prompt_id in prompts:
            key = (response.contestant, response.prompt_id)
            by_turn.setdefault(key, {})[response.turn_index] = response.text or ""
    answers = {
        key: tuple(turns[i] for i in range(len(prompts[key[1]].turns)))
        for key, turns in by_turn.items()
        if all(i in turns for i in range(len(prompts[key[1]].turns)))
    }
    return RunContent(prompts=prompts, answers=answers)


def load_config(store: RunStore, run_dir: str) -> RunConfig:
    """The run's config as stored; output_dir points at where the run lives now."""
    stored = store.get_meta("config")
    if stored is None:
        raise ValueError(f"{run_dir}: the store holds no run config; is this a finished run?")
    return RunConfig.model_validate({**stored, "output_dir": run_dir})


def build_items(comparisons: list[tuple[str, str]], content: RunContent) -> list[Item]:
    """Pairwise items for prompts both contestants answered; safety items per contestant."""
    items: list[Item] = []
    safety_done: set[tuple[str, str]] = set()
    for x, y in comparisons:
        for prompt in content.prompts.values():
            final = len(prompt.turns) - 1
            if is_safety_prompt(prompt):
                for contestant in (x, y):
                    key = (contestant, prompt.id)
                    if key in content.answers and key not in safety_done:
                        safety_done.add(key)
                        items.append(
                            Item("safety", prompt.id, contestant, None, final, prompt.category)
                        )
            elif (x, prompt.id) in content.answers and (y, prompt.id) in content.answers:
                items.append(Item("pairwise", prompt.id, x, y, final, prompt.category))
    return items
