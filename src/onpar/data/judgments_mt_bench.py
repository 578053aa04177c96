"""FastChat MT-Bench judgment JSONL (``fastchat/llm_judge/gen_judgment.py`` output).

Two layouts, told apart by their keys (every line of a file must use the same one):

* pairwise: question_id, model_1, model_2, g1_winner, g2_winner, judge, turn. Game 1 showed
  model_1 first; game 2 showed model_2 first. Both winners are already written in model terms
  ("model_1", "model_2", "tie", or "error" when no verdict could be parsed), not positions, so
  each line becomes two Ratings: g1 with A = model_1 (order 'original') and g2 with
  A = model_2 (order 'swapped').
* single grade: question_id, model, score (1-10, -1 when no grade could be parsed), judge, turn.

judge is FastChat's [judge model, prompt template] pair: the model is the rater, the template
is kept as rater_prompt. turn is 1-based in MT-Bench (2 = the second user turn, judged with
the whole conversation) and 0-based in a Rating.
"""

from __future__ import annotations

from typing import Literal

from onpar.data.errors import expected
from onpar.data.judgments_read import (
    JsonObject,
    is_text,
    json_lines,
    require,
    require_id,
    require_text,
)
from onpar.data.judgments_records import SCALES, At, DisplayOrder, Rating, as_int

Kind = Literal["pairwise", "single"]
WINNERS = ("model_1", "model_2", "tie", "error")
WINNER_WANTED = "one of " + ", ".join(repr(w) for w in WINNERS)
JUDGE_WANTED = 'a [judge model, prompt name] list such as ["gpt-4", "pair-v2"]'
TURN_WANTED = "a 1-based turn number (1 or 2 in MT-Bench)"
_LOW, _HIGH, _ = SCALES["single10"]
GRADE_WANTED = f"an integer grade from {_LOW} to {_HIGH}, or -1 (no grade)"
NO_VERDICT = "the judge gave no verdict (MT-Bench 'error')"
NO_GRADE = "the judge gave no grade (MT-Bench score -1)"


def parse_judgments(text: str, display: str) -> list[tuple[int, Rating]]:
    """All lines, in file order; g1 comes before g2 for each pairwise line."""
    parsed: list[tuple[int, Rating]] = []
    first: Kind | None = None
    for line, record in json_lines(text, display):
        at = At(display, line)
        kind = detect_kind(record, at)
        first = first or kind
        if kind != first:
            field = "model" if kind == "single" else "model_1"
            raise at.error(f"a {kind} judgment in a file of {first} judgments", field)
        ratings = parse_pair(record, at) if kind == "pairwise" else [parse_single(record, at)]
        parsed.extend((line, rating) for rating in ratings)
    return parsed


def detect_kind(record: JsonObject, at: At) -> Kind:
    if {"model_1", "model_2", "g1_winner", "g2_winner"} & set(record):
        return "pairwise"
    if "model" in record:
        return "single"
    keys = ", ".join(sorted(record)) or "none"
    raise at.error(
        "neither a pairwise (model_1, model_2, g1_winner, g2_winner) nor a single-grade "
        f"(model, score) MT-Bench judgment; keys: {keys}"
    )


def parse_pair(record: JsonObject, at: At) -> list[Rating]:
    """Game 1 (model_1 shown first) and game 2 (model_2 shown first) as two Ratings."""
    item = require_id(record, "question_id", at)
    model_1 = require_text(record, "model_1", at)
    model_2 = require_text(record, "model_2", at)
    if model_1 == model_2:
        raise at.error(f"model_1 and model_2 are both {model_1!r}", "model_2")
    g1 = _winner(record, "g1_winner", at)
    g2 = _winner(record, "g2_winner", at)
    rater, prompt = _judge(record, at)
    common = {"item": item, "rater": rater, "rater_prompt": prompt, "turn": _turn(record, at)}
    return [
        _game(g1, ("model_1", model_1), ("model_2", model_2), "original", common),
        _game(g2, ("model_2", model_2), ("model_1", model_1), "swapped", common),
    ]


def _game(
    winner: str,
    first: tuple[str, str],
    second: tuple[str, str],
    order: DisplayOrder,
    common: dict[str, object],
) -> Rating:
    """One game: A is the model shown first; the winner names a model, not a position."""
    score = {first[0]: 1, "tie": 2, second[0]: 3}.get(winner)
    return Rating.model_validate(
        {
            **common,
            "model_a": first[1],
            "model_b": second[1],
            "score": score,
            "scale": "pairwise3",
            "order": order,
            "error": NO_VERDICT if score is None else None,
        }
    )


def parse_single(record: JsonObject, at: At) -> Rating:
    item = require_id(record, "question_id", at)
    model = require_text(record, "model", at)
    raw = require(record, "score", at, GRADE_WANTED)
    grade = as_int(raw)
    if grade is None or not (grade == -1 or _LOW <= grade <= _HIGH):
        raise at.error(expected(GRADE_WANTED, raw), "score")
    rater, prompt = _judge(record, at)
    return Rating(
        item=item,
        model_a=model,
        rater=rater,
        rater_prompt=prompt,
        score=None if grade == -1 else grade,
        scale="single10",
        turn=_turn(record, at),
        error=NO_GRADE if grade == -1 else None,
    )


def _winner(record: JsonObject, key: str, at: At) -> str:
    value = require(record, key, at, WINNER_WANTED)
    if value not in WINNERS:
        raise at.error(expected(WINNER_WANTED, value), key)
    return value


def _judge(record: JsonObject, at: At) -> tuple[str, str | None]:
    """FastChat writes the judge as [model, template]; a plain name (human rater) also works."""
    value = require(record, "judge", at, JUDGE_WANTED)
    if is_text(value):
        return value, None
    if isinstance(value, list) and 1 <= len(value) <= 2 and all(is_text(v) for v in value):
        return value[0], value[1] if len(value) == 2 else None
    raise at.error(expected(JUDGE_WANTED, value), "judge")


def _turn(record: JsonObject, at: At) -> int:
    value = require(record, "turn", at, TURN_WANTED)
    turn = as_int(value)
    if turn is None or turn < 1:
        raise at.error(expected(TURN_WANTED, value), "turn")
    return turn - 1
