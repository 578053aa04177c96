"""Everything the report says about one (judge, model_x, model_y) comparison."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from onpar.records import ComparisonSummary, PairVerdict, WinTieLoss
from onpar.stats.position import position_bias
from onpar.stats.winrates import bootstrap_win_tie_loss

SINGLE_TURN = "single-turn"
MULTI_TURN = "multi-turn"
UNKNOWN_REASON = "unknown"


def derive_seed(seed: int, label: str) -> int:
    """A reproducible seed for one breakdown, from the run seed and the breakdown's label.

    Keyed by label (not by position) so adding a category leaves every other breakdown's
    resamples unchanged. Hashes with BLAKE2b (Python's ``hash`` is salted per process)
    and mixes with ``numpy.random.SeedSequence``.
    """
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    digest = hashlib.blake2b(label.encode("utf-8"), digest_size=8).digest()
    sequence = np.random.SeedSequence([int(seed), int.from_bytes(digest, "little")])
    return int(sequence.generate_state(1, dtype=np.uint64)[0])


def _check_one_comparison(verdicts: Sequence[PairVerdict]) -> tuple[str, str, str]:
    """Return the shared (judge, model_x, model_y), or raise ValueError."""
    if not verdicts:
        raise ValueError("summarize_comparison needs at least one verdict")
    keys = {(v.judge, v.model_x, v.model_y) for v in verdicts}
    if len(keys) > 1:
        raise ValueError(f"verdicts mix judges or model pairs: {sorted(keys)}")
    prompt_ids = Counter(v.prompt_id for v in verdicts)
    duplicated = sorted(pid for pid, count in prompt_ids.items() if count > 1)
    if duplicated:
        raise ValueError(f"several verdicts for the same prompt: {duplicated[:5]}")
    return keys.pop()


def _group(
    verdicts: Sequence[PairVerdict], key: Callable[[PairVerdict], str]
) -> dict[str, list[PairVerdict]]:
    groups: dict[str, list[PairVerdict]] = {}
    for verdict in verdicts:
        groups.setdefault(key(verdict), []).append(verdict)
    return groups


def _turns_label(verdict: PairVerdict) -> str:
    return MULTI_TURN if verdict.is_multi_turn else SINGLE_TURN


def summarize_comparison(
    verdicts: Sequence[PairVerdict],
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> ComparisonSummary:
    """Win/tie/loss overall, by category and by single/multi-turn, position bias, failures.

    ``verdicts`` are all verdicts of one (judge, model_x, model_y), one per prompt;
    mixing judges or pairs, or repeating a prompt, raises ValueError. Verdicts without
    an outcome count in n_prompts and in failures (by missing_reason, 'unknown' if
    unset) but not in any WinTieLoss. Each breakdown is bootstrapped with its own seed,
    ``derive_seed(seed, label)``, so results are reproducible run to run.
    by_category keys are sorted; by_turns lists 'single-turn' before 'multi-turn'.
    """
    judge, model_x, model_y = _check_one_comparison(verdicts)

    def win_tie_loss(label: str, group: Sequence[PairVerdict]) -> WinTieLoss:
        outcomes = [v.outcome for v in group if v.outcome is not None]
        return bootstrap_win_tie_loss(outcomes, confidence, n_boot, derive_seed(seed, label))

    categories = _group(verdicts, lambda v: v.category)
    turns = _group(verdicts, _turns_label)
    failures = Counter(v.missing_reason or UNKNOWN_REASON for v in verdicts if v.outcome is None)
    return ComparisonSummary(
        judge=judge,
        model_x=model_x,
        model_y=model_y,
        n_prompts=len(verdicts),
        overall=win_tie_loss("overall", verdicts),
        by_category={
            name: win_tie_loss(f"category:{name}", categories[name]) for name in sorted(categories)
        },
        by_turns={
            name: win_tie_loss(f"turns:{name}", turns[name])
            for name in (SINGLE_TURN, MULTI_TURN)
            if name in turns
        },
        position=position_bias(verdicts, confidence),
        failures=dict(sorted(failures.items())),
    )
