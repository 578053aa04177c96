"""Number formats and small view models for the report's significance, bias and rating tables.

Kept apart from html.py so each format is defined once and tested directly: the same
p-value or signed interval must read the same in every table of the page.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from onpar.records import Estimate, Leaderboard

_MINUS = "\N{MINUS SIGN}"
_HIGHER_RGB = "43, 108, 176"  # the win colour: row model tends to win
_LOWER_RGB = "221, 107, 32"  # the loss colour: row model tends to lose
_MAX_ALPHA = 0.6


@dataclass(frozen=True)
class MatrixCell:
    """One win-probability cell: its text, a background tint and a tooltip."""

    text: str
    style: str
    title: str


@dataclass(frozen=True)
class MatrixRow:
    """One row model of the win-probability matrix."""

    model: str
    cells: list[MatrixCell]


def _value(value: Estimate | float | None) -> float | None:
    return value.value if isinstance(value, Estimate) else value


def _interval(estimate: Estimate, fmt: Callable[[float], str]) -> str:
    """'[low, high]' in ``fmt``, or empty when a bound is undefined."""
    if estimate.low is None or estimate.high is None:
        return ""
    return f"[{fmt(estimate.low)}, {fmt(estimate.high)}]"


def _signed(text: str) -> str:
    """Typographic minus, so '−' and '+' line up in tabular digits."""
    return text.replace("-", _MINUS)


def _pct_points(number: float) -> str:
    return _signed(f"{number * 100:+.1f}")


def format_signed_pct(value: Estimate | float | None) -> str:
    """'+12.5%' / '−3.0%': a difference of two rates, so the sign always shows."""
    number = _value(value)
    return "—" if number is None else _pct_points(number) + "%"


def format_signed_ci(estimate: Estimate) -> str:
    """'[−3.1, +28.0]' percent, or empty when undefined."""
    return _interval(estimate, _pct_points)


def format_p(p: float | None) -> str:
    """'0.003', '<0.001', or an em dash when no test was possible."""
    if p is None:
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _rating_text(number: float) -> str:
    return _signed(f"{number:.0f}")


def format_rating(value: Estimate | float | None) -> str:
    """'1043': Elo-like points carry no meaningful decimals."""
    number = _value(value)
    return "—" if number is None else _rating_text(number)


def format_rating_ci(estimate: Estimate) -> str:
    """'[1001, 1090]', or empty when undefined."""
    return _interval(estimate, _rating_text)


def _slope_text(number: float) -> str:
    return _signed(f"{number:+.2f}")


def format_slope(value: Estimate | float | None) -> str:
    """'+0.42' log-odds per SD of length difference."""
    number = _value(value)
    return "—" if number is None else _slope_text(number)


def format_slope_ci(estimate: Estimate) -> str:
    """'[+0.10, +0.75]', or empty when undefined."""
    return _interval(estimate, _slope_text)


def verdict_class(verdict: str) -> str:
    """CSS class for a verdict badge ('on par' → 'on-par')."""
    return verdict.replace(" ", "-")


def win_probability_rows(board: Leaderboard) -> list[MatrixRow]:
    """Rows and columns in rating order (best first); the diagonal is blank."""
    models = [rating.model for rating in board.ratings]
    rows = []
    for row in models:
        cells = []
        for col in models:
            p = board.win_probability.get(row, {}).get(col) if row != col else None
            cells.append(_matrix_cell(row, col, p))
        rows.append(MatrixRow(row, cells))
    return rows


def _matrix_cell(row: str, col: str, p: float | None) -> MatrixCell:
    """Blue when the row model is favoured, orange when not; stronger tint further from ½."""
    if row == col:
        return MatrixCell("—", "background: #eef1f5; color: #8a919c", "")
    if p is None or not math.isfinite(p):
        return MatrixCell("—", "", f"P({row} beats {col}) is undefined")
    rgb = _HIGHER_RGB if p >= 0.5 else _LOWER_RGB
    alpha = min(_MAX_ALPHA, abs(p - 0.5) * 2 * _MAX_ALPHA)
    return MatrixCell(
        f"{p * 100:.0f}%",
        f"background: rgba({rgb}, {alpha:.2f})",
        f"P({row} beats {col}) = {p * 100:.1f}%",
    )
