"""Prompt set loading: every format parses, every bad input names file, line and field."""

from __future__ import annotations

import json
import pickle
import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onpar.config.schema import PromptSetConfig
from onpar.data import (
    PromptFileError,
    load_prompt_set,
    load_prompt_sets,
    resolve_prompt_path,
    write_prompt_set,
)
from onpar.records import PromptItem

MT_BENCH = Path("/work/shared/data/mt_bench/question.jsonl")


def write_jsonl(folder: Path, name: str, records: list[Any]) -> Path:
    """One JSON value per line; str values are written verbatim (for malformed lines)."""
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load(folder: Path, name: str, **options: Any) -> list[PromptItem]:
    return load_prompt_set(PromptSetConfig(path=Path(name), **options), base_dir=folder)


def load_error(folder: Path, name: str, **options: Any) -> PromptFileError:
    with pytest.raises(PromptFileError) as info:
        load(folder, name, **options)
    return info.value


# --- formats -------------------------------------------------------------------------------


def test_onpar_format(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path,
        "p.jsonl",
        [
            {"id": "a", "category": "dialogue", "turns": ["Hi", "And then?"], "tags": ["x"]},
            "",
            {"id": 7, "turns": ["Only a prompt"]},
        ],
    )
    items = load(tmp_path, "p.jsonl")
    assert items == [
        PromptItem(
            id="a", category="dialogue", turns=("Hi", "And then?"), tags=("x",), source="p.jsonl"
        ),
        PromptItem(id="7", category="uncategorized", turns=("Only a prompt",), source="p.jsonl"),
    ]
    assert items[0].is_multi_turn and not items[1].is_multi_turn


def test_mt_bench_format_ignores_extra_keys(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path,
        "question.jsonl",
        [
            {"question_id": 81, "category": "writing", "turns": ["Write.", "Rewrite."]},
            {
                "question_id": 101,
                "category": "math",
                "turns": ["1+1?", "2+2?"],
                "reference": ["2", "4"],
            },
        ],
    )
    items = load(tmp_path, "question.jsonl")
    assert [(i.id, i.category, i.turns) for i in items] == [
        ("81", "writing", ("Write.", "Rewrite.")),
        ("101", "math", ("1+1?", "2+2?")),
    ]
    assert load(tmp_path, "question.jsonl", format="mt_bench") == items


def test_messages_format_keeps_user_turns_and_defaults_id_to_line(tmp_path: Path) -> None:
    conversation = [
        {"role": "user", "content": "Name a fruit."},
        {"role": "assistant", "content": "Apple."},
        {"role": "user", "content": "Another one?"},
    ]
    write_jsonl(
        tmp_path,
        "chat.jsonl",
        [
            {"messages": conversation, "category": "dialogue", "meta": {"ignored": True}},
            "",
            {"id": "q2", "messages": [{"role": "user", "content": "Hello"}]},
        ],
    )
    first, second = load(tmp_path, "chat.jsonl")
    assert first.id == "1" and first.turns == ("Name a fruit.", "Another one?")
    assert first.category == "dialogue"
    assert second.id == "q2" and second.turns == ("Hello",)


