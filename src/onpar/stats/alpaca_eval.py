"""AlpacaEval's own head-to-head numbers, recomputed from an annotations file's preferences.

So a user can check that onpar reads their AlpacaEval run as AlpacaEval did, this follows
AlpacaEval's definition (``alpaca_eval.metrics.get_winrate``: the absolute scoring rule's
``describe_head2head`` for everything but ``discrete_win_rate``, which uses the zero-one
rule) rather than onpar's statistics:

* A preference is 1 (output_1, the baseline, preferred) to 2 (output_2, the evaluated model,
  preferred); 0 is a legacy draw and counts as 1.5. Null/NaN and values outside [1, 2]
  are dropped, so ``n_total`` counts only usable annotations.
* ``win_rate`` is the mean of (preference - 1) in percent: a draw adds half a win and a
  weighted preference adds its fraction. ``standard_error`` is the standard error of that
  mean (sample standard deviation, ddof = 1, over sqrt(n)), also in percent; NaN below n = 2.
* ``n_wins`` / ``n_wins_base`` count preferences above / below 1.5; ``n_draws`` counts
  preferences of exactly 1.5 (or 0), so with weighted preferences the three need not add up
  to ``n_total``.
* ``discrete_win_rate`` first rounds each preference half-to-even (after marking exact
  draws), then averages as above.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

_DRAW = 1.5


def alpaca_eval_win_rate(preferences: Sequence[float | None]) -> dict[str, float | int]:
    """win_rate, standard_error, n_wins, n_wins_base, n_draws, n_total, discrete_win_rate."""
    values = [_draw_coded(p) for p in preferences]
    kept = np.array([v - 1 for v in values if 1 <= v <= 2], dtype=float)
    return {
        "win_rate": _mean_percent(kept),
        "standard_error": _sem_percent(kept),
        "n_wins": int(np.sum(kept > 0.5)),
        "n_wins_base": int(np.sum(kept < 0.5)),
        "n_draws": sum(1 for v in values if v == _DRAW),
        "n_total": len(kept),
        "discrete_win_rate": _discrete_win_rate(values),
    }


def _draw_coded(preference: float | None) -> float:
    """Float preference with null as NaN and the legacy draw code 0 as 1.5."""
    value = math.nan if preference is None else float(preference)
    return _DRAW if value == 0 else value


def _discrete_win_rate(values: list[float]) -> float:
    """Zero-one rule: exact draws stay draws, everything else is rounded half-to-even first."""
    rounded = [v if v == _DRAW or not math.isfinite(v) else float(round(v)) for v in values]
    coded = [_DRAW if v == 0 else v for v in rounded]
    return _mean_percent(np.array([v - 1 for v in coded if 1 <= v <= 2], dtype=float))


def _mean_percent(kept: np.ndarray) -> float:
    return float(kept.mean() * 100) if kept.size else math.nan


def _sem_percent(kept: np.ndarray) -> float:
    """pandas' Series.sem (and scipy.stats.sem): sqrt(var with ddof=1) / sqrt(n)."""
    if kept.size < 2:
        return math.nan
    return float(np.sqrt(kept.var(ddof=1)) / np.sqrt(kept.size) * 100)
