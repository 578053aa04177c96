"""Safety the Llama 2 way: risk-tagged prompt sets and refusal classification.

* Taxonomy (``categories``): Llama 2's three risk categories, attack vectors, and how HarmBench,
  StrongREJECT and XSTest categories map onto them.
* Prompt sets (``prompt_sets``): ``load_safety_prompts`` for HarmBench, StrongREJECT, AdvBench,
  XSTest and onpar JSONL; ``demo_safety_path`` for the bundled demo set.
* Refusals (``refusal``, ``refusal_judge``): XSTest's three classes by offline rules
  (``classify_refusal``) or by any judge model (``judge_refusals``); capability refusals
  (``is_capability_refusal``), which Llama 2 does not count as false refusals.
* A run's safety sets (``run_sets``): ``load_safety_sets`` for the config's `safety:` section.

Names are imported on first use, so `onpar --help` (which registers the `safety`
commands) does not load the prompt readers.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {
    "ATTACK_VECTORS": "onpar.safety.categories",
    "BORDERLINE": "onpar.safety.categories",
    "CATEGORIES": "onpar.safety.categories",
    "HARMBENCH_TO_LLAMA2": "onpar.safety.categories",
    "RISK_CATEGORIES": "onpar.safety.categories",
    "SAFE": "onpar.safety.categories",
    "STRONGREJECT_TO_LLAMA2": "onpar.safety.categories",
    "UNMAPPED": "onpar.safety.categories",
    "XSTEST_TYPES": "onpar.safety.categories",
    "SAFETY_FORMATS": "onpar.safety.prompt_sets",
    "SafetyPromptFileError": "onpar.safety.prompt_sets",
    "demo_safety_path": "onpar.safety.prompt_sets",
    "load_safety_prompts": "onpar.safety.prompt_sets",
    "write_safety_prompts": "onpar.safety.prompt_sets",
    "REFUSAL_LABELS": "onpar.safety.refusal",
    "RefusalLabel": "onpar.safety.refusal",
    "RefusalVerdict": "onpar.safety.refusal",
    "classify_refusal": "onpar.safety.refusal",
    "classify_refusals": "onpar.safety.refusal",
    "is_capability_refusal": "onpar.safety.refusal",
    "SafetySets": "onpar.safety.run_sets",
    "load_safety_sets": "onpar.safety.run_sets",
    "JudgedRefusal": "onpar.safety.refusal_judge",
    "judge_refusals": "onpar.safety.refusal_judge",
    "parse_refusal_class": "onpar.safety.refusal_judge",
    "refusal_judge_messages": "onpar.safety.refusal_judge",
}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    """Import the public name from its module on first use."""
    if name not in _HOME:
        raise AttributeError(f"module 'onpar.safety' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
