"""The HTML report: offline, escaped, complete, and well-formed."""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from onpar.records import (
    ComparisonSummary,
    Estimate,
    Judgment,
    Message,
    PairVerdict,
    PositionBias,
    PromptItem,
    Response,
    RunResults,
    WinTieLoss,
)
from onpar.report import render_report, write_report

STRUCTURAL_TAGS = (
    "html head body main header nav section details summary table thead tbody tr td th "
    "div pre svg script style"
)
STYLESHEET = (
    resources.files("onpar.report").joinpath("templates/report.css").read_text("utf-8").strip()
)
JUDGE, X, REF, OTHER = "smol-judge", "my-7b", "reference", "other-13b"
SCRIPT_PAYLOAD = "Sure: <script>alert(1)</script>"
IMG_PAYLOAD = 'Look: <img src="https://evil.example/x.png" onerror=alert(1)>'
NOTE = (
    "The judge is a 135M model: treat verdicts as a smoke test.\n"
    "Plug in a strong judge like this:\n  judges:\n    - name: strong <b>judge</b>"
)
MANIFEST = {
    "config": {"run": {"name": "unit"}, "judges": [{"name": JUDGE}]},
    "packages": {"onpar": "0.1.0", "torch": "2.3.0"},
    "model_files": {"smol-judge.gguf": "sha256:0f1e2d3c"},
}
PROMPTS = (
    PromptItem(id="p-write", category="writing", turns=("Write a haiku about autumn.",)),
    PromptItem(
        id="p-chat",
        category="brainstorming",
        turns=("Suggest three bakery names.", "Make them French.", "Which one is best?"),
    ),
    PromptItem(id="p-code", category="coding", turns=("Reverse a string in Python.",)),
    PromptItem(id="p-qa", category="qa", turns=("What is the capital of Australia?",)),
    PromptItem(id="p-html", category="writing", turns=("Show me some HTML.",)),
)
# contestant -> prompt id -> answers per turn (str = text, Exception = generation error)
ANSWERS: dict[str, dict[str, list[str | Exception]]] = {
    X: {
        "p-write": ["Leaves fall, amber light"],
        "p-chat": ["1. Crumb & Co", "1. Miette", "Miette: short and sweet."],
        "p-code": ["def rev(s): return s[::-1]"],
        "p-qa": ["Canberra."],
        "p-html": [SCRIPT_PAYLOAD],
    },
    REF: {
        "p-write": ["Crisp air, red maple"],
        "p-chat": ["1. Flour Power", "1. Pain d'Or", "Pain d'Or, it is classic."],
        "p-code": [RuntimeError("timeout after 3 retries")],
        "p-qa": ["Canberra is the capital."],
        "p-html": ["<p>Hello</p>"],
    },
    OTHER: {
        "p-write": ["Autumn wind"],
        "p-chat": ["Bread Pitt", "Pain Pitt", "Pain Pitt."],
        "p-code": ["s[::-1]"],
        "p-html": [IMG_PAYLOAD],
    },  # no answer at all for p-qa
}
# (model_y, prompt) -> (score xy, score yx); None = judge failed in that order
SCORES: dict[tuple[str, str], tuple[int | None, int | None]] = {
    (REF, "p-write"): (2, 6),
    (REF, "p-chat"): (4, 4),
    (REF, "p-qa"): (6, None),
    (REF, "p-html"): (6, 3),
    (OTHER, "p-write"): (1, 7),
    (OTHER, "p-chat"): (3, 3),
    (OTHER, "p-code"): (5, 2),
    (OTHER, "p-html"): (3, 5),
}


def _responses() -> list[Response]:
    out = []
    for contestant, by_prompt in ANSWERS.items():
        for prompt_id, answers in by_prompt.items():
            prompt = next(p for p in PROMPTS if p.id == prompt_id)
            for turn, answer in enumerate(answers):
                failed = isinstance(answer, Exception)
                out.append(
                    Response(
                        contestant=contestant,
                        prompt_id=prompt_id,
                        turn_index=turn,
                        messages=(Message(role="user", content=prompt.turns[turn]),),
                        text=None if failed else str(answer),
                        error=str(answer) if failed else None,
                    )
                )
    return out


