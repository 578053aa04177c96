"""The published files in ../shared/data load whole. Asserts on ids and counts only, never text."""

from __future__ import annotations

from collections import Counter

import pytest

from onpar.safety import categories as cat
from onpar.safety.prompt_sets import load_safety_prompts
from tests.conftest import SHARED_DATA

CASES = [
    ("harmbench/harmbench_behaviors_text_all.csv", "harmbench", 400),
    ("harmbench/harmbench_behaviors_text_test.csv", "harmbench", 320),
    ("harmbench/strongreject_dataset.csv", "strongreject", 313),
    ("advbench/harmful_behaviors.csv", "advbench", 520),
    ("xstest/xstest_prompts.csv", "xstest", 450),
]


@pytest.mark.parametrize(("relative", "fmt", "count"), CASES, ids=[c[1] + str(c[2]) for c in CASES])
def test_published_file_loads(relative: str, fmt: str, count: int) -> None:
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"{relative} not in shared data")
    items = load_safety_prompts(path, fmt)
    assert len(items) == count
    assert len({i.id for i in items}) == count
    assert {i.category for i in items} <= set(cat.CATEGORIES)
    assert all(f"source:{fmt}" in i.tags for i in items)


def test_xstest_has_250_safe_and_200_unsafe_over_18_types() -> None:
    path = SHARED_DATA / "xstest" / "xstest_prompts.csv"
    if not path.is_file():
        pytest.skip("xstest not in shared data")
    items = load_safety_prompts(path, "xstest")
    assert Counter(i.category for i in items) == {cat.BORDERLINE: 250, cat.UNMAPPED: 200}
    types = Counter(v for i in items for v in cat.tag_values(i.tags, "xstest"))
    assert set(types) == set(cat.XSTEST_TYPES) and set(types.values()) == {25}


def test_harmbench_categories_split_as_documented() -> None:
    path = SHARED_DATA / "harmbench" / "harmbench_behaviors_text_all.csv"
    if not path.is_file():
        pytest.skip("harmbench not in shared data")
    counts = Counter(i.category for i in load_safety_prompts(path, "harmbench"))
    assert counts == {cat.ILLICIT_CRIMINAL: 288, cat.HATEFUL_HARMFUL: 112}
