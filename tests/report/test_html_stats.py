"""The report's difference, ratings and judge-bias sections, from hand-built records."""

from __future__ import annotations

from typing import Any

import pytest

from onpar.records import (
    DifferenceTest,
    Estimate,
    Leaderboard,
    LengthBias,
    ModelRating,
    RunResults,
)
from onpar.report import render_report
from onpar.report.stats_views import (
    format_p,
    format_rating,
    format_signed_ci,
    format_signed_pct,
    format_slope_ci,
    win_probability_rows,
)
from tests.report import test_html as base
from tests.report.test_html import JUDGE, OTHER, REF, X, _Page, _section, _wtl

BIG_JUDGE = "big-judge"
RATINGS = {X: (1080.0, 1010.0, 1150.0), REF: (990.0, 920.0, 1060.0), OTHER: (930.0, 860.0, 1000.0)}


def _p_beats(row: str, col: str) -> float:
    return 1.0 / (1.0 + 10 ** ((RATINGS[col][0] - RATINGS[row][0]) / 400))


def _leaderboard() -> Leaderboard:
    return Leaderboard(
        judge=JUDGE,
        n_battles=7,
        ratings=tuple(
            ModelRating(model=m, rating=Estimate(value=v, low=lo, high=hi))
            for m, (v, lo, hi) in RATINGS.items()
        ),
        win_probability={a: {b: _p_beats(a, b) for b in RATINGS if b != a} for a in RATINGS},
    )


DIFFERENT = DifferenceTest(
    net_preference=Estimate(value=0.42, low=0.18, high=0.66),
    equivalence_interval=Estimate(value=0.42, low=0.22, high=0.62),
    margin=0.05,
    verdict="different",
    sign_test_p=0.0031,
    sign_test_p_holm=0.0062,
)
ON_PAR = DifferenceTest(
    net_preference=Estimate(value=0.01, low=-0.035, high=0.045),
    equivalence_interval=Estimate(value=0.01, low=-0.028, high=0.038),
    margin=0.05,
    verdict="on par",
    sign_test_p=0.8123,
    sign_test_p_holm=0.8123,
)
LENGTH = LengthBias(
    n=40,
    slope=Estimate(value=0.61, low=0.12, high=1.1),
    raw_win_rate=Estimate(value=0.7, low=0.58, high=0.82),
    length_controlled_win_rate=Estimate(value=0.553, low=0.41, high=0.69),
)


def rich_scenario() -> dict[str, Any]:
    """The base scenario plus: x vs ref 'different', x vs other 'on par', a third untested."""
    kwargs = base.scenario()
    results: RunResults = kwargs["results"]
    ref, other = results.comparisons
    untested = ref.model_copy(
        update={"judge": BIG_JUDGE, "n_prompts": 0, "overall": _wtl([]), "failures": {}}
    )
    comparisons = (
        ref.model_copy(update={"difference": DIFFERENT, "length_bias": LENGTH}),
        other.model_copy(update={"difference": ON_PAR}),
        untested,
    )
    kwargs["results"] = results.model_copy(
        update={"comparisons": comparisons, "leaderboards": (_leaderboard(),)}
    )
    return kwargs


@pytest.fixture(scope="module")
def html() -> str:
    return render_report(**rich_scenario())


def _row(section: str, label: str) -> str:
    start = section.index(f"<tr><td>{label}</td>")
    return section[start : section.index("</tr>", start)]


def test_new_sections_are_linked_and_well_formed(html: str) -> None:
    page = _Page(html)
    assert page.errors == [] and page.stack == []
    assert {"difference", "ratings", "judge-bias", "length-bias", "position-bias"} <= page.ids
    nav = html[html.index("<nav>") : html.index("</nav>")]
    targets = ["summary", "difference", "ratings", "breakdown", "judge-bias", "prompts"]
    assert [nav.index(f'href="#{t}"') for t in targets] == sorted(
        nav.index(f'href="#{t}"') for t in targets
    )
    order = [html.index(f'<section id="{s}">') for s in ("summary", "difference", "ratings")]
    assert order == sorted(order)
    assert page.tags["svg"] == 5  # overall, forest, three breakdowns


def test_difference_table_shows_verdicts_and_p_values(html: str) -> None:
    section = _section(html, "difference")
    different = _row(section, f"{X} vs {REF} ({JUDGE})")
    assert "+42.0%" in different and "[+18.0, +66.0]" in different
    assert "[+22.0, +62.0]" in different and "±5%" in different
    assert '<span class="badge different">different</span>' in different
    assert ">0.003<" in different and ">0.006<" in different
    on_par = _row(section, f"{X} vs {OTHER} ({JUDGE})")
    assert '<span class="badge on-par">on par</span>' in on_par
    assert "[\N{MINUS SIGN}2.8, +3.8]" in on_par and ">0.812<" in on_par
    assert "no outcomes" in _row(section, f"{X} vs {REF} ({BIG_JUDGE})")
    assert "whole 90% TOST interval lies inside the band" in section
    assert "95% interval excludes 0" in section


