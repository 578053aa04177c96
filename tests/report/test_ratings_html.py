"""The `onpar stats` HTML page: sections, numbers, escaping, and nothing loaded from elsewhere."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from markupsafe import escape

from onpar.data import load_judgments
from onpar.engine.ratings import RatingsAnalysis, analyse_ratings
from onpar.report.html import format_ci, format_pct
from onpar.report.ratings_html import (
    COEFFICIENT_NAMES,
    format_alpaca,
    format_coefficient,
    format_coefficient_ci,
    render_ratings_report,
    write_ratings_report,
)
from tests.report.test_html import STYLESHEET, _Page, _section

X = "<b>m</b>"  # sorts before "base", so it is model x
Y = "base"
SOURCE = "ratings <i>file</i>.jsonl"
HUMANS = ("h1", "h2", "h3")
N_ITEMS, N_HUMAN_ITEMS = 40, 24
# rows human majority, columns judge, order loss / tie / win (see _rows)
CONFUSION = ((2, 0, 6), (0, 0, 0), (4, 0, 12))


def _rows() -> list[dict]:
    """Humans rate items 0-23 (x wins 2 of 3, h3 sometimes abstains to 'same'); a judge all 40.

    Human majority: loss where i % 3 == 0 (8 items), else win (16). The judge says loss
    where i % 4 == 0, else win, so both lose on i % 12 == 0: the CONFUSION counts.
    """
    rows = []
    for i in range(N_ITEMS):
        for rater in HUMANS if i < N_HUMAN_ITEMS else ():
            score = 2 if i % 3 else 6
            if rater == "h3" and i % 4 == 1:
                score = 4
            rows.append(
                {"item": f"q{i}", "model_a": X, "model_b": Y, "rater": rater, "score": score}
            )
        judge_score = 3 if i % 4 else 5
        rows.append(
            {"item": f"q{i}", "model_a": X, "model_b": Y, "rater": "judge", "score": judge_score}
        )
    return rows


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> RatingsAnalysis:
    path = _write_jsonl(tmp_path_factory.mktemp("ratings") / "r.jsonl", _rows())
    return analyse_ratings(load_judgments(path, "onpar"), judge="judge", n_boot=200)


@pytest.fixture(scope="module")
def html(analysis: RatingsAnalysis) -> str:
    return render_ratings_report(analysis, SOURCE)


def test_analysis_is_the_intended_scenario(analysis: RatingsAnalysis) -> None:
    judged = analysis.judge_vs_humans
    assert judged is not None and judged.agreement.confusion == CONFUSION
    assert judged.ppi_win_rate is not None and judged.ppi_win_rate.n_labeled == N_HUMAN_ITEMS
    assert analysis.reliability and analysis.leaderboard is not None


def test_page_is_well_formed_with_every_section(html: str) -> None:
    page = _Page(html)
    assert page.errors == [] and page.stack == []
    assert {"summary", "difference", "ratings", "reliability", "judge"} <= page.ids
    assert "alpaca-eval" not in page.ids and "grades" not in page.ids
    assert page.tags["svg"] == 2  # win/tie/loss bars and the forest plot
    assert html.startswith("<!DOCTYPE html>")
    assert f"<style>\n{STYLESHEET}" in html  # the run report's stylesheet, inline
    assert ".badge.on-par" in html and "table.confusion" in html  # plus this page's rules


def test_header_names_source_counts_and_rule(html: str) -> None:
    header = html[html.index('<header id="top">') : html.index("</header>")]
    assert str(escape(SOURCE)) in header
    assert f"<dd>{3 * N_HUMAN_ITEMS + N_ITEMS}</dd>" in header
    assert "<dd>0 " in header and "<code>majority</code>" in header
    assert "<code>judge</code>" in header


def test_untrusted_text_is_escaped(html: str) -> None:
    assert X not in html and "<i>file</i>" not in html
    assert str(escape(X)) in _section(html, "summary")
    assert str(escape(X)) in _section(html, "ratings")
    assert len(re.findall(r"<b[ >]", html)) == html.count("</b>")


def test_nothing_is_loaded_from_elsewhere(html: str) -> None:
    page = _Page(html)
    for name, value in page.attrs:
        assert "//" not in value and "http:" not in value and "https:" not in value, name
    assert "http://" not in html and "https://" not in html
    assert re.findall(r"url\((?!#)", html) == []  # only the SVGs' own clip paths
    assert page.tags["script"] == page.tags["img"] == page.tags["iframe"] == 0
    assert [v for n, v in page.attrs if n == "href" and not v.startswith("#")] == ["data:,"]
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp and "default-src 'none'" in csp.group(1) and "script-src" not in csp.group(1)


def test_comparison_and_difference(html: str, analysis: RatingsAnalysis) -> None:
    (c,) = analysis.comparisons
    summary = _section(html, "summary")
    for estimate in (c.overall.win_rate, c.overall.tie_rate, c.overall.loss_rate):
        assert f'{format_pct(estimate)}<span class="ci">{format_ci(estimate)}</span>' in summary
    assert f"<td>{escape(X)} vs {Y} (raters)</td>" in summary
    difference = _section(html, "difference")
    assert "<svg" in difference and "net preference for x" in difference  # the forest plot
    assert c.difference is not None
    assert f'<span class="badge {c.difference.verdict.replace(" ", "-")}">' in difference
    assert "Holm-adjusted" in difference and "Sign test" in difference


def test_bradley_terry_table_and_matrix(html: str) -> None:
    ratings = _section(html, "ratings")
    assert "P(row beats column)" in ratings and f"P({escape(X)} beats {Y}) = " in ratings
    assert re.search(r"<tr><th>&lt;b&gt;m&lt;/b&gt;</th><td class=\"num\" style=", ratings)


def test_reliability_names_and_values(html: str, analysis: RatingsAnalysis) -> None:
    section = _section(html, "reliability")
    rows = section.split("<tr>")[2:]
    assert len(rows) == len(analysis.reliability) == 7  # 3 raters: no Cohen's kappa
    for row, report in zip(rows, analysis.reliability, strict=True):
        assert str(escape(COEFFICIENT_NAMES[report.coefficient])) in row
        assert f"<code>{report.coefficient}</code>" in row and f"<td>{report.weights}</td>" in row
        assert format_coefficient(report.estimate) in row
        assert format_coefficient_ci(report.estimate) in row
        assert f'<td class="num">{report.n_pairable_items}</td>' in row
    assert "Gwet’s AC2" in section and "Krippendorff’s α" in section


def test_judge_agreement_and_confusion_matrix(html: str, analysis: RatingsAnalysis) -> None:
    judged = analysis.judge_vs_humans
    assert judged is not None
    section = _section(html, "judge")
    for rates in (judged.agreement.rates, judged.human_human):
        for estimate in (rates.with_ties, rates.without_ties):
            assert f'{format_pct(estimate)}<span class="ci">{format_ci(estimate)}</span>' in section
    assert f'<b id="kappa">{format_coefficient(judged.agreement.kappa)}</b>' in section
    for label, expected in zip(("loss", "tie", "win"), CONFUSION, strict=True):
        row = re.search(rf"<tr><th>human: {label}</th>(.*?)</tr>", section)
        assert row, label
        cells = re.findall(r"<td class=\"num[^\"]*\">(\d+)</td>", row.group(1))
        assert tuple(int(n) for n in cells[:3]) == expected and int(cells[3]) == sum(expected)
    assert section.count('class="num agree"') == 3
    for label in ("loss", "tie", "win"):
        assert f"judge: {label}</th>" in section


def test_ppi_win_rates(html: str, analysis: RatingsAnalysis) -> None:
    judged = analysis.judge_vs_humans
    assert judged is not None and judged.ppi_win_rate is not None
    ppi = judged.ppi_win_rate
    section = _section(html, "judge")
    assert f"Win rate of x: {escape(X)} vs {Y}" in section
    for name, n, estimate in (
        ("PPI", ppi.n_all, ppi.ppi),
        ("PPI++", ppi.n_all, ppi.ppi_plus_plus),
        ("humans only", ppi.n_labeled, ppi.classical),
        ("judge only", ppi.n_all, ppi.judge_only),
    ):
        row = re.search(rf"<tr><td>{re.escape(name)}(.*?)</tr>", section, re.DOTALL)
        assert row, name
        assert f'<td class="num">{n}</td>' in row.group(1)
        assert f'{format_pct(estimate)}<span class="ci">{format_ci(estimate)}</span>' in row.group(
            1
        )


def test_confidence_labels_follow_the_analysis(html: str, tmp_path: Path) -> None:
    assert "95% CI" in html and "90% TOST interval" in html
    path = _write_jsonl(tmp_path / "r.jsonl", _rows())
    analysis = analyse_ratings(load_judgments(path, "onpar"), confidence=0.9, n_boot=50)
    assert analysis.confidence == 0.9
    page = render_ratings_report(analysis, SOURCE)
    assert "90% CI" in page and "80% TOST interval" in page and "95% CI" not in page


def test_alpaca_eval_numbers(tmp_path: Path) -> None:
    prefs = [2.0, 1.0, 1.5, 2.0, None, 1.75]
    rows = [
        {
            "instruction": f"do {i}",
            "output_1": "base",
            "output_2": "mine",
            "generator_1": "gpt4",
            "generator_2": "mine",
            "annotator": "weighted_alpaca_eval_gpt4_turbo",
            "preference": p,
        }
        for i, p in enumerate(prefs)
    ]
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    analysis = analyse_ratings(
        load_judgments(path, "alpaca_eval"), source_format="alpaca_eval", n_boot=100
    )
    section = _section(render_ratings_report(analysis, str(path)), "alpaca-eval")
    numbers = analysis.alpaca_eval["mine vs gpt4"]
    assert "<td>mine vs gpt4</td>" in section
    assert f'<td class="num">{format_alpaca(numbers["win_rate"], "win_rate")}</td>' in section
    assert format_alpaca(numbers["win_rate"], "win_rate") == "65.00%"
    assert f'<td class="num">{numbers["n_total"]}</td>' in section
    assert format_alpaca(float("nan"), "standard_error") == "—"


def test_single_grades_without_comparisons(tmp_path: Path) -> None:
    rows = [
        {
            "question_id": q,
            "model": m,
            "judge": ["gpt-4", "single-v1"],
            "user_prompt": "u",
            "judgment": "j",
            "score": s,
            "turn": 1,
            "tstamp": 0.0,
        }
        for q, m, s in [(81, "m1", 8), (82, "m1", 6), (81, "m2", 3), (82, "m2", -1)]
    ]
    path = _write_jsonl(tmp_path / "s.jsonl", rows)
    analysis = analyse_ratings(load_judgments(path, "mt_bench"), n_boot=100)
    page = render_ratings_report(analysis, str(path))
    assert _Page(page).errors == [] and "<svg" not in page
    assert 'id="summary"' not in page and 'id="judge"' not in page
    grades = _section(page, "grades")
    assert '<td>m1</td><td class="num">2</td><td class="num">7.00' in grades
    assert "<dd>1 " in page  # the failed grade


def test_write_is_atomic(tmp_path: Path, analysis: RatingsAnalysis) -> None:
    target = tmp_path / "out" / "stats.html"
    write_ratings_report(analysis, SOURCE, target)
    assert target.read_text(encoding="utf-8") == render_ratings_report(analysis, SOURCE)
    assert [p.name for p in target.parent.iterdir()] == ["stats.html"]


def test_importing_adds_nothing_heavy_beyond_the_run_report() -> None:
    code = (
        "import sys, onpar.report; before = set(sys.modules); "
        "import onpar.report.ratings_html; print(sorted(set(sys.modules) - before))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['onpar.report.ratings_html']"
