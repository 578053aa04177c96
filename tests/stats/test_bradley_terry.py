"""Bradley-Terry ratings against choix, brute force and handmade cases."""

from __future__ import annotations

import choix
import numpy as np
import pytest
from scipy.special import expit

from onpar.records import Estimate
from onpar.stats.bradley_terry import (
    ELO_ANCHOR,
    ELO_SCALE,
    bradley_terry,
    bradley_terry_bootstrap,
    bradley_terry_replicates,
    elo_from_strengths,
    win_matrix,
    win_probability_matrix,
)


def _battles(
    n_models: int, n_battles: int, seed: int, tie_rate: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Random battles from a BT model with N(0, 1) strengths: winners, losers, ties, θ."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 1.0, n_models)
    i = rng.integers(0, n_models, n_battles)
    j = (i + rng.integers(1, n_models, n_battles)) % n_models
    i_wins = rng.random(n_battles) < expit(theta[i] - theta[j])
    winners, losers = np.where(i_wins, i, j), np.where(i_wins, j, i)
    return winners, losers, rng.random(n_battles) < tie_rate, theta


def _strengths(ratings: np.ndarray) -> np.ndarray:
    return (ratings - ELO_ANCHOR) / ELO_SCALE


def test_matches_choix_maximum_likelihood() -> None:
    winners, losers, _, _ = _battles(8, 3000, seed=0)
    ratings = bradley_terry((winners, losers), 8)
    reference = choix.ilsr_pairwise(8, np.stack([winners, losers], 1).tolist(), tol=1e-12)
    assert ratings.mean() == pytest.approx(ELO_ANCHOR)
    assert _strengths(ratings) == pytest.approx(reference - reference.mean(), abs=1e-6)


def test_penalty_convention_matches_choix_opt_pairwise() -> None:
    # Model 0 wins every game: no ML estimate, but the penalised fit exists.
    winners, losers, _, _ = _battles(5, 300, seed=1)
    data = [(w, lo) for w, lo in zip(winners, losers, strict=True) if 0 not in (w, lo)]
    data += [(0, k) for k in range(1, 5) for _ in range(3)]
    w, lo = np.array(data).T
    ratings = bradley_terry((w, lo), 5, l2=1.0)
    reference = choix.opt_pairwise(5, data, alpha=0.5, tol=1e-12)  # choix: α Σθ² = (λ/2) Σθ²
    assert _strengths(ratings) == pytest.approx(reference, abs=1e-6)


def test_ties_count_as_half_wins() -> None:
    winners, losers, ties, _ = _battles(6, 1500, seed=2, tie_rate=0.3)
    ratings = bradley_terry((winners, losers, ties), 6)
    # Doubling every battle and splitting each tie into one win each way gives 2 W.
    data = []
    for w, lo, tie in zip(winners.tolist(), losers.tolist(), ties.tolist(), strict=True):
        data += [(w, lo), (lo, w)] if tie else [(w, lo), (w, lo)]
    reference = choix.ilsr_pairwise(6, data, tol=1e-12)
    assert _strengths(ratings) == pytest.approx(reference - reference.mean(), abs=1e-6)
    matrix = win_matrix((winners, losers, ties), 6)
    assert matrix.sum() == pytest.approx(winners.size)
    assert bradley_terry(matrix) == pytest.approx(ratings, abs=1e-9)


def test_win_matrix_brute_force() -> None:
    winners, losers, ties, _ = _battles(4, 200, seed=3, tie_rate=0.2)
    expected = np.zeros((4, 4))
    for w, lo, tie in zip(winners, losers, ties, strict=True):
        if tie:
            expected[w, lo] += 0.5
            expected[lo, w] += 0.5
        else:
            expected[w, lo] += 1
    assert win_matrix((winners, losers, ties), 4) == pytest.approx(expected)
    assert win_matrix((winners, losers, ties), 6).shape == (6, 6)


def test_undefeated_model_converges_to_the_penalised_optimum() -> None:
    wins = np.full((4, 4), 3.0)
    np.fill_diagonal(wins, 0.0)
    wins[1:, 0] = 0.0  # model 0 beats everyone, nobody beats model 0
    for l2 in (1e-6, 1.0):
        ratings = bradley_terry(wins, l2=l2)
        theta = _strengths(ratings)
        assert np.all(np.isfinite(ratings))
        assert ratings[0] > ratings[1] == pytest.approx(ratings[2]) == pytest.approx(ratings[3])
        # Stationarity: wins_i - Σ_j N_ij σ(θ_i - θ_j) = λ θ_i.
        games = wins + wins.T
        p = expit(theta[:, None] - theta[None, :])
        residual = wins.sum(axis=1) - (games * p).sum(axis=1) - l2 * theta
        assert np.abs(residual).max() < 1e-9
    assert bradley_terry(wins, l2=1.0)[0] < bradley_terry(wins)[0]


def test_equal_strengths_give_equal_ratings() -> None:
    wins = np.full((5, 5), 4.0)
    np.fill_diagonal(wins, 0.0)
    assert bradley_terry(wins) == pytest.approx(np.full(5, ELO_ANCHOR), abs=1e-9)
    pairs = np.array([(i, j) for i in range(4) for j in range(4) if i != j])
    all_ties = bradley_terry((pairs[:, 0], pairs[:, 1], np.ones(len(pairs), bool)))
    assert all_ties == pytest.approx(np.full(4, ELO_ANCHOR), abs=1e-9)


def test_model_without_battles_sits_at_the_anchor() -> None:
    winners, losers, _, _ = _battles(3, 300, seed=4)
    ratings = bradley_terry((winners, losers), 4)
    assert ratings[3] == pytest.approx(ELO_ANCHOR, abs=1e-6)
    assert ratings[:3] == pytest.approx(bradley_terry((winners, losers), 3), abs=1e-3)


def test_anchor_model_shifts_only() -> None:
    winners, losers, _, _ = _battles(5, 800, seed=5)
    mean_anchored = bradley_terry((winners, losers), 5)
    anchored = bradley_terry((winners, losers), 5, anchor=1200.0, anchor_model=2)
    assert anchored[2] == pytest.approx(1200.0)
    assert anchored - anchored[0] == pytest.approx(mean_anchored - mean_anchored[0], abs=1e-9)
    theta = np.array([0.0, np.log(2.0)])
    # Odds 2:1 is a gap of 400 log10(2) ≈ 120.4 points, split around the mean.
    half_gap = 200.0 * np.log10(2.0)
    assert elo_from_strengths(theta) == pytest.approx([1000 - half_gap, 1000 + half_gap])


def test_win_probability_matrix() -> None:
    ratings = np.array([1000.0, 1100.0, 900.0, 1400.0])
    p = win_probability_matrix(ratings)
    for i in range(4):
        for j in range(4):
            assert p[i, j] == pytest.approx(1 / (1 + 10 ** ((ratings[j] - ratings[i]) / 400)))
    assert p + p.T == pytest.approx(np.ones((4, 4)))
    assert np.diag(p) == pytest.approx(np.full(4, 0.5))
    # On the fitted scale the matrix is the model's σ(θ_i - θ_j).
    winners, losers, _, _ = _battles(4, 500, seed=6)
    fitted = bradley_terry((winners, losers), 4)
    theta = _strengths(fitted)
    assert win_probability_matrix(fitted) == pytest.approx(expit(theta[:, None] - theta[None]))
    with pytest.raises(ValueError):
        win_probability_matrix(np.ones((2, 2)))


def test_bootstrap_contains_fit_and_is_reproducible() -> None:
    battles = _battles(6, 2000, seed=7, tie_rate=0.1)[:3]
    estimates = bradley_terry_bootstrap(battles, 6, n_boot=300, seed=1)
    fit = bradley_terry(battles, 6)
    assert [e.value for e in estimates] == pytest.approx(fit.tolist())
    for e in estimates:
        assert e.low is not None and e.high is not None
        assert e.low < e.value < e.high
    assert bradley_terry_bootstrap(battles, 6, n_boot=300, seed=1) == estimates
    assert bradley_terry_bootstrap(battles, 6, n_boot=300, seed=2) != estimates
    anchored = bradley_terry_bootstrap(battles, 6, n_boot=50, anchor_model=0)
    assert anchored[0] == Estimate(value=1000.0, low=1000.0, high=1000.0)


def test_bootstrap_matches_naive_battle_resampling() -> None:
    winners, losers, ties, _ = _battles(5, 2000, seed=8, tie_rate=0.2)
    _, ours = bradley_terry_replicates((winners, losers, ties), 5, n_boot=1000, seed=0)
    rng = np.random.default_rng(1)
    naive = []
    for _ in range(400):
        idx = rng.integers(0, winners.size, winners.size)
        naive.append(bradley_terry((winners[idx], losers[idx], ties[idx]), 5))
    naive = np.array(naive)
    assert ours.std(axis=0) == pytest.approx(naive.std(axis=0), rel=0.15)
    assert ours.mean(axis=0) == pytest.approx(naive.mean(axis=0), abs=3.0)


def test_integer_matrix_and_battles_give_identical_replicates() -> None:
    winners, losers, _, _ = _battles(4, 600, seed=9)
    from_battles = bradley_terry_replicates((winners, losers), 4, n_boot=100, seed=3)
    from_matrix = bradley_terry_replicates(win_matrix((winners, losers), 4), n_boot=100, seed=3)
    for left, right in zip(from_battles, from_matrix, strict=True):
        np.testing.assert_allclose(left, right, atol=1e-9)


def test_input_validation() -> None:
    with pytest.raises(ValueError):
        bradley_terry((np.array([0, 1]), np.array([0, 2])))
    with pytest.raises(ValueError):
        bradley_terry((np.array([0]), np.array([1])), 1)
    with pytest.raises(ValueError):
        bradley_terry(np.ones((2, 3)))
    with pytest.raises(ValueError):
        bradley_terry(np.array([[0.0, 1.0], [1.0, 0.0]]), l2=0.0)
    with pytest.raises(ValueError):
        bradley_terry((np.array([], int), np.array([], int)))
    assert bradley_terry((np.array([], int), np.array([], int)), 2) == pytest.approx([1000, 1000])
    with pytest.raises(TypeError):
        bradley_terry([[0, 1], [1, 0]])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        bradley_terry_replicates(np.array([[0.0, 1.5], [0.5, 0.0]]), n_boot=10)
