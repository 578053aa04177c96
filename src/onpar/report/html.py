"""Render a run as one self-contained HTML page (opens offline, safe with untrusted text).

All model and judge text goes through Jinja2 autoescaping; charts are inline SVG; the only
script is a small filter whose hash is pinned in a Content-Security-Policy, so even a missed
escape could not run injected code or fetch anything from the network.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from onpar.records import (
    ComparisonSummary,
    Estimate,
    Judgment,
    PairVerdict,
    PromptItem,
    Response,
    RunResults,
)
from onpar.report.benchmarks_view import (
    MODE_LABELS,
    PUBLISHED_SOURCE,
    benchmark_views,
    score_flags,
)
from onpar.report.charts import breakdown_chart, comparison_label, overall_chart
from onpar.report.costs_view import costs_view
from onpar.report.forest import forest_chart
from onpar.report.human_view import human_view, rater_label
from onpar.report.results_json import atomic_write_text
from onpar.report.safety_view import SafetyDetails, safety_view
from onpar.report.stats_views import (
    format_p,
    format_rating,
    format_rating_ci,
    format_signed_ci,
    format_signed_pct,
    format_slope,
    format_slope_ci,
    verdict_class,
    win_probability_rows,
)
from onpar.stats.verdicts import MIN_OUTCOMES_FOR_LENGTH_BIAS

SCALE_LABELS: dict[int, str] = {
    1: "A is much better",
    2: "A is better",
    3: "A is slightly better",
    4: "About the same",
    5: "B is slightly better",
    6: "B is better",
    7: "B is much better",
}
_PREVIEW_CHARS = 140
ComparisonKey = tuple[str, str, str]  # (judge, model_x, model_y)


@dataclass(frozen=True)
class AnswerView:
    """One contestant's answer to one turn, or why there is none."""

    text: str | None
    problem: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class TurnView:
    """One user turn and both contestants' answers to it."""

    number: int
    user: str
    x: AnswerView
    y: AnswerView
    is_final: bool


@dataclass(frozen=True)
class OrderView:
    """The judge's verdict for one presentation order."""

    order: str
    a_model: str
    b_model: str
    score: int | None
    label: str
    preference_for_x: int | None
    probs: str | None
    raw: str | None
    error: str | None


@dataclass(frozen=True)
class PromptRow:
    """Everything the prompt browser shows for one prompt of one comparison."""

    prompt_id: str
    category: str
    n_turns: int
    preview: str
    turns: list[TurnView]
    orders: list[OrderView]
    outcome: str | None
    missing_reason: str | None


@dataclass(frozen=True)
class PromptSection:
    """The prompt browser for one comparison."""

    label: str
    judge: str
    model_x: str
    model_y: str
    rows: list[PromptRow]


def render_report(
    results: RunResults,
    prompts: Sequence[PromptItem],
    responses: Sequence[Response],
    judgments: Sequence[Judgment],
    verdicts: Sequence[PairVerdict],
    manifest: Mapping[str, Any],
    notes: Sequence[str] = (),
    bench_kinds: Mapping[str, str] | None = None,
    safety_details: SafetyDetails | None = None,
) -> str:
    """Return the whole report as one HTML document string.

    ``bench_kinds`` maps benchmark names to their kind (``mmlu`` …) to place published
    numbers beside ours.
    """
    script = resources.files("onpar.report").joinpath("templates/filter.js").read_text("utf-8")
    script_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    template = report_environment().get_template("report.html.j2")
    has_rows = bool(results.comparisons)
    return template.render(
        results=results,
        notes=list(notes),
        overall_svg=Markup(
            overall_chart(results.comparisons, results.confidence) if has_rows else ""
        ),
        forest_svg=Markup(
            forest_chart(results.comparisons, results.confidence) if has_rows else ""
        ),
        win_matrices=[win_probability_rows(board) for board in results.leaderboards],
        min_length_outcomes=MIN_OUTCOMES_FOR_LENGTH_BIAS,
        breakdown_svgs=[
            Markup(breakdown_chart(c, results.confidence)) for c in results.comparisons
        ],
        sections=build_prompt_sections(results, prompts, responses, judgments, verdicts),
        manifest_json=json.dumps(manifest, indent=2, ensure_ascii=False, default=str),
        script=Markup(script),
        script_hash=script_hash,
        benchmarks=benchmark_views(
            results.benchmarks, results.benchmark_comparisons, bench_kinds or {}
        ),
        published_source=PUBLISHED_SOURCE,
        mode_labels=MODE_LABELS,
        score_flags=score_flags,
        safety=safety_view(results, safety_details),
    )


