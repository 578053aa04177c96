"""Is the difference real? Tests, paired differences, multiplicity and equivalence.

Pure functions on arrays (no I/O):

* ``sign_test`` / ``mcnemar_test`` - exact binomial tests on the decisive / discordant pairs.
* ``paired_win_rate_difference`` / ``paired_accuracy_difference`` - percentile bootstrap
  CI of a difference measured on the same prompts, resampling prompts jointly.
* ``holm_adjust`` - Holm step-down adjusted p-values for many comparisons.
* ``equivalence_verdict`` / ``tost_p_value`` - "on par", "different" or "inconclusive".
* ``win_tie_loss_cis`` - vectorised win/tie/loss CIs for many comparisons at once.

Paired bootstraps here never gather prompts: resampling n prompts with replacement only
changes how many prompts fall in each distinct (score_a, score_b) cell, and those counts
are exactly Multinomial(n, cell counts / n), so one multinomial draw per replicate gives
the same distribution as the prompt-index resample (Efron & Tibshirani 1993, ch. 6, 13).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
from scipy.stats import binomtest, chi2

from onpar.records import Estimate
from onpar.stats.intervals import check_confidence, check_n_boot, estimate_from_replicates
from onpar.stats.winrates import OUTCOMES

Verdict = Literal["on par", "different", "inconclusive"]
_OUTCOME_CODES = {"win": 1, "tie": 0, "loss": -1, 1: 1, 0: 0, -1: -1}


def sign_test(wins: int, losses: int) -> float:
    """Exact two-sided sign test of H0: P(win | decisive) = 1/2; ties are dropped.

    p = binomial two-sided p-value of ``wins`` successes in ``wins + losses`` trials at
    p = 1/2 (``scipy.stats.binomtest``). No decisive pair gives p = 1.
    Reference: Dixon & Mood (1946), "The statistical sign test", JASA 41:557-566.
    """
    if int(wins) != wins or int(losses) != losses or wins < 0 or losses < 0:
        raise ValueError(f"need non-negative integer counts, got wins={wins!r}, losses={losses!r}")
    n = int(wins) + int(losses)
    if n == 0:
        return 1.0
    return float(binomtest(int(wins), n, 0.5).pvalue)


def outcome_codes(outcomes: Sequence[object] | np.ndarray) -> np.ndarray:
    """Outcomes as int8 codes +1 / 0 / -1 from 'win' / 'tie' / 'loss' or from the codes."""
    values = np.asarray(outcomes, dtype=object).ravel()
    try:
        return np.array([_OUTCOME_CODES[v] for v in values.tolist()], dtype=np.int8)
    except (KeyError, TypeError) as error:
        raise ValueError(f"outcomes must be win/tie/loss or +1/0/-1, got {error}") from None


def _paired_scores(scores_a: np.ndarray, scores_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(scores_a, dtype=float)
    b = np.asarray(scores_b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"need two 1-D arrays aligned by prompt, got {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("scores must be finite")
    return a, b


def paired_difference_replicates(
    scores_a: np.ndarray, scores_b: np.ndarray, n_boot: int = 2000, seed: int = 0
) -> tuple[float, np.ndarray]:
    """mean(a - b) over prompts and its paired bootstrap replicates, shape (n_boot,).

    Prompts are resampled jointly (a_i and b_i stay together), via one multinomial over
    the distinct (a_i, b_i) cells per replicate: d* = Σ_c N*_c (a_c - b_c) / n with
    N* ~ Multinomial(n, N_c / n). Meant for discrete per-prompt scores (win/tie/loss,
    correct/wrong); any finite scores work. n = 0 gives (nan, empty array).
    """
    n_boot = check_n_boot(n_boot)
    a, b = _paired_scores(scores_a, scores_b)
    n = a.size
    if n == 0:
        return math.nan, np.empty(0)
    cells, counts = np.unique(np.stack([a, b], axis=1), axis=0, return_counts=True)
    diffs = cells[:, 0] - cells[:, 1]
    value = float(np.mean(a - b))
    draws = np.random.default_rng(seed).multinomial(n, counts / n, size=n_boot)
    return value, draws @ diffs / n


def paired_win_rate_difference(
    outcomes_a: Sequence[object] | np.ndarray,
    outcomes_b: Sequence[object] | np.ndarray,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    tie_weight: float = 0.0,
) -> Estimate:
    """Win rate of contestant a minus that of b against the same opponent, same prompts.

    outcomes_*[i] is a's / b's outcome (win/tie/loss or +1/0/-1) on prompt i. Per prompt
    a score s = 1 for a win, ``tie_weight`` for a tie, 0 for a loss (tie_weight = 0: win
    rate; 0.5: win rate with ties as half wins); the estimate is mean(s_a - s_b) with a
    paired percentile bootstrap CI over prompts (``paired_difference_replicates``;
    Efron & Tibshirani 1993, ch. 13). The same seed gives the same replicates at any
    confidence, so a 95% and a 90% interval can be read off one distribution.
    """
    confidence = check_confidence(confidence)
    codes_a, codes_b = outcome_codes(outcomes_a), outcome_codes(outcomes_b)
    weights = np.array([0.0, tie_weight, 1.0])  # indexed by code + 1: loss, tie, win
    value, replicates = paired_difference_replicates(
        weights[codes_a + 1], weights[codes_b + 1], n_boot, seed
    )
    return estimate_from_replicates(value, replicates, confidence)


def _discordant(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[int, int]:
    a, b = _paired_scores(correct_a, correct_b)
    if not np.all(np.isin(a, (0.0, 1.0))) or not np.all(np.isin(b, (0.0, 1.0))):
        raise ValueError("correctness must be boolean or 0/1")
    return int(np.sum((a == 1) & (b == 0))), int(np.sum((a == 0) & (b == 1)))


def mcnemar_test(
    correct_a: np.ndarray,
    correct_b: np.ndarray,
    method: Literal["exact", "chi2"] = "exact",
    correction: bool = True,
) -> float:
    """McNemar's test of equal accuracy of a and b graded on the same prompts.

    With b = #(a right, b wrong) and c = #(a wrong, b right) (the discordant pairs):
    "exact" is the two-sided binomial test of b successes in b + c trials at 1/2 (the
    sign test on discordant pairs); "chi2" uses X² = (|b - c| - 1)² / (b + c) with
    continuity correction (Edwards 1948; the 1 is clipped so that X² = 0 when b = c),
    or (b - c)² / (b + c) without, against χ²(1). No discordant pair gives p = 1.
    Reference: McNemar (1947), Psychometrika 12:153-157.
    """
    b, c = _discordant(correct_a, correct_b)
    if method == "exact":
        return sign_test(b, c)
    if method != "chi2":
        raise ValueError(f"method must be 'exact' or 'chi2', got {method!r}")
    if b + c == 0:
        return 1.0
    excess = max(abs(b - c) - (1.0 if correction else 0.0), 0.0)
    return float(chi2.sf(excess * excess / (b + c), df=1))


def paired_accuracy_difference(
    correct_a: np.ndarray,
    correct_b: np.ndarray,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> Estimate:
    """Accuracy of a minus accuracy of b on the same prompts, paired percentile bootstrap CI.

    value = mean(correct_a) - mean(correct_b) = (b - c) / n in McNemar's notation; the CI
    resamples prompts jointly (``paired_difference_replicates``; Efron & Tibshirani 1993).
    """
    confidence = check_confidence(confidence)
    _discordant(correct_a, correct_b)  # validates 0/1 input
    value, replicates = paired_difference_replicates(correct_a, correct_b, n_boot, seed)
    return estimate_from_replicates(value, replicates, confidence)


def holm_adjust(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (same shape as the input), monotone, capped at 1.

    With p_(1) <= ... <= p_(m) sorted: adj_(k) = max_{j <= k} min(1, (m - j + 1) p_(j)).
    Rejecting every hypothesis with adj <= α controls the family-wise error rate at α
    under any dependence. Reference: Holm (1979), Scand. J. Statist. 6:65-70.
    """
    p = np.asarray(p_values, dtype=float)
    flat = p.ravel()
    if np.any(~np.isfinite(flat)) or np.any((flat < 0) | (flat > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    m = flat.size
    order = np.argsort(flat, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * flat[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted.reshape(p.shape)


def equivalence_confidence(confidence: float) -> float:
    """Level 1 - 2α of the interval a TOST at α = 1 - confidence uses (0.95 → 0.90)."""
    return 2.0 * check_confidence(confidence) - 1.0


def _inside(estimate: Estimate, margin: float) -> bool:
    if estimate.low is None or estimate.high is None:
        return False
    return -margin < estimate.low and estimate.high < margin


def equivalence_verdict(
    diff: Estimate, margin: float, equivalence_ci: Estimate | None = None
) -> Verdict:
    """ "on par", "different" or "inconclusive" for a difference with its CIs (TOST-style).

    * "on par": ``equivalence_ci``, the (1 - 2α) interval (90% for α = 5%, see
      ``equivalence_confidence``), lies strictly inside (-margin, margin). That is the
      two one-sided tests at level α (Schuirmann 1987, J. Pharmacokin. Biopharm.
      15:657-680). Checked first: a real but smaller-than-margin difference is on par.
    * "different": ``diff``, the (1 - α) interval (95%), excludes 0 (two-sided test at α).
    * "inconclusive": otherwise, or when a bound is missing.

    Without ``equivalence_ci`` the (1 - α) interval is used for both checks, which makes
    the equivalence test conservative (TOST at α/2).
    """
    if not margin > 0:
        raise ValueError(f"margin must be positive, got {margin!r}")
    if _inside(diff if equivalence_ci is None else equivalence_ci, margin):
        return "on par"
    if diff.low is not None and diff.high is not None and (diff.low > 0 or diff.high < 0):
        return "different"
    return "inconclusive"


def tost_p_value(replicates: np.ndarray, margin: float) -> float:
    """Bootstrap TOST p-value for |δ| < margin: max(P*(d* <= -margin), P*(d* >= margin)).

    Each term is the percentile-bootstrap p-value of one one-sided test (H0: δ <= -margin,
    H0: δ >= margin); p < α iff the (1 - 2α) percentile interval lies inside ±margin (up
    to quantile interpolation). Schuirmann (1987); Efron & Tibshirani (1993), ch. 16.
    Non-finite replicates are dropped; none left gives nan.
    """
    if not margin > 0:
        raise ValueError(f"margin must be positive, got {margin!r}")
    values = np.asarray(replicates, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan
    return float(max(np.mean(values <= -margin), np.mean(values >= margin)))


class BatchRates(NamedTuple):
    """Rates and percentile bounds, each shape (n_comparisons, 3), columns win/tie/loss."""

    rate: np.ndarray
    low: np.ndarray
    high: np.ndarray


def _outcome_matrix(outcomes: np.ndarray) -> np.ndarray:
    x = np.asarray(outcomes)
    if x.ndim != 2:
        raise ValueError(f"outcomes must have shape (n_comparisons, n_prompts), got {x.shape}")
    if not np.issubdtype(x.dtype, np.integer) and not np.all(np.isin(x, (-1, 0, 1))):
        raise ValueError("outcomes must be -1, 0 or +1")
    if x.size and (x.min() < -1 or x.max() > 1):
        raise ValueError("outcomes must be -1, 0 or +1")
    return x


def win_tie_loss_cis(
    outcomes: np.ndarray, n_boot: int = 1000, confidence: float = 0.95, seed: int = 0
) -> BatchRates:
    """Win / tie / loss rates with percentile bootstrap CIs for many comparisons at once.

    ``outcomes`` has shape (n_comparisons, n_prompts) with +1 win, 0 tie, -1 loss (of
    model_x). Resampling a comparison's prompts only changes its (W, T, L) counts, which
    are Multinomial(n, (W, T, L)/n) (as in ``bootstrap_win_tie_loss``), so all
    comparisons are resampled by one batched ``Generator.multinomial`` call, with no
    gather over prompts. Intervals: α/2 and 1 - α/2 quantiles of the replicates
    (Efron & Tibshirani 1993, ch. 13). With one comparison and the same seed the bounds
    equal ``bootstrap_win_tie_loss``'s. n_prompts = 0 gives NaN everywhere.
    """
    confidence = check_confidence(confidence)
    n_boot = check_n_boot(n_boot)
    x = _outcome_matrix(outcomes)
    n_comparisons, n = x.shape
    counts = np.stack([np.count_nonzero(x == code, axis=1) for code in (1, 0, -1)], axis=1)
    if n == 0:
        nan = np.full((n_comparisons, len(OUTCOMES)), np.nan)
        return BatchRates(nan, nan.copy(), nan.copy())
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, counts / n, size=(n_boot, n_comparisons))
    alpha = 1.0 - confidence
    low, high = np.quantile(draws / n, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    return BatchRates(counts / n, low, high)
