"""Position bias of a judge: does its verdict depend on which answer it was shown first?"""

from __future__ import annotations

from collections.abc import Sequence

from onpar.records import PairVerdict, PositionBias
from onpar.stats.intervals import wilson_interval


def position_counts(verdicts: Sequence[PairVerdict]) -> dict[str, int]:
    """Raw counts behind ``position_bias``.

    Returns n_pairs / consistent (pairs judged in both orders, and those whose sign of
    preference for x agrees) and n_judgments / first_wins / second_wins (successful
    single-order judgments, and those preferring the answer shown first / second).
    In order "xy" x is shown first, so preference_xy > 0 is a first-position win; in
    order "yx" y is shown first, so preference_yx < 0 is a first-position win.
    """
    counts = dict.fromkeys(("n_pairs", "consistent", "n_judgments", "first_wins", "second_wins"), 0)
    for verdict in verdicts:
        consistent = verdict.is_position_consistent
        if consistent is not None:
            counts["n_pairs"] += 1
            counts["consistent"] += int(consistent)
        # Signed preference for the answer shown first: +x in order xy, -x in order yx.
        for first_pref in _first_position_preferences(verdict):
            counts["n_judgments"] += 1
            counts["first_wins"] += int(first_pref > 0)
            counts["second_wins"] += int(first_pref < 0)
    return counts


def _first_position_preferences(verdict: PairVerdict) -> list[int]:
    prefs = []
    if verdict.preference_xy is not None:
        prefs.append(verdict.preference_xy)
    if verdict.preference_yx is not None:
        prefs.append(-verdict.preference_yx)
    return prefs


def position_bias(verdicts: Sequence[PairVerdict], confidence: float = 0.95) -> PositionBias:
    """Consistency under order swap and first/second-position win rates, with Wilson CIs.

    consistency = (pairs whose win/tie/loss for x is the same in both orders) / n_pairs,
    over pairs judged successfully in both orders; an unbiased, self-consistent judge
    scores 1. first_position_win_rate = (judgments preferring the answer shown first) /
    n_judgments over every successful single-order judgment; second likewise. Ties count
    in both denominators, so first + second + tie share = 1, and a judge with no position
    bias has first ≈ second (Zheng et al. 2023, "Judging LLM-as-a-judge", §3.3).
    CIs: ``wilson_interval``; the two judgments of one prompt are treated as independent,
    so these intervals are somewhat optimistic.
    """
    c = position_counts(verdicts)
    return PositionBias(
        n_pairs=c["n_pairs"],
        consistency=wilson_interval(c["consistent"], c["n_pairs"], confidence),
        n_judgments=c["n_judgments"],
        first_position_win_rate=wilson_interval(c["first_wins"], c["n_judgments"], confidence),
        second_position_win_rate=wilson_interval(c["second_wins"], c["n_judgments"], confidence),
    )
