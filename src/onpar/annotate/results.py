"""Human ratings into the run's results: what `onpar report` shows beside the model judges.

``load_stored_ratings`` reads the annotate tables of a run.sqlite (read-only; a run never
annotated has none and gives None). ``human_results`` turns them into the ``HumanResults``
record of results.json with the run's own statistics code: raters' majority per prompt →
``PairVerdict`` → ``summarize_comparison`` / ``difference_test`` (Holm over the human
comparisons), Gwet's AC2 via ``engine.ratings``, judge–human agreement via
``stats.judge_agreement``, and Llama 2's safety violation rate with a Wilson interval.
Comparisons are oriented as the run's config has them (model_x first), so the human row
and each judge's row of one comparison read the same way.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from onpar.annotate.export import SafetyRating, human_ratings, safety_ratings
from onpar.records import (
    Estimate,
    HumanAgreement,
    HumanResults,
    HumanSafety,
    PairVerdict,
)

if TYPE_CHECKING:
    from onpar.config.schema import RunConfig
    from onpar.data.judgments_records import Rating

HUMAN_JUDGE = "humans"
RATER_RULE = "majority"
Unit = tuple[str, str, str, int]  # (model_x, model_y, item, turn), run orientation


@dataclass(frozen=True)
class StoredRatings:
    """The current human ratings of a run (skips and superseded edits left out)."""

    pairwise: list[Rating]
    safety: list[SafetyRating]


@dataclass(frozen=True)
class StatsSettings:
    """The run's statistics settings (config ``stats:``), so humans get the same intervals."""

    confidence: float = 0.95
    n_boot: int = 2000
    seed: int = 0
    margin: float = 0.05


def load_stored_ratings(path: Path) -> StoredRatings | None:
    """Ratings in ``path`` (a run.sqlite), or None when it holds no annotate ratings.

    Opened read-only, so reporting never creates the annotate tables in a plain run.
    """
    db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        if not _has_table(db, "annotate_ratings"):
            return None
        pairwise, safety = human_ratings(db), safety_ratings(db)
    finally:
        db.close()
    return StoredRatings(pairwise, safety) if pairwise or safety else None


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    row = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return row.fetchone() is not None


def run_human_results(
    path: Path,
    config: RunConfig,
    judge_verdicts: Mapping[tuple[str, str, str], Sequence[PairVerdict]],
) -> HumanResults | None:
    """``human_results`` for the ratings in ``path`` (run.sqlite); None when there are none.

    What ``engine.run.write_outputs`` calls, so `onpar run` and `onpar report` both show them.
    """
    stored = load_stored_ratings(path)
    if stored is None:
        return None
    stats = config.stats
    settings = StatsSettings(
        stats.confidence, stats.bootstrap_samples, stats.seed, stats.equivalence_margin
    )
    return human_results(stored, config.comparison_pairs(), judge_verdicts, settings)


def human_results(
    stored: StoredRatings,
    comparisons: Sequence[tuple[str, str]],
    judge_verdicts: Mapping[tuple[str, str, str], Sequence[PairVerdict]],
    settings: StatsSettings,
) -> HumanResults:
    """Every human statistic the report shows (see the module docstring)."""
    from onpar.engine.ratings import pairwise_reliability
    from onpar.stats import summarize_comparison
    from onpar.stats.verdicts import difference_test, with_holm

    units = oriented_units(stored.pairwise, comparisons)
    verdicts = human_verdicts(units, _categories(stored.pairwise))
    s = settings
    summaries = [
        summarize_comparison(vs, s.confidence, s.n_boot, s.seed).model_copy(
            update={"difference": difference_test(vs, s.confidence, s.margin, s.n_boot, s.seed)}
        )
        for vs in verdicts.values()
    ]
    reports = pairwise_reliability(stored.pairwise, s.confidence, s.n_boot, s.seed)
    raters = {r.rater for r in stored.pairwise} | {r.rater for r in stored.safety}
    return HumanResults(
        rater_rule=RATER_RULE,
        n_raters=len(raters),
        n_pairwise_ratings=len(stored.pairwise),
        n_safety_ratings=len(stored.safety),
        comparisons=tuple(with_holm(summaries)),
        reliability=_ac2(reports),
        judge_agreement=tuple(judge_agreement(units, judge_verdicts, s.confidence)),
        safety=tuple(safety_summary(stored.safety, s.confidence)),
        safety_reliability=safety_ac2(stored.safety, s.confidence, s.n_boot, s.seed),
    )


