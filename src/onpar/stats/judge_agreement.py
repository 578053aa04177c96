"""How well does a model judge agree with humans, and how well do humans agree with each other?

Outcomes are coded from model_x's side: +1 win, 0 tie, -1 loss, NaN missing; the labels
'win' / 'tie' / 'loss' (and None for missing) are accepted everywhere too. Agreement is
reported as MT-Bench does (Zheng et al. 2023, "Judging LLM-as-a-Judge with MT-Bench and
Chatbot Arena", §4.2): "with ties" counts every item both sides rated, "without ties"
only the items where both sides are decisive (win or loss).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field

from onpar.records import Estimate, Record
from onpar.stats.intervals import wilson_interval

#: Row / column order of ``confusion_matrix``: loss, tie, win (code + 1 is the index).
CONFUSION_ORDER: tuple[str, str, str] = ("loss", "tie", "win")
_LABEL_CODES = {"win": 1.0, "tie": 0.0, "loss": -1.0}


class AgreementRates(Record):
    """Share of compared pairs of verdicts that agree, with and without ties, Wilson CIs."""

    n_with_ties: int = Field(description="Pairs of verdicts compared (neither missing).")
    with_ties: Estimate = Field(description="Share of those with the same win/tie/loss.")
    n_without_ties: int = Field(description="Pairs where both verdicts are decisive.")
    without_ties: Estimate = Field(description="Share of decisive pairs with the same winner.")


class JudgeAgreement(Record):
    """A judge against one reference label per item (e.g. the human majority)."""

    rates: AgreementRates
    kappa: float | None = Field(description="Cohen's kappa over loss/tie/win; None if undefined.")
    confusion: tuple[tuple[int, int, int], ...] = Field(
        description="3×3 counts, rows reference (human), columns judge, order loss/tie/win."
    )


def _code(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, str):
        if value not in _LABEL_CODES:
            raise ValueError(f"outcome label must be one of {sorted(_LABEL_CODES)}, got {value!r}")
        return _LABEL_CODES[value]
    number = float(value)
    if not (math.isnan(number) or number in (-1.0, 0.0, 1.0)):
        raise ValueError(f"outcome code must be -1, 0, 1 or NaN, got {value!r}")
    return number


def outcome_codes(outcomes: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Float array of outcome codes (+1 win, 0 tie, -1 loss, NaN missing), same shape.

    Accepts numbers (-1/0/1/NaN) or labels ('win'/'tie'/'loss'/None); anything else is a
    ValueError.
    """
    array = np.asarray(outcomes, dtype=object if _has_labels(outcomes) else None)
    if array.dtype.kind in "iuf":
        codes = array.astype(float)
        bad = ~(np.isnan(codes) | np.isin(codes, (-1.0, 0.0, 1.0)))
        if bad.any():
            raise ValueError(f"outcome codes must be -1, 0, 1 or NaN, got {codes[bad][:5]}")
        return codes
    if array.dtype.kind == "b":
        raise ValueError("outcomes must be -1/0/1 codes or 'win'/'tie'/'loss' labels, not bool")
    return np.array([_code(v) for v in array.ravel()], dtype=float).reshape(array.shape)


def _has_labels(outcomes: Sequence[Any] | np.ndarray) -> bool:
    if isinstance(outcomes, np.ndarray):
        return outcomes.dtype.kind in "OUS"
    return True  # lists may mix None and labels; the object path handles numbers as well


def human_majority(outcomes_by_rater: np.ndarray | Sequence[Sequence[Any]]) -> np.ndarray:
    """Majority outcome per item from an (n_items, n_raters) array, NaN for missing ratings.

    Rule: among the raters who rated the item (k of them), an outcome chosen by strictly
    more than k/2 raters is the majority; with no strict majority (e.g. 1 win, 1 loss, or
    2 wins, 1 tie, 1 loss) the item counts as a tie (0). Items nobody rated are NaN.
    """
    codes = outcome_codes(outcomes_by_rater)
    if codes.ndim != 2:
        raise ValueError(f"outcomes_by_rater must be 2-D (items, raters), got shape {codes.shape}")
    rated = (~np.isnan(codes)).sum(axis=1)
    wins = (codes == 1.0).sum(axis=1)
    losses = (codes == -1.0).sum(axis=1)
    majority = np.where(2 * wins > rated, 1.0, np.where(2 * losses > rated, -1.0, 0.0))
    return np.where(rated == 0, np.nan, majority)


