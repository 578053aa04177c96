"""The report's "Human ratings" section: people's verdicts beside each model judge's.

``human_view`` groups ``results.human`` for ``_human.html.j2``: per comparison the human
row first and every judge's row of the same (model_x, model_y) under it, so the two read
side by side; then judge–human agreement, reliability and the human safety ratings.
"""

from __future__ import annotations

from dataclasses import dataclass

from onpar.records import ComparisonSummary, Estimate, HumanAgreement, HumanResults, RunResults


@dataclass(frozen=True)
class SideBySide:
    """One comparison: the humans' summary and the model judges' for the same pair."""

    model_x: str
    model_y: str
    rows: list[ComparisonSummary]  # humans first, then judges in results order


@dataclass(frozen=True)
class HumanView:
    human: HumanResults
    comparisons: list[SideBySide]
    agreement: list[HumanAgreement]
    reliability: str  # Gwet's AC2 as '0.412 [0.301, 0.520]', or why it is missing
    safety_reliability: str


def human_view(results: RunResults) -> HumanView | None:
    """None when the run has no human ratings (the section is then left out)."""
    human = results.human
    if human is None:
        return None
    comparisons = [
        SideBySide(
            h.model_x,
            h.model_y,
            [h]
            + [c for c in results.comparisons if (c.model_x, c.model_y) == (h.model_x, h.model_y)],
        )
        for h in human.comparisons
    ]
    return HumanView(
        human,
        comparisons,
        list(human.judge_agreement),
        coefficient_text(human.reliability),
        coefficient_text(human.safety_reliability),
    )


def coefficient_text(estimate: Estimate | None) -> str:
    """A reliability coefficient (−1 … 1, not a rate) with its interval, 3 decimals."""
    if estimate is None or estimate.value is None:
        return "not defined (needs 2 raters on some item)"
    if estimate.low is None or estimate.high is None:
        return f"{estimate.value:.3f}"
    return f"{estimate.value:.3f} [{estimate.low:.3f}, {estimate.high:.3f}]"


def rater_label(summary: ComparisonSummary) -> str:
    """'people (majority of raters)' for the human row, the judge's name otherwise."""
    return "people (raters’ majority)" if summary.judge == "humans" else summary.judge
