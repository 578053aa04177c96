"""Load judgments made elsewhere (onpar files, AlpacaEval, MT-Bench) as ``Rating`` records.

``onpar stats FILE`` analyses ratings it did not produce, so each source layout is mapped to
one record type here. A file is accepted whole or not at all: every record is checked, and
no rater may rate the same (item, model_a, model_b, turn) twice, before anything is returned.
Layouts: ``judgments_onpar`` (JSONL, or CSV/TSV by extension), ``judgments_alpaca``
(AlpacaEval annotations.json) and ``judgments_mt_bench`` (FastChat judgment JSONL).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from onpar.data.errors import shown
from onpar.data.judgments_alpaca import parse_annotations
from onpar.data.judgments_mt_bench import parse_judgments
from onpar.data.judgments_onpar import parse_csv, parse_jsonl
from onpar.data.judgments_read import read_judgment_text
from onpar.data.judgments_records import SCALES, JudgmentFileError, Rating, Scale

JudgmentFormat = Literal["onpar", "alpaca_eval", "mt_bench"]
JUDGMENT_FORMATS: tuple[str, ...] = get_args(JudgmentFormat)
#: The source's name for the rater, used as the field of a duplicate-rating error.
_RATER_FIELD = {"onpar": "rater", "alpaca_eval": "annotator", "mt_bench": "judge"}
_DELIMITERS = {".csv": ",", ".tsv": "\t"}

__all__ = [
    "JUDGMENT_FORMATS",
    "SCALES",
    "JudgmentFileError",
    "JudgmentFormat",
    "Rating",
    "Scale",
    "load_judgments",
]


def load_judgments(path: Path, format: JudgmentFormat) -> list[Rating]:
    """Every rating in the file, in file order, or JudgmentFileError naming file:line:field."""
    display = str(path)
    if format not in JUDGMENT_FORMATS:
        raise JudgmentFileError(
            display, f"unknown format {format!r}; expected one of {', '.join(JUDGMENT_FORMATS)}"
        )
    text = read_judgment_text(path, display)
    parsed = _parse(text, display, path, format)
    if not parsed:
        raise JudgmentFileError(display, "no judgments found: the file has no records")
    _check_unique(parsed, display, _RATER_FIELD[format])
    return [rating for _, rating in parsed]


def _parse(text: str, display: str, path: Path, format: str) -> list[tuple[int, Rating]]:
    if format == "alpaca_eval":
        return parse_annotations(text, display)
    if format == "mt_bench":
        return parse_judgments(text, display)
    delimiter = _DELIMITERS.get(path.suffix.lower())
    return parse_jsonl(text, display) if delimiter is None else parse_csv(text, display, delimiter)


def _check_unique(parsed: list[tuple[int, Rating]], display: str, field: str) -> None:
    """A second verdict by the same rater on the same shown pair would be counted twice."""
    first_line: dict[tuple[str, str, str, str | None, int], int] = {}
    for line, rating in parsed:
        key = (rating.rater, rating.item, rating.model_a, rating.model_b, rating.turn)
        if key in first_line:
            raise JudgmentFileError(
                display,
                f"rater {rating.rater!r} already rated item {shown(rating.item)} "
                f"(model_a {rating.model_a!r}, model_b {rating.model_b!r}, turn {rating.turn}) "
                f"on line {first_line[key]}",
                line=line,
                field=field,
            )
        first_line[key] = line
