"""Inline-SVG charts for the HTML report, in the style of Llama 2's Figure 1.

Charts are rendered with matplotlib's Agg/SVG backends to a string, with text kept as
``<text>`` (``svg.fonttype='none'``) so the page stays small, searchable and offline.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from onpar.records import ComparisonSummary, WinTieLoss

WIN_COLOR = "#2b6cb0"
TIE_COLOR = "#c3c9d1"
LOSS_COLOR = "#dd6b20"
_BAR = 0.72  # bar thickness, in rows
_WHISKER_OFFSET = 0.23  # whiskers sit this far above/below the bar's centre line, in rows
_MIN_LABEL_SHARE = 0.07  # segments narrower than this get no percentage written in
CHART_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "onpar",
    "text.parse_math": False,  # model names may contain '$'
    "font.size": 10,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial"],
}
_NO_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}


def comparison_label(summary: ComparisonSummary) -> str:
    """The row label used everywhere: 'x vs y (judge)'."""
    return f"{summary.model_x} vs {summary.model_y} ({summary.judge})"


def overall_chart(comparisons: Sequence[ComparisonSummary], confidence: float) -> str:
    """One stacked win/tie/loss bar per comparison (Llama 2 Fig. 1) as an inline SVG."""
    rows = [(f"{c.model_x} vs {c.model_y}\n({c.judge})", c.overall) for c in comparisons]
    return wtl_chart(rows, confidence)


def breakdown_chart(summary: ComparisonSummary, confidence: float) -> str:
    """Small multiple for one comparison: a bar per category, then single- vs multi-turn."""
    rows = [(name, wtl) for name, wtl in sorted(summary.by_category.items())]
    turn_rows = [(name, wtl) for name, wtl in sorted(summary.by_turns.items(), reverse=True)]
    separators = [len(rows)] if rows and turn_rows else []
    return wtl_chart(rows + turn_rows, confidence, separators=separators)


def wtl_chart(
    rows: Sequence[tuple[str, WinTieLoss]],
    confidence: float,
    separators: Sequence[int] = (),
) -> str:
    """Horizontal stacked win/tie/loss bars with CI whiskers on the win and loss rates.

    The win CI is drawn at the right end of the win segment, the loss CI at the left end
    of the loss segment, so both whiskers sit where the reader's eye compares them.
    """
    height = 0.95 + 0.6 * max(len(rows), 1)
    with matplotlib.rc_context(CHART_RC):
        fig = Figure(figsize=(11.0, height))
        FigureCanvasAgg(fig)  # no pyplot: no global backend switch, no figure registry
        ax = fig.subplots()
        for index, (_label, wtl) in enumerate(rows):
            _draw_bar(ax, index, wtl)
        for boundary in separators:
            ax.axhline(boundary - 0.5, color="#888888", linewidth=0.8, linestyle=":")
        _style_axes(ax, [label for label, _ in rows], [wtl.n for _, wtl in rows])
        _add_legend(fig, ax, confidence)
        return figure_to_svg(fig)


def _draw_bar(ax: Axes, y: int, wtl: WinTieLoss) -> None:
    """One stacked bar with its percentages and whiskers; a note instead when n = 0."""
    shares = [wtl.win_rate.value, wtl.tie_rate.value, wtl.loss_rate.value]
    if wtl.n == 0 or any(share is None for share in shares):
        ax.text(0.5, y, "no outcomes", ha="center", va="center", color="#555555")
        return
    left = 0.0
    for share, color, text_color in zip(
        shares, (WIN_COLOR, TIE_COLOR, LOSS_COLOR), ("white", "#222222", "white"), strict=True
    ):
        assert share is not None
        ax.barh(y, share, left=left, height=_BAR, color=color, edgecolor="white", linewidth=0.6)
        if share >= _MIN_LABEL_SHARE:
            ax.text(
                left + share / 2,
                y,
                f"{share:.0%}",
                ha="center",
                va="center",
                color=text_color,
                fontsize=9,
                fontweight="bold",
            )
        left += share
    # win whisker in the bar's upper part, loss whisker in the lower part: clear of the text
    _whisker(ax, y - _WHISKER_OFFSET, wtl.win_rate.value, wtl.win_rate.low, wtl.win_rate.high)
    loss = wtl.loss_rate
    if loss.value is not None:
        low = None if loss.high is None else 1.0 - loss.high
        high = None if loss.low is None else 1.0 - loss.low
        _whisker(ax, y + _WHISKER_OFFSET, 1.0 - loss.value, low, high)


def _whisker(
    ax: Axes, y: float, value: float | None, low: float | None, high: float | None
) -> None:
    """A horizontal CI whisker around ``value``; nothing when the CI is undefined."""
    if value is None or low is None or high is None:
        return
    ax.errorbar(
        [value],
        [y],
        xerr=[[max(value - low, 0.0)], [max(high - value, 0.0)]],
        fmt="none",
        ecolor="#111111",
        elinewidth=1.2,
        capsize=3.5,
        capthick=1.2,
    )


def _style_axes(ax: Axes, labels: Sequence[str], counts: Sequence[int]) -> None:
    """First row on top, percent x axis, and 'n = …' written right of each bar."""
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(max(len(labels), 1) - 0.5, -0.5)
    ax.set_xlim(-0.01, 1.01)  # room for whisker caps at 0% and 100%
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_xticks([0.0, 0.25, 0.5, 0.75, 1.0])
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    for index, count in enumerate(counts):
        ax.text(1.02, index, f"n={count}", va="center", ha="left", fontsize=8.5, color="#444444")


def _add_legend(fig: Figure, ax: Axes, confidence: float) -> None:
    """Legend above the bars, outside the plot so it never hides a segment."""
    handles = [
        Patch(color=WIN_COLOR, label="Win (x better)"),
        Patch(color=TIE_COLOR, label="Tie"),
        Patch(color=LOSS_COLOR, label="Loss (y better)"),
        Line2D(
            [],
            [],
            color="#111111",
            marker="|",
            markersize=9,
            linewidth=1.2,
            label=f"{confidence:.0%} CI of win / loss rate",
        ),
    ]
    ax.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=4,
        frameon=False,
        fontsize=9,
        handlelength=1.4,
    )
    fig.tight_layout()


def figure_to_svg(fig: Figure) -> str:
    """Render to an inline-ready <svg> string: no XML prolog, DOCTYPE or namespace URLs."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata=_NO_METADATA)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg, count=2)
    digest = hashlib.sha1(svg.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]
    return _prefix_ids(svg, f"c{digest}-")


def _prefix_ids(svg: str, prefix: str) -> str:
    """Make element ids unique across the several SVGs inlined into one page."""
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    if not ids:
        return svg
    pattern = re.compile(r'(\bid="|#)(' + "|".join(map(re.escape, ids)) + r')\b(?=["\)])')
    return pattern.sub(lambda m: m.group(1) + prefix + m.group(2), svg)
