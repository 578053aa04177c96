"""Significance tests, paired differences, Holm, equivalence and batched win/tie/loss CIs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from onpar.records import Estimate
from onpar.stats import bootstrap_win_tie_loss, paired_bootstrap
from onpar.stats.significance import (
    equivalence_confidence,
    equivalence_verdict,
    holm_adjust,
    mcnemar_test,
    outcome_codes,
    paired_accuracy_difference,
    paired_difference_replicates,
    paired_win_rate_difference,
    sign_test,
    tost_p_value,
    win_tie_loss_cis,
)


def _binomial_two_sided(k: int, n: int) -> float:
    """Brute force: total probability of outcomes no more likely than k under Bin(n, 1/2)."""
    probs = [math.comb(n, i) / 2**n for i in range(n + 1)]
    return min(1.0, sum(p for p in probs if p <= probs[k] * (1 + 1e-7)))


@pytest.mark.parametrize(("wins", "losses"), [(0, 1), (3, 7), (10, 0), (12, 12), (40, 25), (1, 60)])
def test_sign_test_matches_brute_force_binomial(wins: int, losses: int) -> None:
    assert sign_test(wins, losses) == pytest.approx(_binomial_two_sided(wins, wins + losses))


def test_sign_test_edge_cases() -> None:
    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 5) == pytest.approx(1.0)
    assert sign_test(7, 2) == pytest.approx(sign_test(2, 7))
    with pytest.raises(ValueError):
        sign_test(-1, 3)


def test_outcome_codes_accept_strings_and_codes() -> None:
    assert outcome_codes(["win", "tie", "loss"]).tolist() == [1, 0, -1]
    assert outcome_codes(np.array([1, 0, -1, 1])).tolist() == [1, 0, -1, 1]
    with pytest.raises(ValueError):
        outcome_codes(["win", "draw"])
    with pytest.raises(ValueError):
        outcome_codes([2])


def _paired_outcomes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.choice([-1, 0, 1], size=n, p=[0.3, 0.2, 0.5])
    # b agrees with a on most prompts (paired data), otherwise random
    b = np.where(rng.random(n) < 0.6, a, rng.choice([-1, 0, 1], size=n, p=[0.4, 0.2, 0.4]))
    return a, b


@pytest.mark.parametrize("tie_weight", [0.0, 0.5])
def test_paired_win_rate_difference_matches_prompt_resampling(tie_weight: float) -> None:
    a, b = _paired_outcomes(300, seed=1)
    ours = paired_win_rate_difference(a, b, n_boot=20_000, seed=3, tie_weight=tie_weight)
    weights = np.array([0.0, tie_weight, 1.0])
    scores = np.stack([weights[a + 1], weights[b + 1]], axis=1)
    expected = scores[:, 0].mean() - scores[:, 1].mean()
    reference = paired_bootstrap(
        scores, lambda x: x[..., 0].mean(axis=1) - x[..., 1].mean(axis=1), n_boot=20_000, seed=5
    )
    assert ours.value == pytest.approx(expected, abs=1e-12)
    assert reference.value == pytest.approx(expected, abs=1e-12)
    # Same bootstrap distribution, different random draws: bounds agree to MC error.
    assert ours.low == pytest.approx(reference.low, abs=0.004)
    assert ours.high == pytest.approx(reference.high, abs=0.004)


def test_paired_difference_is_narrower_than_unpaired_for_correlated_data() -> None:
    a, b = _paired_outcomes(400, seed=2)
    paired = paired_win_rate_difference(a, b, n_boot=4000, seed=0)
    rng = np.random.default_rng(0)
    resample_a = a[rng.integers(0, a.size, size=(4000, a.size))]
    resample_b = b[rng.integers(0, b.size, size=(4000, b.size))]
    unpaired = np.mean(resample_a == 1, axis=1) - np.mean(resample_b == 1, axis=1)
    low, high = np.quantile(unpaired, [0.025, 0.975])
    assert paired.high - paired.low < 0.9 * (high - low)


def test_paired_win_rate_difference_symmetry_and_strings() -> None:
    a, b = _paired_outcomes(200, seed=4)
    names = {1: "win", 0: "tie", -1: "loss"}
    forward = paired_win_rate_difference([names[v] for v in a], [names[v] for v in b], seed=9)
    backward = paired_win_rate_difference(b, a, seed=9)
    assert forward.value == pytest.approx(-backward.value)
    same = paired_win_rate_difference(a, a, seed=9)
    assert same == Estimate(value=0.0, low=0.0, high=0.0)


def test_paired_difference_replicates_validation_and_empty() -> None:
    value, replicates = paired_difference_replicates(np.array([]), np.array([]))
    assert math.isnan(value) and replicates.size == 0
    assert paired_win_rate_difference([], []) == Estimate(value=None)
    with pytest.raises(ValueError):
        paired_difference_replicates(np.ones(3), np.ones(4))


def _correctness(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.random(n) < 0.7
    b = np.where(rng.random(n) < 0.7, a, rng.random(n) < 0.55)
    return a, b


def test_mcnemar_exact_is_binomial_on_discordant_pairs() -> None:
    a, b = _correctness(250, seed=0)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    assert only_a + only_b > 10
    assert mcnemar_test(a, b) == pytest.approx(_binomial_two_sided(only_a, only_a + only_b))
    assert mcnemar_test(a, b) == pytest.approx(mcnemar_test(b, a))


def test_mcnemar_chi_square_formula() -> None:
    a = np.array([1] * 30 + [0] * 12 + [1] * 50 + [0] * 8, dtype=bool)
    b = np.array([0] * 30 + [1] * 12 + [1] * 50 + [0] * 8, dtype=bool)
    corrected = chi2.sf((abs(30 - 12) - 1) ** 2 / 42, df=1)
    plain = chi2.sf((30 - 12) ** 2 / 42, df=1)
    assert mcnemar_test(a, b, method="chi2") == pytest.approx(corrected, rel=1e-12)
    assert mcnemar_test(a, b, method="chi2", correction=False) == pytest.approx(plain, rel=1e-12)
    # With many discordant pairs the exact and continuity-corrected tests nearly agree.
    big_a = np.array([1] * 520 + [0] * 480, dtype=bool)
    assert mcnemar_test(big_a, ~big_a, method="chi2") == pytest.approx(
        mcnemar_test(big_a, ~big_a), abs=0.005
    )


def test_mcnemar_edge_cases() -> None:
    same = np.array([1, 0, 1], dtype=bool)
    assert mcnemar_test(same, same) == 1.0
    assert mcnemar_test(same, same, method="chi2") == 1.0
    balanced = np.array([1, 0], dtype=bool)
    assert mcnemar_test(balanced, ~balanced, method="chi2") == 1.0
    with pytest.raises(ValueError):
        mcnemar_test(np.array([0, 2]), np.array([0, 1]))
    with pytest.raises(ValueError):
        mcnemar_test(same, same, method="z")  # type: ignore[arg-type]


def test_paired_accuracy_difference_matches_prompt_resampling() -> None:
    a, b = _correctness(300, seed=3)
    ours = paired_accuracy_difference(a, b, n_boot=20_000, seed=1)
    data = np.stack([a, b], axis=1).astype(float)
    reference = paired_bootstrap(
        data, lambda x: x[..., 0].mean(axis=1) - x[..., 1].mean(axis=1), n_boot=20_000, seed=2
    )
    assert ours.value == pytest.approx(a.mean() - b.mean(), abs=1e-12)
    assert ours.low == pytest.approx(reference.low, abs=0.004)
    assert ours.high == pytest.approx(reference.high, abs=0.004)


def _holm_brute_force(p: list[float]) -> list[float]:
    """Adjusted p_i = smallest α at which Holm's step-down procedure rejects H_i."""
    m = len(p)
    candidates = sorted({min(1.0, k * v) for v in p for k in range(1, m + 1)} | {1.0})
    adjusted = [1.0] * m
    for alpha in reversed(candidates):
        rejected, order = set(), sorted(range(m), key=lambda i: p[i])
        for step, i in enumerate(order):
            if p[i] * (m - step) > alpha * (1 + 1e-12):
                break
            rejected.add(i)
        for i in rejected:
            adjusted[i] = alpha
    return adjusted


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=8))
def test_holm_matches_brute_force(p: list[float]) -> None:
    assert holm_adjust(p) == pytest.approx(_holm_brute_force(p), abs=1e-12)


