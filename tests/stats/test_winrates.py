"""Bootstrap win / tie / loss rates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import bootstrap

from onpar.records import Estimate, Outcome, WinTieLoss
from onpar.stats import bootstrap_win_tie_loss
from onpar.stats.winrates import count_outcomes

RATE_FIELDS = ("win_rate", "tie_rate", "loss_rate", "win_share", "win_rate_tie_half")


def _outcomes(wins: int, ties: int, losses: int, seed: int = 0) -> list[Outcome]:
    items: list[Outcome] = ["win"] * wins + ["tie"] * ties + ["loss"] * losses
    order = np.random.default_rng(seed).permutation(len(items))
    return [items[i] for i in order]


def _width(est: Estimate) -> float:
    assert est.low is not None and est.high is not None
    return est.high - est.low


def _assert_brackets(result: WinTieLoss) -> None:
    for name in RATE_FIELDS:
        est: Estimate = getattr(result, name)
        if est.value is None:
            assert est.low is None and est.high is None
            continue
        assert est.low is not None and est.high is not None
        assert 0.0 <= est.low <= est.value <= est.high <= 1.0, (name, est)


def test_counts_and_point_values() -> None:
    result = bootstrap_win_tie_loss(_outcomes(6, 3, 1), n_boot=200)
    assert (result.n, result.wins, result.ties, result.losses) == (10, 6, 3, 1)
    assert result.win_rate.value == pytest.approx(0.6)
    assert result.tie_rate.value == pytest.approx(0.3)
    assert result.loss_rate.value == pytest.approx(0.1)
    assert result.win_share.value == pytest.approx(6 / 7)
    assert result.win_rate_tie_half.value == pytest.approx(0.75)
    _assert_brackets(result)


def test_all_wins_gives_degenerate_intervals() -> None:
    result = bootstrap_win_tie_loss(["win"] * 40, n_boot=500)
    assert result.win_rate == Estimate(value=1.0, low=1.0, high=1.0)
    assert result.tie_rate == Estimate(value=0.0, low=0.0, high=0.0)
    assert result.loss_rate == Estimate(value=0.0, low=0.0, high=0.0)
    assert result.win_share == Estimate(value=1.0, low=1.0, high=1.0)
    assert result.win_rate_tie_half == Estimate(value=1.0, low=1.0, high=1.0)


def test_all_ties_has_no_win_share() -> None:
    result = bootstrap_win_tie_loss(["tie"] * 12, n_boot=100)
    assert result.win_share == Estimate(value=None)
    assert result.tie_rate == Estimate(value=1.0, low=1.0, high=1.0)
    assert result.win_rate_tie_half == Estimate(value=0.5, low=0.5, high=0.5)


def test_win_share_drops_resamples_without_decisive_outcome() -> None:
    # One win among 20 ties: ~36% of resamples hold no win, so win_share is undefined there;
    # where it is defined it is always 1, so the interval must be exactly [1, 1].
    result = bootstrap_win_tie_loss(_outcomes(1, 20, 0), n_boot=1000, seed=3)
    assert result.win_share == Estimate(value=1.0, low=1.0, high=1.0)
    assert result.win_rate.low == 0.0


def test_empty_sample_has_no_values() -> None:
    result = bootstrap_win_tie_loss([], n_boot=100)
    assert (result.n, result.wins, result.ties, result.losses) == (0, 0, 0, 0)
    for name in RATE_FIELDS:
        assert getattr(result, name) == Estimate(value=None)


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="outcome must be one of"):
        count_outcomes(["win", "draw"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="outcome must be one of"):
        bootstrap_win_tie_loss(["win", None])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        bootstrap_win_tie_loss(["win"], confidence=1.5)
    with pytest.raises(ValueError):
        bootstrap_win_tie_loss(["win"], n_boot=0)


def test_reproducible_with_seed() -> None:
    outcomes = _outcomes(30, 10, 20)
    first = bootstrap_win_tie_loss(outcomes, n_boot=500, seed=42)
    assert first == bootstrap_win_tie_loss(outcomes, n_boot=500, seed=42)
    assert first != bootstrap_win_tie_loss(outcomes, n_boot=500, seed=43)
    # Resampling prompts does not depend on their order, only on the counts.
    assert first == bootstrap_win_tie_loss(sorted(outcomes), n_boot=500, seed=42)


def test_width_shrinks_with_n() -> None:
    small = bootstrap_win_tie_loss(_outcomes(20, 10, 20), n_boot=1000)
    large = bootstrap_win_tie_loss(_outcomes(200, 100, 200), n_boot=1000)
    for name in RATE_FIELDS:
        ratio = _width(getattr(large, name)) / _width(getattr(small, name))
        # Widths scale like 1/sqrt(n): sqrt(50/500) ≈ 0.32.
        assert 0.2 < ratio < 0.45, (name, ratio)


def test_half_width_matches_normal_approximation() -> None:
    result = bootstrap_win_tie_loss(_outcomes(1000, 0, 1000), n_boot=2000, seed=1)
    expected = 1.96 * math.sqrt(0.25 / 2000)
    half = _width(result.win_rate) / 2
    assert half == pytest.approx(expected, rel=0.15)
    assert _width(result.win_share) / 2 == pytest.approx(expected, rel=0.15)


def test_win_rate_interval_matches_scipy_percentile_bootstrap() -> None:
    outcomes = _outcomes(130, 70, 100, seed=5)
    is_win = np.array([o == "win" for o in outcomes], dtype=float)
    ours = bootstrap_win_tie_loss(outcomes, n_boot=5000, seed=0).win_rate
    ref = bootstrap(
        (is_win,), np.mean, method="percentile", n_resamples=5000, rng=np.random.default_rng(1)
    ).confidence_interval
    assert ours.low == pytest.approx(ref.low, abs=0.01)
    assert ours.high == pytest.approx(ref.high, abs=0.01)


def test_coverage_of_true_rates() -> None:
    probs = np.array([0.45, 0.2, 0.35])
    true_share = probs[0] / (probs[0] + probs[2])
    rng = np.random.default_rng(2024)
    covered = {"win_rate": 0, "win_share": 0, "win_rate_tie_half": 0}
    truth = {"win_rate": probs[0], "win_share": true_share, "win_rate_tie_half": 0.55}
    n_sets = 200
    for i in range(n_sets):
        wins, ties, losses = rng.multinomial(200, probs)
        result = bootstrap_win_tie_loss(_outcomes(wins, ties, losses), n_boot=500, seed=i)
        for name in covered:
            est: Estimate = getattr(result, name)
            assert est.low is not None and est.high is not None
            covered[name] += est.low <= truth[name] <= est.high
    for name, hits in covered.items():
        assert 0.90 <= hits / n_sets <= 0.99, (name, hits)


@settings(max_examples=75, deadline=None)
@given(
    outcomes=st.lists(st.sampled_from(["win", "tie", "loss"]), max_size=300),
    confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_properties(outcomes: list[Outcome], confidence: float, seed: int) -> None:
    result = bootstrap_win_tie_loss(outcomes, confidence=confidence, n_boot=200, seed=seed)
    assert result.n == len(outcomes) == result.wins + result.ties + result.losses
    _assert_brackets(result)
    if result.n == 0:
        return
    rates = [result.win_rate.value, result.tie_rate.value, result.loss_rate.value]
    assert sum(r or 0.0 for r in rates) == pytest.approx(1.0)
    assert (result.win_share.value is None) == (result.wins + result.losses == 0)
