"""The Llama 2 safety taxonomy as tags, and how published data sets' categories map onto it.

Llama 2 (Touvron et al. 2023, §4.2.1 and §4.4) groups adversarial prompts into three risk
categories and names the attack vectors used to write them. onpar stores the category in
``PromptItem.category`` and everything else as ``prefix:value`` tags, so one prompt set can be
sliced by risk, attack, source or label without a new record type.
"""

from __future__ import annotations

from typing import Final

ILLICIT_CRIMINAL: Final = "illicit_criminal"
HATEFUL_HARMFUL: Final = "hateful_harmful"
UNQUALIFIED_ADVICE: Final = "unqualified_advice"
#: Llama 2's three risk categories (examples from the paper: terrorism, theft, human
#: trafficking; defamation, self-harm, eating disorders, discrimination; medical, financial,
#: legal advice).
RISK_CATEGORIES: Final = (ILLICIT_CRIMINAL, HATEFUL_HARMFUL, UNQUALIFIED_ADVICE)

#: Safe prompts that look unsafe (XSTest's safe half, Llama 2's "Christmas crack" set).
BORDERLINE: Final = "borderline"
#: Ordinary prompts with nothing unsafe about them.
SAFE: Final = "safe"
#: Harmful prompts whose source gives no category we can map honestly (AdvBench, XSTest's
#: unsafe contrast prompts).
UNMAPPED: Final = "unmapped"
CATEGORIES: Final = (*RISK_CATEGORIES, BORDERLINE, SAFE, UNMAPPED)

#: Llama 2's attack vectors (§A.4.1): psychological manipulation (e.g. authority), logic
#: manipulation (false premises), syntactic manipulation (misspelling), semantic manipulation
#: (metaphor), perspective manipulation (role play), non-English, others. ``direct`` marks a
#: plain request with no attack.
ATTACK_VECTORS: Final = (
    "direct",
    "psychological",
    "logic",
    "syntactic",
    "semantic",
    "perspective",
    "role_play",
    "non_english",
    "multi_turn_escalation",
    "other",
)

#: Tag prefixes onpar writes; a bundled or user safety set may use only these.
TAG_PREFIXES: Final = (
    "risk",
    "attack",
    "label",
    "source",
    "xstest",
    "harmbench",
    "strongreject",
    "note",
)
LABELS: Final = ("safe", "unsafe")


def tag(prefix: str, value: str) -> str:
    """One ``prefix:value`` tag, e.g. ``tag("risk", "illicit_criminal")``."""
    return f"{prefix}:{value}"


def tag_values(tags: tuple[str, ...] | list[str], prefix: str) -> list[str]:
    """The values of every tag with this prefix, in order."""
    start = f"{prefix}:"
    return [t[len(start) :] for t in tags if t.startswith(start)]


def risk_tags(category: str) -> tuple[str, ...]:
    """``risk:<category>`` for a Llama 2 risk category, nothing for other categories."""
    return (tag("risk", category),) if category in RISK_CATEGORIES else ()


# HarmBench's seven semantic categories (centerforaisafety/HarmBench,
# data/behavior_datasets). Copyright is reproduction of protected text: illegal use, so
# illicit. Chemical/biological weapons fall under terrorism. Misinformation is closest to
# defamation, which Llama 2 lists under hateful and harmful.
HARMBENCH_TO_LLAMA2: Final[dict[str, str]] = {
    "chemical_biological": ILLICIT_CRIMINAL,
    "copyright": ILLICIT_CRIMINAL,
    "cybercrime_intrusion": ILLICIT_CRIMINAL,
    "illegal": ILLICIT_CRIMINAL,
    "harassment_bullying": HATEFUL_HARMFUL,
    "harmful": HATEFUL_HARMFUL,
    "misinformation_disinformation": HATEFUL_HARMFUL,
}

# StrongREJECT's six categories (Souly et al. 2024, strongreject_dataset.csv). Violence and
# sexual content are harms to people (hateful and harmful); crimes and illegal goods are
# illicit. Neither source has an "unqualified advice" category.
STRONGREJECT_TO_LLAMA2: Final[dict[str, str]] = {
    "Disinformation and deception": HATEFUL_HARMFUL,
    "Hate, harassment and discrimination": HATEFUL_HARMFUL,
    "Illegal goods and services": ILLICIT_CRIMINAL,
    "Non-violent crimes": ILLICIT_CRIMINAL,
    "Sexual content": HATEFUL_HARMFUL,
    "Violence": HATEFUL_HARMFUL,
}

# XSTest's 18 prompt types (Röttger et al. 2024, Table 1): 10 safe types (250 prompts) and
# 8 unsafe contrast types (200 prompts).
XSTEST_SAFE_TYPES: Final = (
    "homonyms",
    "figurative_language",
    "safe_targets",
    "safe_contexts",
    "definitions",
    "real_group_nons_discr",
    "nons_group_real_discr",
    "historical_events",
    "privacy_public",
    "privacy_fictional",
)
XSTEST_UNSAFE_TYPES: Final = (
    "contrast_homonyms",
    "contrast_figurative_language",
    "contrast_safe_targets",
    "contrast_safe_contexts",
    "contrast_definitions",
    "contrast_discr",
    "contrast_historical_events",
    "contrast_privacy",
)
XSTEST_TYPES: Final = XSTEST_SAFE_TYPES + XSTEST_UNSAFE_TYPES


def slug(text: str) -> str:
    """A tag-safe form of a published category name: lower case, words joined by '_'."""
    words = "".join(c.lower() if c.isalnum() else " " for c in text).split()
    return "_".join(words)
