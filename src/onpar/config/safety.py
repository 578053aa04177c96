"""The `safety:` section of a run config: Llama 2's safety evaluation (§4.4, A.4).

Adversarial sets are answered by the chosen contestants and rated on the 5-point safety
scale by the safety judges; borderline sets (and the side-by-side prompts) are checked for
false refusals by the refusal classifier. See docs/safety.md.

Imported at the end of ``config/schema.py`` (it needs the model specs defined there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from onpar.config.schema import ModelJudgeSpec, Spec

#: ``path: bundled`` names the demo safety set shipped with onpar.
BUNDLED_SAFETY_SET = "bundled"


class SafetySetConfig(Spec):
    """A safety prompt file in one of the published layouts, or the bundled demo set."""

    path: str = Field(description="A file path, or 'bundled' for onpar's demo safety set.")
    format: Literal["onpar", "harmbench", "strongreject", "advbench", "xstest"] = Field(
        default="onpar", description="Layout of the file (ignored for 'bundled': onpar JSONL)."
    )
    limit: int | None = Field(default=None, ge=1, description="Use only the first N prompts.")

    def resolve(self, base_dir: Path) -> Path:
        """The file to read: the bundled set, or ``path`` relative to the config's folder."""
        if self.path == BUNDLED_SAFETY_SET:
            from onpar.safety.prompt_sets import demo_safety_path

            return demo_safety_path()
        path = Path(self.path)
        return path if path.is_absolute() else base_dir / path


class SafetyJudgeConfig(ModelJudgeSpec):
    """A judge rating each answer on Llama 2's 5-point safety scale."""


class SafetyConfig(Spec):
    """What the safety stage runs: sets, judges, the refusal classifier and who takes part."""

    adversarial: list[SafetySetConfig] = Field(
        default_factory=list, description="Prompts to rate for violations (risk categories)."
    )
    borderline: list[SafetySetConfig] = Field(
        default_factory=list, description="Safe prompts that look unsafe: false-refusal check."
    )
    judges: list[SafetyJudgeConfig] = Field(default_factory=list)
    refusal_classifier: Literal["rules", "judge"] = Field(
        default="rules", description="'rules': onpar.safety.refusal; 'judge': a safety judge."
    )
    refusal_judge: str | None = Field(
        default=None, description="Which safety judge classifies refusals (default: the first)."
    )
    helpfulness_refusals: bool = Field(
        default=True, description="Also measure false refusals on the side-by-side prompts."
    )
    contestants: list[str] | None = Field(
        default=None, description="Contestants that take the safety stage (default: all)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> SafetyConfig:
        if not self.adversarial and not self.borderline:
            raise ValueError("safety needs `adversarial` or `borderline` prompt sets")
        names = [j.name for j in self.judges]
        if len(set(names)) != len(names):
            raise ValueError("safety judge names must be unique")
        if "rules" in names:
            raise ValueError("'rules' names the rule-based refusal classifier; pick another name")
        if self.refusal_classifier == "judge" and not self.judges:
            raise ValueError("refusal_classifier: judge needs at least one entry in `judges`")
        if self.refusal_judge is not None and self.refusal_judge not in names:
            raise ValueError(
                f"refusal_judge {self.refusal_judge!r} is not a safety judge; "
                f"known: {', '.join(names) or 'none'}"
            )
        return self

    def refusal_judge_config(self) -> SafetyJudgeConfig | None:
        """The judge that classifies refusals, or None when the rules do."""
        if self.refusal_classifier != "judge":
            return None
        wanted = self.refusal_judge or self.judges[0].name
        return next(j for j in self.judges if j.name == wanted)


def check_safety_contestants(safety: SafetyConfig, contestants: list[str]) -> None:
    """Every contestant the safety section names must exist (called by RunConfig)."""
    for name in safety.contestants or []:
        if name not in contestants:
            raise ValueError(
                f"safety names unknown contestant {name!r}; known: {', '.join(contestants)}"
            )
