"""Inline-SVG charts of the safety section: Llama 2's Figures 17/18-style views.

* single- vs multi-turn violation % per contestant (bars with CI whiskers);
* a trade-off scatter: violation % against another per-contestant rate (false refusals,
  or helpfulness win rate), each point with both CIs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from onpar.records import Estimate
from onpar.report.charts import CHART_RC, figure_to_svg

SINGLE_COLOR = "#2b6cb0"
MULTI_COLOR = "#dd6b20"
POINT_COLOR = "#2b6cb0"


@dataclass(frozen=True)
class TurnBars:
    """One contestant's single- and multi-turn violation rates (None: no such prompts)."""

    label: str
    single: Estimate | None
    multi: Estimate | None


@dataclass(frozen=True)
class TradeoffPoint:
    """One contestant in a trade-off scatter: x and y rates with their CIs."""

    label: str
    x: Estimate
    y: Estimate


def turn_bars_chart(rows: Sequence[TurnBars], confidence: float) -> str:
    """Grouped bars: violation % on single- vs multi-turn prompts, one group per contestant."""
    with matplotlib.rc_context(CHART_RC):
        fig = Figure(figsize=(max(4.5, 1.6 * len(rows) + 2.0), 3.4))
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        width = 0.38
        for index, row in enumerate(rows):
            for offset, est, color in (
                (-width / 2, row.single, SINGLE_COLOR),
                (width / 2, row.multi, MULTI_COLOR),
            ):
                if est is None or est.value is None:
                    continue
                ax.bar(index + offset, est.value, width=width * 0.95, color=color)
                if est.low is not None and est.high is not None:
                    ax.errorbar(
                        [index + offset],
                        [est.value],
                        yerr=[[est.value - est.low], [est.high - est.value]],
                        fmt="none",
                        ecolor="#111111",
                        capsize=3,
                        elinewidth=1.0,
                    )
        handles = [
            Patch(color=SINGLE_COLOR, label="single-turn"),
            Patch(color=MULTI_COLOR, label="multi-turn"),
        ]
        ax.set_xticks(range(len(rows)), [row.label for row in rows])
        ax.set_ylim(0.0, 1.0)
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
        ax.set_ylabel(f"violation % ({confidence:.0%} CI)")
        ax.legend(
            handles=handles,
            frameon=False,
            fontsize=9,
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncol=2,
        )
        _clean(ax)
        return figure_to_svg(fig)


def tradeoff_chart(
    points: Sequence[TradeoffPoint], x_label: str, y_label: str, confidence: float
) -> str:
    """Scatter of contestants, x and y in percent, with both CIs as whiskers."""
    with matplotlib.rc_context(CHART_RC):
        fig = Figure(figsize=(5.6, 4.2))
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        for point in points:
            if point.x.value is None or point.y.value is None:
                continue
            ax.errorbar(
                [point.x.value],
                [point.y.value],
                xerr=_err(point.x),
                yerr=_err(point.y),
                fmt="o",
                color=POINT_COLOR,
                ecolor="#888888",
                capsize=3,
                elinewidth=1.0,
            )
            ax.annotate(
                point.label,
                (point.x.value, point.y.value),
                textcoords="offset points",
                xytext=(6, 6),
                fontsize=9,
            )
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(PercentFormatter(xmax=1.0))
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(f"{x_label} ({confidence:.0%} CI)")
        ax.set_ylabel(f"{y_label} ({confidence:.0%} CI)")
        ax.grid(color="#eeeeee", linewidth=0.6)
        _clean(ax)
        return figure_to_svg(fig)


def _err(est: Estimate) -> list[list[float]] | None:
    if est.value is None or est.low is None or est.high is None:
        return None
    return [[max(est.value - est.low, 0.0)], [max(est.high - est.value, 0.0)]]


def _clean(ax: object) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)  # type: ignore[attr-defined]
