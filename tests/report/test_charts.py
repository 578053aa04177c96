"""Charts: inline-ready SVG with no external references and page-unique ids."""

from __future__ import annotations

import re

from onpar.records import (
    ComparisonSummary,
    DifferenceTest,
    Estimate,
    PositionBias,
    Verdict,
    WinTieLoss,
)
from onpar.report.charts import breakdown_chart, overall_chart, wtl_chart
from onpar.report.forest import forest_chart


def _wtl(wins: int, ties: int, losses: int) -> WinTieLoss:
    n = wins + ties + losses

    def est(k: int) -> Estimate:
        if not n:
            return Estimate(value=None)
        return Estimate(value=k / n, low=max(0.0, k / n - 0.15), high=min(1.0, k / n + 0.15))

    return WinTieLoss(
        n=n,
        wins=wins,
        ties=ties,
        losses=losses,
        win_rate=est(wins),
        tie_rate=est(ties),
        loss_rate=est(losses),
        win_share=est(wins),
        win_rate_tie_half=est(wins),
    )


def _summary(model_y: str) -> ComparisonSummary:
    empty = Estimate(value=None)
    return ComparisonSummary(
        judge="j",
        model_x="x <b>$1$</b>",
        model_y=model_y,
        n_prompts=10,
        overall=_wtl(5, 3, 2),
        by_category={"coding": _wtl(1, 1, 0), "empty": _wtl(0, 0, 0)},
        by_turns={"single-turn": _wtl(4, 2, 2), "multi-turn": _wtl(1, 1, 0)},
        position=PositionBias(
            n_pairs=0,
            consistency=empty,
            n_judgments=0,
            first_position_win_rate=empty,
            second_position_win_rate=empty,
        ),
        failures={},
    )


def _references_resolve(svg: str) -> bool:
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    refs = set(re.findall(r'(?:url\(#|href="#)([^")]+)', svg))
    return bool(refs) and refs <= ids


def test_overall_chart_is_inline_svg_with_percentages() -> None:
    svg = overall_chart([_summary("y1"), _summary("y2")], 0.95)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "http" not in svg and "<?xml" not in svg and "DOCTYPE" not in svg
    assert ">50%<" in svg and ">30%<" in svg and ">20%<" in svg
    assert ">95% CI of win / loss rate<" in svg and ">n=10<" in svg
    assert "x &lt;b&gt;$1$&lt;/b&gt; vs y1" in svg  # names escaped, '$' not parsed as math
    assert _references_resolve(svg)


def test_ids_do_not_collide_between_charts() -> None:
    first = overall_chart([_summary("y1")], 0.95)
    second = breakdown_chart(_summary("y1"), 0.9)
    assert set(re.findall(r'\bid="([^"]+)"', first)).isdisjoint(
        re.findall(r'\bid="([^"]+)"', second)
    )
    assert _references_resolve(second)


def test_breakdown_lists_categories_then_turns_and_flags_empty_groups() -> None:
    svg = breakdown_chart(_summary("y1"), 0.9)
    order = [svg.index(f">{label}<") for label in ("coding", "empty", "single-turn", "multi-turn")]
    assert order == sorted(order)
    assert ">no outcomes<" in svg and ">90% CI of win / loss rate<" in svg


def test_chart_without_rows_still_renders() -> None:
    assert wtl_chart([], 0.95).startswith("<svg")


def _difference(
    value: float, half: float, verdict: Verdict, margin: float = 0.05
) -> DifferenceTest:
    return DifferenceTest(
        net_preference=Estimate(value=value, low=value - half, high=value + half),
        equivalence_interval=Estimate(value=value, low=value - half / 2, high=value + half / 2),
        margin=margin,
        verdict=verdict,
        sign_test_p=0.5,
    )


def test_forest_chart_rows_verdicts_and_band() -> None:
    rows = [
        _summary("y1").model_copy(update={"difference": _difference(0.01, 0.03, "on par")}),
        _summary("y2").model_copy(update={"difference": _difference(-0.3, 0.1, "different")}),
        _summary("y3"),  # difference None
    ]
    svg = forest_chart(rows, 0.95)
    assert svg.startswith("<svg") and "http" not in svg and "<?xml" not in svg
    order = [svg.index(f">{text}<") for text in ("on par", "different", "no outcomes")]
    assert order == sorted(order)
    assert ">net preference, 95% CI<" in svg and ">90% TOST interval<" in svg
    assert ">equivalence band ±5%<" in svg and ">\N{MINUS SIGN}20%<" in svg
    assert "x &lt;b&gt;$1$&lt;/b&gt; vs y1" in svg
    assert _references_resolve(svg)


def test_forest_chart_with_mixed_margins_or_undefined_bounds() -> None:
    undefined = _difference(0.0, 0.1, "inconclusive").model_copy(
        update={"equivalence_interval": Estimate(value=0.0)}
    )
    rows = [
        _summary("y1").model_copy(update={"difference": undefined}),
        _summary("y2").model_copy(update={"difference": _difference(0.2, 0.1, "different", 0.1)}),
    ]
    svg = forest_chart(rows, 0.9)
    assert ">inconclusive<" in svg and ">equivalence band ±margin<" in svg
    assert ">80% TOST interval<" in svg
    assert forest_chart([], 0.95).startswith("<svg")
