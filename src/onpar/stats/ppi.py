"""Prediction-powered inference: a judge's verdicts on many items plus humans on a few.

The judge rates all N prompts cheaply; humans rate a random subset of n of them. The
judge-only win rate is biased when the judge is (e.g. towards long answers), the
human-only one is unbiased but wide. PPI corrects the judge's mean by its average error
on the human-labelled items and keeps the judge's precision where the judge is good:

    θ̂_PPI = mean_N(f) + mean_n(y − f)
    Var   ≈ var_N(f) / N + var_n(y − f) / n

(Angelopoulos, Bates, Fannjiang, Jordan & Zrnic 2023, "Prediction-powered inference",
Science 382:669.) PPI++ (Angelopoulos, Duchi & Zrnic 2023, arXiv:2311.01453) scales the
judge's part by λ, θ̂_λ = λ·mean_N(f) + mean_n(y − λf), with the variance-minimising

    λ* = cov_n(y, f) / ((1 + n/N) · var_N(f)),  clipped to [0, 1];

λ = 0 is the human-only estimate and λ = 1 plain PPI, so a useless judge costs nothing.

Here y and f are per-item values whose mean is the target: 1/0 win indicators for the
win rate, 1 / 0.5 / 0 for the tie-half win rate (``outcome_values``). The labelled items
are a uniformly random sample. The formulas above are the paper's, for a judged set
disjoint from the labelled one; when the judge's N items include the n labelled ones
(``labeled_in_all=True``), the same estimate gets its exact variance instead (see
``ppi_mean_batch``). Intervals are normal-approximation intervals, θ̂ ± z·SE, not
clipped to [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field

from onpar.records import Estimate, Record
from onpar.stats.intervals import z_value
from onpar.stats.judge_agreement import outcome_codes

Batch = tuple[np.ndarray, np.ndarray, np.ndarray]


class PPIWinRate(Record):
    """A win rate from a judge on all items and humans on a subset, four ways."""

    n_all: int = Field(description="Items the judge rated (N).")
    n_labeled: int = Field(description="Items the humans rated, judged too (n).")
    ppi: Estimate = Field(description="Prediction-powered estimate (λ = 1).")
    ppi_plus_plus: Estimate = Field(description="Power-tuned PPI++ estimate.")
    lam: float = Field(description="The PPI++ λ used, in [0, 1].")
    classical: Estimate = Field(description="Humans only: mean of the n human values.")
    judge_only: Estimate = Field(description="Judge only: mean of the N judge values (biased).")


def outcome_values(outcomes: Sequence[Any] | np.ndarray, tie_value: float = 0.0) -> np.ndarray:
    """Per-item values whose mean is a win rate: win 1, tie ``tie_value``, loss 0, NaN missing.

    tie_value = 0 gives the win rate, 0.5 the tie-half win rate (W + T/2) / n.
    """
    codes = outcome_codes(outcomes)
    return np.where(codes == 1.0, 1.0, np.where(codes == 0.0, tie_value, 0.0)) + codes * 0.0


def _runs(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    """As a float array of shape (runs, items); 1-D input is one run. NaN is an error."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        array = array[np.newaxis]
    if array.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D (runs, items), got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} has NaN or infinite values; drop missing items first")
    return array


def _interval(value: np.ndarray, var: np.ndarray, confidence: float) -> Batch:
    half = z_value(confidence) * np.sqrt(var)
    return value, value - half, value + half


def mean_ci_batch(values: np.ndarray, confidence: float = 0.95) -> Batch:
    """Row means of (runs, n) values with normal intervals mean ± z·sd/√n (sd with ddof 1).

    Returns (value, low, high), each of shape (runs,). Needs n ≥ 2.
    """
    data = _runs(values, "values")
    if data.shape[1] < 2:
        raise ValueError("need at least 2 items per run for a variance")
    return _interval(data.mean(axis=1), data.var(axis=1, ddof=1) / data.shape[1], confidence)


