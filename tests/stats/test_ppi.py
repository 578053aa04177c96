"""Prediction-powered inference: handmade values, λ optimality, and a coverage simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from onpar.records import Estimate
from onpar.stats.ppi import (
    classical_mean,
    judge_only_mean,
    mean_ci_batch,
    outcome_values,
    ppi_lambda,
    ppi_lambda_batch,
    ppi_mean,
    ppi_mean_batch,
    ppi_plus_plus_mean,
    ppi_win_rate,
)

Z95 = 1.959963984540054


def test_outcome_values_win_rate_and_tie_half() -> None:
    outcomes = ["win", "tie", "loss", None]
    assert outcome_values(outcomes) == pytest.approx([1.0, 0.0, 0.0, math.nan], nan_ok=True)
    assert outcome_values(outcomes, tie_value=0.5) == pytest.approx(
        [1.0, 0.5, 0.0, math.nan], nan_ok=True
    )


def test_ppi_mean_handmade() -> None:
    # mean_N(f) = 0.75, mean_n(y - f) = mean([0, 1]) = 0.5 -> 1.25.
    # var_N(f) = 0.25 (ddof 1) over N = 4; var_n(y - f) = 0.5 over n = 2 -> 0.3125.
    est = ppi_mean([1, 0, 1, 1], [1, 0], [1, 1])
    half = Z95 * math.sqrt(0.25 / 4 + 0.5 / 2)
    assert est.value == pytest.approx(1.25)
    assert est.low == pytest.approx(1.25 - half)
    assert est.high == pytest.approx(1.25 + half)


def test_classical_and_judge_only_are_normal_mean_intervals() -> None:
    values = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    half = Z95 * values.std(ddof=1) / math.sqrt(values.size)
    expected = Estimate(value=0.6, low=0.6 - half, high=0.6 + half)
    for est in (classical_mean(values), judge_only_mean(values)):
        assert est.value == pytest.approx(expected.value)
        assert est.low == pytest.approx(expected.low)
        assert est.high == pytest.approx(expected.high)


def _data(seed: int, n_all: int = 400, n_lab: int = 60) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    human = (rng.random(n_all) < 0.5).astype(float)
    judge = np.where(rng.random(n_all) < 0.75, human, 1.0)
    return judge, judge[:n_lab], human[:n_lab]


def test_lambda_zero_is_classical_and_one_is_ppi() -> None:
    f_all, f_lab, y_lab = _data(seed=1)
    assert ppi_plus_plus_mean(f_all, f_lab, y_lab, lam=0.0) == classical_mean(y_lab)
    assert ppi_plus_plus_mean(f_all, f_lab, y_lab, lam=1.0) == ppi_mean(f_all, f_lab, y_lab)


@pytest.mark.parametrize("labeled_in_all", [False, True])
def test_tuned_lambda_minimises_the_interval_width(labeled_in_all: bool) -> None:
    f_all, f_lab, y_lab = _data(seed=2)
    tuned = ppi_lambda(f_all, f_lab, y_lab, labeled_in_all)
    assert 0.0 < tuned < 1.0
    grid = np.linspace(0.0, 1.0, 201)
    runs = len(grid)
    _, low, high = ppi_mean_batch(
        np.tile(f_all, (runs, 1)),
        np.tile(f_lab, (runs, 1)),
        np.tile(y_lab, (runs, 1)),
        lam=grid,
        labeled_in_all=labeled_in_all,
    )
    best = ppi_plus_plus_mean(f_all, f_lab, y_lab, labeled_in_all=labeled_in_all)
    # λ* uses the judge's variance on the unlabelled items where the estimated variance
    # has var_n(f), so it sits near (not exactly at) the grid's minimum.
    assert best.high - best.low <= (high - low).min() * 1.002
    assert abs(grid[np.argmin(high - low)] - tuned) < 0.1
    assert best.high - best.low < 0.95 * (high - low)[0]  # clearly better than λ = 0


def test_lambda_closed_forms() -> None:
    f_all, f_lab, y_lab = _data(seed=3)
    n, big_n = f_lab.size, f_all.size
    cov = np.cov(y_lab, f_lab, ddof=1)[0, 1]
    disjoint = cov / ((1 + n / big_n) * f_all.var(ddof=1))
    assert ppi_lambda(f_all, f_lab, y_lab) == pytest.approx(disjoint)
    # Labelled items inside judge_all: λ* = cov / var_U(f), U the unlabelled rest.
    overlap = cov / f_all[n:].var(ddof=1)
    assert ppi_lambda(f_all, f_lab, y_lab, labeled_in_all=True) == pytest.approx(overlap)


def test_useless_or_constant_judge_gets_lambda_zero() -> None:
    rng = np.random.default_rng(4)
    y_lab = (rng.random(100) < 0.5).astype(float)
    constant = np.ones(1000)
    assert ppi_lambda(constant, constant[:100], y_lab) == 0.0
    contrarian = 1.0 - y_lab  # negatively correlated: λ* < 0 is clipped to 0
    assert ppi_lambda(rng.random(1000), contrarian, y_lab) == 0.0


def test_labeled_in_all_variance_is_the_exact_split_formula() -> None:
    f_all, f_lab, y_lab = _data(seed=5)
    n = f_lab.size
    f_u, w = f_all[n:], (f_all.size - n) / f_all.size
    naive = ppi_mean(f_all, f_lab, y_lab)
    exact = ppi_mean(f_all, f_lab, y_lab, labeled_in_all=True)
    assert exact.value == pytest.approx(naive.value)
    # θ̂ = w·mean_U(f) + mean_n(y − w·f): two independent means.
    assert exact.value == pytest.approx(w * f_u.mean() + (y_lab - w * f_lab).mean())
    var = w**2 * f_u.var(ddof=1) / f_u.size + (y_lab - w * f_lab).var(ddof=1) / n
    assert exact.high - exact.low == pytest.approx(2 * Z95 * math.sqrt(var))


def test_ppi_win_rate_from_labels() -> None:
    judge = ["win", "win", "tie", "loss", "win", "loss", "win", "tie"]
    human = ["win", "loss", "tie", "loss"]
    result = ppi_win_rate(judge, judge[:4], human, tie_value=0.5)
    values_all = outcome_values(judge, 0.5)
    values_lab, human_values = values_all[:4], outcome_values(human, 0.5)
    assert (result.n_all, result.n_labeled) == (8, 4)
    assert result.ppi == ppi_mean(values_all, values_lab, human_values, labeled_in_all=True)
    assert result.classical == classical_mean(human_values)
    assert result.judge_only == judge_only_mean(values_all)
    assert 0.0 <= result.lam <= 1.0


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError):
        ppi_mean([1.0, math.nan, 0.0], [1.0, 0.0], [1.0, 0.0])
    with pytest.raises(ValueError):
        ppi_mean([1.0, 0.0, 0.0], [1.0, 0.0], [1.0, 0.0, 1.0])
    with pytest.raises(ValueError):
        ppi_mean([1.0, 0.0, 0.0], [1.0], [1.0])
    with pytest.raises(ValueError):
        ppi_mean([1.0, 0.0, 1.0], [1.0, 0.0], [1.0, 0.0], confidence=1.0)
    with pytest.raises(ValueError):
        ppi_mean([1.0, 0.0, 1.0], [1.0, 0.0], [1.0, 0.0], labeled_in_all=True)


# --- coverage simulation ---------------------------------------------------------------

RUNS, N_ITEMS, N_LABELED = 2000, 2000, 200
P_WIN, P_TIE = 0.45, 0.15  # human verdicts; loss 0.40


def _simulate(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Human and judge outcome codes, shape (RUNS, N_ITEMS), for a biased, noisy judge.

    The judge turns 20% of human losses into wins, then on 15% of items answers by
    position alone (the first-shown answer wins, x or y at random).
    """
    rng = np.random.default_rng(seed)
    u = rng.random((RUNS, N_ITEMS))
    human = np.where(u < P_WIN, 1.0, np.where(u < P_WIN + P_TIE, 0.0, -1.0))
    judge = np.where((human == -1.0) & (rng.random(human.shape) < 0.2), 1.0, human)
    position = np.where(rng.random(human.shape) < 0.5, 1.0, -1.0)
    judge = np.where(rng.random(human.shape) < 0.15, position, judge)
    return human, judge


