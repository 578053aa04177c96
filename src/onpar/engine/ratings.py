"""`onpar stats FILE`: every statistic onpar has, computed from judgments made elsewhere.

Ratings (onpar JSONL/CSV, AlpacaEval annotations, MT-Bench judgments) become one outcome
per (comparison, item, turn) — the same `PairVerdict` records a run produces — so win/tie/
loss, the equivalence verdict, Holm and Bradley–Terry reuse the run's code. With several
raters per item it adds inter-rater reliability; with `judge` named, judge-vs-human
agreement and a prediction-powered win rate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field

from onpar.data.judgments import Rating
from onpar.records import (
    ComparisonSummary,
    Estimate,
    HumanSafety,
    Leaderboard,
    Outcome,
    PairVerdict,
    Record,
)
from onpar.stats import summarize_comparison
from onpar.stats.alpaca_eval import alpaca_eval_win_rate
from onpar.stats.intervals import paired_bootstrap
from onpar.stats.judge_agreement import (
    AgreementRates,
    JudgeAgreement,
    human_human_agreement,
    human_majority,
    judge_human_agreement,
)
from onpar.stats.ppi import PPIWinRate, ppi_win_rate
from onpar.stats.reliability_report import ReliabilityReport, reliability_report
from onpar.stats.verdicts import difference_test, leaderboard, with_holm

RaterRule = Literal["majority", "mean"]
Unit = tuple[str, str, str, int]  # (model_x, model_y, item, turn)
_SIGN = {"win": 1, "tie": 0, "loss": -1}


class JudgeVersusHumans(Record):
    """One rater (a model judge) against the majority of the other raters."""

    judge: str
    agreement: JudgeAgreement
    human_human: AgreementRates
    ppi_win_rate: PPIWinRate | None = Field(description="None unless x/y is one comparison.")


class ModelGrade(Record):
    """MT-Bench-style single-answer grades: mean score of one model with a bootstrap CI."""

    model: str
    n: int
    mean_score: Estimate


class RatingsAnalysis(Record):
    """What `onpar stats` reports; `--json` prints exactly this."""

    n_ratings: int
    n_failed: int = Field(description="Ratings the source marks as failed (kept out).")
    rater_rule: RaterRule
    confidence: float = Field(description="Level of every interval.")
    bootstrap_samples: int
    comparisons: tuple[ComparisonSummary, ...]
    leaderboard: Leaderboard | None
    reliability: tuple[ReliabilityReport, ...] = Field(
        description="Inter-rater reliability coefficients (empty with one rater per item)."
    )
    judge_vs_humans: JudgeVersusHumans | None
    alpaca_eval: dict[str, dict[str, float | int]] = Field(
        description="AlpacaEval's own win_rate, standard_error … per 'model vs baseline'."
    )
    single_grades: tuple[ModelGrade, ...]
    safety: tuple[HumanSafety, ...] = Field(
        default=(), description="safety5 ratings per model: majority violation rate, mean."
    )
    safety_reliability: Estimate | None = Field(
        default=None, description="Gwet's AC2 (ordinal weights) among safety raters."
    )


def rater_outcomes(ratings: Sequence[Rating], x_is_b: bool = False) -> dict[Unit, dict[str, float]]:
    """Signed preference for x per (unit, rater), in [-3, 3].

    A rater who rated both orders: the mean when both orders lean the same way, else 0 (a
    tie), like the run's `agree` rule and MT-Bench's treatment of inconsistent verdicts.

    x is the alphabetically first model of the pair (AlpacaEval: the model, not the baseline).
    """
    sums: dict[Unit, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in ratings:
        if not r.ok or r.model_b is None:
            continue
        x, y = (r.model_b, r.model_a) if x_is_b else tuple(sorted((r.model_a, r.model_b)))
        low, high = (1, 7) if r.scale == "pairwise7" else (1, 3)
        for_a = (low + high) / 2 - r.score  # type: ignore[operator]
        sums[(x, y, r.item, r.turn)][r.rater].append(for_a if r.model_a == x else -for_a)
    return {unit: {k: _agree(v) for k, v in by.items()} for unit, by in sums.items()}


def _agree(preferences: list[float]) -> float:
    """One rater's orders combined as the run's `agree` rule: contradicting signs are a tie."""
    signs = {float(np.sign(p)) for p in preferences}
    return float(np.mean(preferences)) if len(signs) == 1 else 0.0


def combine_raters(preferences: dict[str, float], rule: RaterRule) -> Outcome:
    """Majority vote of the raters' win/tie/loss (no strict majority: tie), or sign of the mean."""
    if rule == "mean":
        mean = float(np.mean(list(preferences.values())))
        return "win" if mean > 0 else "loss" if mean < 0 else "tie"
    votes = [float(np.sign(p)) for p in preferences.values()]
    code = human_majority(np.array([votes]))[0]
    return "win" if code > 0 else "loss" if code < 0 else "tie"


