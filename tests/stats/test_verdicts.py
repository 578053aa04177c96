"""Run-level verdicts: on par or not, Holm across comparisons, length bias, leaderboards."""

from __future__ import annotations

import numpy as np
import pytest

from onpar.records import PairVerdict
from onpar.stats import summarize_comparison
from onpar.stats.verdicts import difference_test, leaderboard, length_bias, with_holm


def verdicts(outcomes: list[str | None], x: str = "x", y: str = "y") -> list[PairVerdict]:
    return [
        PairVerdict(
            judge="j",
            prompt_id=f"p{i}",
            category="c",
            is_multi_turn=False,
            model_x=x,
            model_y=y,
            outcome=o,
            missing_reason=None if o else "judge failed",
        )
        for i, o in enumerate(outcomes)
    ]


def test_clear_winner_is_different_with_a_small_p() -> None:
    result = difference_test(verdicts(["win"] * 40 + ["loss"] * 5), 0.95, 0.05, 1000, 0)
    assert result is not None and result.verdict == "different"
    assert result.net_preference.value == pytest.approx(35 / 45)
    assert result.sign_test_p is not None and result.sign_test_p < 1e-6
    tost = result.equivalence_interval
    assert result.net_preference.low < tost.low <= tost.high < result.net_preference.high  # type: ignore[operator]


def test_balanced_large_sample_is_on_par_and_small_one_inconclusive() -> None:
    balanced = ["win", "loss", "tie", "tie"] * 500  # net preference exactly 0, n = 2000
    assert difference_test(verdicts(balanced), 0.95, 0.05, 1000, 0).verdict == "on par"  # type: ignore[union-attr]
    small = difference_test(verdicts(["win", "loss", "tie"] * 4), 0.95, 0.05, 1000, 0)
    assert small is not None and small.verdict == "inconclusive"
    assert small.sign_test_p == pytest.approx(1.0)


def test_no_outcomes_gives_no_test() -> None:
    assert difference_test(verdicts([None, None]), 0.95, 0.05, 1000, 0) is None


def test_holm_is_applied_across_comparisons() -> None:
    sets = [verdicts(["win"] * 12 + ["loss"] * 3), verdicts(["win"] * 9 + ["loss"] * 6)]
    summaries = [
        summarize_comparison(vs, n_boot=200).model_copy(
            update={"difference": difference_test(vs, 0.95, 0.05, 200, 0)}
        )
        for vs in sets
    ]
    adjusted = with_holm(summaries)
    raw = sorted(s.difference.sign_test_p for s in summaries)  # type: ignore[union-attr]
    holm = sorted(s.difference.sign_test_p_holm for s in adjusted)  # type: ignore[union-attr]
    assert holm[0] == pytest.approx(min(1.0, 2 * raw[0]))
    assert holm[1] == pytest.approx(max(holm[0], raw[1]))


def test_length_bias_needs_ten_outcomes_and_sees_a_long_answer_judge() -> None:
    rng = np.random.default_rng(0)
    outcomes, lengths = [], {}
    for i in range(300):
        lx, ly = int(rng.integers(50, 500)), int(rng.integers(50, 500))
        lengths[("x", f"p{i}")], lengths[("y", f"p{i}")] = lx, ly
        outcomes.append("win" if lx > ly else "loss")  # the judge only rewards length
    result = length_bias(verdicts(outcomes), lengths, 0.95)
    assert result is not None and result.n == 300
    assert result.slope.low is not None and result.slope.low > 0
    assert length_bias(verdicts(outcomes[:9]), lengths, 0.95) is None


def test_leaderboard_orders_models_and_gives_win_probabilities() -> None:
    data = (
        verdicts(["win"] * 30 + ["loss"] * 10, "a", "b")
        + verdicts(["win"] * 30 + ["loss"] * 10, "b", "c")
        + verdicts(["win"] * 35 + ["tie"] * 5, "a", "c")
    )
    board = leaderboard("j", data, 0.95, 300, 0)
    assert board is not None and board.n_battles == 120
    assert [r.model for r in board.ratings] == ["a", "b", "c"]
    assert np.mean([r.rating.value for r in board.ratings]) == pytest.approx(1000)
    p = board.win_probability
    assert p["a"]["b"] + p["b"]["a"] == pytest.approx(1.0)
    assert p["a"]["c"] > p["a"]["b"] > 0.5


def test_small_samples_cannot_be_declared_on_par_or_different() -> None:
    all_ties = difference_test(verdicts(["tie"] * 3), 0.95, 0.05, 500, 0)
    assert all_ties is not None and all_ties.verdict == "inconclusive"
    low, high = all_ties.net_preference.low, all_ties.net_preference.high
    assert low is not None and high is not None and low < -0.4 and high > 0.4  # not [0, 0]
    five_wins = difference_test(verdicts(["win"] * 5), 0.95, 0.05, 500, 0)
    assert five_wins is not None and five_wins.sign_test_p == pytest.approx(0.0625)
    assert five_wins.verdict == "inconclusive"
    assert difference_test(verdicts(["win"] * 8), 0.95, 0.05, 500, 0).verdict == "different"  # type: ignore[union-attr]


def test_a_judge_that_always_says_tie_does_not_make_a_pair_on_par_cheaply() -> None:
    """Bootstrap alone gives [0, 0] for 50 ties of 50; the Newcombe bound keeps it honest."""
    fifty = difference_test(verdicts(["tie"] * 50), 0.95, 0.05, 1000, 0)
    assert fifty is not None and fifty.verdict == "inconclusive"
    z = 1.6448536269514722  # 90% two-sided: Wilson upper bound of 0/50 is z²/(n + z²)
    assert fifty.equivalence_interval.high == pytest.approx(z**2 / (50 + z**2))
    many = difference_test(verdicts(["tie"] * 200), 0.95, 0.05, 1000, 0)
    assert many is not None and many.verdict == "on par"  # 200 ties: win rate < 1.4% (90%)
