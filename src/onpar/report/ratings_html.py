"""Render `onpar stats` results as one self-contained HTML page (offline, safe with any text).

Built from the run report's parts: its Jinja environment (autoescape forced on, its number
filters), its stylesheet (templates/report.css) and win/tie/loss table macros
(templates/_macros.html.j2), the win/tie/loss chart and the "Is the difference real?" forest
plot. The page has no script at all, and its Content-Security-Policy allows none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment
from markupsafe import Markup

from onpar.records import Estimate
from onpar.report.charts import overall_chart
from onpar.report.forest import forest_chart
from onpar.report.html import report_environment
from onpar.report.results_json import atomic_write_text
from onpar.report.stats_views import win_probability_rows
from onpar.stats.judge_agreement import CONFUSION_ORDER

if TYPE_CHECKING:
    from onpar.engine.ratings import JudgeVersusHumans, RatingsAnalysis

_MINUS = "\N{MINUS SIGN}"
COEFFICIENT_NAMES: dict[str, str] = {
    "gwet_ac1": "Gwet’s AC1",
    "gwet_ac2": "Gwet’s AC2",
    "krippendorff_alpha": "Krippendorff’s α",
    "fleiss_kappa": "Fleiss’ κ",
    "cohen_kappa": "Cohen’s κ",
}
RULE_TEXT: dict[str, str] = {
    "majority": "majority vote: an outcome more than half of an item’s raters chose, else a tie",
    "mean": "mean: the sign of the raters’ mean preference (0 is a tie)",
}
ALPACA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("win_rate", "Win rate"),
    ("standard_error", "Standard error"),
    ("discrete_win_rate", "Discrete win rate"),
    ("n_wins", "Wins"),
    ("n_draws", "Draws"),
    ("n_wins_base", "Baseline wins"),
    ("n_total", "Total"),
)
_PERCENT_KEYS = frozenset({"win_rate", "standard_error", "discrete_win_rate"})


@dataclass(frozen=True)
class ConfusionRow:
    """One human-majority outcome: counts by judge outcome, which cell agrees, the total."""

    label: str
    cells: list[int]
    diagonal: int
    total: int


@dataclass(frozen=True)
class ConfusionView:
    """The judge-vs-human confusion matrix with column totals, ready for the template."""

    labels: tuple[str, ...]
    rows: list[ConfusionRow]
    column_totals: list[int]
    total: int


def render_ratings_report(analysis: RatingsAnalysis, source: str) -> str:
    """Return the whole `onpar stats` page as one HTML document string.

    The intervals and the forest plot are labelled with ``analysis.confidence``, the level the
    analysis was computed at; ``source`` is the ratings file's name as the user gave it.
    """
    confidence = analysis.confidence
    comparisons = analysis.comparisons
    board = analysis.leaderboard
    judged = analysis.judge_vs_humans
    env = _ratings_environment()
    return env.get_template("ratings.html.j2").render(
        a=analysis,
        source=source,
        confidence=confidence,
        rule_text=RULE_TEXT.get(analysis.rater_rule, analysis.rater_rule),
        overall_svg=Markup(overall_chart(comparisons, confidence) if comparisons else ""),
        forest_svg=Markup(forest_chart(comparisons, confidence) if comparisons else ""),
        win_matrix=win_probability_rows(board) if board is not None else [],
        confusion=confusion_view(judged) if judged is not None else None,
        ppi_label=_pair_label(analysis) if judged and judged.ppi_win_rate else "",
        alpaca_columns=ALPACA_COLUMNS,
    )


def write_ratings_report(analysis: RatingsAnalysis, source: str, path: Path) -> None:
    """Render the `onpar stats` page and write it to ``path`` atomically."""
    atomic_write_text(Path(path), render_ratings_report(analysis, source))


def _ratings_environment() -> Environment:
    """The run report's environment (loader, autoescape, filters) plus this page's filters."""
    env = report_environment()
    env.filters["coef"] = format_coefficient
    env.filters["coef_ci"] = format_coefficient_ci
    env.filters["coef_name"] = coefficient_name
    env.filters["alpaca"] = format_alpaca
    env.filters["grade"] = format_grade
    env.filters["grade_ci"] = format_grade_ci
    return env


def confusion_view(judged: JudgeVersusHumans) -> ConfusionView:
    """Rows human majority, columns judge, both in loss/tie/win order, with totals."""
    matrix = [list(row) for row in judged.agreement.confusion]
    rows = [
        ConfusionRow(label, cells, index, sum(cells))
        for index, (label, cells) in enumerate(zip(CONFUSION_ORDER, matrix, strict=True))
    ]
    column_totals = [sum(column) for column in zip(*matrix, strict=True)]
    return ConfusionView(CONFUSION_ORDER, rows, column_totals, sum(column_totals))


def _pair_label(analysis: RatingsAnalysis) -> str:
    """'x vs y' of the one comparison a PPI win rate is about."""
    if len(analysis.comparisons) != 1:
        return ""
    only = analysis.comparisons[0]
    return f"{only.model_x} vs {only.model_y}"


def coefficient_name(code: str) -> str:
    """'Gwet’s AC2' for 'gwet_ac2'; unknown codes are shown as they are."""
    return COEFFICIENT_NAMES.get(code, code)


def _finite(value: Estimate | float | int | None) -> float | None:
    number = value.value if isinstance(value, Estimate) else value
    if number is None or not math.isfinite(number):
        return None
    return float(number)


def _interval(estimate: Estimate, digits: int) -> str:
    low, high = _finite(estimate.low), _finite(estimate.high)
    if low is None or high is None:
        return ""
    return f"[{_fixed(low, digits)}, {_fixed(high, digits)}]"


def _fixed(number: float, digits: int) -> str:
    return f"{number:.{digits}f}".replace("-", _MINUS)


def format_coefficient(value: Estimate | float | None) -> str:
    """'0.812' / '−0.050' (agreement coefficients), or an em dash when undefined."""
    number = _finite(value)
    return "—" if number is None else _fixed(number, 3)


def format_coefficient_ci(estimate: Estimate) -> str:
    """'[0.701, 0.905]', or empty when a bound is undefined."""
    return _interval(estimate, 3)


def format_grade(value: Estimate | float | None) -> str:
    """'7.25' on the 1–10 grade scale, or an em dash."""
    number = _finite(value)
    return "—" if number is None else _fixed(number, 2)


def format_grade_ci(estimate: Estimate) -> str:
    """'[6.50, 8.00]', or empty when a bound is undefined."""
    return _interval(estimate, 2)


def format_alpaca(value: float | int | None, key: str) -> str:
    """AlpacaEval's numbers as it prints them: percentages to 2 places, counts as integers."""
    number = _finite(value)
    if number is None:
        return "—"
    if key in _PERCENT_KEYS:
        return _fixed(number, 2) + "%"
    return f"{number:.0f}"
