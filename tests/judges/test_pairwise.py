"""The pairwise judge's prompt, verdict reading and the two-order combination rules."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onpar.judges.combine import combine_orders, pair_verdict
from onpar.judges.pairwise import (
    Transcript,
    judge_messages,
    verdict_from_logprobs,
    verdict_from_text,
)
from onpar.judges.scale import HELPFULNESS_QUESTION, SEVEN_POINT_LABELS
from onpar.records import Judgment, PromptItem

SINGLE = PromptItem(id="p1", category="dialogue", turns=("Say hi.",))
MULTI = PromptItem(id="p2", category="dialogue", turns=("Name a fruit.", "Now a colour."))


def test_scale_is_llama2s_seven_points() -> None:
    assert SEVEN_POINT_LABELS == (
        "A is much better",
        "A is better",
        "A is slightly better",
        "About the same",
        "B is slightly better",
        "B is better",
        "B is much better",
    )


def test_single_turn_prompt_shows_both_answers_and_the_question() -> None:
    first = Transcript(user_turns=SINGLE.turns, answers=("Hello!",))
    second = Transcript(user_turns=SINGLE.turns, answers=("Go away.",))
    system, user = judge_messages(SINGLE, first, second, wants_digit=True)
    assert system.role == "system" and user.role == "user"
    text = user.content
    assert text.index("Assistant A: Hello!") < text.index("Assistant B: Go away.")
    assert HELPFULNESS_QUESTION in text
    assert all(f"{i}. {label}" in text for i, label in enumerate(SEVEN_POINT_LABELS, start=1))
    assert "single digit" in text


def test_multi_turn_prompt_shows_each_sides_history_and_rates_the_final_turn() -> None:
    first = Transcript(user_turns=MULTI.turns, answers=("Apple.", "Red."))
    second = Transcript(user_turns=MULTI.turns, answers=("Pear.", "Green."))
    text = judge_messages(MULTI, first, second, wants_digit=False)[1].content
    for fragment in (
        "Assistant A: Apple.",
        "Assistant A: Red.",
        "Assistant B: Pear.",
        "Assistant B: Green.",
    ):
        assert fragment in text
    assert "FINAL user turn" in text
    assert "Verdict: N" in text


def test_logprob_verdict_renormalises_over_the_seven_options() -> None:
    logprobs = [math.log(p) for p in (0.02, 0.03, 0.05, 0.1, 0.1, 0.2, 0.3)]  # sums to 0.8
    score, probs = verdict_from_logprobs(logprobs)
    assert score == 7
    assert sum(probs) == pytest.approx(1.0)
    assert probs[6] == pytest.approx(0.3 / 0.8)
    with pytest.raises(ValueError):
        verdict_from_logprobs([0.0] * 6)


@given(st.lists(st.floats(min_value=-50, max_value=0), min_size=7, max_size=7))
def test_logprob_verdict_is_the_argmax(logprobs: list[float]) -> None:
    score, probs = verdict_from_logprobs(logprobs)
    assert probs[score - 1] == max(probs)
    assert logprobs[score - 1] == pytest.approx(max(logprobs), abs=1e-12)
    assert all(0 <= p <= 1 for p in probs)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A is clearer.\nVerdict: 2", 2),
        ("verdict:6", 6),
        ("Verdict: **3**", 3),
        ("Verdict: [[5]]", 5),
        ("Early guess Verdict: 1 ... on reflection Verdict: 4", 4),
        ("I think B is slightly better overall.", 5),
        ("Both fine.", None),
        ("Verdict: 9", None),
        ("A is better, no wait, B is better", None),  # two labels: ambiguous
        ("", None),
    ],
)
def test_text_verdicts(text: str, expected: int | None) -> None:
    assert verdict_from_text(text) == expected


@pytest.mark.parametrize(
    ("pref_xy", "pref_yx", "agree", "mean"),
    [
        (2, 1, "win", "win"),
        (-1, -3, "loss", "loss"),
        (0, 0, "tie", "tie"),
        (1, 0, "tie", "win"),
        (3, -1, "tie", "win"),
        (1, -1, "tie", "tie"),
        (-2, 1, "tie", "loss"),
    ],
)
def test_combination_rules(pref_xy: int, pref_yx: int, agree: str, mean: str) -> None:
    assert combine_orders(pref_xy, pref_yx, "agree") == agree
    assert combine_orders(pref_xy, pref_yx, "mean") == mean


def judgment(order: str, score: int | None, error: str | None = None) -> Judgment:
    return Judgment(
        judge="j",
        prompt_id="p1",
        model_x="x",
        model_y="y",
        order=order,  # type: ignore[arg-type]
        score=score,
        error=error,
    )


def test_preference_is_from_model_xs_side_in_both_orders() -> None:
    assert judgment("xy", 1).preference_for_x == 3  # A = x, "A is much better"
    assert judgment("yx", 1).preference_for_x == -3  # A = y, "A is much better"
    assert judgment("yx", 6).preference_for_x == 2


def test_pair_verdict_position_bias_and_failures() -> None:
    biased = pair_verdict(SINGLE, "j", "x", "y", judgment("xy", 2), judgment("yx", 2), "agree")
    assert biased.outcome == "tie" and biased.is_position_consistent is False
    agreed = pair_verdict(SINGLE, "j", "x", "y", judgment("xy", 3), judgment("yx", 5), "agree")
    assert agreed.outcome == "win" and agreed.is_position_consistent is True
    failed = pair_verdict(
        SINGLE, "j", "x", "y", judgment("xy", 3), judgment("yx", None, "unparseable"), "agree"
    )
    assert failed.outcome is None and failed.missing_reason == "judge failed"
    missing = pair_verdict(
        SINGLE, "j", "x", "y", None, None, "agree", missing_reason="no answer from y"
    )
    assert missing.outcome is None and missing.missing_reason == "no answer from y"
