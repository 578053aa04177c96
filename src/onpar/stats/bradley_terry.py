"""Bradley-Terry ratings for many contestants, on the Elo-like scale of Chatbot Arena.

Model (Bradley & Terry 1952): P(i beats j) = σ(θ_i - θ_j) = 1 / (1 + exp(θ_j - θ_i)).
With W[i, j] the wins of i over j (a tie counts as half a win for each side) the fit
minimises the penalised negative log-likelihood

    f(θ) = Σ_ij W[i, j] log(1 + exp(θ_j - θ_i)) + (λ/2) ||θ||²,

which is ``choix.opt_pairwise(alpha=λ/2)``'s objective. The likelihood alone does not
move when every θ shifts, and has no finite maximum when a contestant wins (or loses)
all its games; the L2 term fixes both: its minimum always exists, is unique and has
Σθ = 0. The default λ = 1e-6 moves ratings that have an ML estimate by O(λ θ / games),
negligible (about 1e-8 in θ on the test data; Hunter 2004 gives the existence condition),
and gives an undefeated contestant a very large but finite rating (thousands of points);
pass a larger λ (λ = 1 is a N(0, 1) prior on θ) to shrink such ratings.

Solver: damped Newton (backtracking line search), vectorised over bootstrap resamples.
Ratings: R = 400 log10(e) θ + 1000, so P(i beats j) = 1 / (1 + 10^((R_j - R_i)/400)) and
the mean rating is the anchor 1000 (Chatbot Arena's scale 400 and base 10; its anchor is
a fixed reference model, ours the mean, or ``anchor_model`` when given).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit

from onpar.records import Estimate
from onpar.stats.intervals import check_confidence, check_n_boot, estimate_from_replicates

ELO_SCALE = 400.0 / math.log(10.0)  # rating points per unit of θ: 400 log10(e)
ELO_ANCHOR = 1000.0
DEFAULT_L2 = 1e-6
_MAX_BATCH_ELEMENTS = 2_000_000  # resamples × n_models² held at once while refitting

Battles = np.ndarray | tuple[ArrayLike, ArrayLike] | tuple[ArrayLike, ArrayLike, ArrayLike]


class _Cells(NamedTuple):
    """Distinct battle outcomes: decisive (i beat j) and tied (i, j) pairs, with counts."""

    n_models: int
    decisive: np.ndarray  # flat index i * n + j of each distinct decisive cell
    decisive_counts: np.ndarray
    tied: np.ndarray  # (n_tied, 2) pairs with i < j
    tied_counts: np.ndarray


def _battle_cells(battles: Battles, n_models: int | None) -> _Cells:
    if isinstance(battles, np.ndarray):
        return _matrix_cells(battles, n_models)
    if not isinstance(battles, tuple) or len(battles) not in (2, 3):
        raise TypeError("battles must be a square win matrix or (winners, losers[, ties])")
    winners = np.asarray(battles[0]).astype(np.int64, casting="same_kind").ravel()
    losers = np.asarray(battles[1]).astype(np.int64, casting="same_kind").ravel()
    ties = np.zeros(winners.size, bool) if len(battles) == 2 else np.asarray(battles[2], bool)
    if losers.shape != winners.shape or ties.shape != winners.shape:
        raise ValueError("winners, losers and ties must have the same length")
    n = (
        int(max(winners.max(initial=-1), losers.max(initial=-1)) + 1)
        if n_models is None
        else n_models
    )
    if n < 1:
        raise ValueError("need at least one model")
    if np.any((winners < 0) | (winners >= n) | (losers < 0) | (losers >= n)):
        raise ValueError(f"model indices must lie in [0, {n})")
    if np.any(winners == losers):
        raise ValueError("a battle needs two different models")
    decisive, decisive_counts = np.unique(winners[~ties] * n + losers[~ties], return_counts=True)
    low, high = np.minimum(winners[ties], losers[ties]), np.maximum(winners[ties], losers[ties])
    tied, tied_counts = np.unique(low * n + high, return_counts=True)
    return _Cells(n, decisive, decisive_counts, np.stack(np.divmod(tied, n), 1), tied_counts)


def _matrix_cells(wins: np.ndarray, n_models: int | None) -> _Cells:
    w = np.asarray(wins, dtype=float)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or (n_models not in (None, w.shape[0])):
        raise ValueError(f"win matrix must be square with n_models rows, got {w.shape}")
    if np.any(~np.isfinite(w)) or np.any(w < 0) or np.any(np.diag(w) != 0):
        raise ValueError("win counts must be finite, non-negative, with a zero diagonal")
    flat = np.flatnonzero(w)
    return _Cells(w.shape[0], flat, w.ravel()[flat], np.empty((0, 2), np.int64), np.empty(0))


def _cells_to_wins(cells: _Cells, decisive: np.ndarray, tied: np.ndarray) -> np.ndarray:
    """Win matrices (B, n, n) from per-cell counts (B, n_cells); a tie is half a win each."""
    n = cells.n_models
    wins = np.zeros((decisive.shape[0], n * n))
    wins[:, cells.decisive] = decisive
    i, j = cells.tied[:, 0], cells.tied[:, 1]
    wins[:, i * n + j] += tied / 2.0
    wins[:, j * n + i] += tied / 2.0
    return wins.reshape(-1, n, n)


def win_matrix(battles: Battles, n_models: int | None = None) -> np.ndarray:
    """W[i, j] = wins of i over j, a tie adding 1/2 to both W[i, j] and W[j, i].

    ``battles`` is (winners, losers) or (winners, losers, ties) index arrays (for a tie
    the order of the two models does not matter), or already a square win matrix.
    """
    cells = _battle_cells(battles, n_models)
    return _cells_to_wins(cells, cells.decisive_counts[None], cells.tied_counts[None])[0]


def _objective(theta: np.ndarray, wins: np.ndarray, l2: float) -> np.ndarray:
    diff = theta[:, :, None] - theta[:, None, :]
    return np.einsum("bij,bij->b", wins, np.logaddexp(0.0, -diff)) + l2 / 2 * np.sum(
        theta * theta, axis=1
    )


def _newton_step(theta: np.ndarray, wins: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Gradient g and Newton step -H⁻¹g of f, for a batch of θ (B, n) and wins (B, n, n).

    g_i = Σ_j N_ij p_ij - W_i + λθ_i with N = W + Wᵀ, p_ij = σ(θ_i - θ_j);
    H = diag(Σ_j w_ij) - w + λI with w_ij = N_ij p_ij p_ji. H1 = λ1, and f is exactly
    minimised along 1 by centring, so H + (1 - λ)11ᵀ/n (same action on Σθ = 0) is solved.
    """
    n = theta.shape[1]
    games = wins + wins.transpose(0, 2, 1)
    p = expit(theta[:, :, None] - theta[:, None, :])
    grad = np.einsum("bij,bij->bi", games, p) - wins.sum(axis=2) + l2 * theta
    weight = games * p * p.transpose(0, 2, 1)
    hess = -weight + (1.0 - l2) / n
    diagonal = np.einsum("bii->bi", hess)
    diagonal += weight.sum(axis=2) + l2
    return grad, -np.linalg.solve(hess, grad[:, :, None])[:, :, 0]