def _judgments() -> list[Judgment]:
    out = []
    for (model_y, prompt_id), scores in SCORES.items():
        for order, score in zip(("xy", "yx"), scores, strict=True):
            probs = (0.05, 0.6, 0.1, 0.1, 0.05, 0.05, 0.05) if score == 2 else None
            out.append(
                Judgment(
                    judge=JUDGE,
                    prompt_id=prompt_id,
                    model_x=X,
                    model_y=model_y,
                    order=order,
                    score=score,
                    option_probs=probs,
                    raw=f"Verdict: {score}",
                    error=None if score else "could not parse verdict",
                )
            )
    return out


def _verdicts() -> list[PairVerdict]:
    judged = {(j.model_y, j.prompt_id, j.order): j for j in _judgments()}
    out = []
    for model_y in (REF, OTHER):
        for prompt in PROMPTS:
            xy, yx = (judged.get((model_y, prompt.id, o)) for o in ("xy", "yx"))
            prefs = [j.preference_for_x for j in (xy, yx) if j is not None and j.ok]
            outcome, reason = None, None
            if len(prefs) == 2:
                total = sum(prefs)
                outcome = "win" if total > 0 else "loss" if total < 0 else "tie"
            else:
                reason = "judge failed" if xy or yx else "missing answer"
            out.append(
                PairVerdict(
                    judge=JUDGE,
                    prompt_id=prompt.id,
                    category=prompt.category,
                    is_multi_turn=prompt.is_multi_turn,
                    model_x=X,
                    model_y=model_y,
                    outcome=outcome,
                    preference_xy=xy.preference_for_x if xy else None,
                    preference_yx=yx.preference_for_x if yx else None,
                    missing_reason=reason,
                )
            )
    return out


def _wtl(outcomes: list[str]) -> WinTieLoss:
    n, counts = len(outcomes), Counter(outcomes)

    def est(part: float, whole: int) -> Estimate:
        if not whole:
            return Estimate(value=None)
        value = part / whole
        return Estimate(value=value, low=max(0.0, value - 0.2), high=min(1.0, value + 0.2))

    w, t, lo = counts["win"], counts["tie"], counts["loss"]
    return WinTieLoss(
        n=n,
        wins=w,
        ties=t,
        losses=lo,
        win_rate=est(w, n),
        tie_rate=est(t, n),
        loss_rate=est(lo, n),
        win_share=est(w, w + lo),
        win_rate_tie_half=est(w + t / 2, n),
    )


def _summary(model_y: str, verdicts: list[PairVerdict]) -> ComparisonSummary:
    mine = [v for v in verdicts if v.model_y == model_y]
    done = [v for v in mine if v.outcome]
    categories = sorted({v.category for v in mine})
    return ComparisonSummary(
        judge=JUDGE,
        model_x=X,
        model_y=model_y,
        n_prompts=len(mine),
        overall=_wtl([v.outcome for v in done]),
        by_category={c: _wtl([v.outcome for v in done if v.category == c]) for c in categories},
        by_turns={
            "single-turn": _wtl([v.outcome for v in done if not v.is_multi_turn]),
            "multi-turn": _wtl([v.outcome for v in done if v.is_multi_turn]),
        },
        position=PositionBias(
            n_pairs=len(done),
            consistency=Estimate(value=0.75, low=0.3, high=1.0),
            n_judgments=2 * len(done),
            first_position_win_rate=Estimate(value=0.625),
            second_position_win_rate=Estimate(value=0.125, low=0.0, high=0.4),
        ),
        failures=dict(Counter(v.missing_reason for v in mine if v.missing_reason)),
    )