def _coverage(batch: tuple[np.ndarray, ...], truth: float) -> float:
    _, low, high = batch
    return float(np.mean((low <= truth) & (truth <= high)))


@pytest.mark.parametrize(("tie_value", "truth"), [(0.0, P_WIN), (0.5, P_WIN + P_TIE / 2)])
def test_ppi_covers_the_true_win_rate_where_the_judge_alone_does_not(
    tie_value: float, truth: float
) -> None:
    human, judge = _simulate(seed=11)
    f_all, y_all = outcome_values(judge, tie_value), outcome_values(human, tie_value)
    f_lab, y_lab = f_all[:, :N_LABELED], y_all[:, :N_LABELED]
    f_unlabeled = f_all[:, N_LABELED:]  # the paper's disjoint design
    coverage = {
        "ppi_overlap": _coverage(ppi_mean_batch(f_all, f_lab, y_lab, labeled_in_all=True), truth),
        "ppi_disjoint": _coverage(ppi_mean_batch(f_unlabeled, f_lab, y_lab), truth),
        "ppi++": _coverage(
            ppi_mean_batch(f_all, f_lab, y_lab, lam=None, labeled_in_all=True), truth
        ),
        "classical": _coverage(mean_ci_batch(y_lab), truth),
    }
    for name, value in coverage.items():
        assert abs(value - 0.95) <= 0.02, (name, value)
    assert _coverage(mean_ci_batch(f_all), truth) < 0.2  # biased judge: far below 95%
    lam = ppi_lambda_batch(f_all, f_lab, y_lab, labeled_in_all=True)
    assert 0.3 < lam.mean() < 0.95
    _, ppi_low, ppi_high = ppi_mean_batch(f_all, f_lab, y_lab, labeled_in_all=True)
    _, classical_low, classical_high = mean_ci_batch(y_lab)
    assert np.mean(ppi_high - ppi_low) < 0.85 * np.mean(classical_high - classical_low)
