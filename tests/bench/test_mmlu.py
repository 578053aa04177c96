"""MMLU reading, prompt building and accuracy roll-ups, on tiny files written per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from onpar.bench import BenchFileError, MultipleChoiceItem
from onpar.bench.mmlu import (
    CATEGORIES,
    CONTINUATIONS,
    SUBJECT_CATEGORIES,
    accuracy_by_category,
    accuracy_by_subject,
    load_mmlu,
    load_mmlu_subject,
    macro_accuracy,
    micro_accuracy,
    mmlu_subjects,
    read_mmlu_csv,
)

HEADER = "question,choice0,choice1,choice2,choice3,answer\n"


def _write(path: Path, body: str, header: str = HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + body, encoding="utf-8")
    return path


def _tiny_root(tmp_path: Path, shots: int = 5) -> Path:
    dev = "".join(f"  Dev q{i}? ,a{i},b{i},c{i},d{i},{i % 4}\n" for i in range(shots))
    _write(tmp_path / "dev" / "high_school_physics_dev.csv", dev)
    _write(
        tmp_path / "test" / "high_school_physics_test.csv",
        'Test "q"?,w,"x, y",z,v,3\nT2,1,2,3,4,0\n',
    )
    return tmp_path


def test_prompt_is_lm_eval_default_template(tmp_path: Path) -> None:
    items = load_mmlu_subject(_tiny_root(tmp_path), "high_school_physics")
    expected_shots = "\n\n".join(
        f"Dev q{i}?\nA. a{i}\nB. b{i}\nC. c{i}\nD. d{i}\nAnswer: {'ABCD'[i % 4]}" for i in range(5)
    )
    assert items[0] == MultipleChoiceItem(
        id="high_school_physics/0",
        subject="high_school_physics",
        context=(
            "The following are multiple choice questions (with answers) about high school"
            " physics.\n\n" + expected_shots + '\n\nTest "q"?\nA. w\nB. x, y\nC. z\nD. v\nAnswer:'
        ),
        choices=(" A", " B", " C", " D"),
        answer=3,
        source_line=2,
    )
    assert items[1].id == "high_school_physics/1" and items[1].source_line == 3
    assert CONTINUATIONS == (" A", " B", " C", " D")


def test_fewshot_count_and_missing_shots(tmp_path: Path) -> None:
    root = _tiny_root(tmp_path, shots=3)
    zero = load_mmlu_subject(root, "high_school_physics", num_fewshot=0)
    assert zero[0].context.endswith('physics.\n\nTest "q"?\nA. w\nB. x, y\nC. z\nD. v\nAnswer:')
    with pytest.raises(BenchFileError, match="3 rows, need 5 few-shot"):
        load_mmlu_subject(root, "high_school_physics")


def test_subjects_and_load_all(tmp_path: Path) -> None:
    root = _tiny_root(tmp_path)
    assert mmlu_subjects(root) == ("high_school_physics",)
    assert len(load_mmlu(root)) == 2


def test_multiline_quoted_question_keeps_start_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.csv", 'one,a,b,c,d,0\n"two\nlines",a,b,c,d,1\nthree,a,b,c,d,2\n')
    assert [row.line for row in read_mmlu_csv(path)] == [2, 3, 5]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("q,a,b,c\n", "s.csv:3: field 'choice3': missing choice"),
        ("q,a,,c,d,1\n", "s.csv:3: field 'choice1': missing choice"),
        ("q,a,b,c,d\n", "s.csv:3: field 'answer': missing answer"),
        ("q,a,b,c,d,4\n", "s.csv:3: field 'answer': expected an integer 0-3, got \"4\""),
        ("q,a,b,c,d,B\n", "s.csv:3: field 'answer': expected an integer 0-3, got \"B\""),
        ("q,a,b,c,d,1.0\n", "s.csv:3: field 'answer': expected an integer 0-3, got \"1.0\""),
        ("q,a,b,c,d,-1\n", "s.csv:3: field 'answer': expected an integer 0-3, got \"-1\""),
        (" ,a,b,c,d,1\n", "s.csv:3: field 'question': empty question"),
        ("q,a,b,c,d,1,extra\n", "s.csv:3: 7 cells, expected 6"),
    ],
)
def test_bad_rows_name_file_line_and_field(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path / "s.csv", "ok,a,b,c,d,0\n" + body)
    with pytest.raises(BenchFileError) as info:
        read_mmlu_csv(path, display="s.csv")
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


def test_wrong_header(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.csv", "q,a,b,c,d,0\n", header="question,A,B,C,D,answer\n")
    with pytest.raises(BenchFileError) as info:
        read_mmlu_csv(path, display="s.csv")
    assert str(info.value) == (
        "s.csv:1: expected question,choice0,choice1,choice2,choice3,answer,"
        ' got "question,A,B,C,D,answer"'
    )


def test_empty_file_and_bad_utf8(tmp_path: Path) -> None:
    empty = tmp_path / "e.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(BenchFileError, match=r"^e\.csv: empty file"):
        read_mmlu_csv(empty, display="e.csv")
    bad = tmp_path / "b.csv"
    bad.write_bytes(HEADER.encode() + b"ok,a,b,c,d,0\nq\xff,a,b,c,d,1\n")
    with pytest.raises(BenchFileError) as info:
        read_mmlu_csv(bad, display="b.csv")
    assert str(info.value).startswith("b.csv:3: not valid UTF-8 (byte 0xff)")


def test_category_table_is_complete() -> None:
    assert len(SUBJECT_CATEGORIES) == 57
    counts = {c: list(SUBJECT_CATEGORIES.values()).count(c) for c in CATEGORIES}
    assert counts == {"stem": 19, "humanities": 13, "social_sciences": 12, "other": 13}


def test_accuracy_rollups() -> None:
    outcomes = [
        ("anatomy", True),
        ("anatomy", False),
        ("anatomy", True),
        ("anatomy", True),
        ("astronomy", False),
        ("philosophy", True),
    ]
    assert accuracy_by_subject(outcomes) == {"anatomy": 0.75, "astronomy": 0.0, "philosophy": 1.0}
    assert accuracy_by_category(outcomes) == {"humanities": 1.0, "stem": 0.6}
    assert micro_accuracy(outcomes) == pytest.approx(4 / 6)
    assert macro_accuracy(outcomes) == pytest.approx((0.75 + 0.0 + 1.0) / 3)
    assert micro_accuracy(iter(outcomes)) == pytest.approx(4 / 6)


def test_accuracy_errors() -> None:
    with pytest.raises(ValueError, match="no outcomes"):
        micro_accuracy([])
    with pytest.raises(ValueError, match="no outcomes"):
        macro_accuracy([])
    with pytest.raises(ValueError, match="unknown MMLU subject 'astrology'"):
        accuracy_by_category([("astrology", True)])
