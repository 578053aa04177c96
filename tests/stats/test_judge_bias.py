"""Judge bias diagnostics on synthetic judges with a known (or no) length bias."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit

from onpar.stats import wilson_interval
from onpar.stats.judge_bias import (
    fit_soft_logistic,
    length_bias_bins,
    length_bias_slope,
    length_controlled_win_rate,
    self_preference,
)


def _judge(rng: np.random.Generator, prob_x: np.ndarray, tie_share: float = 0.0) -> np.ndarray:
    """Outcome codes: a tie with probability tie_share, else x wins with probability prob_x."""
    u = rng.random(prob_x.shape)
    decisive = np.where(rng.random(prob_x.shape) < prob_x, 1.0, -1.0)
    return np.where(u < tie_share, 0.0, decisive)


def _lengths(rng: np.random.Generator, n: int, mean: float) -> np.ndarray:
    return rng.normal(mean, 300.0, size=n)


# --- the logistic fitter ----------------------------------------------------------------


def test_soft_logistic_matches_direct_minimisation() -> None:
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(500), rng.normal(size=500), rng.normal(size=500)])
    y = rng.choice([0.0, 0.5, 1.0], size=500, p=[0.3, 0.2, 0.5])

    def nll(b: np.ndarray) -> float:
        eta = x @ b
        return float(np.sum(np.logaddexp(0.0, eta) - y * eta))

    reference = minimize(nll, np.zeros(3), method="BFGS", options={"gtol": 1e-10}).x
    beta, _ = fit_soft_logistic(x, y)
    np.testing.assert_allclose(beta, reference, atol=1e-5)


def test_intercept_only_fit_reproduces_the_mean() -> None:
    y = np.array([1.0, 0.5, 0.0, 1.0, 1.0, 0.5])
    beta, _ = fit_soft_logistic(np.ones((6, 1)), y)
    assert expit(beta[0]) == pytest.approx(y.mean(), abs=1e-6)  # up to the tiny ridge


def test_sandwich_is_close_to_the_inverse_information_when_well_specified() -> None:
    rng = np.random.default_rng(1)
    x = np.column_stack([np.ones(20000), rng.normal(size=20000)])
    y = (rng.random(20000) < expit(x @ np.array([0.3, -0.8]))).astype(float)
    beta, cov = fit_soft_logistic(x, y)
    p = expit(x @ beta)
    inverse_information = np.linalg.inv((x.T * (p * (1 - p))) @ x)
    np.testing.assert_allclose(np.diag(cov), np.diag(inverse_information), rtol=0.1)


def test_separable_data_stay_finite() -> None:
    beta, cov = fit_soft_logistic(np.ones((20, 1)), np.ones(20))
    assert np.isfinite(beta).all() and np.isfinite(cov).all()
    assert expit(beta[0]) > 0.999


# --- length bias ---------------------------------------------------------------------


def test_length_bins_rise_with_a_length_biased_judge() -> None:
    rng = np.random.default_rng(2)
    diff = _lengths(rng, 2000, 0.0)
    outcomes = _judge(rng, expit(1.5 * diff / 300.0), tie_share=0.1)
    bins = length_bias_bins(outcomes, diff, n_bins=5)
    assert len(bins) == 5
    assert sum(b.n for b in bins) == 2000
    assert all(b.n == 400 for b in bins)
    assert all(a.high < b.low for a, b in itertools.pairwise(bins))
    win_rates = [b.win_rate.value for b in bins]
    assert win_rates == sorted(win_rates)
    assert bins[0].win_rate.high < bins[-1].win_rate.low
    first = outcomes[diff <= bins[0].high]
    assert bins[0].win_rate == wilson_interval(int((first == 1).sum()), first.size)
    assert bins[0].loss_rate == wilson_interval(int((first == -1).sum()), first.size)


def test_length_bins_merge_tied_edges_and_skip_missing() -> None:
    diff = np.array([0.0] * 8 + [10.0, 20.0, 30.0, 40.0, 50.0])
    outcomes = ["win"] * 5 + ["loss"] * 7 + [None]  # diff 50 has no outcome: dropped
    bins = length_bias_bins(outcomes, diff, n_bins=4)
    # Quartiles of the 12 kept values: 0, 0, 0, 12.5, 40 -> edges 0, 12.5, 40.
    assert [b.n for b in bins] == [9, 3]
    assert [(b.low, b.high) for b in bins] == [(0.0, 10.0), (20.0, 40.0)]
    assert bins[0].win_rate.value == pytest.approx(5 / 9)
    assert length_bias_bins([None], [1.0]) == ()


def test_length_slope_recovers_a_known_slope() -> None:
    rng = np.random.default_rng(3)
    diff = _lengths(rng, 4000, 100.0)
    z = diff / diff.std(ddof=1)
    result = length_bias_slope(_judge(rng, expit(-0.2 + 0.7 * z)), diff)
    assert result.slope.low < 0.7 < result.slope.high
    assert result.slope.low > 0.5
    assert result.intercept == pytest.approx(-0.2, abs=0.1)
    assert result.len_diff_sd == pytest.approx(diff.std(ddof=1))


def test_length_slope_without_bias_covers_zero() -> None:
    rng = np.random.default_rng(4)
    diff = _lengths(rng, 3000, 100.0)
    result = length_bias_slope(_judge(rng, np.full(3000, 0.55), tie_share=0.2), diff)
    assert result.slope.low < 0.0 < result.slope.high
    constant = length_bias_slope(["win", "loss"], [5.0, 5.0])
    assert constant.slope.value is None and constant.len_diff_sd is None


# --- self-preference ------------------------------------------------------------------


def test_self_preference_handmade() -> None:
    # Pairs 0-2: judge is x; pairs 3-4: judge is y; pair 5: judge not a contestant.
    judge = ["win", "win", "tie", "loss", "loss", "win"]
    reference = ["win", "loss", "loss", "win", "loss", "loss"]
    is_x = [True, True, True, False, False, False]
    is_y = [False, False, False, True, True, False]
    result = self_preference(judge, reference, is_x, is_y, n_boot=500)
    # Judge's own-side outcomes: win, win, tie, win, win -> 4 of 5.
    # Reference own-side outcomes: win, loss, loss, loss, win -> 2 of 5.
    assert result.n == 5
    assert result.judge_own_win_rate == wilson_interval(4, 5)
    assert result.reference_own_win_rate == wilson_interval(2, 5)
    assert result.difference.value == pytest.approx(0.4)
    assert result.difference.low <= 0.4 <= result.difference.high


def test_self_preference_detects_a_self_favouring_judge() -> None:
    rng = np.random.default_rng(5)
    n = 600
    reference = _judge(rng, np.full(n, 0.5))
    is_x = rng.random(n) < 0.5
    # The judge agrees with the reference but turns 30% of its own losses into wins.
    own_loss = np.where(is_x, reference == -1, reference == 1)
    flip = own_loss & (rng.random(n) < 0.3)
    judge = np.where(flip, -reference, reference)
    result = self_preference(judge, reference, is_x, ~is_x)
    assert result.difference.low > 0.05
    assert result.judge_own_win_rate.value > result.reference_own_win_rate.value
    with pytest.raises(ValueError):
        self_preference(judge, reference, is_x, is_x)


# --- length-controlled win rate -------------------------------------------------------


def test_lc_win_rate_removes_a_known_length_bias() -> None:
    rng = np.random.default_rng(6)
    n, true_rate = 4000, 0.4
    diff = _lengths(rng, n, 250.0)  # x writes longer answers
    theta = math.log(true_rate / (1 - true_rate))
    prob = expit(theta + 1.5 * np.tanh(diff / diff.std(ddof=1)))
    result = length_controlled_win_rate(_judge(rng, prob), diff)
    assert result.raw_win_rate.value > true_rate + 0.1  # inflated by verbosity
    assert result.lc_win_rate.value == pytest.approx(true_rate, abs=0.03)
    assert result.lc_win_rate.low < true_rate < result.lc_win_rate.high
    assert result.phi == pytest.approx(1.5, abs=0.3)
    assert result.lc_win_rate.value == pytest.approx(expit(result.theta))


def test_lc_win_rate_equals_raw_without_length_bias() -> None:
    rng = np.random.default_rng(7)
    diff = _lengths(rng, 3000, 250.0)
    result = length_controlled_win_rate(_judge(rng, np.full(3000, 0.6), 0.15), diff)
    assert result.lc_win_rate.value == pytest.approx(result.raw_win_rate.value, abs=0.02)
    assert abs(result.phi) < 0.2


def test_lc_win_rate_with_instruction_difficulty() -> None:
    rng = np.random.default_rng(8)
    n = 4000
    diff, difficulty = _lengths(rng, n, -200.0), rng.normal(size=n)
    base = 0.3 - 0.8 * difficulty
    prob = expit(base + 1.0 * np.tanh(diff / diff.std(ddof=1)))
    result = length_controlled_win_rate(_judge(rng, prob), diff, difficulty)
    truth = float(expit(base).mean())
    assert result.raw_win_rate.value < truth - 0.05  # x is shorter and penalised for it
    assert result.lc_win_rate.value == pytest.approx(truth, abs=0.03)
    assert result.gamma == pytest.approx(-0.8, abs=0.15)


def test_lc_win_rate_interval_covers_in_repeated_samples() -> None:
    rng = np.random.default_rng(9)
    hits, runs = 0, 300
    for _ in range(runs):
        diff = _lengths(rng, 400, 150.0)
        prob = expit(0.2 + 1.0 * np.tanh(diff / 300.0))
        lc = length_controlled_win_rate(_judge(rng, prob), diff).lc_win_rate
        hits += lc.low <= expit(0.2) <= lc.high
    assert abs(hits / runs - 0.95) < 0.04


def test_lc_win_rate_edge_cases() -> None:
    all_ties = length_controlled_win_rate(["tie"] * 10, np.arange(10.0))
    assert all_ties.lc_win_rate.value == pytest.approx(0.5, abs=1e-6)
    same_length = length_controlled_win_rate(["win", "win", "loss", "tie"], [3.0] * 4)
    assert same_length.len_diff_sd is None
    assert same_length.lc_win_rate.value == pytest.approx(same_length.raw_win_rate.value)
    with pytest.raises(ValueError):
        length_controlled_win_rate(["win"], [1.0])
    with pytest.raises(ValueError):
        length_controlled_win_rate(["win", "loss"], [1.0, 2.0], instruction_difficulty=[0.0])
