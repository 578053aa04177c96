"""View model of the report's safety section (template `_safety.html.j2`).

Tables with CIs, Llama 2's published violation % beside ours for orientation, the
trade-off charts and, behind a collapsed `<details>` with a content warning, the
adversarial prompts and answers (harmful text is never shown unasked).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

from onpar.judges.safety_scale import SAFETY_LABELS
from onpar.records import (
    ComparisonSummary,
    Estimate,
    FalseRefusalStats,
    PromptItem,
    RefusalOutcome,
    RunResults,
    SafetyRating,
    SafetySummary,
)
from onpar.report.safety_charts import TradeoffPoint, TurnBars, tradeoff_chart, turn_bars_chart

PUBLISHED_SOURCE = (
    "Touvron et al. 2023 (Llama 2), §4.4 (values read from the charts, ≈); "
    "their ~2,000 adversarial prompts rated by 3 humans, not this run's prompts or judge."
)
#: (model, overall violation %, single-turn %, multi-turn %), ≈ from the paper's charts.
PUBLISHED_VIOLATIONS: tuple[tuple[str, float, float | None, float | None], ...] = (
    ("Llama 2-Chat 7B", 3.0, None, None),
    ("Llama 2-Chat 13B", 3.0, None, None),
    ("Llama 2-Chat 34B", 7.0, None, None),
    ("Llama 2-Chat 70B", 4.0, 2.0, 8.5),
    ("ChatGPT-0301", 7.0, 3.5, 14.5),
    ("Falcon-40B-instruct", 7.5, 0.3, 24.5),
    ("PaLM-Bison", 28.5, None, None),
    ("MPT-7B-chat", 20.5, None, None),
    ("Vicuna-13B-v1.1", 25.0, None, None),
    ("Vicuna-33B-v1.3", 38.0, 32.0, 50.0),
)
PUBLISHED_FALSE_REFUSAL = (
    "Llama 2-Chat false refusal (§4.4, A.4; ≈ from the paper): borderline set ≈ 15% → 27% "
    "and helpfulness set 0.006% → 0.05% as safety data grew from 0% to 100%."
)


@dataclass(frozen=True)
class SafetyDetails:
    """What the report shows behind the click: prompts, answers, ratings and labels."""

    adversarial: tuple[PromptItem, ...]
    borderline: tuple[PromptItem, ...]
    contestants: tuple[str, ...]
    answers: Mapping[tuple[str, str], tuple[str, ...]]  # (contestant, prompt_id) → per turn
    ratings: tuple[SafetyRating, ...]
    refusals: tuple[RefusalOutcome, ...]


@dataclass(frozen=True)
class AnswerDetail:
    contestant: str
    answers: tuple[str, ...]
    verdicts: list[str]


@dataclass(frozen=True)
class PromptDetail:
    prompt_id: str
    category: str
    tags: str
    turns: tuple[str, ...]
    answers: list[AnswerDetail]


@dataclass(frozen=True)
class SafetyView:
    """Everything `_safety.html.j2` renders."""

    violations: tuple[SafetySummary, ...]
    false_refusals: tuple[FalseRefusalStats, ...]
    turn_svgs: list[tuple[str, Markup]]
    refusal_svgs: list[tuple[str, Markup]]
    helpfulness_svgs: list[tuple[str, Markup]]
    published: tuple[tuple[str, float, float | None, float | None], ...]
    published_source: str
    published_false_refusal: str
    adversarial: list[PromptDetail] = field(default_factory=list)
    borderline: list[PromptDetail] = field(default_factory=list)


def safety_view(results: RunResults, details: SafetyDetails | None) -> SafetyView | None:
    """The section's view, or None when the run has no safety results."""
    safety = results.safety
    if safety is None:
        return None
    conf = results.confidence
    judges = sorted({s.judge for s in safety.violations})
    return SafetyView(
        violations=safety.violations,
        false_refusals=safety.false_refusals,
        turn_svgs=[
            (j, Markup(turn_bars_chart(_turn_rows(safety.violations, j), conf))) for j in judges
        ],
        refusal_svgs=_refusal_tradeoffs(safety.violations, safety.false_refusals, judges, conf),
        helpfulness_svgs=_helpfulness_tradeoffs(
            safety.violations, results.comparisons, judges, conf
        ),
        published=PUBLISHED_VIOLATIONS,
        published_source=PUBLISHED_SOURCE,
        published_false_refusal=PUBLISHED_FALSE_REFUSAL,
        adversarial=_adversarial_details(details) if details else [],
        borderline=_borderline_details(details) if details else [],
    )


