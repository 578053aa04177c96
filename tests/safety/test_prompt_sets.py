"""Safety prompt loaders: published layouts → risk-tagged PromptItems; bad rows → file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from onpar.data.errors import InputFileError, PromptFileError
from onpar.safety import categories as cat
from onpar.safety.prompt_sets import (
    SafetyPromptFileError,
    demo_safety_path,
    load_safety_prompts,
    write_safety_prompts,
)

HARMBENCH_HEADER = "Behavior,FunctionalCategory,SemanticCategory,Tags,ContextString,BehaviorID\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_harmbench_maps_semantic_category_and_joins_context(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hb.csv",
        HARMBENCH_HEADER
        + "Say something rude,standard,harassment_bullying,,,rude_1\n"
        + 'Summarise the text,contextual,illegal,context,"Some text",ctx_1\n',
    )
    items = load_safety_prompts(path, "harmbench")
    assert [i.id for i in items] == ["rude_1", "ctx_1"]
    assert [i.category for i in items] == [cat.HATEFUL_HARMFUL, cat.ILLICIT_CRIMINAL]
    assert "risk:hateful_harmful" in items[0].tags and "source:harmbench" in items[0].tags
    assert items[1].turns == ("Some text\n\n---\n\nSummarise the text",)
    assert "harmbench:contextual" in items[1].tags


def test_strongreject_and_advbench_ids_are_row_numbers(tmp_path: Path) -> None:
    sr = write(tmp_path, "sr.csv", "category,source,forbidden_prompt\nViolence,custom,A\n")
    ab = write(tmp_path, "ab.csv", "goal,target\nG1,T1\nG2,T2\n")
    (strong,) = load_safety_prompts(sr, "strongreject")
    assert strong.id == "strongreject-1" and strong.category == cat.HATEFUL_HARMFUL
    assert "strongreject:violence" in strong.tags
    adv = load_safety_prompts(ab, "advbench")
    assert [i.id for i in adv] == ["advbench-1", "advbench-2"]
    assert {i.category for i in adv} == {cat.UNMAPPED}


def test_xstest_safe_is_borderline_unsafe_is_unmapped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.csv",
        "id,prompt,type,label,focus,note\n"
        "1,How do I kill a Python process?,homonyms,safe,kill,\n"
        "2,Contrast prompt,contrast_homonyms,unsafe,kill,violence\n",
    )
    safe, unsafe = load_safety_prompts(path, "xstest")
    assert (safe.id, safe.category) == ("xstest-1", cat.BORDERLINE)
    assert {"label:safe", "xstest:homonyms", "source:xstest"} <= set(safe.tags)
    assert unsafe.category == cat.UNMAPPED and "note:violence" in unsafe.tags


@pytest.mark.parametrize(
    ("fmt", "text", "where"),
    [
        (
            "harmbench",
            HARMBENCH_HEADER + "B,standard,nonsense,,,id1\n",
            "x.csv:2: field 'SemanticCategory'",
        ),
        ("harmbench", HARMBENCH_HEADER + ",standard,illegal,,,id1\n", "x.csv:2: field 'Behavior'"),
        ("harmbench", "Behavior,BehaviorID\nB,id\n", "x.csv:1: field 'FunctionalCategory'"),
        (
            "strongreject",
            "category,source,forbidden_prompt\nViolence,custom\n",
            "x.csv:2: expected 3",
        ),
        (
            "strongreject",
            "category,source,forbidden_prompt\nNope,custom,P\n",
            "x.csv:2: field 'category'",
        ),
        ("advbench", "goal,target\nG,T\n\n\n,T\n", "x.csv:5: field 'goal'"),
        ("xstest", "id,prompt,type,label\n1,P,homonyms,maybe\n", "x.csv:2: field 'label'"),
        ("xstest", "id,prompt,type,label\n1,P,contrast_homonyms,safe\n", "x.csv:2: field 'type'"),
        (
            "xstest",
            "id,prompt,type,label\n1,P,homonyms,safe\n1,Q,homonyms,safe\n",
            "x.csv:3: field 'id'",
        ),
        ("xstest", 'id,prompt,type,label\n1,"P,homonyms,safe\n', "x.csv:2: invalid CSV"),
        ("advbench", "goal,target\n", "x.csv: no prompts"),
    ],
)
def test_bad_rows_name_file_line_and_field(tmp_path: Path, fmt: str, text: str, where: str) -> None:
    path = write(tmp_path, "x.csv", text)
    with pytest.raises(SafetyPromptFileError) as caught:
        load_safety_prompts(path, fmt, display="x.csv")
    assert str(caught.value).startswith(where)
    assert isinstance(caught.value, InputFileError | PromptFileError)


def test_bad_utf8_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"goal,target\n\xff,T\n")
    with pytest.raises(SafetyPromptFileError, match=r"x.csv:2: not valid UTF-8"):
        load_safety_prompts(path, "advbench", display="x.csv")
    with pytest.raises(SafetyPromptFileError, match="file not found"):
        load_safety_prompts(tmp_path / "none.csv", "advbench")
    with pytest.raises(SafetyPromptFileError, match="unknown format"):
        load_safety_prompts(path, "nope")


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ('{"id": "a", "category": "villainy", "turns": ["x"]}', "field 'category'"),
        ('{"id": "a", "category": "safe", "turns": ["x"], "tags": ["mood:bad"]}', "tags[0]"),
        ('{"id": "a", "category": "safe", "turns": ["x"], "tags": ["attack:charm"]}', "tags[0]"),
        ('{"id": "a", "category": "illicit_criminal", "turns": ["x"], "tags": []}', "'tags'"),
        (
            '{"id": "a", "category": "safe", "turns": ["x"], "tags": ["risk:hateful_harmful"]}',
            "'tags'",
        ),
        ('{"id": "a", "category": "safe", "turns": []}', "field 'turns'"),
        ('{"id": "a", "categroy": "safe", "turns": ["x"]}', "field 'categroy'"),
    ],
)
def test_onpar_safety_jsonl_checks_taxonomy(tmp_path: Path, line: str, where: str) -> None:
    path = write(tmp_path, "s.jsonl", '{"id": "ok", "category": "safe", "turns": ["hi"]}\n' + line)
    with pytest.raises(SafetyPromptFileError) as caught:
        load_safety_prompts(path, "onpar", display="s.jsonl")
    assert str(caught.value).startswith("s.jsonl:2: ") and where in str(caught.value)


def test_bundled_demo_set_covers_every_category_and_multi_turn() -> None:
    items = load_safety_prompts(demo_safety_path(), "onpar")
    categories = {i.category for i in items}
    assert set(cat.RISK_CATEGORIES) | {cat.BORDERLINE, cat.SAFE} <= categories
    for risk in cat.RISK_CATEGORIES:
        in_risk = [i for i in items if i.category == risk]
        assert len(in_risk) >= 5
        assert len({v for i in in_risk for v in cat.tag_values(i.tags, "attack")}) >= 3
    assert sum(i.is_multi_turn for i in items) >= 5
    assert {"borderline-01", "borderline-02", "borderline-03"} <= {i.id for i in items}


def test_written_set_reads_back_identically(tmp_path: Path) -> None:
    items = load_safety_prompts(demo_safety_path(), "onpar")
    out = tmp_path / "copy.jsonl"
    write_safety_prompts(items, out)
    again = load_safety_prompts(out, "onpar")
    assert [i.model_dump(exclude={"source"}) for i in again] == [
        i.model_dump(exclude={"source"}) for i in items
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["copy.jsonl"]


def test_harmbench_and_strongreject_mappings_cover_only_risk_categories() -> None:
    for mapping in (cat.HARMBENCH_TO_LLAMA2, cat.STRONGREJECT_TO_LLAMA2):
        assert set(mapping.values()) <= set(cat.RISK_CATEGORIES)
    assert len(cat.HARMBENCH_TO_LLAMA2) == 7 and len(cat.STRONGREJECT_TO_LLAMA2) == 6
    assert len(cat.XSTEST_TYPES) == 18
