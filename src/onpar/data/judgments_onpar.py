"""onpar's own judgment layout: one 7-point rating per JSONL line or CSV row.

Fields: item, model_a, model_b, rater, score (1-7, Llama 2 scale), optional turn (0-based)
and category. Unknown fields are errors, so a typo such as 'scroe' is reported, not lost.
Records naming one ``model`` instead are 5-point safety ratings (``judgments_safety``).
"""

from __future__ import annotations

import re
from typing import Any

from onpar.data.errors import expected
from onpar.data.judgments_read import (
    JsonObject,
    json_lines,
    optional_text,
    require,
    require_id,
    require_text,
)
from onpar.data.judgments_records import SCALES, At, JudgmentFileError, Rating, as_int
from onpar.data.judgments_safety import (
    SAFETY_FIELDS,
    SAFETY_OPTIONAL,
    SAFETY_REQUIRED,
    is_safety_header,
    is_safety_record,
    parse_safety_record,
)
from onpar.data.textfiles import csv_rows

REQUIRED = ("item", "model_a", "model_b", "rater", "score")
OPTIONAL = ("turn", "category")
FIELDS = REQUIRED + OPTIONAL
_LOW, _HIGH, _ = SCALES["pairwise7"]
SCORE_WANTED = f"an integer from {_LOW} ('A is much better') to {_HIGH} ('B is much better')"
TURN_WANTED = "a non-negative integer (0 = first user turn)"
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


def parse_jsonl(text: str, display: str) -> list[tuple[int, Rating]]:
    return [
        (line, parse_record(record, At(display, line)))
        for line, record in json_lines(text, display)
    ]


def parse_csv(text: str, display: str, delimiter: str) -> list[tuple[int, Rating]]:
    """Header row names the fields (any order); empty optional cells mean 'not given'."""
    rows = csv_rows(text, display, delimiter, JudgmentFileError)
    header_line, header = next(rows, (1, []))
    _check_header(header, At(display, header_line))
    parsed: list[tuple[int, Rating]] = []
    for line, row in rows:
        at = At(display, line)
        if len(row) != len(header):
            raise at.error(f"expected {len(header)} cells as in the header, got {len(row)}")
        parsed.append((line, parse_record(_typed(dict(zip(header, row, strict=True))), at)))
    return parsed


def _check_header(header: list[str], at: At) -> None:
    if not header:
        return  # an empty file: reported by the caller as 'no judgments'
    fields, required = FIELDS, REQUIRED
    if is_safety_header(header):  # one contestant's answer per row (judgments_safety)
        fields, required = SAFETY_FIELDS, SAFETY_REQUIRED
    for name in header:
        if name not in fields:
            raise at.error(f"unknown column; the onpar format has {', '.join(fields)}", name)
        if header.count(name) > 1:
            raise at.error("column appears more than once in the header", name)
    for name in required:
        if name not in header:
            raise at.error("missing column in the header", name)


def _typed(row: dict[str, str]) -> JsonObject:
    """CSV cells are text: integers become ints, empty optional cells are dropped."""
    typed: dict[str, Any] = {}
    for key, cell in row.items():
        if (key in OPTIONAL or key in SAFETY_OPTIONAL) and not cell.strip():
            continue
        typed[key] = int(cell) if key in ("score", "turn") and _INTEGER.fullmatch(cell) else cell
    return typed


def parse_record(record: JsonObject, at: At) -> Rating:
    """Validate one record field by field, so each problem names its field."""
    if is_safety_record(record):
        return parse_safety_record(record, at)
    unknown = sorted(set(record) - set(FIELDS))
    if unknown:
        raise at.error(f"unknown field; the onpar format has {', '.join(FIELDS)}", unknown[0])
    item = require_id(record, "item", at)
    model_a = require_text(record, "model_a", at)
    model_b = require_text(record, "model_b", at)
    rater = require_text(record, "rater", at)
    raw_score = require(record, "score", at, SCORE_WANTED)
    score = as_int(raw_score)
    if score is None or not _LOW <= score <= _HIGH:
        raise at.error(expected(SCORE_WANTED, raw_score), "score")
    if model_a == model_b:
        raise at.error(
            f"model_a and model_b are both {model_a!r}; a pair needs two models", "model_b"
        )
    return Rating(
        item=item,
        model_a=model_a,
        model_b=model_b,
        rater=rater,
        score=score,
        scale="pairwise7",
        turn=_turn(record, at),
        category=optional_text(record, "category", at),
    )


def _turn(record: JsonObject, at: At) -> int:
    value = record.get("turn", 0)
    turn = as_int(value)
    if turn is None or turn < 0:
        raise at.error(expected(TURN_WANTED, value), "turn")
    return turn