def _turn_rows(summaries: Sequence[SafetySummary], judge: str) -> list[TurnBars]:
    return [
        TurnBars(
            s.contestant,
            _rate(s.by_turns.get("single-turn")),
            _rate(s.by_turns.get("multi-turn")),
        )
        for s in summaries
        if s.judge == judge
    ]


def _rate(stats: object) -> Estimate | None:
    return None if stats is None else stats.violation_rate  # type: ignore[attr-defined]


def _refusal_tradeoffs(
    summaries: Sequence[SafetySummary],
    refusals: Sequence[FalseRefusalStats],
    judges: Sequence[str],
    conf: float,
) -> list[tuple[str, Markup]]:
    out = []
    for prompt_set in ("borderline", "helpfulness"):
        rate = {r.contestant: r.rate for r in refusals if r.prompt_set == prompt_set}
        for judge in judges:
            points = [
                TradeoffPoint(s.contestant, rate[s.contestant], s.overall.violation_rate)
                for s in summaries
                if s.judge == judge and s.contestant in rate
            ]
            if points:
                svg = tradeoff_chart(points, f"false refusal % ({prompt_set})", "violation %", conf)
                out.append((f"{judge} · {prompt_set} prompts", Markup(svg)))
    return out


def _helpfulness_tradeoffs(
    summaries: Sequence[SafetySummary],
    comparisons: Sequence[ComparisonSummary],
    judges: Sequence[str],
    conf: float,
) -> list[tuple[str, Markup]]:
    """Violation % against each contestant's win rate (ties ½) in a side-by-side comparison."""
    out = []
    for comparison in comparisons:
        wtl = comparison.overall
        if wtl.n == 0:
            continue
        rates = {
            comparison.model_x: wtl.win_rate_tie_half,
            comparison.model_y: _flip(wtl.win_rate_tie_half),
        }
        for judge in judges:
            points = [
                TradeoffPoint(s.contestant, rates[s.contestant], s.overall.violation_rate)
                for s in summaries
                if s.judge == judge and s.contestant in rates
            ]
            if points:
                label = f"{comparison.model_x} vs {comparison.model_y}"
                x_label = f"helpfulness win rate, ties ½ ({label}, {comparison.judge})"
                svg = tradeoff_chart(points, x_label, "violation %", conf)
                out.append((f"{judge} · {label} ({comparison.judge})", Markup(svg)))
    return out


def _flip(est: Estimate) -> Estimate:
    """y's win rate (ties ½) is 1 − x's; the interval flips with it."""
    if est.value is None:
        return est
    low = None if est.high is None else 1.0 - est.high
    high = None if est.low is None else 1.0 - est.low
    return Estimate(value=1.0 - est.value, low=low, high=high)


def _adversarial_details(details: SafetyDetails) -> list[PromptDetail]:
    by_answer: dict[tuple[str, str], list[str]] = {}
    for r in details.ratings:
        text = (
            f"{r.judge}: {r.rating} · {SAFETY_LABELS[r.rating - 1]}"
            if r.rating
            else f"{r.judge}: {r.error}"
        )
        by_answer.setdefault((r.contestant, r.prompt_id), []).append(text)
    return [_detail(p, details, by_answer) for p in details.adversarial]


def _borderline_details(details: SafetyDetails) -> list[PromptDetail]:
    by_answer: dict[tuple[str, str], list[str]] = {}
    for o in details.refusals:
        text = (o.label or f"unclassified: {o.error}") + (" (capability)" if o.capability else "")
        by_answer.setdefault((o.contestant, o.prompt_id), []).append(f"{o.classifier}: {text}")
    return [_detail(p, details, by_answer) for p in details.borderline]


def _detail(
    prompt: PromptItem, details: SafetyDetails, verdicts: Mapping[tuple[str, str], list[str]]
) -> PromptDetail:
    answers = [
        AnswerDetail(
            name,
            details.answers.get((name, prompt.id), ()),
            verdicts.get((name, prompt.id), []),
        )
        for name in details.contestants
    ]
    return PromptDetail(prompt.id, prompt.category, ", ".join(prompt.tags), prompt.turns, answers)
