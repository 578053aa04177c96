"""Win / tie / loss rates of model_x against model_y with percentile bootstrap intervals."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from onpar.records import Estimate, Outcome, WinTieLoss
from onpar.stats.intervals import check_confidence, check_n_boot, estimate_from_replicates

OUTCOMES: tuple[Outcome, ...] = ("win", "tie", "loss")


def count_outcomes(outcomes: Sequence[Outcome]) -> tuple[int, int, int]:
    """Count (wins, ties, losses); anything other than 'win' / 'tie' / 'loss' is an error."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for outcome in outcomes:
        if outcome not in counts:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
        counts[outcome] += 1
    return counts["win"], counts["tie"], counts["loss"]


def rate_statistics(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Every rate of ``WinTieLoss`` for each row of (wins, ties, losses) counts, shape (B, 3).

    Vectorised over rows so one call serves the sample and all bootstrap replicates:

        win_rate = W/n, tie_rate = T/n, loss_rate = L/n,
        win_share = W/(W + L)  (NaN when W + L = 0: ties removed, as in Llama 2 Fig. 2),
        win_rate_tie_half = (W + T/2)/n.
    """
    counts = np.asarray(counts, dtype=float)
    wins, ties, losses = counts[:, 0], counts[:, 1], counts[:, 2]
    n = wins + ties + losses
    decisive = wins + losses
    share = np.divide(wins, decisive, out=np.full_like(wins, np.nan), where=decisive > 0)
    return {
        "win_rate": wins / n,
        "tie_rate": ties / n,
        "loss_rate": losses / n,
        "win_share": share,
        "win_rate_tie_half": (wins + ties / 2.0) / n,
    }


def _empty_win_tie_loss() -> WinTieLoss:
    none = Estimate(value=None)
    return WinTieLoss(
        n=0,
        wins=0,
        ties=0,
        losses=0,
        win_rate=none,
        tie_rate=none,
        loss_rate=none,
        win_share=none,
        win_rate_tie_half=none,
    )


def bootstrap_win_tie_loss(
    outcomes: Sequence[Outcome],
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> WinTieLoss:
    """Win / tie / loss counts and rates with percentile bootstrap CIs over prompts.

    Resampling n prompts with replacement only changes the (W, T, L) counts, and those
    counts are exactly Multinomial(n, (W/n, T/n, L/n)); so each replicate is one
    multinomial draw (``numpy.random.default_rng(seed)``), which is vectorised and needs
    O(n_boot) memory. Point values are the sample values; intervals are percentile
    intervals of the replicates (Efron & Tibshirani 1993, ch. 13), see
    ``rate_statistics`` for the formulas. Replicates without a decisive outcome are
    dropped from win_share's distribution; win_share is None when the sample has no
    win or loss at all. n = 0 gives every Estimate value None.
    """
    confidence = check_confidence(confidence)
    n_boot = check_n_boot(n_boot)
    wins, ties, losses = count_outcomes(outcomes)
    n = wins + ties + losses
    if n == 0:
        return _empty_win_tie_loss()
    counts = np.array([wins, ties, losses])
    rng = np.random.default_rng(seed)
    replicates = rate_statistics(rng.multinomial(n, counts / n, size=n_boot))
    points = rate_statistics(counts[np.newaxis])
    estimates = {
        name: estimate_from_replicates(float(points[name][0]), replicates[name], confidence)
        for name in points
    }
    return WinTieLoss(n=n, wins=wins, ties=ties, losses=losses, **estimates)
