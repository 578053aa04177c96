"""Real MMLU and GSM8K files from /work/shared/data (skipped where absent; never copied here)."""

from __future__ import annotations

import pytest

from onpar.bench.gsm8k import extract_final_number, load_gsm8k, read_gsm8k
from onpar.bench.mmlu import SUBJECT_CATEGORIES, load_mmlu, load_mmlu_subject, mmlu_subjects
from tests.conftest import SHARED_DATA

DATA = SHARED_DATA
MMLU = DATA / "mmlu"
GSM8K = DATA / "gsm8k"

needs_mmlu = pytest.mark.skipif(not (MMLU / "test").is_dir(), reason=f"{MMLU} absent")
needs_gsm8k = pytest.mark.skipif(not (GSM8K / "test.jsonl").is_file(), reason=f"{GSM8K} absent")


@needs_mmlu
def test_abstract_algebra_five_shot_prompt() -> None:
    items = load_mmlu_subject(MMLU, "abstract_algebra")
    assert len(items) == 100
    lines = items[0].context.split("\n")
    assert lines[0] == (
        "The following are multiple choice questions (with answers) about abstract algebra."
    )
    assert lines[2] == "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field."
    assert lines[-6:] == [
        "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.",
        "A. 0",
        "B. 4",
        "C. 2",
        "D. 6",
        "Answer:",
    ]
    assert items[0].context.count("\nAnswer: ") == 5
    assert items[0].answer == 1 and items[0].source_line == 2


@needs_mmlu
def test_all_subjects_load_with_known_sizes() -> None:
    subjects = mmlu_subjects(MMLU)
    assert set(subjects) == set(SUBJECT_CATEGORIES)
    items = load_mmlu(MMLU)
    assert len(items) == 14042
    counts = {s: sum(item.subject == s for item in items) for s in subjects}
    assert counts["abstract_algebra"] == 100
    assert counts["professional_law"] == 1534
    assert counts["high_school_european_history"] == 165
    assert len({item.id for item in items}) == len(items)


@needs_gsm8k
def test_every_gsm8k_answer_parses() -> None:
    test = read_gsm8k(GSM8K / "test.jsonl")
    train = read_gsm8k(GSM8K / "train.jsonl")
    assert (len(test), len(train)) == (1319, 7473)
    for row in (*test, *train):
        assert row.final == row.answer.rsplit("#### ", 1)[1].strip().replace(",", "")
        assert extract_final_number(row.answer, "flexible") == row.final


@needs_gsm8k
def test_gsm8k_eight_shot_prompt() -> None:
    items = load_gsm8k(GSM8K / "test.jsonl", GSM8K / "train.jsonl")
    prompt = items[0].prompt
    assert prompt.startswith("Question: Natalia sold clips to 48 of her friends in April")
    assert prompt.count("Question: ") == 9 and prompt.count("\n#### ") == 8
    assert prompt.endswith("at the farmers' market?\nAnswer:")
    assert items[0].reference == "18"
