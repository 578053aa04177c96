"""Speed of onpar's batched bootstraps against straightforward implementations.

(a) Win/tie/loss percentile CIs for 45 comparisons × 4,000 prompts × 1,000 resamples:
    ``onpar.stats.significance.win_tie_loss_cis`` (one batched multinomial) against a plain
    per-comparison loop (resample prompt indices with rng.integers, gather, count).
(b) Bradley-Terry fit + 1,000 bootstrap refits on 100,000 battles among 20 models:
    ``bradley_terry_replicates`` (multinomial over pair cells, batched warm-started Newton)
    against refitting ``choix.ilsr_pairwise`` on each resampled list of (winner, loser)
    pairs. choix is timed on a few resamples and extrapolated linearly to 1,000.

Fixed seeds; times are the median of --repeats runs (wall clock, shared machine: noisy).
Run: /tmp/venv/bin/python benchmarks/stats_speed.py [--repeats 3] [--choix-resamples 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import choix
import numpy as np

from onpar.stats.bradley_terry import bradley_terry, bradley_terry_replicates
from onpar.stats.significance import win_tie_loss_cis

N_COMPARISONS, N_PROMPTS, N_BOOT = 45, 4_000, 1_000
N_MODELS, N_BATTLES = 20, 100_000


def timed(function: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time of ``repeats`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def gather_loop_cis(outcomes: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Baseline: per comparison, resample prompt indices, gather and count each outcome."""
    rng = np.random.default_rng(seed)
    n_comparisons, n = outcomes.shape
    bounds = np.empty((2, n_comparisons, 3))
    for row in range(n_comparisons):
        sample = outcomes[row][rng.integers(0, n, size=(n_boot, n))]
        rates = np.stack([np.count_nonzero(sample == c, axis=1) / n for c in (1, 0, -1)], 1)
        bounds[:, row] = np.quantile(rates, [0.025, 0.975], axis=0)
    return bounds


def bench_win_tie_loss(repeats: int) -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet([3, 1, 3], size=N_COMPARISONS)
    outcomes = np.stack([rng.choice([1, 0, -1], size=N_PROMPTS, p=p) for p in probs])
    outcomes = outcomes.astype(np.int8)
    ours_s, ours = timed(lambda: win_tie_loss_cis(outcomes, N_BOOT, 0.95, seed=1), repeats)
    loop_s, loop = timed(lambda: gather_loop_cis(outcomes, N_BOOT, seed=1), repeats)
    gap = max(np.abs(ours.low - loop[0]).max(), np.abs(ours.high - loop[1]).max())
    print(
        f"(a) win/tie/loss 95% CIs, {N_COMPARISONS} comparisons × {N_PROMPTS} prompts × "
        f"{N_BOOT} resamples"
    )
    print(f"    onpar win_tie_loss_cis (batched multinomial): {ours_s:8.3f} s  (target ≤ 0.5 s)")
    print(f"    per-comparison gather loop (rng.integers):    {loop_s:8.3f} s")
    print(f"    speed-up: {loop_s / ours_s:.1f}×   max |bound difference| (MC noise): {gap:.4f}")


def random_battles(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Decisive battles (choix has no ties) from a BT model with N(0, 1) strengths."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 1.0, N_MODELS)
    i = rng.integers(0, N_MODELS, N_BATTLES)
    j = (i + rng.integers(1, N_MODELS, N_BATTLES)) % N_MODELS
    i_wins = rng.random(N_BATTLES) < 1.0 / (1.0 + np.exp(theta[j] - theta[i]))
    return np.where(i_wins, i, j), np.where(i_wins, j, i)


def choix_refits(winners: np.ndarray, losers: np.ndarray, n_resamples: int) -> np.ndarray:
    """Baseline: full fit, then refit choix.ilsr_pairwise on each resampled battle list."""
    rng = np.random.default_rng(2)
    fits = [choix.ilsr_pairwise(N_MODELS, np.stack([winners, losers], 1).tolist())]
    for _ in range(n_resamples):
        idx = rng.integers(0, winners.size, winners.size)
        pairs = np.stack([winners[idx], losers[idx]], 1).tolist()
        fits.append(choix.ilsr_pairwise(N_MODELS, pairs))
    return np.array(fits)


def bench_bradley_terry(repeats: int, choix_resamples: int) -> None:
    winners, losers = random_battles(seed=3)
    battles = (winners, losers)
    ours_s, (ratings, replicates) = timed(
        lambda: bradley_terry_replicates(battles, N_MODELS, n_boot=N_BOOT, seed=4), repeats
    )
    start = time.perf_counter()
    fits = choix_refits(winners, losers, choix_resamples)
    choix_s = time.perf_counter() - start
    choix_full_s = choix_s * (1 + N_BOOT) / (1 + choix_resamples)
    reference = (fits[0] - fits[0].mean()) * 400 / np.log(10) + 1000
    print(
        f"(b) Bradley-Terry fit + {N_BOOT} bootstrap refits, {N_BATTLES} battles, {N_MODELS} models"
    )
    print(f"    onpar bradley_terry_replicates:               {ours_s:8.3f} s  (target ≤ 3 s)")
    print(
        f"    choix.ilsr_pairwise per resample: {choix_s:.2f} s for 1 fit + {choix_resamples} "
        f"refits, extrapolated linearly to 1 + {N_BOOT}: {choix_full_s:8.1f} s"
    )
    print(f"    speed-up: {choix_full_s / ours_s:.0f}×  (target ≥ 30×)")
    print(
        f"    full-fit max |rating difference| onpar vs choix: "
        f"{np.abs(ratings - reference).max():.2e} points; "
        f"bootstrap s.d. {replicates.std(axis=0).min():.1f}-{replicates.std(axis=0).max():.1f}"
    )


def bench_naive_own_refits(choix_resamples: int) -> None:
    """Context: the same per-resample loop with onpar's own fit (no batching, no warm start)."""
    winners, losers = random_battles(seed=3)
    rng = np.random.default_rng(5)
    start = time.perf_counter()
    for _ in range(choix_resamples):
        idx = rng.integers(0, winners.size, winners.size)
        bradley_terry((winners[idx], losers[idx]), N_MODELS)
    per_refit = (time.perf_counter() - start) / choix_resamples
    print(
        f"    (context) per-resample loop with onpar's bradley_terry: {per_refit * 1e3:.1f} ms "
        f"per refit, ≈ {per_refit * (1 + N_BOOT):.2f} s extrapolated to 1 + {N_BOOT}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--choix-resamples", type=int, default=20)
    args = parser.parse_args()
    print(f"numpy {np.__version__}; median of {args.repeats} runs; shared machine, expect noise")
    bench_win_tie_loss(args.repeats)
    bench_bradley_terry(args.repeats, args.choix_resamples)
    bench_naive_own_refits(args.choix_resamples)


if __name__ == "__main__":
    main()
