"""Judge bias diagnostics: length bias, self-preference, AlpacaEval 2's length-controlled win rate.

Outcomes are from model_x's side (+1 / 0 / -1 or 'win' / 'tie' / 'loss', NaN or None
missing; see ``judge_agreement.outcome_codes``). Where a preference enters a logistic
model it is the soft label y = (code + 1) / 2, i.e. win 1, tie 0.5, loss 0, as
AlpacaEval scores ties. ``len_diff`` is len(answer_x) − len(answer_y), in whatever unit
the caller picks (characters, as AlpacaEval, or tokens).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field
from scipy.special import expit

from onpar.records import Estimate, Record
from onpar.stats.intervals import paired_bootstrap, wilson_interval, z_value
from onpar.stats.judge_agreement import outcome_codes

ArrayLike = Sequence[Any] | np.ndarray
# Ridge on the logistic fits: negligible at any real sample size, it only keeps the
# coefficients finite when the data are separable (e.g. the judge always prefers x).
_RIDGE = 1e-6


class LengthBin(Record):
    """The judge's verdicts on the pairs whose length difference falls in one quantile bin."""

    low: float = Field(description="Smallest len_x − len_y in the bin.")
    high: float = Field(description="Largest len_x − len_y in the bin.")
    n: int
    win_rate: Estimate = Field(description="Share of the bin's pairs won by x (Wilson CI).")
    loss_rate: Estimate


class LengthSlope(Record):
    """Logistic slope of the judge's preference for x on the standardised length difference."""

    n: int
    len_diff_sd: float | None = Field(description="Standard deviation of len_x − len_y (ddof 1).")
    intercept: float | None = Field(description="Log-odds of preferring x at equal lengths.")
    slope: Estimate = Field(description="Change in log-odds per standard deviation of len_diff.")


class SelfPreference(Record):
    """Does a judge favour its own answers more than an independent reference does?"""

    n: int = Field(description="Pairs where the judge is a contestant and both verdicts exist.")
    judge_own_win_rate: Estimate = Field(description="Share the judge awards to its own answer.")
    reference_own_win_rate: Estimate = Field(description="Share the reference awards it.")
    difference: Estimate = Field(description="judge − reference, paired bootstrap CI.")


class LengthControlledWinRate(Record):
    """AlpacaEval 2-style length-controlled win rate of x against y (as a share, not ×100)."""

    n: int
    raw_win_rate: Estimate = Field(description="Mean soft label (ties ½), normal CI.")
    lc_win_rate: Estimate = Field(description="Mean predicted preference at zero length term.")
    theta: float = Field(description="θ_x − θ_y: log-odds of preferring x, length term off.")
    phi: float = Field(description="Weight of tanh(len_diff / sd); > 0: longer answers favoured.")
    gamma: float | None = Field(description="Weight of instruction difficulty, if given.")
    len_diff_sd: float | None


def _outcomes_and_lengths(outcomes: ArrayLike, len_diff: ArrayLike) -> tuple[np.ndarray, ...]:
    """Aligned codes and length differences, items with a missing outcome dropped."""
    codes = outcome_codes(outcomes)
    diff = np.asarray(len_diff, dtype=float)
    if codes.ndim != 1 or codes.shape != diff.shape:
        raise ValueError(f"need aligned 1-D arrays, got {codes.shape} and {diff.shape}")
    if not np.isfinite(diff).all():
        raise ValueError("len_diff must be finite")
    keep = ~np.isnan(codes)
    return codes[keep], diff[keep], keep


def _sd(values: np.ndarray) -> float | None:
    sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return sd if sd > 0 else None


