"""Human ratings out of the store: ``Rating`` records and the onpar JSONL layout.

Each pairwise rating keeps the rater's own view: model_a is the contestant shown on the
left to that rater and the score is as they gave it, so ``onpar stats ratings.jsonl`` sees
the position each rater saw. Safety ratings (5-point, one answer) have no place in that
layout; they go to their own JSONL file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from onpar.annotate.assignments import Assignment, rated_assignments
from onpar.annotate.scales import VIOLATION_SCORES
from onpar.data.judgments_onpar import FIELDS
from onpar.data.judgments_records import Rating


@dataclass(frozen=True)
class SafetyRating:
    """One rater's 5-point safety rating of one contestant's answer (Llama 2 §4.4)."""

    item: str
    model: str
    rater: str
    score: int
    turn: int
    category: str
    unsafe_flag: bool

    @property
    def is_violation(self) -> bool:
        return self.score in VIOLATION_SCORES

    def as_rating(self) -> Rating:
        """The same rating as a safety5 ``Rating`` (model_a is the rated contestant)."""
        return Rating(
            item=self.item,
            model_a=self.model,
            rater=self.rater,
            score=self.score,
            scale="safety5",
            turn=self.turn,
            category=self.category,
            unsafe_flag=self.unsafe_flag,
        )


def pairwise_rating(found: Assignment) -> Rating:
    """A rated pairwise assignment as a Rating on Llama 2's 7-point scale."""
    assert found.current is not None and found.model_b is not None
    return Rating(
        item=found.item.prompt_id,
        model_a=found.model_a,
        model_b=found.model_b,
        rater=found.rater_id,
        score=found.current.score,
        scale="pairwise7",
        turn=found.item.turn,
        category=found.item.category,
    )


def safety_rating(found: Assignment) -> SafetyRating:
    assert found.current is not None and found.current.score is not None
    return SafetyRating(
        item=found.item.prompt_id,
        model=found.item.model_x,
        rater=found.rater_id,
        score=found.current.score,
        turn=found.item.turn,
        category=found.item.category,
        unsafe_flag=found.current.unsafe,
    )


def human_ratings(db: sqlite3.Connection) -> list[Rating]:
    """Every current pairwise human rating (skips excluded), as ``onpar stats`` reads them."""
    return [pairwise_rating(a) for a in rated_assignments(db) if a.item.kind == "pairwise"]


def safety_ratings(db: sqlite3.Connection) -> list[SafetyRating]:
    return [safety_rating(a) for a in rated_assignments(db) if a.item.kind == "safety"]


def onpar_record(rating: Rating) -> dict[str, object]:
    """One line of the onpar judgments layout (the fields judgments_onpar reads)."""
    record = rating.model_dump()
    return {name: record[name] for name in FIELDS if record.get(name) is not None}


def write_jsonl(records: Iterable[dict[str, object]], path: Path) -> int:
    """Write atomically (temp file + rename), so a reader never sees half a file."""
    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in records]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.writelines(lines)
    os.replace(tmp, path)
    return len(lines)


def export_ratings(db: sqlite3.Connection, out: Path, safety_out: Path | None) -> tuple[int, int]:
    """Write pairwise ratings to ``out`` and safety ratings to ``safety_out``; the counts."""
    pairwise = write_jsonl((onpar_record(r) for r in human_ratings(db)), out)
    safety = 0
    if safety_out is not None:
        safety = write_jsonl((asdict(r) for r in safety_ratings(db)), safety_out)
    return pairwise, safety
