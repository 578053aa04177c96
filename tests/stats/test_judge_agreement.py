"""Judge-human and human-human agreement against handmade cases and brute-force loops."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest

from onpar.stats import wilson_interval
from onpar.stats.judge_agreement import (
    CONFUSION_ORDER,
    agreement_rates,
    cohens_kappa,
    confusion_matrix,
    human_human_agreement,
    human_majority,
    judge_human_agreement,
    judge_rater_agreement,
    kappa_from_confusion,
    outcome_codes,
)

NAN = math.nan


def _random_ratings(seed: int, n_items: int = 60, n_raters: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ratings = rng.choice([-1.0, 0.0, 1.0], size=(n_items, n_raters), p=[0.35, 0.2, 0.45])
    ratings[rng.random(ratings.shape) < 0.3] = np.nan
    return ratings


def test_outcome_codes_accepts_codes_and_labels() -> None:
    assert outcome_codes(["win", "tie", "loss", None]) == pytest.approx(
        [1.0, 0.0, -1.0, NAN], nan_ok=True
    )
    assert outcome_codes(np.array([1, 0, -1])).tolist() == [1.0, 0.0, -1.0]
    assert outcome_codes([[1, None], ["loss", 0]]).shape == (2, 2)


@pytest.mark.parametrize("bad", [["draw"], [2], np.array([0.5]), np.array([True, False])])
def test_outcome_codes_rejects_other_values(bad: object) -> None:
    with pytest.raises(ValueError):
        outcome_codes(bad)  # type: ignore[arg-type]


def test_human_majority_rule_on_handmade_rows() -> None:
    ratings = np.array(
        [
            [1, 1, -1, NAN],  # 2 of 3: win
            [1, -1, NAN, NAN],  # split: tie
            [0, 0, 1, NAN],  # ties are a majority: tie
            [-1, -1, 0, 1],  # 2 of 4 is not strict: tie
            [-1, -1, -1, 1],  # 3 of 4: loss
            [1, NAN, NAN, NAN],  # one rater decides
            [NAN, NAN, NAN, NAN],  # nobody rated
        ]
    )
    assert human_majority(ratings) == pytest.approx([1, 0, 0, 0, -1, 1, NAN], nan_ok=True)


def test_human_majority_matches_counter_loop() -> None:
    ratings = _random_ratings(seed=1, n_items=300, n_raters=5)
    expected = []
    for row in ratings:
        votes = Counter(v for v in row if not math.isnan(v))
        total = sum(votes.values())
        winners = [v for v, c in votes.items() if 2 * c > total]
        expected.append(NAN if total == 0 else (winners[0] if winners else 0.0))
    assert human_majority(ratings) == pytest.approx(expected, nan_ok=True)


def test_human_majority_needs_two_dimensions() -> None:
    with pytest.raises(ValueError):
        human_majority(np.array([1.0, 0.0]))


def test_agreement_rates_handmade() -> None:
    judge = ["win", "win", "tie", "loss", "loss", "win", None, "tie"]
    human = ["win", "loss", "tie", "loss", "tie", "win", "win", None]
    rates = agreement_rates(judge, human)
    # Both rated: items 0-5 (6); agree on 0, 2, 3, 5 (4).
    assert rates.n_with_ties == 6
    assert rates.with_ties == wilson_interval(4, 6)
    # Both decisive: items 0, 1, 3, 5 (4); agree on 0, 3, 5 (3).
    assert rates.n_without_ties == 4
    assert rates.without_ties == wilson_interval(3, 4)


def test_agreement_rates_rejects_misaligned_input() -> None:
    with pytest.raises(ValueError):
        agreement_rates([1, 0], [1, 0, -1])


def test_confusion_matrix_rows_human_columns_judge() -> None:
    assert CONFUSION_ORDER == ("loss", "tie", "win")
    human = [1, 1, 1, 0, -1, -1, NAN]
    judge = [1, 1, 0, 1, -1, 1, 1]
    expected = np.array(
        [
            [1, 0, 1],  # human loss: judge loss once, win once
            [0, 0, 1],  # human tie: judge win
            [0, 1, 2],  # human win: judge tie once, win twice
        ]
    )
    np.testing.assert_array_equal(confusion_matrix(human, judge), expected)


def test_kappa_textbook_example() -> None:
    # Two raters, 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> p_o 0.7, p_e 0.5.
    a = ["win"] * 25 + ["loss"] * 25
    b = ["win"] * 20 + ["loss"] * 5 + ["win"] * 10 + ["loss"] * 15
    assert cohens_kappa(a, b) == pytest.approx(0.4, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_kappa_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.choice([-1.0, 0.0, 1.0], size=80)
    b = np.where(rng.random(80) < 0.6, a, rng.choice([-1.0, 0.0, 1.0], size=80))
    # p_o by a loop; p_e as the agreement of every one of the n² cross-pairings (i, j).
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / len(a)
    p_e = sum(x == y for x, y in itertools.product(a, b)) / len(a) ** 2
    assert cohens_kappa(a, b) == pytest.approx((p_o - p_e) / (1 - p_e), abs=1e-12)


def test_kappa_edge_cases() -> None:
    assert cohens_kappa([1, 0, -1], [1, 0, -1]) == pytest.approx(1.0)
    assert cohens_kappa([1, 1, 1], [-1, -1, -1]) == pytest.approx(0.0)
    assert math.isnan(cohens_kappa([1, 1], [1, 1]))  # p_e = 1: undefined
    assert math.isnan(kappa_from_confusion(np.zeros((3, 3))))


def test_judge_human_agreement_bundles_everything() -> None:
    ratings = _random_ratings(seed=2)
    human = human_majority(ratings)
    judge = np.where(np.random.default_rng(3).random(human.size) < 0.7, human, 1.0)
    result = judge_human_agreement(judge, human)
    assert result.rates == agreement_rates(judge, human)
    assert np.array(result.confusion).tolist() == confusion_matrix(human, judge).tolist()
    assert result.kappa == pytest.approx(cohens_kappa(human, judge))
    assert judge_human_agreement([1, 1], [1, 1]).kappa is None


def _pairwise_brute_force(pairs: list[tuple[float, float]]) -> tuple[int, int, int, int]:
    rated = [(a, b) for a, b in pairs if not (math.isnan(a) or math.isnan(b))]
    decisive = [(a, b) for a, b in rated if a != 0 and b != 0]
    return (
        len(rated),
        sum(a == b for a, b in rated),
        len(decisive),
        sum(a == b for a, b in decisive),
    )


@pytest.mark.parametrize("seed", range(3))
def test_human_human_agreement_matches_loops(seed: int) -> None:
    ratings = _random_ratings(seed)
    pairs = [
        (row[r], row[s])
        for row in ratings
        for r in range(ratings.shape[1])
        for s in range(r + 1, ratings.shape[1])
    ]
    n_all, agree_all, n_dec, agree_dec = _pairwise_brute_force(pairs)
    rates = human_human_agreement(ratings)
    assert (rates.n_with_ties, rates.n_without_ties) == (n_all, n_dec)
    assert rates.with_ties == wilson_interval(agree_all, n_all)
    assert rates.without_ties == wilson_interval(agree_dec, n_dec)


def test_human_human_agreement_handmade() -> None:
    ratings = [["win", "win", "loss"], ["tie", "tie", None]]
    rates = human_human_agreement(ratings)
    # Item 0: pairs (w,w) agree, (w,l) x2 disagree; item 1: (t,t) agrees.
    assert rates.n_with_ties == 4
    assert rates.with_ties.value == pytest.approx(0.5)
    assert rates.n_without_ties == 3
    assert rates.without_ties.value == pytest.approx(1 / 3)


def test_judge_rater_agreement_matches_loops() -> None:
    ratings = _random_ratings(seed=7)
    judge = np.random.default_rng(8).choice([-1.0, 0.0, 1.0, np.nan], size=ratings.shape[0])
    pairs = [(judge[i], ratings[i, r]) for i in range(ratings.shape[0]) for r in range(4)]
    n_all, agree_all, n_dec, agree_dec = _pairwise_brute_force(pairs)
    rates = judge_rater_agreement(judge, ratings)
    assert rates.with_ties == wilson_interval(agree_all, n_all)
    assert rates.without_ties == wilson_interval(agree_dec, n_dec)
    with pytest.raises(ValueError):
        judge_rater_agreement(judge[:-1], ratings)


def test_perfect_and_empty_agreement() -> None:
    rates = agreement_rates(["win", "tie"], ["win", "tie"])
    assert rates.with_ties.value == 1.0
    assert rates.without_ties.value == 1.0
    empty = agreement_rates([None, "tie"], ["win", None])
    assert empty.n_with_ties == 0
    assert empty.with_ties.value is None
