"""Terminal tables for `onpar stats` (the --json output carries the same numbers)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from onpar.engine.ratings import RatingsAnalysis
from onpar.records import Estimate


def pct(estimate: Estimate | None) -> str:
    if estimate is None or estimate.value is None:
        return "—"
    if estimate.low is None or estimate.high is None:
        return f"{100 * estimate.value:.1f}%"
    return f"{100 * estimate.value:.1f}% [{100 * estimate.low:.1f}, {100 * estimate.high:.1f}]"


def num(estimate: Estimate | None, digits: int = 2) -> str:
    if estimate is None or estimate.value is None:
        return "—"
    bounds = (
        "" if estimate.low is None else f" [{estimate.low:.{digits}f}, {estimate.high:.{digits}f}]"
    )
    return f"{estimate.value:.{digits}f}{bounds}"


def p_value(p: float | None) -> str:
    return "—" if p is None else "<0.001" if p < 0.001 else f"{p:.3f}"


def print_analysis(analysis: RatingsAnalysis, console: Console | None = None) -> None:
    console = console or Console()
    console.print(
        f"{analysis.n_ratings} ratings ({analysis.n_failed} failed, left out); "
        f"raters combined by {analysis.rater_rule}"
    )
    if analysis.comparisons:
        _comparisons(console, analysis)
    if analysis.leaderboard is not None and analysis.leaderboard.ratings:
        table = Table(title="Bradley–Terry ratings (mean 1000)")
        for column in ("model", "rating [CI]"):
            table.add_column(column)
        for row in analysis.leaderboard.ratings:
            table.add_row(row.model, num(row.rating, 0))
        console.print(table)
    _reliability(console, analysis)
    _judge(console, analysis)
    for pair, numbers in analysis.alpaca_eval.items():
        console.print(
            f"AlpacaEval {pair}: win_rate {numbers['win_rate']:.2f}, "
            f"standard_error {numbers['standard_error']:.2f}, n_total {numbers['n_total']}"
        )
    for grade in analysis.single_grades:
        console.print(f"single grade {grade.model}: {num(grade.mean_score)} (n={grade.n})")
    _safety(console, analysis)


def _safety(console: Console, analysis: RatingsAnalysis) -> None:
    """Llama 2 §4.4: an answer violates when its raters' majority gave 1 or 2."""
    if not analysis.safety:
        return
    table = Table(title="Safety (5-point): violation = raters' majority gave 1 or 2")
    for column in ("model", "answers", "ratings", "violations", "violation rate [CI]", "mean"):
        table.add_column(column)
    for row in analysis.safety:
        table.add_row(
            row.model,
            str(row.n_items),
            str(row.n_ratings),
            str(row.n_violations),
            pct(row.violation_rate),
            f"{row.mean_score:.2f}",
        )
    console.print(table)
    console.print(f"safety raters' Gwet's AC2 (ordinal): {num(analysis.safety_reliability, 3)}")


def _comparisons(console: Console, analysis: RatingsAnalysis) -> None:
    table = Table(title="Win / tie / loss of x against y [confidence interval]")
    for column in ("x vs y", "n", "win", "tie", "loss", "win − loss", "verdict", "p (Holm)"):
        table.add_column(column)
    for c in analysis.comparisons:
        d = c.difference
        table.add_row(
            f"{c.model_x} vs {c.model_y}",
            str(c.overall.n),
            pct(c.overall.win_rate),
            pct(c.overall.tie_rate),
            pct(c.overall.loss_rate),
            pct(d.net_preference) if d else "—",
            d.verdict if d else "—",
            p_value(d.sign_test_p_holm) if d else "—",
        )
    console.print(table)


def _reliability(console: Console, analysis: RatingsAnalysis) -> None:
    if not analysis.reliability:
        return
    table = Table(title="Inter-rater reliability")
    for column in ("coefficient", "value [CI]", "items", "raters"):
        table.add_column(column)
    for report in analysis.reliability:
        name = f"{report.coefficient} ({report.weights})"
        table.add_row(name, num(report.estimate, 3), str(report.n_items), str(report.n_raters))
    console.print(table)


def _judge(console: Console, analysis: RatingsAnalysis) -> None:
    judged = analysis.judge_vs_humans
    if judged is None:
        return
    rates = judged.agreement.rates
    console.print(
        f"judge {judged.judge} vs human majority: agreement {pct(rates.with_ties)} with ties, "
        f"{pct(rates.without_ties)} without; kappa "
        f"{'—' if judged.agreement.kappa is None else f'{judged.agreement.kappa:.3f}'}; "
        f"human–human {pct(judged.human_human.with_ties)}"
    )
    console.print(
        f"confusion (rows human, columns judge; loss/tie/win): {judged.agreement.confusion}"
    )
    if judged.ppi_win_rate is not None:
        ppi = judged.ppi_win_rate
        console.print(
            f"win rate of x: PPI {pct(ppi.ppi)}, PPI++ {pct(ppi.ppi_plus_plus)}, "
            f"humans only {pct(ppi.classical)}, judge only {pct(ppi.judge_only)}"
        )
