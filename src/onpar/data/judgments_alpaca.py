"""AlpacaEval ``annotations.json``: a JSON array with one head-to-head annotation per object.

Fields used: instruction (the item), generator_1 / generator_2 (models of output_1 /
output_2), annotator (the rater), preference, and dataset (kept as category when present).
preference is 1 when output_1 is preferred and 2 when output_2 is; values in between come
from weighted annotators (1.5 is a draw, and 0 is AlpacaEval's legacy code for a draw);
null marks a failed annotation. The raw value is kept so AlpacaEval's win rate can be
recomputed exactly; ``score`` puts it on the 3-point scale with AlpacaEval's own thresholds.
AlpacaEval may randomise which output its judge saw first and maps the answer back, so the
file does not say the order shown: ``order`` stays None.
"""

from __future__ import annotations

import math

from onpar.data.errors import expected
from onpar.data.judgments_read import (
    JsonObject,
    json_array,
    optional_text,
    require,
    require_text,
)
from onpar.data.judgments_records import At, Rating

PREFERENCE_WANTED = (
    "null, or a number from 1 (output_1 preferred) to 2 (output_2 preferred), or 0 (draw)"
)
FAILED = "no preference: the annotation failed"
_DRAW = 1.5


def parse_annotations(text: str, display: str) -> list[tuple[int, Rating]]:
    return [
        (line, parse_annotation(record, At(display, line)))
        for line, record in json_array(text, display)
    ]


def parse_annotation(record: JsonObject, at: At) -> Rating:
    """One annotation; A = output_1 and B = output_2, as AlpacaEval stores them."""
    item = require_text(record, "instruction", at)
    model_a = require_text(record, "generator_1", at)
    model_b = require_text(record, "generator_2", at)
    rater = require_text(record, "annotator", at)
    preference = _preference(require(record, "preference", at, PREFERENCE_WANTED), at)
    score = None if preference is None else preference_to_score(preference)
    return Rating(
        item=item,
        model_a=model_a,
        model_b=model_b,
        rater=rater,
        score=score,
        scale="pairwise3",
        category=optional_text(record, "dataset", at),
        preference=preference,
        error=FAILED if score is None else None,
    )


def _preference(value: object, at: At) -> float | None:
    """The raw preference as a float; None (or NaN, which Python's json accepts) = failed."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise at.error(expected(PREFERENCE_WANTED, value), "preference")
    if not (value == 0 or 1 <= value <= 2):
        raise at.error(expected(PREFERENCE_WANTED, value), "preference")
    return float(value)


def preference_to_score(preference: float) -> int:
    """pairwise3 score with AlpacaEval's cut-offs: below 1.5 output_1 wins, above it output_2."""
    value = _DRAW if preference == 0 else preference
    if value < _DRAW:
        return 1
    return 3 if value > _DRAW else 2