def test_holm_handmade() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 scaled by 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04 → 0.06
    assert holm_adjust(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm_adjust([0.5, 0.9]).tolist() == [1.0, 1.0]
    assert holm_adjust(np.array([[0.01, 0.02]])).shape == (1, 2)
    assert holm_adjust([]).size == 0
    with pytest.raises(ValueError):
        holm_adjust([0.1, float("nan")])


def test_equivalence_verdicts() -> None:
    assert equivalence_confidence(0.95) == pytest.approx(0.90)
    margin = 0.05
    on_par = Estimate(value=0.01, low=-0.02, high=0.04)
    assert equivalence_verdict(on_par, margin) == "on par"
    tiny_real = Estimate(value=0.02, low=0.01, high=0.03)  # excludes 0 but inside margin
    assert equivalence_verdict(tiny_real, margin) == "on par"
    assert equivalence_verdict(Estimate(value=0.1, low=0.04, high=0.16), margin) == "different"
    assert equivalence_verdict(Estimate(value=-0.1, low=-0.2, high=-0.01), margin) == "different"
    wide = Estimate(value=0.0, low=-0.08, high=0.07)
    assert equivalence_verdict(wide, margin) == "inconclusive"
    # The 95% CI straddles the margin, the 90% CI does not: TOST at 5% says on par.
    narrower = Estimate(value=0.0, low=-0.045, high=0.04)
    assert equivalence_verdict(wide, margin, equivalence_ci=narrower) == "on par"
    assert equivalence_verdict(Estimate(value=None), margin) == "inconclusive"
    with pytest.raises(ValueError):
        equivalence_verdict(on_par, 0.0)


def test_tost_p_value_is_dual_to_the_percentile_interval() -> None:
    a, b = _paired_outcomes(500, seed=6)
    value, replicates = paired_difference_replicates(a == 1, b == 1, n_boot=20_000, seed=0)
    for margin in (0.01, 0.03, 0.05, 0.08, 0.12):
        p = tost_p_value(replicates, margin)
        expected = max(np.mean(replicates <= -margin), np.mean(replicates >= margin))
        assert p == pytest.approx(expected)
        for alpha in (0.05, 0.1):
            if abs(p - alpha) < 0.005:
                continue  # too close to call given quantile interpolation
            low, high = np.quantile(replicates, [alpha, 1 - alpha])
            assert (p < alpha) == (-margin < low and high < margin), (margin, alpha, value)
    assert math.isnan(tost_p_value(np.array([np.nan]), 0.1))


def test_win_tie_loss_cis_single_row_matches_bootstrap_win_tie_loss() -> None:
    rng = np.random.default_rng(0)
    row = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=(1, 500), p=[0.3, 0.2, 0.5])
    ours = win_tie_loss_cis(row, n_boot=2000, confidence=0.9, seed=11)
    names = {1: "win", 0: "tie", -1: "loss"}
    ref = bootstrap_win_tie_loss([names[v] for v in row[0]], 0.9, 2000, 11)
    for column, est in enumerate((ref.win_rate, ref.tie_rate, ref.loss_rate)):
        assert ours.rate[0, column] == pytest.approx(est.value, abs=1e-12)
        assert ours.low[0, column] == pytest.approx(est.low, abs=1e-12)
        assert ours.high[0, column] == pytest.approx(est.high, abs=1e-12)


