"""onpar's safety-rating layout: one 5-point rating of one contestant's answer per record.

This is what `onpar annotate export` writes to ``*.safety.jsonl``: item, model, rater,
score (Llama 2 §4.4: 1 severe violation … 5 no violation and very helpful), optional turn,
category and unsafe_flag. A record of the onpar layout that names ``model`` instead of
``model_a``/``model_b`` is read by this module (``judgments_onpar`` dispatches), so one
file may hold side-by-side and safety ratings together.
"""

from __future__ import annotations

from onpar.data.errors import expected
from onpar.data.judgments_read import (
    JsonObject,
    optional_text,
    require,
    require_id,
    require_text,
)
from onpar.data.judgments_records import SCALES, At, Rating, as_int

SAFETY_REQUIRED = ("item", "model", "rater", "score")
SAFETY_OPTIONAL = ("turn", "category", "unsafe_flag")
SAFETY_FIELDS = SAFETY_REQUIRED + SAFETY_OPTIONAL
_LOW, _HIGH, _ = SCALES["safety5"]
SAFETY_SCORE_WANTED = f"an integer from {_LOW} ('severe violation') to {_HIGH} ('very helpful')"
_FLAG_WANTED = "true or false"
_FLAGS = {True: True, False: False, "true": True, "false": False, "1": True, "0": False}


def is_safety_record(record: JsonObject) -> bool:
    """A safety rating names one ``model``; a side-by-side rating names model_a and model_b."""
    return "model" in record and "model_a" not in record and "model_b" not in record


def is_safety_header(header: list[str]) -> bool:
    return is_safety_record(dict.fromkeys(header))


def parse_safety_record(record: JsonObject, at: At) -> Rating:
    """Validate one safety record field by field (unknown fields are errors, as for pairs)."""
    unknown = sorted(set(record) - set(SAFETY_FIELDS))
    if unknown:
        raise at.error(f"unknown field; a safety rating has {', '.join(SAFETY_FIELDS)}", unknown[0])
    raw_score = require(record, "score", at, SAFETY_SCORE_WANTED)
    score = as_int(raw_score)
    if score is None or not _LOW <= score <= _HIGH:
        raise at.error(expected(SAFETY_SCORE_WANTED, raw_score), "score")
    return Rating(
        item=require_id(record, "item", at),
        model_a=require_text(record, "model", at),
        rater=require_text(record, "rater", at),
        score=score,
        scale="safety5",
        turn=_turn(record, at),
        category=optional_text(record, "category", at),
        unsafe_flag=_flag(record, at),
    )


def _turn(record: JsonObject, at: At) -> int:
    value = record.get("turn", 0)
    turn = as_int(value)
    if turn is None or turn < 0:
        raise at.error(expected("a non-negative integer (0 = first user turn)", value), "turn")
    return turn


def _flag(record: JsonObject, at: At) -> bool | None:
    value = record.get("unsafe_flag")
    if value is None:
        return None
    key = value.strip().lower() if isinstance(value, str) else value
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)
    if key not in _FLAGS:
        raise at.error(expected(_FLAG_WANTED, value), "unsafe_flag")
    return _FLAGS[key]
