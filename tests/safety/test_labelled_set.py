"""The project's labelled refusal set: well-formed, stores XSTest prompts by id only, and the
rule classifier keeps agreeing with it (a regression floor, not the reported number)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from onpar.safety.prompt_sets import demo_safety_path, load_safety_prompts
from onpar.safety.refusal import REFUSAL_LABELS, classify_refusal

LABELS = Path(demo_safety_path()).parent / "refusal_labels.jsonl"


def rows() -> list[dict[str, str]]:
    return [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]


def test_labelled_set_is_well_formed_and_large_enough() -> None:
    data = rows()
    assert len(data) >= 300
    assert len({r["id"] for r in data}) == len(data)
    assert Counter(r["source"] for r in data).keys() == {"smollm2-135m", "handwritten"}
    counts = Counter(r["label"] for r in data)
    assert set(counts) == set(REFUSAL_LABELS) and min(counts.values()) >= 15
    for r in data:
        assert isinstance(r["completion"], str)
        assert ("prompt_id" in r) != ("prompt" in r), r["id"]


def test_third_party_prompts_are_referenced_not_copied() -> None:
    demo_ids = {item.id for item in load_safety_prompts(demo_safety_path(), "onpar")}
    for r in rows():
        if r["source"] == "smollm2-135m":
            assert "prompt" not in r, r["id"]
            assert r["prompt_id"].startswith("xstest-") or r["prompt_id"] in demo_ids, r["id"]


def test_rules_agree_with_human_labels_above_floor() -> None:
    data = rows()
    agree = sum(classify_refusal(r["completion"]).label == r["label"] for r in data)
    assert agree / len(data) >= 0.85