def _aligned(
    a: np.ndarray | Sequence[Any], b: np.ndarray | Sequence[Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Codes of two aligned 1-D outcome arrays, keeping items where neither is missing."""
    a, b = outcome_codes(a), outcome_codes(b)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"need two aligned 1-D arrays, got shapes {a.shape} and {b.shape}")
    keep = ~(np.isnan(a) | np.isnan(b))
    return a[keep], b[keep]


def _rates_from_pairs(a: np.ndarray, b: np.ndarray, confidence: float) -> AgreementRates:
    """Agreement of paired codes ``a`` and ``b`` (same shape, NaN = not compared)."""
    both = ~(np.isnan(a) | np.isnan(b))
    decisive = both & (a != 0) & (b != 0)
    agree = both & (a == b)
    n_all, n_dec = int(both.sum()), int(decisive.sum())
    return AgreementRates(
        n_with_ties=n_all,
        with_ties=wilson_interval(int(agree.sum()), n_all, confidence),
        n_without_ties=n_dec,
        without_ties=wilson_interval(int((agree & decisive).sum()), n_dec, confidence),
    )


def agreement_rates(
    a: np.ndarray | Sequence[Any], b: np.ndarray | Sequence[Any], confidence: float = 0.95
) -> AgreementRates:
    """Agreement of two aligned outcome arrays, MT-Bench style, with Wilson CIs.

    with_ties    = #{a_i = b_i} / #{both rated}
    without_ties = #{a_i = b_i} / #{both rated, a_i ≠ 0 and b_i ≠ 0}
    """
    a_codes, b_codes = _aligned(a, b)
    return _rates_from_pairs(a_codes, b_codes, confidence)


def confusion_matrix(
    human: np.ndarray | Sequence[Any], judge: np.ndarray | Sequence[Any]
) -> np.ndarray:
    """3×3 integer counts: rows the human (reference) outcome, columns the judge outcome.

    Order of rows and columns is loss, tie, win (``CONFUSION_ORDER``); items where either
    side is missing are left out.
    """
    h, j = _aligned(human, judge)
    matrix = np.zeros((3, 3), dtype=int)
    np.add.at(matrix, (h.astype(int) + 1, j.astype(int) + 1), 1)
    return matrix


def kappa_from_confusion(matrix: np.ndarray) -> float:
    """Cohen's kappa from a square count matrix; NaN when undefined (n = 0 or p_e = 1).

    κ = (p_o − p_e) / (1 − p_e), p_o = trace / n, p_e = Σ_k row_k · col_k / n².
    Reference: J. Cohen (1960), "A coefficient of agreement for nominal scales",
    Educ. Psychol. Meas. 20:37-46.
    """
    counts = np.asarray(matrix, dtype=float)
    n = counts.sum()
    if n == 0:
        return math.nan
    p_o = np.trace(counts) / n
    p_e = float(counts.sum(axis=1) @ counts.sum(axis=0)) / (n * n)
    if p_e >= 1.0:
        return math.nan
    return float((p_o - p_e) / (1.0 - p_e))


def cohens_kappa(a: np.ndarray | Sequence[Any], b: np.ndarray | Sequence[Any]) -> float:
    """Cohen's kappa of two aligned outcome arrays over loss/tie/win (see kappa_from_confusion)."""
    return kappa_from_confusion(confusion_matrix(a, b))


def judge_human_agreement(
    judge: np.ndarray | Sequence[Any],
    human: np.ndarray | Sequence[Any],
    confidence: float = 0.95,
) -> JudgeAgreement:
    """Judge against one human label per item (e.g. ``human_majority``): rates, κ, confusion.

    Items where either the judge or the human label is missing are left out of everything.
    """
    matrix = confusion_matrix(human, judge)
    kappa = kappa_from_confusion(matrix)
    return JudgeAgreement(
        rates=agreement_rates(judge, human, confidence),
        kappa=None if math.isnan(kappa) else kappa,
        confusion=tuple((int(r[0]), int(r[1]), int(r[2])) for r in matrix),
    )


def _rater_codes(outcomes_by_rater: np.ndarray | Sequence[Sequence[Any]]) -> np.ndarray:
    codes = outcome_codes(outcomes_by_rater)
    if codes.ndim != 2:
        raise ValueError(f"outcomes_by_rater must be 2-D (items, raters), got shape {codes.shape}")
    return codes


def human_human_agreement(
    outcomes_by_rater: np.ndarray | Sequence[Sequence[Any]], confidence: float = 0.95
) -> AgreementRates:
    """Average pairwise agreement between human raters, on items both raters rated.

    Every (item, pair of raters r < s who both rated it) is one comparison; the rates pool
    all comparisons, so a rater pair weighs in proportion to its overlap. This is the
    human-human baseline MT-Bench sets beside judge-human agreement. The Wilson CIs treat
    comparisons as independent, which they are not (they share items and raters), so they
    are optimistic.
    """
    codes = _rater_codes(outcomes_by_rater)
    first, second = np.triu_indices(codes.shape[1], k=1)
    return _rates_from_pairs(codes[:, first], codes[:, second], confidence)


def judge_rater_agreement(
    judge: np.ndarray | Sequence[Any],
    outcomes_by_rater: np.ndarray | Sequence[Sequence[Any]],
    confidence: float = 0.95,
) -> AgreementRates:
    """Judge against each individual human vote, pooled over (item, rater) pairs.

    The like-for-like comparison with ``human_human_agreement``: a judge compared with a
    majority of several raters faces a less noisy reference than one human faces another.
    Same independence caveat for the CIs.
    """
    codes = _rater_codes(outcomes_by_rater)
    judge_codes = outcome_codes(judge)
    if judge_codes.shape != (codes.shape[0],):
        raise ValueError(f"judge shape {judge_codes.shape}, raters cover {codes.shape[0]} items")
    return _rates_from_pairs(np.broadcast_to(judge_codes[:, None], codes.shape), codes, confidence)