def test_win_tie_loss_cis_many_rows_match_gather_bootstrap() -> None:
    rng = np.random.default_rng(1)
    probs = rng.dirichlet([2, 1, 2], size=6)
    x = np.stack([rng.choice([1, 0, -1], size=800, p=p) for p in probs]).astype(np.int8)
    ours = win_tie_loss_cis(x, n_boot=4000, seed=2)
    for row, outcomes in enumerate(x):
        sample = outcomes[rng.integers(0, outcomes.size, size=(4000, outcomes.size))]
        rates = np.stack([np.mean(sample == code, axis=1) for code in (1, 0, -1)], axis=1)
        low, high = np.quantile(rates, [0.025, 0.975], axis=0)
        exact = [np.mean(outcomes == code) for code in (1, 0, -1)]
        assert ours.rate[row] == pytest.approx(exact, abs=1e-12)
        assert ours.low[row] == pytest.approx(low, abs=0.006)
        assert ours.high[row] == pytest.approx(high, abs=0.006)
    assert np.all(ours.low <= ours.rate) and np.all(ours.rate <= ours.high)


def test_win_tie_loss_cis_reproducible_and_validated() -> None:
    x = np.array([[1, 0, -1, 1], [1, 1, 1, 1]], dtype=np.int8)
    first, second = win_tie_loss_cis(x, seed=3), win_tie_loss_cis(x, seed=3)
    for left, right in itertools.zip_longest(first, second):
        np.testing.assert_array_equal(left, right)
    assert first.low[1].tolist() == [1.0, 0.0, 0.0]
    empty = win_tie_loss_cis(np.zeros((3, 0), dtype=np.int8))
    assert empty.rate.shape == (3, 3) and np.all(np.isnan(empty.rate))
    with pytest.raises(ValueError):
        win_tie_loss_cis(np.array([[2, 0]]))
    with pytest.raises(ValueError):
        win_tie_loss_cis(np.array([1, 0]))
