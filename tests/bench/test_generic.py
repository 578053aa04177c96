"""User-defined benchmark files: templates, choices, answers, few-shot, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from onpar.bench.generic import load_generation, load_multiple_choice, read_rows
from onpar.bench.loading import load_benchmark
from onpar.bench.tasks import BenchFileError
from onpar.config.benchmarks import GenerationSpec, MultipleChoiceSpec


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _mc(**fields: Any) -> MultipleChoiceSpec:
    base: dict[str, Any] = {
        "task": "multiple_choice",
        "name": "capitals",
        "path": "q.jsonl",
        "prompt": "Question: {{question}}\nAnswer:",
        "choices": "options",
        "answer": "label",
    }
    return MultipleChoiceSpec.model_validate({**base, **fields})


ROWS = [
    {"question": "Capital of France?", "options": ["Paris", "Rome"], "label": 0, "id": "fr"},
    {"question": "Capital of Italy?", "options": ["Paris", "Rome"], "label": "B", "id": "it"},
    {"question": "Capital of Spain?", "options": ["Madrid", "Lisbon"], "label": "Madrid"},
]


def test_multiple_choice_from_jsonl(tmp_path: Path) -> None:
    _jsonl(tmp_path / "q.jsonl", ROWS)
    items = load_multiple_choice(_mc(id_field="id"), tmp_path)
    assert [i.id for i in items] == ["capitals/fr", "capitals/it", "capitals/2"]
    assert items[0].context == "Question: Capital of France?\nAnswer:"
    assert items[0].choices == (" Paris", " Rome")
    assert [i.answer for i in items] == [0, 1, 0]  # index, letter, choice text
    assert items[1].letter_prompt == "Question: Capital of Italy?\nA. Paris\nB. Rome\nAnswer:"


def test_fewshot_examples_come_first_with_their_answers(tmp_path: Path) -> None:
    _jsonl(tmp_path / "q.jsonl", ROWS[2:])
    _jsonl(tmp_path / "shots.jsonl", ROWS[:2])
    spec = _mc(fewshot_path="shots.jsonl", num_fewshot=2, description="Geography.\n\n")
    (item,) = load_multiple_choice(spec, tmp_path)
    assert item.context == (
        "Geography.\n\n"
        "Question: Capital of France?\nAnswer: Paris\n\n"
        "Question: Capital of Italy?\nAnswer: Rome\n\n"
        "Question: Capital of Spain?\nAnswer:"
    )
    assert item.letter_prompt is not None
    assert "A. Paris\nB. Rome\nAnswer: A" in item.letter_prompt


def test_choice_columns_from_csv(tmp_path: Path) -> None:
    (tmp_path / "q.csv").write_text(
        "question,a,b,c,answer\nTwo plus two?,3,4,5,1\n", encoding="utf-8"
    )
    spec = _mc(path="q.csv", choices=["a", "b", "c"], answer="answer")
    (item,) = load_multiple_choice(spec, tmp_path)
    assert item.choices == (" 3", " 4", " 5")
    assert item.answer == 1
    assert item.source_line == 2


def test_parquet_rows(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    rows = [ROWS[0], {**ROWS[1], "label": 1}]
    pd.DataFrame(rows).to_parquet(tmp_path / "q.parquet")
    items = load_multiple_choice(_mc(path="q.parquet", id_field="id"), tmp_path)
    assert [i.id for i in items] == ["capitals/fr", "capitals/it"]
    assert [i.answer for i in items] == [0, 1]
    assert items[1].choices == (" Paris", " Rome")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"question": "q", "options": ["a", "b"], "label": 5}], "q.jsonl:1: field 'label'"),
        ([{"question": "q", "options": ["a", "b"], "label": "zzz"}], "field 'label'"),
        ([{"question": "q", "options": ["a"], "label": 0}], "field 'options'"),
        ([{"question": "q", "label": 0}], "q.jsonl:1: field 'options': missing value"),
        ([{"options": ["a", "b"], "label": 0}], "q.jsonl:1: field 'prompt'"),
        ([ROWS[0], {"question": "q", "options": ["a", "b"], "label": 9}], "q.jsonl:2:"),
    ],
)
def test_bad_rows_name_file_line_and_field(
    tmp_path: Path, rows: list[dict[str, Any]], message: str
) -> None:
    _jsonl(tmp_path / "q.jsonl", rows)
    with pytest.raises(BenchFileError, match=message.replace("(", r"\(")):
        load_multiple_choice(_mc(), tmp_path)


def test_csv_row_with_a_missing_choice(tmp_path: Path) -> None:
    (tmp_path / "q.csv").write_text("question,a,b,answer\nq1,x,y,0\nq2,x,,1\n", encoding="utf-8")
    spec = _mc(path="q.csv", choices=["a", "b"], answer="answer")
    with pytest.raises(BenchFileError, match=r"q.csv:3: field 'b': missing value"):
        load_multiple_choice(spec, tmp_path)


def test_duplicate_ids_are_an_error(tmp_path: Path) -> None:
    _jsonl(tmp_path / "q.jsonl", [ROWS[0], ROWS[0]])
    with pytest.raises(BenchFileError, match=r"q.jsonl:2: field 'id': duplicate id"):
        load_multiple_choice(_mc(id_field="id"), tmp_path)


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BenchFileError, match="set `format`"):
        read_rows(tmp_path / "data.txt")
    with pytest.raises(BenchFileError, match="not found"):
        read_rows(tmp_path / "absent.jsonl")


def test_generation_items_with_fewshot_target(tmp_path: Path) -> None:
    rows = [{"q": "2+2", "a": "4", "why": "two and two"}, {"q": "3+3", "a": "6", "why": "x"}]
    _jsonl(tmp_path / "g.jsonl", rows[1:])
    _jsonl(tmp_path / "shots.jsonl", rows[:1])
    spec = GenerationSpec.model_validate(
        {
            "task": "generation",
            "name": "sums",
            "path": "g.jsonl",
            "prompt": "Q: {{q}}\nA:",
            "reference": "a",
            "target": "{{why}}, so {{a}}",
            "fewshot_path": "shots.jsonl",
            "num_fewshot": 1,
        }
    )
    (item,) = load_generation(spec, tmp_path)
    assert item.prompt == "Q: 2+2\nA: two and two, so 4\n\nQ: 3+3\nA:"
    assert item.reference == "6"
    assert load_benchmark(spec, tmp_path).kind == "generation"


def test_generation_spec_rejects_a_bad_regex() -> None:
    with pytest.raises(ValueError, match="regular expression"):
        GenerationSpec.model_validate(
            {
                "task": "generation",
                "path": "x.jsonl",
                "prompt": "{{q}}",
                "reference": "a",
                "extract": "(unclosed",
            }
        )