def _checked(
    judge_all: np.ndarray, judge_labeled: np.ndarray, human_labeled: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f_all = _runs(judge_all, "judge_all")
    f_lab = _runs(judge_labeled, "judge_labeled")
    y_lab = _runs(human_labeled, "human_labeled")
    if f_lab.shape != y_lab.shape or f_all.shape[0] != f_lab.shape[0]:
        raise ValueError(
            f"judge_labeled {f_lab.shape} must match human_labeled {y_lab.shape}, "
            f"and judge_all {f_all.shape} have as many runs"
        )
    if f_all.shape[1] < 2 or f_lab.shape[1] < 2:
        raise ValueError("need at least 2 judged items and 2 human-labelled items")
    return f_all, f_lab, y_lab


def _unlabeled_part(
    f_all: np.ndarray, f_lab: np.ndarray, labeled_in_all: bool
) -> tuple[np.ndarray, np.ndarray, int, float]:
    """(mean_U, var_U, N_U, w) of the judge on the items without a human label, per run.

    Disjoint sets: U is ``judge_all`` and w = 1. Labelled items inside ``judge_all``: U is
    the rest, recovered from sums (Σ_U f = Σ_all f − Σ_L f, likewise for f²), and
    w = N_U / N, since mean_N(f) = w·mean_U(f) + (1 − w)·mean_L(f).
    """
    if not labeled_in_all:
        return f_all.mean(axis=1), f_all.var(axis=1, ddof=1), f_all.shape[1], 1.0
    n_u = f_all.shape[1] - f_lab.shape[1]
    if n_u < 2:
        raise ValueError("labeled_in_all needs at least 2 judged items without a human label")
    total = f_all.sum(axis=1) - f_lab.sum(axis=1)
    squares = (f_all**2).sum(axis=1) - (f_lab**2).sum(axis=1)
    mean_u = total / n_u
    var_u = np.maximum(squares - n_u * mean_u**2, 0.0) / (n_u - 1)
    return mean_u, var_u, n_u, n_u / f_all.shape[1]


def ppi_lambda_batch(
    judge_all: np.ndarray,
    judge_labeled: np.ndarray,
    human_labeled: np.ndarray,
    labeled_in_all: bool = False,
) -> np.ndarray:
    """PPI++ power-tuning λ per run, clipped to [0, 1].

    Minimising Var(λ) of ``ppi_mean_batch`` over λ gives λ* = cov_n(y, f) /
    (w·(1 + n/N_U)·var_U(f)): cov_n(y, f)/((1 + n/N)·var_N(f)) for disjoint sets
    (Angelopoulos, Duchi & Zrnic 2023, mean estimation) and cov_n(y, f)/var(f) when the
    labelled items are part of ``judge_all``. Both ddof 1; a constant judge gets λ = 0.
    """
    f_all, f_lab, y_lab = _checked(judge_all, judge_labeled, human_labeled)
    _, var_u, n_u, w = _unlabeled_part(f_all, f_lab, labeled_in_all)
    n = f_lab.shape[1]
    cov = ((y_lab - y_lab.mean(axis=1, keepdims=True)) * f_lab).sum(axis=1) / (n - 1)
    denominator = w * (1.0 + n / n_u) * var_u
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.clip(np.where(denominator > 0, cov / safe, 0.0), 0.0, 1.0)


def ppi_mean_batch(
    judge_all: np.ndarray,
    judge_labeled: np.ndarray,
    human_labeled: np.ndarray,
    confidence: float = 0.95,
    lam: float | np.ndarray | None = 1.0,
    labeled_in_all: bool = False,
) -> Batch:
    """Vectorised PPI / PPI++ over runs: (runs, N), (runs, n), (runs, n) → (value, low, high).

    θ̂_λ = λ·mean_N(f) + mean_n(y − λf). Disjoint sets (default, as in the paper):
    Var = λ²·var_N(f)/N + var_n(y − λf)/n. With ``labeled_in_all`` (the n labelled items
    are among the N): θ̂_λ = λw·mean_U(f) + mean_n(y − λw·f) over the N_U = N − n other
    items, w = N_U/N, so Var = λ²w²·var_U(f)/N_U + var_n(y − λw·f)/n exactly, where the
    disjoint formula would ignore the covariance of the two terms. Variances ddof 1.
    ``lam`` = 1 is PPI, None tunes λ per run (``ppi_lambda_batch``), 0 is human-only.
    """
    f_all, f_lab, y_lab = _checked(judge_all, judge_labeled, human_labeled)
    if lam is None:
        lam = ppi_lambda_batch(f_all, f_lab, y_lab, labeled_in_all)
    lam_w = np.broadcast_to(np.asarray(lam, dtype=float), (f_all.shape[0],))
    mean_u, var_u, n_u, w = _unlabeled_part(f_all, f_lab, labeled_in_all)
    lam_w = lam_w * w
    rectifier = y_lab - lam_w[:, np.newaxis] * f_lab
    value = lam_w * mean_u + rectifier.mean(axis=1)
    var = lam_w**2 * var_u / n_u + rectifier.var(axis=1, ddof=1) / f_lab.shape[1]
    return _interval(value, var, confidence)


def _estimate(batch: Batch) -> Estimate:
    value, low, high = (float(part[0]) for part in batch)
    return Estimate(value=value, low=low, high=high)


def ppi_mean(
    judge_all: np.ndarray,
    judge_labeled: np.ndarray,
    human_labeled: np.ndarray,
    confidence: float = 0.95,
    labeled_in_all: bool = False,
) -> Estimate:
    """PPI estimate of a mean (e.g. the win rate) with its normal interval; see module doc.

    ``judge_all`` (N,): judge values on the items; ``judge_labeled`` and ``human_labeled``
    (n,): judge and human values on the human-labelled items, aligned. Set
    ``labeled_in_all`` when the labelled items are among the N (see ``ppi_mean_batch``).
    """
    batch = ppi_mean_batch(judge_all, judge_labeled, human_labeled, confidence, 1.0, labeled_in_all)
    return _estimate(batch)


def ppi_plus_plus_mean(
    judge_all: np.ndarray,
    judge_labeled: np.ndarray,
    human_labeled: np.ndarray,
    confidence: float = 0.95,
    lam: float | None = None,
    labeled_in_all: bool = False,
) -> Estimate:
    """Power-tuned PPI++ estimate; λ None is the variance-minimising λ* clipped to [0, 1]."""
    batch = ppi_mean_batch(judge_all, judge_labeled, human_labeled, confidence, lam, labeled_in_all)
    return _estimate(batch)


def ppi_lambda(
    judge_all: np.ndarray,
    judge_labeled: np.ndarray,
    human_labeled: np.ndarray,
    labeled_in_all: bool = False,
) -> float:
    """The PPI++ λ for one data set (see ``ppi_lambda_batch``)."""
    return float(ppi_lambda_batch(judge_all, judge_labeled, human_labeled, labeled_in_all)[0])


def classical_mean(human_labeled: np.ndarray, confidence: float = 0.95) -> Estimate:
    """Human-only estimate: mean of the n human values ± z·sd/√n (unbiased, wide)."""
    return _estimate(mean_ci_batch(human_labeled, confidence))


def judge_only_mean(judge_all: np.ndarray, confidence: float = 0.95) -> Estimate:
    """Judge-only estimate: mean of the N judge values ± z·sd/√N (narrow; biased with the judge)."""
    return _estimate(mean_ci_batch(judge_all, confidence))


def ppi_win_rate(
    judge_all: Sequence[Any] | np.ndarray,
    judge_labeled: Sequence[Any] | np.ndarray,
    human_labeled: Sequence[Any] | np.ndarray,
    tie_value: float = 0.0,
    confidence: float = 0.95,
    labeled_in_all: bool = True,
) -> PPIWinRate:
    """Win rate of model_x from outcomes (codes or labels): PPI, PPI++, human-only, judge-only.

    tie_value 0 estimates the win rate, 0.5 the tie-half win rate. By default the judge's
    outcomes cover every prompt, the human-labelled ones included (``labeled_in_all``),
    as when a judge rates a whole run and humans a random subset of it. Missing outcomes
    are an error: drop unjudged prompts, and labelled prompts missing either verdict.
    """
    f_all = outcome_values(judge_all, tie_value)
    f_lab = outcome_values(judge_labeled, tie_value)
    y_lab = outcome_values(human_labeled, tie_value)
    lam = ppi_lambda(f_all, f_lab, y_lab, labeled_in_all)
    return PPIWinRate(
        n_all=f_all.size,
        n_labeled=f_lab.size,
        ppi=ppi_mean(f_all, f_lab, y_lab, confidence, labeled_in_all),
        ppi_plus_plus=ppi_plus_plus_mean(f_all, f_lab, y_lab, confidence, lam, labeled_in_all),
        lam=lam,
        classical=classical_mean(y_lab, confidence),
        judge_only=judge_only_mean(f_all, confidence),
    )
