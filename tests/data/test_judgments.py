"""Judgments made elsewhere: each layout parses, every bad input names file, line and field."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from onpar.data.judgments import JudgmentFileError, Rating, load_judgments

GOOD = {"item": "q1", "model_a": "llama", "model_b": "gpt", "rater": "gpt-4", "score": 2}


def write_lines(folder: Path, name: str, records: list[Any]) -> Path:
    """One record per line; str records are written verbatim (for malformed lines)."""
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_annotations(folder: Path, records: list[Any]) -> Path:
    """Pretty-printed like AlpacaEval's own files: each object's '{' starts its own line."""
    path = folder / "annotations.json"
    path.write_text(json.dumps(records, indent=2), encoding="utf-8")
    return path


def annotation(preference: Any, instruction: str = "Say hi", **extra: Any) -> dict[str, Any]:
    record = {
        "instruction": instruction,
        "output_1": "Hello.",
        "generator_1": "gpt4_1106_preview",
        "dataset": "helpful_base",
        "output_2": "Hi!",
        "generator_2": "my-model",
        "annotator": "weighted_alpaca_eval_gpt4_turbo",
        "preference": preference,
        "price_per_example": 0.01,
        "time_per_example": 1.2,
        "raw_completion": "m",
    }
    return record | extra


def pair(qid: int, g1: str, g2: str, turn: int = 1, **extra: Any) -> dict[str, Any]:
    """A FastChat pairwise judgment line (gen_judgment.py, mode pairwise)."""
    template = "pair-v2" if turn == 1 else "pair-v2-multi-turn"
    record = {
        "question_id": qid,
        "model_1": "vicuna-13b",
        "model_2": "gpt-3.5-turbo",
        "g1_winner": g1,
        "g2_winner": g2,
        "judge": ["gpt-4", template],
        "g1_user_prompt": "...",
        "g1_judgment": "[[A]]",
        "g2_user_prompt": "...",
        "g2_judgment": "[[B]]",
        "turn": turn,
        "tstamp": 1687222993.2,
    }
    return record | extra


def single(qid: int, score: Any, turn: int = 1, **extra: Any) -> dict[str, Any]:
    """A FastChat single-grade judgment line (gen_judgment.py, mode single)."""
    record = {
        "question_id": qid,
        "model": "vicuna-13b",
        "judge": ["gpt-4", "single-v1"],
        "user_prompt": "...",
        "judgment": "Rating: [[9]]",
        "score": score,
        "turn": turn,
        "tstamp": 1687222993.2,
    }
    return record | extra


# --- onpar layout --------------------------------------------------------------------------


def test_onpar_jsonl(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path,
        "j.jsonl",
        [
            GOOD,
            "",
            {**GOOD, "item": 7, "score": 7, "turn": 1, "category": "dialogue"},
            {**GOOD, "rater": "human-3", "score": 4},
        ],
    )
    ratings = load_judgments(path, "onpar")
    assert ratings[0] == Rating(
        item="q1", model_a="llama", model_b="gpt", rater="gpt-4", score=2, scale="pairwise7"
    )
    assert (ratings[1].item, ratings[1].turn, ratings[1].category) == ("7", 1, "dialogue")
    assert [r.winner for r in ratings] == ["a", "b", "tie"]
    assert all(r.ok and r.order is None and r.preference is None for r in ratings)


def test_onpar_csv_and_tsv(tmp_path: Path) -> None:
    (tmp_path / "j.csv").write_text(
        "rater,item,model_a,model_b,score,turn,category\n"
        "ann,q1,llama,gpt,1,,\n"
        "\n"
        'ann,"q\n2",llama,gpt,6,1,writing\n',
        encoding="utf-8",
    )
    ratings = load_judgments(tmp_path / "j.csv", "onpar")
    assert [(r.item, r.score, r.turn, r.category) for r in ratings] == [
        ("q1", 1, 0, None),
        ("q\n2", 6, 1, "writing"),
    ]
    (tmp_path / "j.tsv").write_text("item\tmodel_a\tmodel_b\trater\tscore\nq1\ta\tb\tr\t3\n")
    assert load_judgments(tmp_path / "j.tsv", "onpar")[0].score == 3


# --- AlpacaEval ----------------------------------------------------------------------------


def test_alpaca_eval_annotations(tmp_path: Path) -> None:
    prefs = [1.0, 2.0, 1.5, 0, 1.75, 1.25, None]
    path = write_annotations(tmp_path, [annotation(p, f"task {i}") for i, p in enumerate(prefs)])
    ratings = load_judgments(path, "alpaca_eval")
    assert [r.score for r in ratings] == [1, 3, 2, 2, 3, 1, None]
    assert [r.preference for r in ratings] == [1.0, 2.0, 1.5, 0.0, 1.75, 1.25, None]
    first = ratings[0]
    assert (first.item, first.model_a, first.model_b) == ("task 0", "gpt4_1106_preview", "my-model")
    assert (first.rater, first.scale, first.category, first.order) == (
        "weighted_alpaca_eval_gpt4_turbo",
        "pairwise3",
        "helpful_base",
        None,
    )
    assert ratings[-1].error is not None and not ratings[-1].ok
    assert [r.winner for r in ratings] == ["a", "b", "tie", "tie", "b", "a", None]


def test_alpaca_eval_without_optional_dataset(tmp_path: Path) -> None:
    record = annotation(2)
    del record["dataset"], record["output_1"]
    ratings = load_judgments(write_annotations(tmp_path, [record]), "alpaca_eval")
    assert (ratings[0].category, ratings[0].preference) == (None, 2.0)


# --- MT-Bench ------------------------------------------------------------------------------


def test_mt_bench_pairwise_games_swap_a_and_b(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path,
        "gpt-4_pair.jsonl",
        [
            pair(81, "model_1", "model_1"),
            pair(81, "tie", "model_2", turn=2),
            pair(82, "error", "model_2"),
        ],
    )
    g1, g2, t1, t2, e1, e2 = load_judgments(path, "mt_bench")
    # game 1 showed model_1 first; its winner model_1 is A.
    assert (g1.model_a, g1.model_b, g1.order, g1.score, g1.winner) == (
        "vicuna-13b", "gpt-3.5-turbo", "original", 1, "a"
    )  # fmt: skip
    # game 2 showed model_2 first; the same model_1 win is now a win for B.
    assert (g2.model_a, g2.model_b, g2.order, g2.score, g2.winner) == (
        "gpt-3.5-turbo", "vicuna-13b", "swapped", 3, "b"
    )  # fmt: skip
    assert (t1.turn, t1.score, t2.score, t2.winner) == (1, 2, 1, "a")  # turn 2 -> index 1
    assert (t1.rater, t1.rater_prompt, t1.item, t1.scale) == (
        "gpt-4",
        "pair-v2-multi-turn",
        "81",
        "pairwise3",
    )
    assert (e1.score, e1.ok, e2.score, e2.model_a) == (None, False, 1, "gpt-3.5-turbo")


def test_mt_bench_single_grades(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path,
        "gpt-4_single.jsonl",
        [single(81, 9), single(81, 8.0, turn=2), single(82, -1), single(83, 10, judge="expert_1")],
    )
    ratings = load_judgments(path, "mt_bench")
    assert [(r.item, r.score, r.turn) for r in ratings] == [
        ("81", 9, 0),
        ("81", 8, 1),
        ("82", None, 0),
        ("83", 10, 0),
    ]
    assert all(r.scale == "single10" and r.model_b is None for r in ratings)
    assert ratings[2].error is not None and ratings[2].winner is None
    assert (ratings[0].rater_prompt, ratings[3].rater, ratings[3].rater_prompt) == (
        "single-v1",
        "expert_1",
        None,
    )


# --- errors: file, line and field ----------------------------------------------------------

ONPAR_ERRORS = [
    # (records, line, field, words in the message)
    ([GOOD, "{not json"], 2, None, "invalid JSON"),
    ([GOOD, [1, 2]], 2, None, "JSON object per line"),
    ([GOOD, {k: v for k, v in GOOD.items() if k != "rater"}], 2, "rater", "missing"),
    ([GOOD, {**GOOD, "item": "q2", "score": 8}], 2, "score", "got 8"),
    ([GOOD, {**GOOD, "item": "q2", "score": 0}], 2, "score", "got 0"),
    ([{**GOOD, "score": "5"}], 1, "score", 'got "5"'),
    ([{**GOOD, "score": True}], 1, "score", "got true"),
    ([{**GOOD, "score": 2.5}], 1, "score", "got 2.5"),
    ([GOOD, {**GOOD, "item": "q2", "model_b": "llama"}], 2, "model_b", "both 'llama'"),
    ([GOOD, {**GOOD, "model_a": ""}], 2, "model_a", "non-empty string"),
    ([{**GOOD, "scroe": 3}], 1, "scroe", "unknown field"),
    ([{**GOOD, "turn": -1}], 1, "turn", "non-negative"),
    ([{**GOOD, "category": 3}], 1, "category", "got 3"),
    ([GOOD, {**GOOD, "item": "q2"}, {**GOOD, "score": 5}], 3, "rater", "on line 1"),
    ([], None, None, "no judgments"),
]


def check(error: JudgmentFileError, path: Path, line: int | None, field: str | None) -> None:
    assert (error.path, error.line, error.field) == (str(path), line, field), str(error)
    where = str(path) if line is None else f"{path}:{line}"
    prefix = where + (": " if field is None else f": field {field!r}: ")
    assert str(error).startswith(prefix), str(error)


def load_error(path: Path, fmt: Any) -> JudgmentFileError:
    with pytest.raises(JudgmentFileError) as info:
        load_judgments(path, fmt)
    return info.value


@pytest.mark.parametrize(("records", "line", "field", "words"), ONPAR_ERRORS)
def test_onpar_errors(
    tmp_path: Path, records: list[Any], line: int | None, field: str | None, words: str
) -> None:
    path = write_lines(tmp_path, "j.jsonl", records)
    error = load_error(path, "onpar")
    check(error, path, line, field)
    assert words in str(error)


def test_duplicate_names_both_lines_and_ignores_other_turns_and_raters(tmp_path: Path) -> None:
    fine = [GOOD, {**GOOD, "turn": 1}, {**GOOD, "rater": "other"}, {**GOOD, "model_a": "x"}]
    assert len(load_judgments(write_lines(tmp_path, "ok.jsonl", fine), "onpar")) == 4
    path = write_lines(tmp_path, "dup.jsonl", [*fine, {**GOOD, "turn": 1, "score": 6}])
    error = load_error(path, "onpar")
    check(error, path, 5, "rater")
    assert "already rated" in str(error) and "on line 2" in str(error)


CSV_ERRORS = [
    # (file text, line, field, words in the message)
    ("item,model_a,model_b,rater\nq,a,b,r\n", 1, "score", "missing column"),
    ("item,model_a,model_b,rater,score,note\n", 1, "note", "unknown column"),
    ("item,model_a,model_b,rater,score\nq,a,b,r,1\nq2,a,b,r\n", 3, None, "5 cells"),
    ("item,model_a,model_b,rater,score\nq,a,b,r,1\nq2,a,b,r,abc\n", 3, "score", 'got "abc"'),
    ("item,model_a,model_b,rater,score\nq,a,b,r,1\n\nq,a,b,r,2\n", 4, "rater", "on line 2"),
    ("item,model_a,model_b,rater,score\nq,a,a,r,1\n", 2, "model_b", "both 'a'"),
    ("item,model_a,model_b,rater,score\n", None, None, "no judgments"),
    ('item,model_a,model_b,rater,score\nq,"a,b,r,1\n', 2, None, "invalid CSV"),
]


@pytest.mark.parametrize(("text", "line", "field", "words"), CSV_ERRORS)
def test_onpar_csv_errors(
    tmp_path: Path, text: str, line: int | None, field: str | None, words: str
) -> None:
    path = tmp_path / "j.csv"
    path.write_text(text, encoding="utf-8")
    error = load_error(path, "onpar")
    check(error, path, line, field)
    assert words in str(error)


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(json.dumps(GOOD).encode() + b'\n{"item": "caf\xe9"}\n')
    error = load_error(path, "onpar")
    check(error, path, 2, None)
    assert "UTF-8" in str(error)


def record_lines(path: Path) -> list[int]:
    """Lines on which json.dumps(indent=2) opened each record of the array."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [number for number, text in enumerate(lines, start=1) if text == "  {"]


ALPACA_ERRORS = [
    # (records, index of the bad record, field, words in the message)
    ([annotation(1), annotation(3, "b")], 1, "preference", "got 3"),
    ([annotation(1), annotation(-1, "b")], 1, "preference", "got -1"),
    ([annotation(1), annotation("2", "b")], 1, "preference", 'got "2"'),
    ([annotation(1), annotation(1, "b", generator_2=None)], 1, "generator_2", "null"),
    ([annotation(1), annotation(1, "b", annotator="")], 1, "annotator", '""'),
    ([annotation(1), annotation(1, "")], 1, "instruction", '""'),
    ([annotation(1), annotation(2, "b"), annotation(2)], 2, "annotator", "on line 2"),
]


@pytest.mark.parametrize(("records", "index", "field", "words"), ALPACA_ERRORS)
def test_alpaca_eval_errors(
    tmp_path: Path, records: list[Any], index: int, field: str, words: str
) -> None:
    path = write_annotations(tmp_path, records)
    error = load_error(path, "alpaca_eval")
    check(error, path, record_lines(path)[index], field)
    assert words in str(error)


def test_alpaca_eval_missing_field_and_bad_documents(tmp_path: Path) -> None:
    record = annotation(1, "b")
    del record["preference"]
    path = write_annotations(tmp_path, [annotation(1), record])
    check(load_error(path, "alpaca_eval"), path, record_lines(path)[1], "preference")
    for text, line, words in [
        ('[\n  {"instruction": "x",\n  "preference": 1.0,,\n}]', 3, "invalid JSON"),
        ('{"instruction": "x"}', 1, "JSON array"),
        ('[\n  {"instruction": "x"},\n  [1]\n]', 3, "array of JSON objects"),
        ("[]", None, "no judgments"),
    ]:
        path.write_text(text, encoding="utf-8")
        error = load_error(path, "alpaca_eval")
        check(error, path, line, None)
        assert words in str(error)


MT_BENCH_ERRORS = [
    # (records, line, field, words in the message)
    ([pair(1, "tie", "tie"), pair(2, "A", "tie")], 2, "g1_winner", 'got "A"'),
    ([pair(1, "tie", "tie"), pair(2, "tie", None)], 2, "g2_winner", "got null"),
    ([pair(1, "tie", "tie"), pair(2, "tie", "tie", judge=["gpt-4", 4])], 2, "judge", "list"),
    ([pair(1, "tie", "tie"), pair(2, "tie", "tie", turn=0)], 2, "turn", "got 0"),
    ([pair(1, "tie", "tie"), pair(2, "tie", "tie", model_2="vicuna-13b")], 2, "model_2", "both"),
    ([pair(1, "tie", "tie"), pair(1, "tie", "tie")], 2, "judge", "on line 1"),
    ([pair(1, "tie", "tie"), single(1, 5)], 2, "model", "pairwise judgments"),
    ([single(1, 5), pair(1, "tie", "tie")], 2, "model_1", "single judgments"),
    ([single(1, 5), single(2, 11)], 2, "score", "got 11"),
    ([single(1, 5), single(2, 7.5)], 2, "score", "got 7.5"),
    ([single(1, 5), single(2, 0)], 2, "score", "got 0"),
    ([single(1, 5), {k: v for k, v in single(2, 5).items() if k != "turn"}], 2, "turn", "missing"),
    ([single(1, 5), single(2, 5, question_id=None)], 2, "question_id", "null"),
    ([single(1, 5), single(1, 6)], 2, "judge", "on line 1"),
    ([single(1, 5), {"question_id": 2, "winner": "model_a"}], 2, None, "keys: question_id"),
]


@pytest.mark.parametrize(("records", "line", "field", "words"), MT_BENCH_ERRORS)
def test_mt_bench_errors(
    tmp_path: Path, records: list[Any], line: int, field: str | None, words: str
) -> None:
    path = write_lines(tmp_path, "judgments.jsonl", records)
    error = load_error(path, "mt_bench")
    check(error, path, line, field)
    assert words in str(error)


def test_mt_bench_swapped_game_colliding_with_a_reversed_line_is_a_duplicate(
    tmp_path: Path,
) -> None:
    """Line 2's game 1 shows gpt-3.5-turbo first, as line 1's game 2 already did."""
    reverse = pair(1, "tie", "tie", model_1="gpt-3.5-turbo", model_2="vicuna-13b")
    path = write_lines(tmp_path, "judgments.jsonl", [pair(1, "tie", "tie"), reverse])
    check(load_error(path, "mt_bench"), path, 2, "judge")


# --- whole-file behaviour, records, error class ----------------------------------------------


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    check(load_error(tmp_path / "nope.jsonl", "onpar"), tmp_path / "nope.jsonl", None, None)
    path = write_lines(tmp_path, "j.jsonl", [GOOD])
    assert "unknown format 'arena'" in str(load_error(path, "arena"))


def test_error_is_picklable_value_error() -> None:
    error = JudgmentFileError("j.jsonl", "bad", line=3, field="score")
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, ValueError)
    assert (str(again), again.line, again.field) == ("j.jsonl:3: field 'score': bad", 3, "score")


@pytest.mark.parametrize(
    "fields",
    [
        {"score": 8, "scale": "pairwise7"},
        {"score": 4, "scale": "pairwise3"},
        {"score": None, "scale": "pairwise7"},
        {"score": 2, "scale": "pairwise7", "error": "failed"},
        {"score": 2, "scale": "single10"},
        {"score": 2, "scale": "pairwise9"},
    ],
)
def test_rating_rejects_impossible_records(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Rating(item="q", model_a="a", model_b="b", rater="r", **fields)


def test_rating_is_frozen() -> None:
    rating = Rating(item="q", model_a="a", rater="r", score=10, scale="single10")
    with pytest.raises(ValidationError):
        rating.score = 3  # type: ignore[misc]