def test_csv_format_with_columns(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(
        'key,text,kind\nk1,"Say hi,\nplease",dialogue\n\nk2,Name a color,\n', encoding="utf-8"
    )
    items = load(tmp_path, "p.csv", prompt_column="text", id_column="key", category_column="kind")
    assert [(i.id, i.turns, i.category) for i in items] == [
        ("k1", ("Say hi,\nplease",), "dialogue"),
        ("k2", ("Name a color",), "uncategorized"),
    ]


def test_csv_ids_default_to_row_numbers_and_tsv_uses_tabs(tmp_path: Path) -> None:
    (tmp_path / "p.tsv").write_text("prompt\tother\nFirst, one\tx\nSecond\ty\n", encoding="utf-8")
    items = load(tmp_path, "p.tsv", prompt_column="prompt")
    assert [(i.id, i.turns) for i in items] == [("1", ("First, one",)), ("2", ("Second",))]


def test_limit_keeps_the_first_n(tmp_path: Path) -> None:
    write_jsonl(tmp_path, "p.jsonl", [{"id": str(n), "turns": [f"q{n}"]} for n in range(5)])
    assert [i.id for i in load(tmp_path, "p.jsonl", limit=2)] == ["0", "1"]


def test_paths_resolve_against_base_dir_and_source_is_as_given(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    write_jsonl(tmp_path / "sub", "p.jsonl", [{"id": "a", "turns": ["x"]}])
    (item,) = load(tmp_path, "sub/p.jsonl")
    assert item.source == "sub/p.jsonl"
    assert resolve_prompt_path(Path("sub/p.jsonl"), tmp_path) == tmp_path / "sub" / "p.jsonl"
    absolute = load_prompt_set(PromptSetConfig(path=tmp_path / "sub" / "p.jsonl"))
    assert absolute[0].turns == ("x",)


def test_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    text = '\ufeff{"id": "a", "turns": ["x"]}\r\n{"id": "b", "turns": ["y\u2028z"]}\r\n'
    (tmp_path / "p.jsonl").write_text(text, encoding="utf-8", newline="")
    assert [i.turns for i in load(tmp_path, "p.jsonl")] == [("x",), ("y\u2028z",)]


# --- errors --------------------------------------------------------------------------------

VALID = {"id": "ok", "turns": ["fine"]}

BAD_ONPAR_LINES = [
    ("not json", None, "invalid JSON"),
    ('["a list"]', None, "expected a JSON object per line, got a JSON array"),
    ({"turns": ["x"]}, "id", "missing; expected a non-empty string or an integer"),
    ({"id": "x"}, "turns", "missing; expected a non-empty list of non-empty strings"),
    ({"id": "x", "turns": []}, "turns", "expected a non-empty list of non-empty strings, got []"),
    ({"id": "x", "turns": "hi"}, "turns", 'got "hi"'),
    ({"id": "x", "turns": ["ok", "  "]}, "turns[1]", 'expected a non-empty string, got "  "'),
    ({"id": "x", "turns": ["ok", 3]}, "turns[1]", "expected a non-empty string, got 3"),
    ({"id": True, "turns": ["x"]}, "id", "got true"),
    ({"id": "", "turns": ["x"]}, "id", 'got ""'),
    ({"id": "x", "turns": ["y"], "category": 5}, "category", "got 5"),
    ({"id": "x", "turns": ["y"], "tags": "t"}, "tags", "expected a list of non-empty strings"),
    ({"id": "x", "turns": ["y"], "categroy": "c"}, "categroy", "unknown field"),
]


@pytest.mark.parametrize(("bad", "field", "fragment"), BAD_ONPAR_LINES)
def test_bad_onpar_record_names_file_line_and_field(
    tmp_path: Path, bad: Any, field: str | None, fragment: str
) -> None:
    write_jsonl(tmp_path, "prompts.jsonl", [VALID, "", bad, {"id": "later", "turns": ["z"]}])
    error = load_error(tmp_path, "prompts.jsonl", format="onpar")
    assert (error.path, error.line, error.field) == ("prompts.jsonl", 3, field)
    assert fragment in str(error)
    assert str(error).startswith("prompts.jsonl:3: " + (f"field {field!r}: " if field else ""))


def test_error_message_matches_documented_format(tmp_path: Path) -> None:
    records: list[Any] = [{"id": str(n), "turns": ["x"]} for n in range(6)]
    write_jsonl(tmp_path, "prompts.jsonl", [*records, '{"id": "7", "turns": []}'])
    error = load_error(tmp_path, "prompts.jsonl")
    assert str(error) == (
        "prompts.jsonl:7: field 'turns': expected a non-empty list of non-empty strings, got []"
    )
    assert isinstance(error, ValueError)
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


def test_missing_file(tmp_path: Path) -> None:
    error = load_error(tmp_path, "nope.jsonl")
    assert error.path == "nope.jsonl" and error.line is None
    assert "file not found" in str(error) and str(tmp_path / "nope.jsonl") in str(error)


def test_invalid_utf8_reports_line_of_first_bad_byte(tmp_path: Path) -> None:
    good = b'{"id": "a", "turns": ["x"]}\n'
    (tmp_path / "p.jsonl").write_bytes(good * 2 + b'{"id": "b", "turns": ["caf\xe9"]}\n' + good)
    error = load_error(tmp_path, "p.jsonl")
    assert error.line == 3 and "not valid UTF-8" in str(error) and "0xe9" in str(error)


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path, "p.jsonl", [{"id": 4, "turns": ["x"]}, VALID, {"id": "4", "turns": ["y"]}]
    )
    error = load_error(tmp_path, "p.jsonl")
    assert (error.line, error.field) == (3, "id")
    assert "duplicate id '4', first used on line 1" in str(error)


@pytest.mark.parametrize("content", ["", "\n  \n\n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    (tmp_path / "p.jsonl").write_text(content, encoding="utf-8")
    for fmt in ("auto", "onpar", "messages"):
        assert "no prompts found" in str(load_error(tmp_path, "p.jsonl", format=fmt))


def test_unknown_format(tmp_path: Path) -> None:
    write_jsonl(tmp_path, "p.jsonl", [{"prompt": "x"}])
    error = load_error(tmp_path, "p.jsonl")
    assert error.line == 1 and "cannot tell the format" in str(error) and "prompt" in str(error)
    spec = PromptSetConfig.model_construct(path=Path("p.jsonl"), format="xml")  # skips validation
    with pytest.raises(PromptFileError, match="unknown format 'xml'; expected one of onpar"):
        load_prompt_set(spec, base_dir=tmp_path)


def test_nothing_partial_when_a_late_line_is_bad(tmp_path: Path) -> None:
    records: list[Any] = [{"id": str(n), "turns": ["x"]} for n in range(20)]
    write_jsonl(tmp_path, "p.jsonl", [*records, {"id": "20", "turns": [""]}])
    error = load_error(tmp_path, "p.jsonl", limit=3)  # the limit does not hide a bad line
    assert error.line == 21 and error.field == "turns[0]"


@pytest.mark.parametrize(
    ("message", "field", "fragment"),
    [
        ({"role": "system", "content": "Be terse."}, "messages[0].role", "own system prompt"),
        ({"role": "tool", "content": "x"}, "messages[0].role", "expected 'user' or 'assistant'"),
        ({"role": "user", "content": ""}, "messages[0].content", "expected a non-empty string"),
        ({"role": "user"}, "messages[0].content", "got null"),
        ("hello", "messages[0]", "expected an object"),
        (
            {"role": "assistant", "content": "Hi"},
            "messages",
            "at least one message with role 'user'",
        ),
    ],
)
def test_bad_messages_record(tmp_path: Path, message: Any, field: str, fragment: str) -> None:
    user = {"role": "user", "content": "Hi"}
    write_jsonl(tmp_path, "c.jsonl", [{"messages": [user]}, {"messages": [message]}])
    error = load_error(tmp_path, "c.jsonl", format="messages")
    assert (error.line, error.field) == (2, field)
    assert fragment in str(error)


def test_messages_default_id_collision_is_a_duplicate(tmp_path: Path) -> None:
    user = [{"role": "user", "content": "Hi"}]
    write_jsonl(tmp_path, "c.jsonl", [{"id": "2", "messages": user}, {"messages": user}])
    assert "duplicate id '2', first used on line 1" in str(load_error(tmp_path, "c.jsonl"))


def test_mt_bench_missing_question_id(tmp_path: Path) -> None:
    write_jsonl(tmp_path, "q.jsonl", [{"question_id": 1, "turns": ["a"]}, {"turns": ["b"], "x": 1}])
    error = load_error(tmp_path, "q.jsonl", format="mt_bench")
    assert (error.line, error.field) == (2, "question_id")


def test_csv_errors(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("id,question\n1,Hi\n2,\n", encoding="utf-8")
    missing = load_error(tmp_path, "p.csv")
    assert missing.field == "prompt_column" and "available columns: id, question" in str(missing)
    wrong = load_error(tmp_path, "p.csv", prompt_column="text")
    assert (wrong.line, wrong.field) == (1, "prompt_column")
    assert "'text' is not a column of the header; available columns: id, question" in str(wrong)
    empty = load_error(tmp_path, "p.csv", prompt_column="question", id_column="id")
    assert (empty.line, empty.field) == (3, "question") and 'got ""' in str(empty)
    (tmp_path / "r.csv").write_text("id,question\n1,Hi,extra\n", encoding="utf-8")
    ragged = load_error(tmp_path, "r.csv", prompt_column="question")
    assert ragged.line == 2 and "expected 2 cells" in str(ragged)
    (tmp_path / "d.csv").write_text("id,question\na,Hi\na,Yo\n", encoding="utf-8")
    dupe = load_error(tmp_path, "d.csv", prompt_column="question", id_column="id")
    assert (dupe.line, dupe.field) == (3, "id") and "first used on line 2" in str(dupe)
    (tmp_path / "h.csv").write_text("id,question\n", encoding="utf-8")
    assert "header but no data rows" in str(load_error(tmp_path, "h.csv", prompt_column="question"))


def test_csv_options_on_a_jsonl_file_are_rejected(tmp_path: Path) -> None:
    write_jsonl(tmp_path, "p.jsonl", [VALID])
    error = load_error(tmp_path, "p.jsonl", prompt_column="text")
    assert error.field == "prompt_column" and "only used for csv files" in str(error)


# --- several files -------------------------------------------------------------------------


def test_load_prompt_sets_concatenates_and_rejects_cross_file_duplicates(tmp_path: Path) -> None:
    write_jsonl(tmp_path, "a.jsonl", [{"id": "x", "turns": ["1"]}, {"id": "y", "turns": ["2"]}])
    write_jsonl(tmp_path, "b.jsonl", [{"id": "z", "turns": ["3"]}])
    write_jsonl(tmp_path, "c.jsonl", [{"id": "w", "turns": ["4"]}, {"id": "y", "turns": ["5"]}])
    specs = [PromptSetConfig(path=Path(n)) for n in ("a.jsonl", "b.jsonl")]
    items = load_prompt_sets(specs, base_dir=tmp_path)
    assert [(i.id, i.source) for i in items] == [
        ("x", "a.jsonl"),
        ("y", "a.jsonl"),
        ("z", "b.jsonl"),
    ]
    with pytest.raises(PromptFileError) as info:
        load_prompt_sets([*specs, PromptSetConfig(path=Path("c.jsonl"))], base_dir=tmp_path)
    assert str(info.value).startswith(
        "c.jsonl:2: field 'id': duplicate id 'y', already used in a.jsonl:2"
    )


# --- real MT-Bench questions ---------------------------------------------------------------


@pytest.mark.skipif(not MT_BENCH.is_file(), reason=f"MT-Bench questions not present at {MT_BENCH}")
def test_real_mt_bench_questions_load() -> None:
    items = load_prompt_set(PromptSetConfig(path=MT_BENCH))
    assert len(items) == 80
    assert all(len(item.turns) == 2 for item in items)
    assert len({item.id for item in items}) == 80
    assert items[0].id == "81" and items[0].category == "writing"
    assert {item.category for item in items} >= {"writing", "math", "coding", "reasoning"}
    assert all(item.source == str(MT_BENCH) for item in items)


# --- round trip ----------------------------------------------------------------------------

text = st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != "")
ids = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=12)
records = st.lists(
    st.builds(
        lambda category, turns, tags: {"category": category, "turns": turns, "tags": tags},
        category=text,
        turns=st.lists(text, min_size=1, max_size=3),
        tags=st.lists(text, max_size=3),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(records=records, id_list=st.lists(ids, min_size=8, max_size=8, unique=True))
def test_write_then_load_round_trips(records: list[dict[str, Any]], id_list: list[str]) -> None:
    items = [
        PromptItem(id=i, source="rt.jsonl", **r) for i, r in zip(id_list, records, strict=False)
    ]
    with tempfile.TemporaryDirectory() as folder:
        write_prompt_set(items, Path(folder) / "rt.jsonl")
        assert load(Path(folder), "rt.jsonl") == items