def comparison_verdicts(
    units: dict[Unit, dict[str, float]], rule: RaterRule, exclude: str | None = None
) -> dict[tuple[str, str], list[PairVerdict]]:
    """One PairVerdict per unit (item and turn), raters combined by `rule`."""
    out: dict[tuple[str, str], list[PairVerdict]] = defaultdict(list)
    for (x, y, item, turn), by_rater in sorted(units.items()):
        raters = {k: v for k, v in by_rater.items() if k != exclude}
        if not raters:
            continue
        out[(x, y)].append(
            PairVerdict(
                judge="raters",
                prompt_id=f"{item}#{turn}",
                category="all",
                is_multi_turn=turn > 0,
                model_x=x,
                model_y=y,
                outcome=combine_raters(raters, rule),
            )
        )
    return dict(out)


def analyse_ratings(
    ratings: Sequence[Rating],
    *,
    rule: RaterRule = "majority",
    judge: str | None = None,
    source_format: str = "onpar",
    confidence: float = 0.95,
    margin: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
) -> RatingsAnalysis:
    """All statistics for a set of ratings; `judge` names a rater to hold against the others."""
    units = rater_outcomes(ratings, x_is_b=source_format == "alpaca_eval")
    verdicts = comparison_verdicts(units, rule, exclude=judge)
    summaries = [
        summarize_comparison(vs, confidence, n_boot, seed).model_copy(
            update={"difference": difference_test(vs, confidence, margin, n_boot, seed)}
        )
        for vs in verdicts.values()
    ]
    all_verdicts = [v for vs in verdicts.values() for v in vs]
    return RatingsAnalysis(
        n_ratings=len(ratings),
        n_failed=sum(not r.ok for r in ratings),
        rater_rule=rule,
        confidence=confidence,
        bootstrap_samples=n_boot,
        comparisons=tuple(with_holm(summaries)),
        leaderboard=leaderboard("raters", all_verdicts, confidence, n_boot, seed),
        reliability=tuple(_reliability(units, ratings, judge, confidence, n_boot, seed)),
        judge_vs_humans=_judge_vs_humans(units, judge, verdicts, confidence) if judge else None,
        alpaca_eval=_alpaca_eval(ratings) if source_format == "alpaca_eval" else {},
        single_grades=tuple(_single_grades(ratings, confidence, n_boot, seed)),
        safety=tuple(safety_summary(ratings, confidence)),
        safety_reliability=safety_ac2(ratings, confidence, n_boot, seed),
    )


def _judge_vs_humans(
    units: dict[Unit, dict[str, float]],
    judge: str,
    verdicts: dict[tuple[str, str], list[PairVerdict]],
    confidence: float,
) -> JudgeVersusHumans:
    raters = sorted({r for by in units.values() for r in by if r != judge})
    judged = [u for u in sorted(units) if judge in units[u]]
    if not judged:
        raise ValueError(f"rater {judge!r} rated nothing; raters: {', '.join(raters)}")
    judge_codes = np.array([np.sign(units[u][judge]) for u in judged])
    human = np.array([[np.sign(units[u].get(r, np.nan)) for r in raters] for u in judged])
    majority = human_majority(human) if raters else np.full(len(judged), np.nan)
    ppi = None
    labeled = np.isfinite(majority)
    one_pair = len(verdicts) == 1 and len({u[:2] for u in judged}) == 1
    if one_pair and labeled.sum() >= 2 and (~labeled).sum() >= 2:
        ppi = ppi_win_rate(
            judge_codes, judge_codes[labeled], majority[labeled], confidence=confidence
        )
    return JudgeVersusHumans(
        judge=judge,
        agreement=judge_human_agreement(judge_codes, majority, confidence),
        human_human=human_human_agreement(human, confidence),
        ppi_win_rate=ppi,
    )


def _alpaca_eval(ratings: Sequence[Rating]) -> dict[str, dict[str, float | int]]:
    """AlpacaEval's own numbers, per model against its baseline (generator_1)."""
    by_pair: dict[str, list[float | None]] = defaultdict(list)
    for r in ratings:
        by_pair[f"{r.model_b} vs {r.model_a}"].append(r.preference)
    return {pair: alpaca_eval_win_rate(prefs) for pair, prefs in sorted(by_pair.items())}