def scenario() -> dict[str, Any]:
    """Keyword arguments for render_report: 2 comparisons, 5 prompts, failures, payloads."""
    verdicts = _verdicts()
    results = RunResults(
        run_name="unit-run",
        confidence=0.95,
        bootstrap_samples=500,
        combine_rule="agree",
        comparisons=(_summary(REF, verdicts), _summary(OTHER, verdicts)),
    )
    return dict(
        results=results,
        prompts=PROMPTS,
        responses=_responses(),
        judgments=_judgments(),
        verdicts=verdicts,
        manifest=MANIFEST,
        notes=(NOTE,),
    )


class _Page(HTMLParser):
    """Collects ids, attributes, script bodies and unbalanced structural tags."""

    CHECKED = frozenset(STRUCTURAL_TAGS.split())

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: Counter[str] = Counter()
        self.attrs: list[tuple[str, str]] = []
        self.scripts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_startendtag(tag, attrs)
        if tag in self.CHECKED:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.attrs.extend((name, value or "") for name, value in attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.CHECKED:
            return
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
        else:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "script":
            self.scripts.append(data)

    @property
    def ids(self) -> set[str]:
        return {value for name, value in self.attrs if name == "id"}


@pytest.fixture(scope="module")
def html() -> str:
    return render_report(**scenario())


def _section(html: str, section_id: str) -> str:
    start = html.index(f'<section id="{section_id}">')
    return html[start : html.index("</section>", start)]


def test_page_is_well_formed_with_all_sections(html: str) -> None:
    page = _Page(html)
    assert page.errors == [] and page.stack == []
    assert {"summary", "breakdown", "position-bias", "prompts", "manifest"} <= page.ids
    assert page.tags["svg"] == 4  # overall chart, forest plot, one breakdown per comparison
    assert html.startswith("<!DOCTYPE html>")


def test_nothing_is_loaded_from_elsewhere(html: str) -> None:
    page = _Page(html)
    for name, value in page.attrs:
        assert "//" not in value and "http:" not in value and "https:" not in value, name
        assert "url(" not in value or "url(#" in value
    assert page.tags["script"] == 1 and not any(name == "src" for name, _ in page.attrs)
    assert page.tags["img"] == page.tags["iframe"] == page.tags["object"] == 0
    assert [v for n, v in page.attrs if n == "href" and not v.startswith("#")] == ["data:,"]
    without_model_text = html.replace(str(escape(IMG_PAYLOAD)), "")
    assert "http://" not in without_model_text and "https://" not in without_model_text


def test_untrusted_text_is_escaped(html: str) -> None:
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert str(escape(IMG_PAYLOAD)) in html
    assert "<script>alert" not in html and "<img" not in html and "<b>judge</b>" not in html


def test_stylesheet_is_inline(html: str) -> None:
    assert ".badge.on-par" in STYLESHEET and "{%" not in STYLESHEET
    assert f"<style>\n{STYLESHEET}\n</style>" in html
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp and "style-src 'unsafe-inline'" in csp.group(1)


def test_csp_pins_the_only_script(html: str) -> None:
    (script,) = _Page(html).scripts
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp and f"script-src 'sha256-{digest}'" in csp.group(1)
    assert "default-src 'none'" in csp.group(1)


def test_win_rates_and_labels_per_comparison(html: str) -> None:
    summary = _section(html, "summary")
    for c in scenario()["results"].comparisons:
        assert f"{c.model_x} vs {c.model_y} ({c.judge})" in summary
        win = c.overall.win_rate
        assert f"{win.value * 100:.1f}%" in summary
        assert f"[{win.low * 100:.1f}, {win.high * 100:.1f}]" in summary
        assert f"{c.overall.win_share.value * 100:.1f}%" in summary
    assert "judge failed: 1" in summary and "missing answer: 1" in summary


def test_breakdown_and_position_bias(html: str) -> None:
    breakdown = _section(html, "breakdown")
    for name in ("brainstorming", "coding", "qa", "writing", "single-turn", "multi-turn"):
        assert f">{name}<" in breakdown
    position = _section(html, "position-bias")
    assert "75.0%" in position and "[30.0, 100.0]" in position and "12.5%" in position


def test_multi_turn_conversation_in_order(html: str) -> None:
    prompts = _section(html, "prompts")
    steps = [
        "Suggest three bakery names.",
        "1. Crumb &amp; Co",
        "1. Flour Power",
        "Make them French.",
        "1. Miette",
        "1. Pain d&#39;Or",
        "Which one is best?",
    ]
    first_table = prompts.split('<details class="section"')[1]
    positions = [first_table.index(step) for step in steps]
    assert positions == sorted(positions)
    assert "earlier turn" in first_table and "final answers" in first_table


def test_verdicts_and_failures_are_explicit(html: str) -> None:
    prompts = _section(html, "prompts")
    assert "<b>2</b> · A is better" in prompts and "+2 for x" in prompts
    assert "<b>6</b> · B is better" in prompts and "-2 for x" in prompts
    assert "p: 1:0.05 2:0.60 3:0.10" in prompts
    assert "judge error: could not parse verdict" in prompts
    assert "no answer: timeout after 3 retries" in prompts
    assert "no answer: not generated" in prompts
    assert prompts.count('data-outcome="none"') == 3
    assert "Verdict: 6" in prompts  # raw judge output kept for audit


def test_notes_and_manifest(html: str) -> None:
    assert f'<div class="note">{escape(NOTE)}</div>' in html
    assert "\n    - name: strong" in html  # line breaks and indentation preserved
    manifest = _section(html, "manifest")
    assert "&#34;sha256:0f1e2d3c&#34;" in manifest
    assert "&#34;torch&#34;: &#34;2.3.0&#34;" in manifest


def test_empty_run_renders() -> None:
    results = RunResults(
        run_name="empty", confidence=0.9, bootstrap_samples=0, combine_rule="mean", comparisons=()
    )
    html = render_report(results, (), (), (), (), {})
    page = _Page(html)
    assert page.errors == [] and "no comparisons" in html


def test_write_report_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.html"
    kwargs = scenario()
    write_report(**kwargs, path=target)
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_benchmark_only_report_shows_scores_beside_published_numbers() -> None:
    from onpar.records import BenchComparison, BenchGroupScore, BenchScore, Estimate, RunResults

    score = BenchScore(
        task="mmlu-subset",
        contestant="<b>my-7b</b>",
        metric="acc",
        mode="letter",
        estimate=Estimate(value=0.625, low=0.4, high=0.8),
        n_items=10,
        n_scored=8,
        n_failed=2,
        n_unparseable=3,
        by_group=(
            BenchGroupScore(group="anatomy", n=4, estimate=Estimate(value=0.5, low=0.1, high=0.9)),
            BenchGroupScore(group="virology", n=4, estimate=Estimate(value=0.75, low=0.3, high=1)),
        ),
        macro=0.625,
    )
    comparison = BenchComparison(
        task="mmlu-subset",
        metric="acc",
        model_x="<b>my-7b</b>",
        model_y="ref",
        n_paired=8,
        difference=Estimate(value=0.25, low=-0.1, high=0.5),
        p_value=0.25,
        p_holm=0.5,
    )
    results = RunResults(
        run_name="bench",
        confidence=0.95,
        bootstrap_samples=100,
        combine_rule="none",
        comparisons=(),
        benchmarks=(score,),
        benchmark_comparisons=(comparison,),
    )
    page_html = render_report(results, [], [], [], [], {}, bench_kinds={"mmlu-subset": "mmlu"})
    page = _Page(page_html)
    assert page.errors == [] and page.stack == []
    assert "benchmarks" in page.ids
    assert not {"breakdown", "position-bias", "prompts", "difference"} & page.ids
    bench = _section(page_html, "benchmarks")
    assert "62.5%" in bench and "[40.0, 80.0]" in bench
    assert "2 failed (not scored), 3 unparseable (scored wrong)" in bench
    assert "chat model answers with a letter" in bench
    for published in ("70.0%", "86.4%", "69.3%", "78.3%", "68.9%"):  # Llama 2 Table 4, MMLU
        assert published in bench
    assert "&lt;b&gt;my-7b&lt;/b&gt;" in bench and "<b>my-7b</b>" not in bench
    assert "macro average 62.5%" in bench and "virology" in bench