def test_forest_plot_has_one_row_per_comparison(html: str) -> None:
    section = _section(html, "difference")
    svg = section[section.index("<svg") : section.index("</svg>")]
    assert ">different<" in svg and ">on par<" in svg and ">no outcomes<" in svg
    assert ">net preference, 95% CI<" in svg and ">90% TOST interval<" in svg
    assert ">equivalence band ±5%<" in svg
    labels = [svg.index(f">({judge})<") for judge in (JUDGE, BIG_JUDGE)]
    assert labels == sorted(labels)


def test_ratings_in_order_with_win_probabilities(html: str) -> None:
    section = _section(html, "ratings")
    assert "Bradley–Terry ratings" in section and "7 battles" in section
    table = section[: section.index('<table class="matrix">')]
    assert [table.index(f"<td>{m}</td>") for m in (X, REF, OTHER)] == sorted(
        table.index(f"<td>{m}</td>") for m in (X, REF, OTHER)
    )
    assert ">1080<" in table and "[1010, 1150]" in table and "[860, 1000]" in table
    matrix = section[section.index('<table class="matrix">') :]
    assert f'title="P({X} beats {OTHER}) = 70.3%">70%</td>' in matrix
    assert f'title="P({OTHER} beats {X}) = 29.7%">30%</td>' in matrix
    assert "rgba(43, 108, 176, 0.24)" in matrix  # favoured: win colour
    assert "rgba(221, 107, 32, 0.24)" in matrix  # unfavoured: loss colour
    assert matrix.count(">—</td>") == 3  # the diagonal


def test_judge_bias_shows_length_controlled_win_rate(html: str) -> None:
    section = _section(html, "position-bias")
    assert '<h2 id="judge-bias">Judge bias</h2>' in section
    assert "75.0%" in section  # position consistency still there
    row = _row(section[section.index('id="length-bias"') :], f"{X} vs {REF} ({JUDGE})")
    assert ">40<" in row and "+0.61" in row and "[+0.12, +1.10]" in row
    assert "70.0%" in row and "[58.0, 82.0]" in row
    assert "55.3%" in row and "[41.0, 69.0]" in row
    assert section.count("needs ≥ 10 outcomes") == 2  # the two rows without length_bias
    assert "length-controlled win rate" in section.lower()


def test_rich_page_loads_nothing_from_elsewhere(html: str) -> None:
    base.test_nothing_is_loaded_from_elsewhere(html)
    base.test_csp_pins_the_only_script(html)
    base.test_untrusted_text_is_escaped(html)


def test_no_leaderboards_means_no_ratings_section() -> None:
    html = render_report(**base.scenario())
    assert 'id="ratings"' not in html and 'href="#ratings"' not in html
    assert '<section id="difference">' in html


def test_model_names_are_escaped_in_new_sections() -> None:
    kwargs = rich_scenario()
    results: RunResults = kwargs["results"]
    board = results.leaderboards[0]
    evil = "<b>x</b>"
    renamed = board.model_copy(
        update={
            "ratings": (ModelRating(model=evil, rating=Estimate(value=1000.0)),),
            "win_probability": {evil: {}},
        }
    )
    kwargs["results"] = results.model_copy(update={"leaderboards": (renamed,)})
    html = render_report(**kwargs)
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in _section(html, "ratings")


def test_number_formats() -> None:
    assert format_p(0.0004) == "<0.001" and format_p(0.0031) == "0.003"
    assert format_p(1.0) == "1.000" and format_p(None) == "—"
    assert format_signed_pct(Estimate(value=-0.031)) == "\N{MINUS SIGN}3.1%"
    assert format_signed_pct(Estimate(value=None)) == "—"
    assert format_signed_ci(Estimate(value=0.0, low=-0.1, high=None)) == ""
    assert format_rating(Estimate(value=1043.4)) == "1043"
    assert (
        format_slope_ci(Estimate(value=0.0, low=-0.5, high=0.25)) == "[\N{MINUS SIGN}0.50, +0.25]"
    )


def test_win_probability_rows_follow_rating_order() -> None:
    rows = win_probability_rows(_leaderboard())
    assert [r.model for r in rows] == [X, REF, OTHER]
    assert [c.text for c in rows[0].cells] == ["—", "63%", "70%"]
    assert rows[2].cells[2].title == "" and rows[1].cells[1].text == "—"
