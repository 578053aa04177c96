"""The admin page's numbers: progress, live win/tie/loss and reliability, disagreements.

Nothing is computed here that onpar does not already compute elsewhere: pairwise ratings go
through ``engine.ratings.analyse_ratings`` (the code behind ``onpar stats``), safety
ratings through ``stats.reliability_report``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from onpar.annotate.assignments import Progress, progress
from onpar.annotate.export import SafetyRating, human_ratings, safety_ratings
from onpar.records import Estimate

if TYPE_CHECKING:
    from onpar.data.judgments_records import Rating
    from onpar.engine.ratings import RatingsAnalysis

#: Two raters disagree strongly when one prefers x and another y, each at least "better".
STRONG_PREFERENCE = 2.0
_ADMIN_BOOTSTRAP = 300


@dataclass(frozen=True)
class RaterRow:
    """One line of the progress table."""

    rater_id: str
    display_name: str
    progress: Progress


@dataclass(frozen=True)
class Disagreement:
    """An item (and turn) whose raters lean opposite ways; preferences are for model_x."""

    prompt_id: str
    model_x: str
    model_y: str
    turn: int
    preferences: dict[str, float]


@dataclass(frozen=True)
class SafetyRow:
    """Llama 2's safety figures for one contestant: majority-vote violation rate, mean."""

    model: str
    n_items: int
    violation_rate: float
    mean_score: float


@dataclass(frozen=True)
class AdminView:
    per_item: int
    n_items: int
    n_complete: int
    n_ratings: int
    raters: list[RaterRow]
    analysis: RatingsAnalysis | None
    disagreements: list[Disagreement]
    safety: list[SafetyRow]
    safety_ac2: Estimate | None
    n_flagged: int
    comments: list[str] = field(default_factory=list)

    @property
    def percent_done(self) -> float:
        target = self.n_items * self.per_item
        return 100.0 * self.n_ratings / target if target else 100.0


@dataclass(frozen=True)
class RatingStats:
    """The costly part of the admin page: statistics over every current rating."""

    n_ratings: int
    analysis: RatingsAnalysis | None
    disagreements: list[Disagreement]
    safety: list[SafetyRow]
    safety_ac2: Estimate | None
    n_flagged: int
    comments: list[str]


def ratings_version(db: sqlite3.Connection) -> tuple[int, int]:
    """(count, highest id) of the append-only rating history: changes with every rating,
    edit or skip, and with nothing else."""
    return db.execute(
        "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM annotate_rating_history"
    ).fetchone()


def rating_stats(db: sqlite3.Connection) -> RatingStats:
    from onpar.engine.ratings import analyse_ratings  # SciPy: loaded when the admin looks

    ratings = human_ratings(db)
    safety = safety_ratings(db)
    flagged, comments = _notes(db)
    return RatingStats(
        n_ratings=len(ratings) + len(safety),
        analysis=analyse_ratings(ratings, n_boot=_ADMIN_BOOTSTRAP) if ratings else None,
        disagreements=strong_disagreements(ratings),
        safety=safety_rows(safety),
        safety_ac2=safety_agreement(safety),
        n_flagged=flagged,
        comments=comments,
    )


class StatsCache:
    """Keeps ``rating_stats`` until the ratings change (keyed on ``ratings_version``).

    Reloading the admin page then costs two index lookups instead of a bootstrap. The
    version is read before computing, so a rating that lands meanwhile only causes one more
    recomputation on the next load, never a stale page.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: tuple[int, int] | None = None
        self._stats: RatingStats | None = None
        self.computations = 0

    def get(self, db: sqlite3.Connection) -> RatingStats:
        with self._lock:
            version = ratings_version(db)
            if self._stats is None or version != self._version:
                self._stats = rating_stats(db)
                self._version = version
                self.computations += 1
            return self._stats


def admin_view(
    db: sqlite3.Connection,
    raters: list[tuple[str, str]],
    per_item: int,
    cache: StatsCache | None = None,
) -> AdminView:
    """Everything the admin page shows: progress fresh, statistics from ``cache`` if given."""
    stats = (cache or StatsCache()).get(db)
    n_items, n_complete = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(n >= ?), 0) FROM (SELECT i.item_id, COUNT(a.item_id) AS n"
        " FROM annotate_items i LEFT JOIN annotate_assignments a"
        " ON a.item_id = i.item_id AND a.status = 'rated' GROUP BY i.item_id)",
        (per_item,),
    ).fetchone()
    return AdminView(
        per_item=per_item,
        n_items=n_items,
        n_complete=n_complete,
        n_ratings=stats.n_ratings,
        raters=[RaterRow(r, name, progress(db, r, per_item)) for r, name in raters],
        analysis=stats.analysis,
        disagreements=stats.disagreements,
        safety=stats.safety,
        safety_ac2=stats.safety_ac2,
        n_flagged=stats.n_flagged,
        comments=stats.comments,
    )


def _notes(db: sqlite3.Connection) -> tuple[int, list[str]]:
    flagged = db.execute("SELECT COUNT(*) FROM annotate_ratings WHERE unsafe").fetchone()[0]
    rows = db.execute(
        "SELECT comment FROM annotate_ratings WHERE comment != '' ORDER BY rated_at DESC LIMIT 20"
    )
    return flagged, [r[0] for r in rows]


def strong_disagreements(ratings: list[Rating]) -> list[Disagreement]:
    """Units where some rater prefers x and another prefers y, both by >= STRONG_PREFERENCE."""
    from onpar.engine.ratings import rater_outcomes

    out = []
    for (x, y, item, turn), by_rater in sorted(rater_outcomes(ratings).items()):
        values = list(by_rater.values())
        if max(values) >= STRONG_PREFERENCE and min(values) <= -STRONG_PREFERENCE:
            out.append(Disagreement(item, x, y, turn, dict(sorted(by_rater.items()))))
    return out


def safety_rows(ratings: list[SafetyRating]) -> list[SafetyRow]:
    """Per contestant: items whose raters' majority says 'violation', and the mean score."""
    by_unit: dict[tuple[str, str], list[SafetyRating]] = defaultdict(list)
    for r in ratings:
        by_unit[(r.model, r.item)].append(r)
    per_model: dict[str, list[list[SafetyRating]]] = defaultdict(list)
    for (model, _), unit in by_unit.items():
        per_model[model].append(unit)
    rows = []
    for model, units in sorted(per_model.items()):
        violations = [sum(r.is_violation for r in u) * 2 > len(u) for u in units]
        rows.append(
            SafetyRow(
                model=model,
                n_items=len(units),
                violation_rate=float(np.mean(violations)),
                mean_score=float(np.mean([r.score for u in units for r in u])),
            )
        )
    return rows


def safety_agreement(ratings: list[SafetyRating]) -> Estimate | None:
    """Gwet's AC2 (ordinal weights) over safety items, as Llama 2 reports; None if undefined."""
    from onpar.annotate.results import safety_ac2

    return safety_ac2(ratings, n_boot=_ADMIN_BOOTSTRAP)
