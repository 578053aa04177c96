"""The bundled demo set: Llama 2's five helpfulness categories, enough multi-turn prompts."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from onpar.config.schema import PromptSetConfig
from onpar.data import (
    DEMO_PROMPTS,
    HELPFULNESS_CATEGORIES,
    PromptFileError,
    bundled_names,
    bundled_path,
    load_prompt_set,
)
from onpar.records import PromptItem

ID_PREFIX = {
    "factual questions": "fact",
    "writing and content creation": "write",
    "language assistance": "lang",
    "recommendations": "rec",
    "dialogue": "dial",
}


@pytest.fixture(scope="module")
def demo() -> list[PromptItem]:
    return load_prompt_set(PromptSetConfig(path=bundled_path(DEMO_PROMPTS), format="onpar"))


def test_bundled_path_points_at_a_real_file() -> None:
    path = bundled_path(DEMO_PROMPTS)
    assert path.is_file() and path.name == DEMO_PROMPTS
    assert DEMO_PROMPTS in bundled_names()
    with pytest.raises(FileNotFoundError, match=r"available: .*demo_prompts\.jsonl"):
        bundled_path("missing.jsonl")
    with pytest.raises(ValueError, match="plain file names"):
        bundled_path("../prompts.py")


def test_bundled_prefix_in_config(demo: list[PromptItem]) -> None:
    items = load_prompt_set(PromptSetConfig(path=Path("bundled:demo_prompts.jsonl")))
    assert [i.turns for i in items] == [i.turns for i in demo]
    assert items[0].source == "bundled:demo_prompts.jsonl"
    with pytest.raises(
        PromptFileError, match=re.escape("bundled:nope.jsonl: no bundled file 'nope.jsonl'")
    ):
        load_prompt_set(PromptSetConfig(path=Path("bundled:nope.jsonl")))


def test_size_and_categories(demo: list[PromptItem]) -> None:
    counts = Counter(item.category for item in demo)
    assert len(demo) >= 48
    assert set(counts) == set(HELPFULNESS_CATEGORIES)
    assert all(counts[category] >= 8 for category in HELPFULNESS_CATEGORIES), counts


def test_multi_turn_prompts(demo: list[PromptItem]) -> None:
    multi = [item for item in demo if item.is_multi_turn]
    assert len(multi) >= 12
    assert all(2 <= len(item.turns) <= 3 for item in multi)
    assert {item.category for item in multi} == set(HELPFULNESS_CATEGORIES)


def test_ids_tags_and_lengths(demo: list[PromptItem]) -> None:
    assert len({item.id for item in demo}) == len(demo)
    for item in demo:
        assert re.fullmatch(rf"{ID_PREFIX[item.category]}-\d\d", item.id), item.id
        kind = "multi-turn" if item.is_multi_turn else "single-turn"
        assert item.tags[0] == kind and len(set(item.tags)) == len(item.tags), item.id
        assert all(10 <= len(turn) <= 300 and turn == turn.strip() for turn in item.turns), item.id