def _line_search(
    theta: np.ndarray,
    wins: np.ndarray,
    l2: float,
    grad: np.ndarray,
    step: np.ndarray,
    f0: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Backtracking (Armijo) on each resample's f, with slack for rounding near the optimum.

    Returns the accepted θ (re-centred) and f there; f0 is f at ``theta``.
    """
    slope = np.sum(grad * step, axis=1)
    t = np.ones(theta.shape[0])
    for _ in range(40):
        candidate = theta + t[:, None] * step
        candidate -= candidate.mean(axis=1, keepdims=True)
        value = _objective(candidate, wins, l2)
        accept = value <= f0 + 1e-4 * t * slope + 1e-12 * np.abs(f0)
        if accept.all():
            break
        t = np.where(accept, t, t / 2.0)
    return candidate, value


def _fit_batch(
    wins: np.ndarray, theta0: np.ndarray, l2: float, tol: float = 1e-9, max_iter: int = 200
) -> np.ndarray:
    """Minimise f for each of B win matrices (B, n, n), from θ0 (B, n); returns θ (B, n)."""
    theta = theta0 - theta0.mean(axis=1, keepdims=True)
    value = _objective(theta, wins, l2)
    active = np.arange(wins.shape[0])
    for _ in range(max_iter):
        w = wins[active]
        grad, step = _newton_step(theta[active], w, l2)
        theta[active], value[active] = _line_search(theta[active], w, l2, grad, step, value[active])
        active = active[np.max(np.abs(step), axis=1) >= tol]
        if active.size == 0:
            return theta
    raise RuntimeError(f"Bradley-Terry fit did not converge in {max_iter} Newton steps")


def _check_l2(l2: float) -> float:
    if not (math.isfinite(l2) and l2 > 0):
        raise ValueError(f"l2 must be positive and finite, got {l2!r}")
    return float(l2)


def elo_from_strengths(
    theta: np.ndarray, anchor: float = ELO_ANCHOR, anchor_model: int | None = None
) -> np.ndarray:
    """R = 400 log10(e) (θ - c) + anchor along the last axis, c = mean θ or θ[anchor_model]."""
    theta = np.asarray(theta, dtype=float)
    centre = (
        theta.mean(axis=-1, keepdims=True) if anchor_model is None else theta[..., [anchor_model]]
    )
    return ELO_SCALE * (theta - centre) + anchor


def bradley_terry(
    battles: Battles,
    n_models: int | None = None,
    *,
    l2: float = DEFAULT_L2,
    anchor: float = ELO_ANCHOR,
    anchor_model: int | None = None,
) -> np.ndarray:
    """Bradley-Terry ratings (Elo-like scale, shape (n_models,)) by penalised ML.

    ``battles``: (winners, losers[, ties]) index arrays or a square win matrix with ties
    as half wins (see ``win_matrix``). Minimises f(θ) of the module docstring by damped
    Newton (Bradley & Terry 1952; Hunter 2004, Ann. Statist. 32:384-406, for the
    likelihood and its existence condition), then R = 400 log10(e) θ + anchor, with the
    mean rating (or the rating of ``anchor_model``) equal to ``anchor``.
    """
    l2 = _check_l2(l2)
    wins = win_matrix(battles, n_models)
    theta = _fit_batch(wins[None], np.zeros((1, wins.shape[0])), l2)[0]
    return elo_from_strengths(theta, anchor, anchor_model)


def _resampled_wins(cells: _Cells, n_boot: int, seed: int) -> np.ndarray:
    """Per-cell counts of n_boot battle resamples: one multinomial over the distinct cells."""
    counts = np.concatenate([cells.decisive_counts, cells.tied_counts])
    if np.any(counts != np.round(counts)):
        raise ValueError("bootstrap needs integer win counts: pass battle arrays for ties")
    total = counts.sum()
    draws = np.random.default_rng(seed).multinomial(int(total), counts / total, size=n_boot)
    split = cells.decisive.size
    return draws[:, :split].astype(float), draws[:, split:].astype(float)


def bradley_terry_replicates(
    battles: Battles,
    n_models: int | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    l2: float = DEFAULT_L2,
    anchor: float = ELO_ANCHOR,
    anchor_model: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Full-data ratings (n,) and ratings refitted on n_boot battle resamples (n_boot, n).

    Resampling m battles with replacement only changes the counts of each distinct
    (winner, loser) or tied pair, which are Multinomial(m, counts / m); so the resamples
    are drawn as one multinomial over those cells and refitted together by batched
    Newton, warm-started at the full-data fit (Efron & Tibshirani 1993, ch. 6).
    A win matrix input must hold integer counts (no half wins).
    """
    l2, n_boot = _check_l2(l2), check_n_boot(n_boot)
    cells = _battle_cells(battles, n_models)
    n = cells.n_models
    full = _cells_to_wins(cells, cells.decisive_counts[None], cells.tied_counts[None])
    theta = _fit_batch(full, np.zeros((1, n)), l2)
    decisive, tied = _resampled_wins(cells, n_boot, seed)
    per_batch = max(1, _MAX_BATCH_ELEMENTS // (n * n))
    replicates = np.empty((n_boot, n))
    for start in range(0, n_boot, per_batch):
        stop = min(start + per_batch, n_boot)
        wins = _cells_to_wins(cells, decisive[start:stop], tied[start:stop])
        replicates[start:stop] = _fit_batch(wins, np.repeat(theta, stop - start, axis=0), l2)
    return (
        elo_from_strengths(theta[0], anchor, anchor_model),
        elo_from_strengths(replicates, anchor, anchor_model),
    )


def bradley_terry_bootstrap(
    battles: Battles,
    n_models: int | None = None,
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    l2: float = DEFAULT_L2,
    anchor: float = ELO_ANCHOR,
    anchor_model: int | None = None,
) -> list[Estimate]:
    """Per-model rating with its percentile bootstrap CI over battles (resampled jointly).

    See ``bradley_terry_replicates``; interval: α/2 and 1 - α/2 quantiles of the refits
    (Efron & Tibshirani 1993, ch. 13). Ratings are relative to the anchor, so an anchored
    model's interval is a point.
    """
    confidence = check_confidence(confidence)
    ratings, replicates = bradley_terry_replicates(
        battles,
        n_models,
        n_boot=n_boot,
        seed=seed,
        l2=l2,
        anchor=anchor,
        anchor_model=anchor_model,
    )
    return [
        estimate_from_replicates(float(ratings[k]), replicates[:, k], confidence)
        for k in range(ratings.size)
    ]


def win_probability_matrix(ratings: ArrayLike) -> np.ndarray:
    """P[i, j] = P(i beats j) = 1 / (1 + 10^((R_j - R_i) / 400)); diagonal 1/2."""
    r = np.asarray(ratings, dtype=float)
    if r.ndim != 1:
        raise ValueError(f"ratings must be 1-D, got shape {r.shape}")
    return expit((r[:, None] - r[None, :]) / ELO_SCALE)
