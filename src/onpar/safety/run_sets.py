"""The safety prompts of one run: the config's sets loaded, limited and given run-unique ids.

Safety prompts share the run store's `responses` table with the side-by-side prompts, so
their ids carry the prefix ``safety/`` and can never collide with a side-by-side id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from onpar.config.safety import BUNDLED_SAFETY_SET, SafetyConfig, SafetySetConfig
from onpar.records import PromptItem
from onpar.safety.categories import BORDERLINE, SAFE
from onpar.safety.prompt_sets import SafetyPromptFileError, load_safety_prompts

SAFETY_ID_PREFIX = "safety/"


@dataclass(frozen=True)
class SafetySets:
    """Adversarial prompts (rated for violations) and borderline ones (checked for refusals)."""

    adversarial: tuple[PromptItem, ...]
    borderline: tuple[PromptItem, ...]

    @property
    def all(self) -> tuple[PromptItem, ...]:
        return self.adversarial + self.borderline

    def to_meta(self) -> dict[str, list[dict]]:
        """JSON for the store's `safety_prompts` meta entry (so reports rebuild from the store)."""
        return {
            "adversarial": [p.model_dump(mode="json") for p in self.adversarial],
            "borderline": [p.model_dump(mode="json") for p in self.borderline],
        }

    @classmethod
    def from_meta(cls, meta: dict | None) -> SafetySets:
        meta = meta or {}
        return cls(
            adversarial=tuple(PromptItem.model_validate(p) for p in meta.get("adversarial", [])),
            borderline=tuple(PromptItem.model_validate(p) for p in meta.get("borderline", [])),
        )


def load_safety_sets(config: SafetyConfig, base_dir: Path) -> SafetySets:
    """Read every configured set (whole files checked first); ids must be unique across sets."""
    seen: dict[str, str] = {}
    adversarial = _load_all(config.adversarial, base_dir, seen, "label:unsafe")
    borderline = _load_all(config.borderline, base_dir, seen, "label:safe")
    return SafetySets(adversarial=tuple(adversarial), borderline=tuple(borderline))


def _load_all(
    specs: Sequence[SafetySetConfig], base_dir: Path, seen: dict[str, str], label: str
) -> list[PromptItem]:
    """Prompts of ``specs`` carrying ``label`` (a mixed file such as XSTest or the bundled set
    serves as both kinds: its unsafe half is adversarial, its safe half borderline)."""
    items: list[PromptItem] = []
    for spec in specs:
        path = spec.resolve(base_dir)
        display = "bundled safety set" if spec.path == BUNDLED_SAFETY_SET else str(spec.path)
        fmt = "onpar" if spec.path == BUNDLED_SAFETY_SET else spec.format
        loaded = load_safety_prompts(path, fmt, display=display)
        chosen = [item for item in loaded if safety_label(item) == label]
        if not chosen:
            raise SafetyPromptFileError(display, f"no prompts tagged {label!r} in this file")
        for item in chosen[: spec.limit]:
            new_id = SAFETY_ID_PREFIX + item.id
            if new_id in seen:
                raise SafetyPromptFileError(
                    display,
                    f"duplicate id {item.id!r}, already used in {seen[new_id]}; ids must be "
                    "unique across the safety sets of a run",
                    field="id",
                )
            seen[new_id] = display
            items.append(item.model_copy(update={"id": new_id}))
    return items


def safety_label(item: PromptItem) -> str:
    """'label:safe' or 'label:unsafe': the item's label tag, else what its category implies."""
    for tag in item.tags:
        if tag in ("label:safe", "label:unsafe"):
            return tag
    return "label:safe" if item.category in (BORDERLINE, SAFE) else "label:unsafe"


def original_id(prompt_id: str) -> str:
    """The id as written in the prompt file (without the run's ``safety/`` prefix)."""
    return prompt_id.removeprefix(SAFETY_ID_PREFIX)
