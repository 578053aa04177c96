"""GSM8K reading, the 8-shot prompt, lm-eval's two extraction rules and maj@k."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onpar.bench import BenchFileError, GenerationItem
from onpar.bench.gsm8k import (
    extract_final_number,
    format_example,
    gsm8k_prompt,
    is_correct,
    load_gsm8k,
    maj_at_k,
    normalize_number,
    read_gsm8k,
)


def _jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _record(i: int) -> dict[str, str]:
    return {"question": f"Q{i}?", "answer": f"Step <<1+{i}={1 + i}>>.\n#### {1000 * i:,}"}


def test_eight_shot_prompt_uses_first_eight_train_records(tmp_path: Path) -> None:
    train = _jsonl(tmp_path / "train.jsonl", [_record(i) for i in range(10)])
    test = _jsonl(tmp_path / "test.jsonl", [{"question": "Open?", "answer": "x\n#### $1,234."}])
    (item,) = load_gsm8k(test, train)
    shots = "\n\n".join(
        f"Question: Q{i}?\nAnswer: Step <<1+{i}={1 + i}>>.\n#### {1000 * i:,}" for i in range(8)
    )
    assert item == GenerationItem(
        id="gsm8k/0", prompt=shots + "\n\nQuestion: Open?\nAnswer:", reference="1234", source_line=1
    )


def test_prompt_helpers(tmp_path: Path) -> None:
    rows = read_gsm8k(_jsonl(tmp_path / "t.jsonl", [_record(3)]))
    assert format_example(rows[0]) == "Question: Q3?\nAnswer: Step <<1+3=4>>.\n#### 3,000"
    assert rows[0].final == "3000"
    assert gsm8k_prompt([], "Why?") == "Question: Why?\nAnswer:"


def test_too_few_train_records(tmp_path: Path) -> None:
    train = _jsonl(tmp_path / "train.jsonl", [_record(i) for i in range(3)])
    with pytest.raises(BenchFileError, match="3 records, need 8 few-shot"):
        load_gsm8k(train, train)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            '{"question": "q", "answer": "It is 5."}',
            "g.jsonl:2: field 'answer': no final answer '#### <number>' in the worked answer",
        ),
        (
            '{"answer": "#### 5"}',
            "g.jsonl:2: field 'question': expected a non-empty string, got null",
        ),
        (
            '{"question": "q", "answer": 5}',
            "g.jsonl:2: field 'answer': expected a non-empty string, got 5",
        ),
        ('{"question": "q"', "g.jsonl:2: invalid JSON: Expecting ',' delimiter (column 17)"),
        ("[1]", "g.jsonl:2: expected a JSON object per line, got a JSON array"),
    ],
)
def test_bad_records_name_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text(json.dumps(_record(1)) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(BenchFileError) as info:
        read_gsm8k(path, display="g.jsonl")
    assert str(info.value) == message


def test_bad_utf8(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_bytes(b'{"question": "q", "answer": "#### 1"}\n{"question": "\xc3("}\n')
    with pytest.raises(BenchFileError, match=r"^g\.jsonl:2: not valid UTF-8"):
        read_gsm8k(path, display="g.jsonl")


@pytest.mark.parametrize(
    ("text", "strict", "flexible"),
    [
        ("She makes 9 * 2 = $18.\n#### 18", "18", "18"),
        ("#### 1,234\nThe answer is 1,234.", "1234", "1234"),
        ("So $1,000.50 in total.", None, "1000.50"),
        ("#### -7", "-7", "-7"),
        ("We get 3 then 4 then -12", None, "-12"),
        ("#### 5 but wait, 6", "5", "6"),
        ("no digits at all", None, None),
        ("1 2 3", None, "3"),
        ("#### 42.", "42", "42"),
        ("The answer: 10...", None, "10.."),
    ],
)
def test_extraction_rules(text: str, strict: str | None, flexible: str | None) -> None:
    assert extract_final_number(text, "strict") == strict
    assert extract_final_number(text, "flexible") == flexible
    assert extract_final_number(text) == flexible


def test_extraction_bad_mode() -> None:
    with pytest.raises(ValueError, match="mode must be"):
        extract_final_number("1", "loose")  # type: ignore[arg-type]


def test_normalisation_and_correctness() -> None:
    assert normalize_number(" $1,234. ") == "1234"
    assert normalize_number("3.50") == "3.50"
    assert is_correct("$18", "18") and is_correct("1,000", "1000")
    assert not is_correct(None, "18") and not is_correct("18.5", "18")


def test_maj_at_k_and_ties() -> None:
    assert maj_at_k(["3", "4", "4", "3", "4"]) == "4"
    assert maj_at_k(["5", "3", "3", "5"]) == "5"  # tie: first seen wins
    assert maj_at_k(["3", "5", "5", "3"]) == "3"
    assert maj_at_k([None, None, "2"]) is None  # unreadable answers vote too, as in lm-eval
    assert maj_at_k(["7"]) == "7"
    with pytest.raises(ValueError, match="at least one"):
        maj_at_k([])


def test_empty_final_answer(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "g.jsonl", [{"question": "q", "answer": "so\n#### "}])
    with pytest.raises(BenchFileError) as info:
        read_gsm8k(path, display="g.jsonl")
    assert str(info.value) == "g.jsonl:1: field 'answer': empty final answer after '#### '"
