"""summarize_comparison on a handmade set of verdicts."""

from __future__ import annotations

import pytest

from onpar.records import Estimate, Outcome, PairVerdict
from onpar.stats import (
    bootstrap_win_tie_loss,
    derive_seed,
    position_bias,
    summarize_comparison,
)


def _verdict(
    pid: str,
    outcome: Outcome | None,
    category: str = "general",
    multi: bool = False,
    prefs: tuple[int | None, int | None] = (None, None),
    reason: str | None = None,
    judge: str = "judge",
    model_y: str = "y",
) -> PairVerdict:
    return PairVerdict(
        judge=judge,
        prompt_id=pid,
        category=category,
        is_multi_turn=multi,
        model_x="x",
        model_y=model_y,
        outcome=outcome,
        preference_xy=prefs[0],
        preference_yx=prefs[1],
        missing_reason=reason,
    )


def _handmade() -> list[PairVerdict]:
    return [
        _verdict("w1", "win", "writing", prefs=(2, 1)),
        _verdict("w2", "win", "writing", multi=True, prefs=(1, -1)),
        _verdict("w3", "tie", "writing", prefs=(0, 0)),
        _verdict("f1", "loss", "factual", prefs=(-2, -2)),
        _verdict("f2", "win", "factual", multi=True, prefs=(3, None)),
        _verdict("f3", None, "factual", reason="judge failed", prefs=(None, None)),
        _verdict("c1", None, "coding", multi=True, reason="missing answer"),
        _verdict("c2", None, "coding", reason="judge failed"),
        _verdict("c3", None, "coding"),
    ]


def test_counts_keys_and_failures() -> None:
    summary = summarize_comparison(_handmade(), n_boot=300)
    assert (summary.judge, summary.model_x, summary.model_y) == ("judge", "x", "y")
    assert summary.n_prompts == 9
    overall = summary.overall
    assert (overall.n, overall.wins, overall.ties, overall.losses) == (5, 3, 1, 1)
    assert overall.win_rate.value == pytest.approx(0.6)
    assert overall.win_share.value == pytest.approx(0.75)
    assert list(summary.by_category) == ["coding", "factual", "writing"]
    assert [summary.by_category[c].n for c in summary.by_category] == [0, 2, 3]
    assert summary.by_category["coding"].win_rate == Estimate(value=None)
    assert summary.by_category["writing"].wins == 2
    assert list(summary.by_turns) == ["single-turn", "multi-turn"]
    assert summary.by_turns["single-turn"].n == 3
    assert summary.by_turns["multi-turn"].n == 2
    assert summary.failures == {"judge failed": 2, "missing answer": 1, "unknown": 1}
    assert summary.position == position_bias(_handmade())
    assert summary.position.n_pairs == 4
    assert summary.position.n_judgments == 9


def test_only_present_turn_keys() -> None:
    single_only = [v for v in _handmade() if not v.is_multi_turn]
    assert list(summarize_comparison(single_only, n_boot=50).by_turns) == ["single-turn"]
    multi_only = [v for v in _handmade() if v.is_multi_turn]
    assert list(summarize_comparison(multi_only, n_boot=50).by_turns) == ["multi-turn"]


def test_breakdowns_use_derived_seeds() -> None:
    verdicts = [_verdict(f"p{i}", ("win", "tie", "loss")[i % 3], f"cat{i % 2}") for i in range(60)]
    summary = summarize_comparison(verdicts, confidence=0.9, n_boot=400, seed=7)
    outcomes = [v.outcome for v in verdicts if v.outcome is not None]
    assert summary.overall == bootstrap_win_tie_loss(outcomes, 0.9, 400, derive_seed(7, "overall"))
    cat0 = [v.outcome for v in verdicts if v.category == "cat0" and v.outcome is not None]
    expected = bootstrap_win_tie_loss(cat0, 0.9, 400, derive_seed(7, "category:cat0"))
    assert summary.by_category["cat0"] == expected


def test_reproducible_and_seed_dependent() -> None:
    verdicts = [_verdict(f"p{i}", ("win", "loss")[i % 2], f"cat{i % 3}") for i in range(40)]
    first = summarize_comparison(verdicts, n_boot=300, seed=1)
    assert first == summarize_comparison(verdicts, n_boot=300, seed=1)
    assert first.overall != summarize_comparison(verdicts, n_boot=300, seed=2).overall


def test_adding_a_category_leaves_others_unchanged() -> None:
    verdicts = [_verdict(f"p{i}", ("win", "tie", "loss")[i % 3], "a") for i in range(30)]
    extra = [_verdict(f"q{i}", "win", "b") for i in range(5)]
    before = summarize_comparison(verdicts, n_boot=300, seed=3)
    after = summarize_comparison(verdicts + extra, n_boot=300, seed=3)
    assert after.by_category["a"] == before.by_category["a"]


def test_derive_seed() -> None:
    assert derive_seed(0, "overall") == derive_seed(0, "overall")
    assert derive_seed(0, "overall") != derive_seed(1, "overall")
    assert derive_seed(0, "category:a") != derive_seed(0, "category:b")
    with pytest.raises(ValueError):
        derive_seed(-1, "overall")


@pytest.mark.parametrize(
    "odd_one",
    [
        _verdict("z", "win", judge="other-judge"),
        _verdict("z", "win", model_y="other-model"),
        _verdict("w1", "loss"),  # same prompt twice
    ],
)
def test_rejects_mixed_or_duplicated_verdicts(odd_one: PairVerdict) -> None:
    with pytest.raises(ValueError):
        summarize_comparison([*_handmade(), odd_one], n_boot=50)


def test_rejects_empty() -> None:
    with pytest.raises(ValueError, match="at least one verdict"):
        summarize_comparison([])