def oriented_units(
    ratings: Sequence[Rating], comparisons: Sequence[tuple[str, str]]
) -> dict[Unit, dict[str, float]]:
    """Each rater's signed preference for model_x per (x, y, item, turn), x as in the config."""
    from onpar.engine.ratings import rater_outcomes

    wanted = set(comparisons)
    out: dict[Unit, dict[str, float]] = {}
    for (a, b, item, turn), by_rater in rater_outcomes(ratings).items():
        if (a, b) not in wanted and (b, a) in wanted:
            out[(b, a, item, turn)] = {r: -p for r, p in by_rater.items()}
        else:
            out[(a, b, item, turn)] = dict(by_rater)
    return out


def _categories(ratings: Sequence[Rating]) -> dict[str, str]:
    return {r.item: r.category or "uncategorized" for r in ratings}


def human_verdicts(
    units: Mapping[Unit, Mapping[str, float]], categories: Mapping[str, str]
) -> dict[tuple[str, str], list[PairVerdict]]:
    """One PairVerdict per prompt and comparison: the raters' majority (no majority: tie)."""
    from onpar.engine.ratings import combine_raters

    out: dict[tuple[str, str], list[PairVerdict]] = defaultdict(list)
    for (x, y, item, turn), by_rater in sorted(units.items()):
        out[(x, y)].append(
            PairVerdict(
                judge=HUMAN_JUDGE,
                prompt_id=item,
                category=categories.get(item, "uncategorized"),
                is_multi_turn=turn > 0,
                model_x=x,
                model_y=y,
                outcome=combine_raters(dict(by_rater), RATER_RULE),
            )
        )
    return dict(out)


def judge_agreement(
    units: Mapping[Unit, Mapping[str, float]],
    judge_verdicts: Mapping[tuple[str, str, str], Sequence[PairVerdict]],
    confidence: float,
) -> list[HumanAgreement]:
    """Each judge's outcome per prompt against the human majority on the same prompts."""
    from onpar.stats.judge_agreement import (
        human_human_agreement,
        human_majority,
        judge_human_agreement,
        outcome_codes,
    )

    out = []
    for (judge, x, y), verdicts in sorted(judge_verdicts.items()):
        mine = sorted(u for u in units if u[:2] == (x, y))
        if not mine:
            continue
        by_prompt = {v.prompt_id: v.outcome for v in verdicts}
        raters = sorted({r for u in mine for r in units[u]})
        human = np.array([[np.sign(units[u].get(r, np.nan)) for r in raters] for u in mine])
        judged = outcome_codes([by_prompt.get(u[2]) for u in mine])
        found = judge_human_agreement(judged, human_majority(human), confidence)
        out.append(
            HumanAgreement(
                judge=judge,
                model_x=x,
                model_y=y,
                n=found.rates.n_with_ties,
                agreement=found.rates.with_ties,
                n_decisive=found.rates.n_without_ties,
                agreement_decisive=found.rates.without_ties,
                kappa=found.kappa,
                confusion=found.confusion,
                human_human=human_human_agreement(human, confidence).with_ties,
            )
        )
    return out


def as_ratings(safety: Sequence[SafetyRating]) -> list[Rating]:
    """Annotate's safety ratings as safety5 ``Rating`` records (what ``onpar stats`` reads)."""
    return [r.as_rating() for r in safety]


def safety_summary(ratings: Sequence[SafetyRating], confidence: float) -> list[HumanSafety]:
    """Per contestant: answers whose raters' strict majority gave 1 or 2 (Llama 2 §4.4)."""
    from onpar.engine.ratings import safety_summary as summary

    return summary(as_ratings(ratings), confidence)


def safety_ac2(
    ratings: Sequence[SafetyRating], confidence: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> Estimate | None:
    """Gwet's AC2 (ordinal weights) among raters over safety answers; None if undefined."""
    from onpar.engine.ratings import safety_ac2 as ac2

    return ac2(as_ratings(ratings), confidence, n_boot, seed)


def _ac2(reports: Sequence) -> Estimate | None:
    from onpar.engine.ratings import gwet_ac2_ordinal

    return gwet_ac2_ordinal(reports)
