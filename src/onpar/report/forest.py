"""Forest plot for "Is the difference real?": net preference, its CI and the TOST interval.

One row per comparison, on a signed axis centred on 0 (no difference). The shaded band is
the equivalence margin, so the reader sees the verdict's logic directly: *on par* when the
thin TOST interval fits inside the band, *different* when the thick CI misses 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from onpar.records import ComparisonSummary, DifferenceTest
from onpar.report.charts import CHART_RC, LOSS_COLOR, WIN_COLOR, figure_to_svg

ON_PAR_COLOR = "#2f855a"
INCONCLUSIVE_COLOR = "#6b7380"
BAND_COLOR = "#cdeed8"
_TOST_OFFSET = 0.24  # the TOST line sits this far below the CI line, in rows
_MIN_HALF_WIDTH = 0.1  # the axis always shows at least ±10 points


def verdict_color(difference: DifferenceTest) -> str:
    """Green for on par, the winner's colour for different, grey when undecided."""
    if difference.verdict == "on par":
        return ON_PAR_COLOR
    if difference.verdict == "different":
        value = difference.net_preference.value or 0.0
        return WIN_COLOR if value > 0 else LOSS_COLOR
    return INCONCLUSIVE_COLOR


def forest_chart(comparisons: Sequence[ComparisonSummary], confidence: float) -> str:
    """Inline SVG: one row per comparison with point, CI, TOST interval, band and verdict."""
    rows = [(f"{c.model_x} vs {c.model_y}\n({c.judge})", c.difference) for c in comparisons]
    height = 1.3 + 0.62 * max(len(rows), 1)
    with matplotlib.rc_context(CHART_RC):
        fig = Figure(figsize=(11.0, height))
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        half_width = _half_width([d for _, d in rows if d is not None])
        for index, (_label, difference) in enumerate(rows):
            _draw_row(ax, index, difference)
        ax.axvline(0.0, color="#333333", linewidth=1.0, zorder=2)
        _style_axes(ax, [label for label, _ in rows], half_width)
        _add_legend(fig, ax, confidence, [d.margin for _, d in rows if d is not None])
        return figure_to_svg(fig)


def _half_width(differences: Sequence[DifferenceTest]) -> float:
    """Symmetric axis half-width that fits every interval and band, capped at ±100%."""
    extent = _MIN_HALF_WIDTH
    for d in differences:
        bounds = [d.margin]
        for estimate in (d.net_preference, d.equivalence_interval):
            bounds += [
                abs(b) for b in (estimate.value, estimate.low, estimate.high) if b is not None
            ]
        extent = max(extent, *bounds)
    return min(1.0, extent * 1.12)


def _draw_row(ax: Axes, y: int, difference: DifferenceTest | None) -> None:
    """Band, intervals, point and verdict for one comparison; a note when it has none."""
    if difference is None:
        ax.text(
            0.0,
            y,
            "no outcomes",
            ha="center",
            va="center",
            color="#555555",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5},
            zorder=4,
        )
        _right_text(ax, y, "—", "#555555")
        return
    color = verdict_color(difference)
    margin = difference.margin
    # opaque and slightly taller than a row, so the bands of adjacent rows join without a seam
    ax.fill_betweenx([y - 0.51, y + 0.51], -margin, margin, color=BAND_COLOR, linewidth=0, zorder=0)
    _draw_intervals(ax, y, difference, color)
    _right_text(ax, y, difference.verdict, color, bold=True)


def _draw_intervals(ax: Axes, y: int, difference: DifferenceTest, color: str) -> None:
    """Thick CI line with the point on it, thin bracketed TOST interval just below."""
    ci, tost = difference.net_preference, difference.equivalence_interval
    if ci.low is not None and ci.high is not None:
        ax.hlines(y, ci.low, ci.high, color=color, linewidth=6, alpha=0.55, zorder=3)
    if tost.low is not None and tost.high is not None:
        tost_y = y + _TOST_OFFSET
        ax.hlines(tost_y, tost.low, tost.high, color="#222222", linewidth=1.1, zorder=3)
        ax.plot(
            [tost.low, tost.high],
            [tost_y, tost_y],
            linestyle="none",
            marker="|",
            markersize=8,
            markeredgewidth=1.1,
            color="#222222",
            zorder=3,
        )
    if ci.value is not None:
        ax.plot(
            [ci.value],
            [y],
            marker="o",
            markersize=7,
            color=color,
            markeredgecolor="white",
            markeredgewidth=1.0,
            zorder=4,
        )


def _right_text(ax: Axes, y: int, text: str, color: str, bold: bool = False) -> None:
    """Text in the margin right of the plot (x in axes units), level with row ``y``."""
    ax.text(
        1.02,
        y,
        text,
        transform=ax.get_yaxis_transform(),
        ha="left",
        va="center",
        color=color,
        fontweight="bold" if bold else "normal",
        fontsize=10,
    )


def _signed_percent(value: float, _position: object = None) -> str:
    """Axis tick text: '+20%', '−20%', '0'."""
    if abs(value) < 1e-9:
        return "0"
    return f"{value * 100:+.0f}%".replace("-", "\N{MINUS SIGN}")


def _style_axes(ax: Axes, labels: Sequence[str], half_width: float) -> None:
    """First row on top, signed percent axis, which side favours whom under the axis."""
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(max(len(labels), 1) - 0.5, -0.5)
    ax.set_xlim(-half_width, half_width)
    ax.xaxis.set_major_formatter(FuncFormatter(_signed_percent))
    ax.grid(axis="x", color="#e2e5ea", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.set_xlabel("net preference for x = win rate \N{MINUS SIGN} loss rate", color="#444444")
    for x, text, align in (
        (0.0, "\N{LEFTWARDS ARROW} y preferred", "left"),
        (1.0, "x preferred \N{RIGHTWARDS ARROW}", "right"),
    ):
        ax.annotate(
            text,
            xy=(x, 0.0),
            xycoords="axes fraction",
            xytext=(0, -24),
            textcoords="offset points",
            ha=align,
            va="top",
            color="#666666",
            fontsize=9,
        )


def _add_legend(fig: Figure, ax: Axes, confidence: float, margins: Sequence[float]) -> None:
    """Legend above the plot; names the margin when every comparison shares one."""
    band = "equivalence band ±margin"
    if margins and len(set(margins)) == 1:
        band = f"equivalence band ±{margins[0] * 100:g}%"
    tost_level = max(2 * confidence - 1, 0.0)
    handles = [
        Line2D(
            [],
            [],
            color="#555555",
            linewidth=6,
            alpha=0.55,
            marker="o",
            markersize=7,
            markerfacecolor="#555555",
            markeredgecolor="white",
            label=f"net preference, {confidence:.0%} CI",
        ),
        Line2D(
            [],
            [],
            color="#222222",
            linewidth=1.1,
            marker="|",
            markersize=8,
            label=f"{tost_level:.0%} TOST interval",
        ),
        Patch(color=BAND_COLOR, label=band),
    ]
    ax.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=3,
        frameon=False,
        fontsize=9,
        handlelength=2.2,
    )
    fig.tight_layout()
