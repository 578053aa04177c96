"""AlpacaEval's win rate and standard error, recomputed exactly from an annotations file.

Expected numbers are worked out by hand below from AlpacaEval's definition
(alpaca_eval/metrics/helpers.py, BaseScoringRule.describe_head2head with the absolute rule;
discrete_win_rate with the zero-one rule), not taken from running this code.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from onpar.data.judgments import load_judgments
from onpar.stats.alpaca_eval import alpaca_eval_win_rate

# Handmade annotations: ties (1.5 and the legacy draw code 0), fractional (weighted
# annotator) and null (failed) preferences.
PREFERENCES: list[float | None] = [2.0, 1.0, 1.5, 0, 1.75, 1.25, 2.0, 1.9, None, None]

# By hand: nulls are dropped, 0 counts as 1.5, then each kept value minus 1 is
#   x = [1.0, 0.0, 0.5, 0.5, 0.75, 0.25, 1.0, 0.9]        n_total = 8
#   sum x = 4.9, mean = 0.6125                         -> win_rate = 61.25 (percent)
#   sum x^2 = 1 + 0 + .25 + .25 + .5625 + .0625 + 1 + .81 = 3.935
#   sum (x - mean)^2 = 3.935 - 8 * 0.6125^2 = 3.935 - 3.00125 = 0.93375
#   sample variance = 0.93375 / 7; standard error = sqrt(0.93375 / 7 / 8) = 0.129128...
#                                                      -> standard_error = 12.9128... (percent)
#   x > 0.5: 1.0, 0.75, 1.0, 0.9                       -> n_wins = 4
#   x < 0.5: 0.0, 0.25                                 -> n_wins_base = 2
#   preference exactly 1.5 (or 0): items 3 and 4       -> n_draws = 2
#   zero-one rule rounds first: 1.75 -> 2, 1.25 -> 1, 1.9 -> 2, draws stay 0.5:
#   [1, 0, .5, .5, 1, 0, 1, 1] sums to 5 over 8        -> discrete_win_rate = 62.5
EXPECTED = {
    "win_rate": 61.25,
    "standard_error": 100 * math.sqrt(0.93375 / 56),
    "n_wins": 4,
    "n_wins_base": 2,
    "n_draws": 2,
    "n_total": 8,
    "discrete_win_rate": 62.5,
}


def _assert_matches(result: dict[str, float | int], expected: dict[str, float | int]) -> None:
    assert set(result) == set(expected)
    for key, value in expected.items():
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(result[key]), key
        else:
            assert result[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key


def test_handmade_preferences() -> None:
    _assert_matches(alpaca_eval_win_rate(PREFERENCES), EXPECTED)
    assert EXPECTED["standard_error"] == pytest.approx(12.9128, abs=1e-4)


def test_from_a_handmade_annotations_file(tmp_path: Path) -> None:
    """The raw preferences kept by the loader reproduce the same numbers."""
    records = [
        {
            "instruction": f"instruction {i}",
            "output_1": "baseline answer",
            "generator_1": "gpt4_1106_preview",
            "output_2": "model answer",
            "generator_2": "my-model",
            "annotator": "weighted_alpaca_eval_gpt4_turbo",
            "preference": preference,
        }
        for i, preference in enumerate(PREFERENCES)
    ]
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(records, indent=2), encoding="utf-8")
    ratings = load_judgments(path, "alpaca_eval")
    _assert_matches(alpaca_eval_win_rate([r.preference for r in ratings]), EXPECTED)


def test_out_of_range_values_are_dropped_as_alpaca_eval_does() -> None:
    """AlpacaEval keeps only 1 <= p <= 2 (after 0 -> 1.5); NaN counts like null.

    By hand: kept x = [1.0, 0.0]: mean 0.5 -> 50; sem = sqrt(0.5 / 2) = 0.5 -> 50.
    The zero-one rule rounds 2.4 to 2 and 0.3 to 0 (a draw), so it keeps
    [1, 0, 1, 0.5]: 2.5 / 4 -> 62.5.
    """
    result = alpaca_eval_win_rate([2.0, 1.0, 2.4, 0.3, -1.0, 7.0, math.nan, math.inf])
    _assert_matches(
        result,
        {
            "win_rate": 50.0,
            "standard_error": 50.0,
            "n_wins": 1,
            "n_wins_base": 1,
            "n_draws": 0,
            "n_total": 2,
            "discrete_win_rate": 62.5,
        },
    )


def test_rounding_is_half_to_even_and_near_draws_are_not_draws() -> None:
    """1.5000001 is a win for n_wins but not a draw; 2.5 rounds to 2 (numpy/pandas round).

    By hand: kept x = [0.5000001]: win_rate 50.00001, n_wins 1, n_draws 0;
    discrete: 1.5000001 rounds to 2 -> 100. One value: standard error undefined (NaN).
    """
    result = alpaca_eval_win_rate([1.5000001])
    assert result["n_wins"] == 1 and result["n_draws"] == 0
    assert result["win_rate"] == pytest.approx(50.00001)
    assert result["discrete_win_rate"] == 100.0
    assert math.isnan(result["standard_error"])
    assert alpaca_eval_win_rate([2.5, 1.0])["discrete_win_rate"] == 50.0  # 2.5 -> 2 -> win


def test_no_usable_preferences() -> None:
    result = alpaca_eval_win_rate([None, None])
    assert (result["n_total"], result["n_wins"], result["n_wins_base"], result["n_draws"]) == (
        0,
        0,
        0,
        0,
    )
    assert math.isnan(result["win_rate"]) and math.isnan(result["standard_error"])
    assert math.isnan(alpaca_eval_win_rate([])["discrete_win_rate"])


def test_agrees_with_pandas_sem_when_pandas_is_installed() -> None:
    """AlpacaEval computes with pandas; its Series.mean/sem must give the same floats."""
    pd = pytest.importorskip("pandas")
    prefs = [1.0, 2.0, 1.5, 1.3, 1.7, 1.11, 1.99, 0, None, 1.0 + 1 / 3]
    series = pd.Series(prefs, dtype=float).replace(0.0, 1.5)
    kept = series[(series >= 1) & (series <= 2)] - 1
    result = alpaca_eval_win_rate(prefs)
    assert result["win_rate"] == kept.mean() * 100
    assert result["standard_error"] == kept.sem() * 100