def fit_soft_logistic(
    features: np.ndarray, target: np.ndarray, ridge: float = _RIDGE, max_iter: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression with targets in [0, 1] by damped Newton; returns (β, sandwich cov).

    Minimises Σ_i [log(1 + e^{η_i}) − y_i·η_i] + ridge·|β|²/2, η = Xβ (cross-entropy with
    soft labels, as AlpacaEval fits ties of ½). Covariance: the robust sandwich
    H⁻¹ (Σ s_i s_iᵀ) H⁻¹ with s_i = (y_i − p_i)·x_i and H = Σ p_i(1 − p_i)·x_i x_iᵀ
    (Huber 1967; White 1980), valid for soft labels where the binomial variance is not.
    """
    x, y = np.asarray(features, dtype=float), np.asarray(target, dtype=float)
    beta = np.zeros(x.shape[1])
    penalty = ridge * np.eye(x.shape[1])

    def loss(b: np.ndarray) -> float:
        eta = x @ b
        return float(np.sum(np.logaddexp(0.0, eta) - y * eta) + 0.5 * ridge * b @ b)

    for _ in range(max_iter):
        p = expit(x @ beta)
        grad = x.T @ (p - y) + ridge * beta
        step = np.linalg.solve((x.T * (p * (1.0 - p))) @ x + penalty, grad)
        t, current = 1.0, loss(beta)
        while loss(beta - t * step) > current - 1e-4 * t * (grad @ step) and t > 1e-12:
            t /= 2.0
        beta = beta - t * step
        if np.max(np.abs(t * step)) < 1e-10:
            break
    p = expit(x @ beta)
    bread = np.linalg.inv((x.T * (p * (1.0 - p))) @ x + penalty)
    scores = x * (y - p)[:, np.newaxis]
    return beta, bread @ (scores.T @ scores) @ bread


def length_bias_bins(
    outcomes: ArrayLike, len_diff: ArrayLike, n_bins: int = 5, confidence: float = 0.95
) -> tuple[LengthBin, ...]:
    """Win and loss rate of x by quantile bin of len_x − len_y, with Wilson CIs.

    Bin edges are the 0, 1/n_bins, …, 1 quantiles of len_diff (repeated edges merged, so
    heavily tied length differences give fewer bins); bins are [e_k, e_{k+1}), the last one
    closed. A judge without length bias shows flat win rates across bins.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be positive, got {n_bins}")
    codes, diff, _ = _outcomes_and_lengths(outcomes, len_diff)
    if codes.size == 0:
        return ()
    edges = np.unique(np.quantile(diff, np.linspace(0.0, 1.0, n_bins + 1)))
    index = np.clip(np.searchsorted(edges, diff, side="right") - 1, 0, max(edges.size - 2, 0))
    bins = []
    for k in np.unique(index):
        members = index == k
        n = int(members.sum())
        bins.append(
            LengthBin(
                low=float(diff[members].min()),
                high=float(diff[members].max()),
                n=n,
                win_rate=wilson_interval(int((codes[members] == 1).sum()), n, confidence),
                loss_rate=wilson_interval(int((codes[members] == -1).sum()), n, confidence),
            )
        )
    return tuple(bins)


def length_bias_slope(
    outcomes: ArrayLike, len_diff: ArrayLike, confidence: float = 0.95
) -> LengthSlope:
    """Logistic slope of the judge's preference for x on z = len_diff / sd(len_diff).

    Model: P(x preferred) = σ(a + b·z), fitted to soft labels (win 1, tie ½, loss 0) by
    ``fit_soft_logistic``; the CI is b ± z_α·SE_sandwich. b > 0: the judge favours the
    longer answer, by b log-odds per standard deviation of length difference. With fewer
    than 2 items or no spread in len_diff, the slope is undefined (values None).
    """
    codes, diff, _ = _outcomes_and_lengths(outcomes, len_diff)
    sd = _sd(diff)
    if sd is None:
        none = Estimate(value=None)
        return LengthSlope(n=codes.size, len_diff_sd=None, intercept=None, slope=none)
    features = np.column_stack([np.ones_like(diff), diff / sd])
    beta, cov = fit_soft_logistic(features, (codes + 1.0) / 2.0)
    half = z_value(confidence) * float(np.sqrt(cov[1, 1]))
    slope = Estimate(value=float(beta[1]), low=float(beta[1] - half), high=float(beta[1] + half))
    return LengthSlope(n=codes.size, len_diff_sd=sd, intercept=float(beta[0]), slope=slope)


def self_preference(
    judge_outcomes: ArrayLike,
    reference_outcomes: ArrayLike,
    judge_is_x: ArrayLike,
    judge_is_y: ArrayLike,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> SelfPreference:
    """How often the judge awards the win to its own answer, against a reference verdict.

    On pairs where the judge model is also a contestant (``judge_is_x`` or ``judge_is_y``
    true; the two masks must not overlap), outcomes are turned to the judge-model's side
    (negated where it is y). Then judge_own_win_rate = share of those pairs the judge
    awards to itself, reference_own_win_rate = share the reference (humans or other
    judges) awards to it, both Wilson; difference = their paired difference with a
    ``paired_bootstrap`` CI over pairs. A difference above 0 is self-preference
    (Zheng et al. 2023, §3.3; Panickssery et al. 2024, "LLM evaluators recognize and
    favor their own generations"). Pairs missing either verdict are left out.
    """
    judge_codes, ref_codes = outcome_codes(judge_outcomes), outcome_codes(reference_outcomes)
    is_x = np.asarray(judge_is_x, dtype=bool)
    is_y = np.asarray(judge_is_y, dtype=bool)
    if not judge_codes.shape == ref_codes.shape == is_x.shape == is_y.shape:
        raise ValueError("outcomes and masks must be aligned 1-D arrays of one length")
    if (is_x & is_y).any():
        raise ValueError("the judge cannot be both model_x and model_y of one pair")
    side = np.where(is_x, 1.0, -1.0)
    keep = (is_x | is_y) & ~np.isnan(judge_codes) & ~np.isnan(ref_codes)
    own = np.column_stack([judge_codes[keep], ref_codes[keep]]) * side[keep, np.newaxis] == 1
    n = int(keep.sum())
    difference = paired_bootstrap(
        own.astype(float),
        lambda b: (b[..., 0] - b[..., 1]).mean(axis=1),
        confidence,
        n_boot,
        seed,
    )
    return SelfPreference(
        n=n,
        judge_own_win_rate=wilson_interval(int(own[:, 0].sum()), n, confidence),
        reference_own_win_rate=wilson_interval(int(own[:, 1].sum()), n, confidence),
        difference=difference,
    )


def _share_estimate(value: float, se: float, confidence: float) -> Estimate:
    """value ± z·se, clipped to [0, 1]."""
    half = z_value(confidence) * se
    return Estimate(value=value, low=max(0.0, value - half), high=min(1.0, value + half))


def _fit_with_optional_length(
    features: np.ndarray, y: np.ndarray, has_length: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Fit on all columns, or without column 1 (the length term) when it has no spread."""
    use = list(range(features.shape[1])) if has_length else [0, *range(2, features.shape[1])]
    beta_used, cov_used = fit_soft_logistic(features[:, use], y)
    beta, cov = np.zeros(features.shape[1]), np.zeros((features.shape[1],) * 2)
    beta[use], cov[np.ix_(use, use)] = beta_used, cov_used
    return beta, cov


def length_controlled_win_rate(
    outcomes: ArrayLike,
    len_diff: ArrayLike,
    instruction_difficulty: ArrayLike | None = None,
    confidence: float = 0.95,
) -> LengthControlledWinRate:
    """Length-controlled win rate of x against y (Dubois et al. 2024, arXiv:2404.04475).

    Fits, by ``fit_soft_logistic`` on soft labels y_i (win 1, tie ½, loss 0),

        P(x preferred on i) = σ(θ + φ·tanh(Δ_i / sd(Δ)) + γ·d_i),   Δ_i = len_x,i − len_y,i,

    and reports LC = mean_i σ(θ + γ·d_i): the predicted preference had the two answers
    been equally long, averaged over instructions (AlpacaEval multiplies by 100; here it
    stays a share). θ stands for θ_x − θ_y. The CI is the delta method on the sandwich
    covariance, given the instructions, clipped to [0, 1]. d_i (``instruction_difficulty``)
    is optional; without it LC = σ(θ). Not included from AlpacaEval's ``length_controlled_v1``: its
    pre-computed instruction difficulties (estimated from its leaderboard's models;
    pass your own d_i if you have them), the L1 penalty chosen by cross-validation, and
    the regularisation towards the baseline with verbose/concise "gamed" baselines.
    Raw win rate = mean(y_i) with a normal CI.
    """
    codes, diff, keep = _outcomes_and_lengths(outcomes, len_diff)
    if codes.size < 2:
        raise ValueError("need at least 2 judged items")
    y = (codes + 1.0) / 2.0
    sd = _sd(diff)
    columns = [np.ones_like(y), np.tanh(diff / sd) if sd is not None else np.zeros_like(y)]
    if instruction_difficulty is not None:
        difficulty = np.asarray(instruction_difficulty, dtype=float)
        if difficulty.shape != keep.shape or not np.isfinite(difficulty).all():
            raise ValueError("instruction_difficulty must be finite and aligned with outcomes")
        columns.append(difficulty[keep])
    beta, cov = _fit_with_optional_length(np.column_stack(columns), y, sd is not None)
    no_length = np.column_stack(columns)
    no_length[:, 1] = 0.0
    p0 = expit(no_length @ beta)
    gradient = ((p0 * (1.0 - p0))[:, np.newaxis] * no_length).mean(axis=0)
    lc_se = float(np.sqrt(max(gradient @ cov @ gradient, 0.0)))
    raw_se = float(y.std(ddof=1) / np.sqrt(y.size))
    return LengthControlledWinRate(
        n=y.size,
        raw_win_rate=_share_estimate(float(y.mean()), raw_se, confidence),
        lc_win_rate=_share_estimate(float(p0.mean()), lc_se, confidence),
        theta=float(beta[0]),
        phi=float(beta[1]),
        gamma=float(beta[2]) if instruction_difficulty is not None else None,
        len_diff_sd=sd,
    )
