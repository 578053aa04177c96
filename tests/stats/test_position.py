"""Position bias on handmade verdicts with known answers."""

from __future__ import annotations

import pytest

from onpar.records import Estimate, PairVerdict
from onpar.stats import position_bias, wilson_interval
from onpar.stats.position import position_counts


def _verdict(pid: str, xy: int | None, yx: int | None) -> PairVerdict:
    return PairVerdict(
        judge="j",
        prompt_id=pid,
        category="c",
        is_multi_turn=False,
        model_x="x",
        model_y="y",
        preference_xy=xy,
        preference_yx=yx,
    )


HANDMADE = [
    _verdict("consistent-x", 2, 1),  # xy: first (x) wins; yx: second (x) wins
    _verdict("first-biased", 1, -1),  # the first shown wins in both orders: inconsistent
    _verdict("tie", 0, 0),  # tie in both orders: consistent, no position win
    _verdict("only-xy", -3, None),  # y, shown second, wins
    _verdict("none", None, None),  # nothing judged
    _verdict("only-yx", None, 2),  # x, shown second, wins
    _verdict("tie-vs-win", 0, 1),  # tie then a win: inconsistent
]


def test_handmade_counts() -> None:
    assert position_counts(HANDMADE) == {
        "n_pairs": 4,
        "consistent": 2,
        "n_judgments": 10,
        "first_wins": 3,
        "second_wins": 4,
    }


def test_handmade_estimates() -> None:
    bias = position_bias(HANDMADE, confidence=0.9)
    assert bias.n_pairs == 4
    assert bias.n_judgments == 10
    assert bias.consistency == wilson_interval(2, 4, 0.9)
    assert bias.first_position_win_rate == wilson_interval(3, 10, 0.9)
    assert bias.second_position_win_rate == wilson_interval(4, 10, 0.9)
    assert bias.consistency.value == pytest.approx(0.5)


def test_judge_that_always_prefers_first_answer() -> None:
    verdicts = [_verdict(f"p{i}", 2, -2) for i in range(30)]
    bias = position_bias(verdicts)
    assert bias.consistency.value == 0.0
    assert bias.first_position_win_rate.value == 1.0
    assert bias.second_position_win_rate.value == 0.0
    assert bias.first_position_win_rate.low is not None
    assert bias.first_position_win_rate.low > 0.85


def test_judge_that_always_prefers_second_answer() -> None:
    verdicts = [_verdict(f"p{i}", -1, 3) for i in range(10)]
    bias = position_bias(verdicts)
    assert bias.consistency.value == 0.0
    assert bias.first_position_win_rate.value == 0.0
    assert bias.second_position_win_rate.value == 1.0


def test_unbiased_consistent_judge() -> None:
    # x better on half the prompts, y on the other half, same verdict in both orders.
    verdicts = [_verdict(f"x{i}", 2, 2) for i in range(10)]
    verdicts += [_verdict(f"y{i}", -1, -3) for i in range(10)]
    bias = position_bias(verdicts)
    assert bias.consistency == wilson_interval(20, 20)
    assert bias.first_position_win_rate.value == pytest.approx(0.5)
    assert bias.second_position_win_rate.value == pytest.approx(0.5)


def test_no_judgments() -> None:
    bias = position_bias([_verdict("a", None, None)])
    assert (bias.n_pairs, bias.n_judgments) == (0, 0)
    assert bias.consistency == Estimate(value=None)
    assert bias.first_position_win_rate == Estimate(value=None)
    assert position_bias([]).second_position_win_rate == Estimate(value=None)