def write_report(
    results: RunResults,
    prompts: Sequence[PromptItem],
    responses: Sequence[Response],
    judgments: Sequence[Judgment],
    verdicts: Sequence[PairVerdict],
    manifest: Mapping[str, Any],
    path: Path,
    notes: Sequence[str] = (),
    bench_kinds: Mapping[str, str] | None = None,
    safety_details: SafetyDetails | None = None,
) -> None:
    """Render the report and write it to ``path`` (usually ``<run>/report.html``) atomically."""
    html = render_report(
        results,
        prompts,
        responses,
        judgments,
        verdicts,
        manifest,
        notes,
        bench_kinds,
        safety_details,
    )
    atomic_write_text(Path(path), html)


def report_environment() -> Environment:
    """Jinja environment with autoescape forced on: every model string is untrusted.

    Loads the package's templates (both pages, their shared ``report.css`` and
    ``_macros.html.j2``) and has the run report's number filters. A fresh one per call, so a
    caller may add its own filters (the `onpar stats` page does).
    """
    env = Environment(
        loader=PackageLoader("onpar.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = format_pct
    env.filters["ci"] = format_ci
    env.filters["spct"] = format_signed_pct
    env.filters["sci"] = format_signed_ci
    env.filters["pvalue"] = format_p
    env.filters["rating"] = format_rating
    env.filters["rating_ci"] = format_rating_ci
    env.filters["slope"] = format_slope
    env.filters["slope_ci"] = format_slope_ci
    env.filters["verdict_class"] = verdict_class
    env.globals["comparison_label"] = comparison_label
    env.globals["failures_text"] = failures_text
    env.globals["costs_view"] = costs_view
    env.globals["human_view"] = human_view
    env.globals["human_rater_label"] = rater_label
    return env


def format_pct(value: Estimate | float | None, digits: int = 1) -> str:
    """'43.2%', or an em dash when the value is undefined (no outcomes)."""
    number = value.value if isinstance(value, Estimate) else value
    return "—" if number is None else f"{number * 100:.{digits}f}%"


def format_ci(estimate: Estimate) -> str:
    """The CI as '[38.1, 48.0]' percent, or empty when undefined."""
    if estimate.low is None or estimate.high is None:
        return ""
    return f"[{estimate.low * 100:.1f}, {estimate.high * 100:.1f}]"


def failures_text(summary: ComparisonSummary) -> str:
    """'2 (missing answer: 1, judge failed: 1)' or '0'."""
    total = sum(summary.failures.values())
    if not total:
        return "0"
    parts = ", ".join(f"{reason}: {count}" for reason, count in sorted(summary.failures.items()))
    return f"{total} ({parts})"


def build_prompt_sections(
    results: RunResults,
    prompts: Sequence[PromptItem],
    responses: Sequence[Response],
    judgments: Sequence[Judgment],
    verdicts: Sequence[PairVerdict],
) -> list[PromptSection]:
    """Group verdicts per comparison (results order first) into browsable prompt rows."""
    prompt_by_id = {prompt.id: prompt for prompt in prompts}
    prompt_rank = {prompt.id: rank for rank, prompt in enumerate(prompts)}
    answers = _index_responses(responses)
    by_order = {(j.judge, j.model_x, j.model_y, j.prompt_id, j.order): j for j in judgments}
    grouped: dict[ComparisonKey, list[PairVerdict]] = {
        (c.judge, c.model_x, c.model_y): [] for c in results.comparisons
    }
    for verdict in verdicts:
        grouped.setdefault((verdict.judge, verdict.model_x, verdict.model_y), []).append(verdict)
    sections = []
    for (judge, model_x, model_y), group in grouped.items():
        group.sort(key=lambda v: (prompt_rank.get(v.prompt_id, len(prompt_rank)), v.prompt_id))
        rows = [_prompt_row(v, prompt_by_id.get(v.prompt_id), answers, by_order) for v in group]
        label = f"{model_x} vs {model_y} ({judge})"
        sections.append(PromptSection(label, judge, model_x, model_y, rows))
    return sections


def _index_responses(responses: Iterable[Response]) -> dict[tuple[str, str, int], Response]:
    """(contestant, prompt_id, turn_index) → response, keeping the lowest sample_index."""
    index: dict[tuple[str, str, int], Response] = {}
    for response in sorted(responses, key=lambda r: r.sample_index, reverse=True):
        index[(response.contestant, response.prompt_id, response.turn_index)] = response
    return index


def _prompt_row(
    verdict: PairVerdict,
    prompt: PromptItem | None,
    answers: Mapping[tuple[str, str, int], Response],
    by_order: Mapping[tuple[str, str, str, str, str], Judgment],
) -> PromptRow:
    """The row for one prompt: conversation, both orders' verdicts and the outcome."""
    turns = _turns(verdict, prompt, answers)
    orders = [
        _order_view(
            by_order.get((verdict.judge, verdict.model_x, verdict.model_y, verdict.prompt_id, o)),
            o,
            verdict,
        )
        for o in ("xy", "yx")
    ]
    first = turns[0].user if turns else ""
    preview = first if len(first) <= _PREVIEW_CHARS else first[: _PREVIEW_CHARS - 1] + "…"
    return PromptRow(
        prompt_id=verdict.prompt_id,
        category=prompt.category if prompt else verdict.category,
        n_turns=len(turns),
        preview=preview,
        turns=turns,
        orders=orders,
        outcome=verdict.outcome,
        missing_reason=verdict.missing_reason,
    )


def _turns(
    verdict: PairVerdict,
    prompt: PromptItem | None,
    answers: Mapping[tuple[str, str, int], Response],
) -> list[TurnView]:
    """Every user turn with both answers; falls back to the sent messages if the prompt is gone."""
    if prompt is not None:
        user_turns = list(prompt.turns)
    else:
        user_turns = _user_turns_from_responses(verdict, answers)
    views = []
    for index, user in enumerate(user_turns):
        x = answers.get((verdict.model_x, verdict.prompt_id, index))
        y = answers.get((verdict.model_y, verdict.prompt_id, index))
        is_final = index == len(user_turns) - 1
        views.append(TurnView(index + 1, user, _answer_view(x), _answer_view(y), is_final))
    return views


def _user_turns_from_responses(
    verdict: PairVerdict, answers: Mapping[tuple[str, str, int], Response]
) -> list[str]:
    """User turns recovered from the longest conversation either contestant was sent."""
    best: list[str] = []
    for (contestant, prompt_id, _turn), response in answers.items():
        if prompt_id != verdict.prompt_id or contestant not in (verdict.model_x, verdict.model_y):
            continue
        users = [m.content for m in response.messages if m.role == "user"]
        if len(users) > len(best):
            best = users
    return best or ["(prompt text not available)"]


def _answer_view(response: Response | None) -> AnswerView:
    """The answer text, or an explicit 'no answer' reason; flags truncated generations."""
    if response is None:
        return AnswerView(None, "no answer: not generated")
    if response.error is not None:
        return AnswerView(response.text, f"no answer: {response.error}")
    if response.text is None:
        return AnswerView(None, "no answer")
    note = None
    if response.finish_reason not in (None, "stop", "eos"):
        note = f"finish reason: {response.finish_reason}"
    if not response.text.strip():
        return AnswerView(response.text, "empty answer", note)
    return AnswerView(response.text, None, note)


def _order_view(judgment: Judgment | None, order: str, verdict: PairVerdict) -> OrderView:
    """One order's verdict in words, with who A and B were."""
    a_model, b_model = (
        (verdict.model_x, verdict.model_y) if order == "xy" else (verdict.model_y, verdict.model_x)
    )
    if judgment is None:
        return OrderView(order, a_model, b_model, None, "not judged", None, None, None, None)
    label = SCALE_LABELS.get(judgment.score, "no verdict") if judgment.score else "no verdict"
    probs = None
    if judgment.option_probs:
        probs = " ".join(f"{i}:{p:.2f}" for i, p in enumerate(judgment.option_probs, start=1))
    return OrderView(
        order=order,
        a_model=a_model,
        b_model=b_model,
        score=judgment.score,
        label=label,
        preference_for_x=judgment.preference_for_x,
        probs=probs,
        raw=judgment.raw,
        error=judgment.error,
    )