def _single_grades(
    ratings: Sequence[Rating], confidence: float, n_boot: int, seed: int
) -> list[ModelGrade]:
    scores: dict[str, list[float]] = defaultdict(list)
    for r in ratings:
        if r.ok and r.scale == "single10":
            scores[r.model_a].append(float(r.score))  # type: ignore[arg-type]
    return [
        ModelGrade(
            model=model,
            n=len(values),
            mean_score=paired_bootstrap(np.array(values), _mean_rows, confidence, n_boot, seed),
        )
        for model, values in sorted(scores.items())
    ]


def _mean_rows(resamples: np.ndarray) -> np.ndarray:
    return resamples.mean(axis=-1)


def pairwise_reliability(
    ratings: Sequence[Rating], confidence: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> list[ReliabilityReport]:
    """IRR among every rater of pairwise ratings (the coefficients ``onpar stats`` prints)."""
    found = _reliability(rater_outcomes(ratings), ratings, None, confidence, n_boot, seed)
    return [ReliabilityReport.model_validate(report) for report in found]


def _reliability(
    units: dict[Unit, dict[str, float]],
    ratings: Sequence[Rating],
    judge: str | None,
    confidence: float,
    n_boot: int,
    seed: int,
) -> list[ReliabilityReport]:
    """IRR over items (rows) × raters (columns), on x's side of the pairwise scale.

    A rater who rated both orders of an item contributes the mean of the two, rounded to the
    nearest scale point. The `judge` (a model) is left out: this is agreement among the other
    raters. Needs one pairwise scale and some item with two or more ratings.
    """
    units = {u: {r: p for r, p in by.items() if r != judge} for u, by in units.items()}
    scales = {r.scale for r in ratings if r.ok and r.model_b is not None}
    if len(scales) != 1 or not any(len(by) >= 2 for by in units.values()):
        return []
    middle = 4 if scales == {"pairwise7"} else 2
    raters = sorted({r for by in units.values() for r in by})
    matrix = np.array(
        [[middle - np.round(by[r]) if r in by else np.nan for r in raters] for by in units.values()]
    )
    categories = list(range(1, 2 * middle))
    reports = reliability_report(
        matrix, categories, n_boot=n_boot, confidence=confidence, seed=seed
    )
    return [report.model_dump(mode="json") for report in reports]


def safety_summary(ratings: Sequence[Rating], confidence: float = 0.95) -> list[HumanSafety]:
    """Per model, safety5 ratings as Llama 2 §4.4 counts them: an answer is a violation when
    a strict majority of its raters gave 1 or 2; the rate has a Wilson interval."""
    from onpar.data.judgments_records import SAFETY_VIOLATIONS
    from onpar.stats.intervals import wilson_interval

    by_answer: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    for r in ratings:
        if r.ok and r.scale == "safety5":
            by_answer[(r.model_a, r.item, r.turn)].append(r.score)  # type: ignore[arg-type]
    per_model: dict[str, list[list[int]]] = defaultdict(list)
    for (model, _, _), scores in sorted(by_answer.items()):
        per_model[model].append(scores)
    out = []
    for model, answers in sorted(per_model.items()):
        violations = sum(2 * sum(s in SAFETY_VIOLATIONS for s in a) > len(a) for a in answers)
        scores = [s for a in answers for s in a]
        out.append(
            HumanSafety(
                model=model,
                n_items=len(answers),
                n_ratings=len(scores),
                n_violations=violations,
                violation_rate=wilson_interval(violations, len(answers), confidence),
                mean_score=float(np.mean(scores)),
            )
        )
    return out


def safety_ac2(
    ratings: Sequence[Rating], confidence: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> Estimate | None:
    """Gwet's AC2 (ordinal weights) among raters of safety5 ratings; None if undefined."""
    safety = [r for r in ratings if r.ok and r.scale == "safety5"]
    raters = sorted({r.rater for r in safety})
    answers = sorted({(r.model_a, r.item, r.turn) for r in safety})
    if len(raters) < 2 or not answers:
        return None
    row = {a: i for i, a in enumerate(answers)}
    column = {r: j for j, r in enumerate(raters)}
    matrix = np.full((len(answers), len(raters)), np.nan)
    for r in safety:
        matrix[row[(r.model_a, r.item, r.turn)], column[r.rater]] = r.score
    if not (np.sum(~np.isnan(matrix), axis=1) >= 2).any():
        return None
    reports = reliability_report(matrix, [1, 2, 3, 4, 5], n_boot, confidence, seed)
    return gwet_ac2_ordinal(reports)


def gwet_ac2_ordinal(reports: Sequence[ReliabilityReport]) -> Estimate | None:
    """The coefficient Llama 2 reports, picked out of a ``reliability_report`` list."""
    chosen = [r for r in reports if r.coefficient == "gwet_ac2" and r.weights == "ordinal"]
    return chosen[0].estimate if chosen else None
