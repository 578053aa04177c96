"""Inter-rater reliability against irrCAC, krippendorff, hand calculations and published values.

Reference values:

* irrCAC (``irrCAC.raw.CAC``, ``irrCAC.table.CAC``) rounds everything it reports to
  ``digits`` decimals (default 5). It takes ``digits`` as a constructor argument, so the
  tests build ``CAC(..., digits=15)``: rounding at 15 decimals moves a value by at most
  5e-16, far below the 1e-9 tolerance, and no irrCAC code is re-implemented in the tests.
  The same holds for its reported ``pa`` (percent agreement).
* irrCAC's variance step divides by n(n - 1) for n rated items, which fails for n = 1, so
  generated data always has at least two rated items (our functions need only one item with
  two ratings).
* ``krippendorff.alpha`` returns an unrounded float; it raises when only one value occurs.
* Cohen's kappa with missing ratings is checked against irrCAC's Conger kappa on two
  raters (Conger 1980 reduces to Cohen for two raters) and, on complete pairs, against
  irrCAC's contingency-table ``cohen()``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onpar.records import Estimate
from onpar.stats.reliability import (
    check_ratings,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    gwet_ac2,
    krippendorff_alpha,
    percent_agreement,
)
from onpar.stats.reliability_report import (
    ReliabilityReport,
    bootstrap_reliability,
    reliability_report,
    resample_indices,
)
from onpar.stats.reliability_weights import weights_matrix

TOL = 1e-9
WEIGHT_KINDS = ("identity", "quadratic", "ordinal", "linear")
LEVELS = ("nominal", "ordinal", "interval")
NAN = np.nan

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the 4-observer x
# 12-unit example on a 1..5 scale (rows are units); also Gwet's 4-rater example in irrCAC.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 1, NAN, 1],
        [2, 2, 3, 2],
        [3, 3, 3, 3],
        [3, 3, 3, 3],
        [2, 2, 2, 2],
        [1, 2, 3, 4],
        [4, 4, 4, 4],
        [1, 1, 2, 1],
        [2, 2, 2, 2],
        [NAN, 5, 5, 5],
        [NAN, NAN, 1, 1],
        [NAN, NAN, 3, NAN],
    ]
)


# ---------------------------------------------------------------- reference helpers


def _irrcac(ratings: np.ndarray, cats: list[float], weights: str) -> Any:
    """irrCAC's raw-ratings CAC object with unrounded (15-decimal) results."""
    raw = pytest.importorskip("irrCAC.raw")
    pd = pytest.importorskip("pandas")
    return raw.CAC(pd.DataFrame(ratings), weights=weights, categories=cats, digits=15)


def _irrcac_value(method: Callable[[], dict[str, Any]], key: str = "coefficient_value") -> float:
    """A coefficient from an irrCAC method; NaN where irrCAC divides 0 by 0 (p_e = 1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return float(method()["est"][key])
        except ZeroDivisionError:
            return float("nan")


def _table_cohen(ratings: np.ndarray, cats: list[float], weights: str) -> float:
    """irrCAC's contingency-table Cohen's kappa on complete pairs (equally spaced scale)."""
    table = pytest.importorskip("irrCAC.table")
    pd = pytest.importorskip("pandas")
    index = np.searchsorted(cats, ratings).astype(int)
    counts = np.zeros((len(cats), len(cats)), dtype=int)
    np.add.at(counts, (index[:, 0], index[:, 1]), 1)
    frame = pd.DataFrame(counts, index=cats, columns=cats)
    return _irrcac_value(table.CAC(frame, weights=weights, digits=15).cohen)


def _kripp(ratings: np.ndarray, level: str) -> float:
    """krippendorff.alpha on (raters, units) data; NaN where it refuses a one-value domain."""
    kd = pytest.importorskip("krippendorff")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 0/0 when one value is all that pairs
            return float(kd.alpha(reliability_data=ratings.T, level_of_measurement=level))
    except ValueError as error:
        assert "more than one value" in str(error)
        return float("nan")


def _same(ours: float, ref: float) -> bool:
    """Equal to TOL, or both NaN."""
    return (np.isnan(ours) and np.isnan(ref)) or abs(ours - ref) <= TOL


# ---------------------------------------------------------------- generated data


@st.composite
def rating_sets(draw: st.DrawFn) -> tuple[np.ndarray, list[float]]:
    """Ratings (2-40 items, 2-5 raters, 5- or 7-point scale) with random missingness.

    Each item has a latent score; raters add noise of random size, so agreement ranges from
    perfect to none. Row 0 always has two ratings and row 1 at least one.
    """
    q = draw(st.sampled_from([5, 7]))
    offset = draw(st.sampled_from([0, 1 - (q + 1) // 2]))  # 1..q or centred (-3..3)
    n_items, n_raters = draw(st.integers(2, 40)), draw(st.integers(2, 5))
    noise = draw(st.sampled_from([0.0, 0.5, 1.0, 3.0]))
    p_missing = draw(st.sampled_from([0.0, 0.2, 0.5, 0.8]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    latent = rng.integers(1, q + 1, size=(n_items, 1))
    scores = np.rint(latent + noise * rng.standard_normal((n_items, n_raters)))
    ratings = np.clip(scores, 1, q) + offset
    ratings[rng.random(ratings.shape) < p_missing] = NAN
    ratings[0, :2] = ratings[0, :2] if not np.isnan(ratings[0, :2]).any() else 1 + offset
    ratings[1, 0] = ratings[1, 0] if not np.isnan(ratings[1, 0]) else q + offset
    return ratings, [float(c + offset) for c in range(1, q + 1)]


@settings(max_examples=30, deadline=None)
@given(rating_sets())
def test_gwet_fleiss_and_percent_agreement_match_irrcac(data: tuple[np.ndarray, list]) -> None:
    ratings, cats = data
    for kind in WEIGHT_KINDS:
        ref = _irrcac(ratings, cats, kind)
        assert _same(gwet_ac2(ratings, cats, kind), _irrcac_value(ref.gwet)), kind
        assert _same(percent_agreement(ratings, cats, kind), _irrcac_value(ref.gwet, "pa")), kind
        assert _same(fleiss_kappa(ratings, cats, kind), _irrcac_value(ref.fleiss)), kind
    assert gwet_ac1(ratings, cats) == gwet_ac2(ratings, cats, "identity")


@settings(max_examples=40, deadline=None)
@given(rating_sets(), st.sampled_from(WEIGHT_KINDS))
def test_cohen_matches_irrcac(data: tuple[np.ndarray, list], kind: str) -> None:
    # One weight kind per example: irrCAC's conger() takes ~0.1 s per call.
    ratings, cats = data
    pair = ratings[:, :2]
    ours = cohen_kappa(pair, cats, kind)
    assert _same(ours, _irrcac_value(_irrcac(pair, cats, kind).conger))
    complete = pair[~np.isnan(pair).any(axis=1)]
    if len(complete) >= 2:
        assert _same(cohen_kappa(complete, cats, kind), _table_cohen(complete, cats, kind))


@settings(max_examples=100, deadline=None)
@given(rating_sets())
def test_krippendorff_alpha_matches_package(data: tuple[np.ndarray, list]) -> None:
    ratings, cats = data
    for level in LEVELS:
        ref = _kripp(ratings, level)
        assert _same(krippendorff_alpha(ratings, cats, level), ref), level
        assert _same(krippendorff_alpha(ratings, level=level), ref), level


# ---------------------------------------------------------------- weights


@pytest.mark.parametrize("kind", WEIGHT_KINDS)
@pytest.mark.parametrize(
    "cats",
    [[1.0, 2, 3, 4, 5], [1.0, 2, 3, 4, 5, 6, 7], [-3.0, -2, -1, 0, 1, 2, 3], [0.0, 1, 3, 10]],
)
def test_weights_match_irrcac(kind: str, cats: list[float]) -> None:
    weights = pytest.importorskip("irrCAC.weights")
    np.testing.assert_allclose(weights_matrix(cats, kind), weights.Weights(cats)[kind], atol=1e-15)


def test_weights_hand_values_and_aliases() -> None:
    seven = list(range(1, 8))
    assert weights_matrix(seven, "quadratic")[0, 3] == pytest.approx(1 - 9 / 36)
    assert weights_matrix(seven, "linear")[0, 3] == pytest.approx(0.5)
    assert weights_matrix(range(1, 6), "ordinal")[0, 2] == pytest.approx(1 - 3 / 10)
    np.testing.assert_array_equal(weights_matrix(seven, "nominal"), np.eye(7))
    # Input order does not matter: rows follow the sorted categories.
    np.testing.assert_array_equal(
        weights_matrix([3, 1, 2], "quadratic"), weights_matrix([1, 2, 3], "quadratic")
    )
    for kind in WEIGHT_KINDS:
        w = weights_matrix(seven, kind)
        np.testing.assert_array_equal(w, w.T)
        np.testing.assert_array_equal(np.diag(w), np.ones(7))


@pytest.mark.parametrize("cats", [[1.0], [1.0, 1.0, 2.0], [1.0, np.inf], [[1.0, 2.0]]])
def test_weights_reject_bad_categories(cats: list) -> None:
    with pytest.raises(ValueError, match="categories"):
        weights_matrix(cats, "identity")


def test_weights_reject_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown weights kind"):
        weights_matrix([1, 2, 3], "cubic")


# ---------------------------------------------------------------- handmade cases


def test_published_example_krippendorff_2011_and_gwet() -> None:
    cats = [1, 2, 3, 4, 5]
    # Krippendorff (2011): nominal .743, ordinal .815, interval .849.
    assert krippendorff_alpha(KRIPPENDORFF_2011, cats, "nominal") == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(KRIPPENDORFF_2011, cats, "ordinal") == pytest.approx(0.815, abs=5e-4)
    assert krippendorff_alpha(KRIPPENDORFF_2011, cats, "interval") == pytest.approx(0.849, abs=5e-4)
    # Gwet's 4-rater example as printed in irrCAC's documentation: AC1 .77544, Fleiss .76117.
    assert gwet_ac1(KRIPPENDORFF_2011, cats) == pytest.approx(0.77544, abs=5e-6)
    assert fleiss_kappa(KRIPPENDORFF_2011, cats) == pytest.approx(0.76117, abs=5e-6)


def test_hand_computed_item_with_one_rating() -> None:
    # Items (A, B): (1,1), (1,2), (2,2), (2,-). The last item counts for the category shares
    # pi = (3/8, 5/8) but not for p_a = 2/3, and alpha ignores it.
    ratings = np.array([[1, 1], [1, 2], [2, 2], [2, NAN]])
    cats = [1, 2]
    assert percent_agreement(ratings, cats) == pytest.approx(2 / 3, abs=1e-15)
    assert gwet_ac1(ratings, cats) == pytest.approx(float(Fraction(19, 51)), abs=1e-15)
    assert fleiss_kappa(ratings, cats) == pytest.approx(float(Fraction(13, 45)), abs=1e-15)
    # Cohen: A's marginals (1/2, 1/2) over 4 items, B's (1/3, 2/3) over 3 -> p_e = 1/2.
    assert cohen_kappa(ratings, cats) == pytest.approx(1 / 3, abs=1e-15)
    assert krippendorff_alpha(ratings, cats, "nominal") == pytest.approx(4 / 9, abs=1e-15)
    assert krippendorff_alpha(ratings, cats) == krippendorff_alpha(ratings[:3], cats)
    for kind in WEIGHT_KINDS:
        ref = _irrcac(ratings, [1.0, 2.0], kind)
        assert _same(gwet_ac2(ratings, cats, kind), _irrcac_value(ref.gwet))
        assert _same(cohen_kappa(ratings, cats, kind), _irrcac_value(ref.conger))
    assert _same(krippendorff_alpha(ratings, cats, "ordinal"), _kripp(ratings, "ordinal"))


def test_perfect_agreement_is_one() -> None:
    ratings = np.array([[1, 1, 1], [4, 4, NAN], [7, 7, 7], [2, NAN, 2], [5, 5, 5]], dtype=float)
    cats = list(range(1, 8))
    values = [percent_agreement(ratings, cats), gwet_ac1(ratings, cats)]
    values += [gwet_ac2(ratings, cats, kind) for kind in WEIGHT_KINDS]
    values += [fleiss_kappa(ratings, cats, kind) for kind in WEIGHT_KINDS]
    values += [krippendorff_alpha(ratings, cats, level) for level in LEVELS]
    values += [cohen_kappa(ratings[:, :2], cats, kind) for kind in WEIGHT_KINDS]
    np.testing.assert_allclose(values, 1.0, atol=1e-12)
    assert _same(gwet_ac2(ratings, cats), _irrcac_value(_irrcac(ratings, cats, "quadratic").gwet))


def test_single_category_used_by_everyone() -> None:
    # p_e = 0 for Gwet, so AC1 = AC2 = 1; kappa and alpha are 0/0 and undefined (NaN).
    ratings = np.array([[4, 4, 4], [4, NAN, 4], [4, 4, NAN], [NAN, NAN, 4]], dtype=float)
    cats = list(range(1, 8))
    for kind in WEIGHT_KINDS:
        ref = _irrcac(ratings, cats, kind)
        assert gwet_ac2(ratings, cats, kind) == 1.0 == _irrcac_value(ref.gwet)
        assert np.isnan(fleiss_kappa(ratings, cats, kind))
        assert np.isnan(_irrcac_value(ref.fleiss))  # irrCAC raises ZeroDivisionError
        assert np.isnan(cohen_kappa(ratings[:, :2], cats, kind))
    for level in LEVELS:
        assert np.isnan(krippendorff_alpha(ratings, cats, level))
        assert np.isnan(_kripp(ratings, level))  # the package refuses a one-value domain
    assert percent_agreement(ratings, cats) == 1.0


def test_all_missing_rows_change_nothing() -> None:
    cats = [1, 2, 3, 4, 5]
    padded = np.vstack([np.full((3, 4), NAN), KRIPPENDORFF_2011, np.full((2, 4), NAN)])
    for kind in WEIGHT_KINDS:
        assert gwet_ac2(padded, cats, kind) == pytest.approx(
            gwet_ac2(KRIPPENDORFF_2011, cats, kind)
        )
        assert fleiss_kappa(padded, cats, kind) == pytest.approx(
            fleiss_kappa(KRIPPENDORFF_2011, cats, kind)
        )
        assert _same(gwet_ac2(padded, cats, kind), _irrcac_value(_irrcac(padded, cats, kind).gwet))
    for level in LEVELS:
        assert _same(krippendorff_alpha(padded, cats, level), _kripp(padded, level))
    assert cohen_kappa(padded[:, 2:], cats) == pytest.approx(
        cohen_kappa(KRIPPENDORFF_2011[:, 2:], cats)
    )


def test_unused_categories_matter_for_gwet_not_alpha() -> None:
    ratings = np.array([[1, 1], [2, 2], [1, 2], [2, 2]], dtype=float)
    assert gwet_ac1(ratings, [1, 2]) != gwet_ac1(ratings, [1, 2, 3])
    for level in LEVELS:
        with_scale = krippendorff_alpha(ratings, [0, 1, 2, 3], level)
        assert krippendorff_alpha(ratings, level=level) == pytest.approx(with_scale, abs=1e-15)
        assert krippendorff_alpha(ratings, [1, 2], level) == pytest.approx(with_scale, abs=1e-15)


def test_alpha_without_categories() -> None:
    assert np.isnan(krippendorff_alpha(np.array([[2, 2], [2, NAN]]), level="ordinal"))
    with pytest.raises(ValueError, match="no item has 2 or more ratings"):
        krippendorff_alpha(np.full((3, 2), NAN))
    with pytest.raises(ValueError, match="not in categories"):
        krippendorff_alpha(np.array([[1, 2], [np.inf, 1]]))


@pytest.mark.parametrize(
    ("ratings", "cats", "match"),
    [
        (np.array([[1, 2], [3, 8]], dtype=float), [1, 2, 3], r"\[8.0\] are not in categories"),
        (np.array([[1, 2.5], [3, 1]]), [1, 2, 3], "not in categories"),
        (np.array([[1, np.inf], [3, 1]]), [1, 2, 3], "not in categories"),
        (np.array([[1], [2]], dtype=float), [1, 2], "at least 2 raters"),
        (np.array([1, 2, 3], dtype=float), [1, 2, 3], "2-D"),
        (np.array([[1, NAN], [NAN, 2], [NAN, NAN]]), [1, 2], "no item has 2 or more ratings"),
        (np.empty((0, 3)), [1, 2], "no item has 2 or more ratings"),
        (np.array([[1, 2], [2, 2]], dtype=float), [2], "categories"),
    ],
)
def test_invalid_input_raises(ratings: np.ndarray, cats: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_ratings(ratings, cats)
    for function in (percent_agreement, gwet_ac1, gwet_ac2, fleiss_kappa, krippendorff_alpha):
        with pytest.raises(ValueError, match=match):
            function(ratings, cats)
    with pytest.raises(ValueError, match=match):
        reliability_report(ratings, cats, n_boot=10)


def test_cohen_needs_two_raters_and_alpha_a_known_level() -> None:
    with pytest.raises(ValueError, match="exactly 2 raters"):
        cohen_kappa(KRIPPENDORFF_2011, [1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="unknown level"):
        krippendorff_alpha(KRIPPENDORFF_2011, [1, 2, 3, 4, 5], "ratio")
    with pytest.raises(ValueError, match="unknown weights kind"):
        gwet_ac2(KRIPPENDORFF_2011, [1, 2, 3, 4, 5], "bipolar")


# ---------------------------------------------------------------- bootstrap and report


def test_resample_stream_does_not_depend_on_batch() -> None:
    whole = np.vstack(list(resample_indices(9, 50, seed=3, batch=50)))
    pieces = np.vstack(list(resample_indices(9, 50, seed=3, batch=7)))
    np.testing.assert_array_equal(whole, pieces)
    assert whole.shape == (50, 9) and whole.min() >= 0 and whole.max() <= 8


def test_bootstrap_reliability_is_reproducible_and_brackets_value() -> None:
    cats = [1, 2, 3, 4, 5]
    statistic = lambda r: gwet_ac2(r, cats, "quadratic")  # noqa: E731
    first = bootstrap_reliability(KRIPPENDORFF_2011, statistic, n_boot=300, seed=5)
    assert first == bootstrap_reliability(KRIPPENDORFF_2011, statistic, n_boot=300, seed=5)
    assert first != bootstrap_reliability(KRIPPENDORFF_2011, statistic, n_boot=300, seed=6)
    assert first.value == statistic(KRIPPENDORFF_2011)
    assert first.low is not None and first.high is not None
    assert first.low <= first.value <= first.high <= 1.0
    # Items without ratings are not resampled, so padding leaves the interval as it was.
    padded = np.vstack([KRIPPENDORFF_2011, np.full((5, 4), NAN)])
    assert bootstrap_reliability(padded, statistic, n_boot=300, seed=5) == first


def test_bootstrap_drops_undefined_resamples() -> None:
    # One pairable item among single ratings: resamples without it raise ValueError.
    ratings = np.array([[1, 2], [1, NAN], [NAN, 2], [2, NAN], [NAN, 1]], dtype=float)
    result = bootstrap_reliability(ratings, lambda r: gwet_ac1(r, [1, 2]), n_boot=200)
    assert result.value == gwet_ac1(ratings, [1, 2])
    assert result.low is not None and result.low <= result.high  # type: ignore[operator]


def test_bootstrap_perfect_agreement_and_argument_checks() -> None:
    ratings = np.array([[1, 1], [2, 2], [3, 3]], dtype=float)
    statistic = lambda r: gwet_ac1(r, [1, 2, 3])  # noqa: E731
    assert bootstrap_reliability(ratings, statistic, n_boot=100) == Estimate(
        value=1.0, low=1.0, high=1.0
    )
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_reliability(ratings, statistic, n_boot=0)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_reliability(ratings, statistic, confidence=1.5)
    with pytest.raises(ValueError, match="no item"):
        bootstrap_reliability(ratings[:, :1].repeat(2, axis=1) * NAN, statistic)


def _functions(cats: list[float]) -> dict[tuple[str, str], Callable[[np.ndarray], float]]:
    return {
        ("gwet_ac1", "identity"): lambda r: gwet_ac1(r, cats),
        ("gwet_ac2", "ordinal"): lambda r: gwet_ac2(r, cats, "ordinal"),
        ("gwet_ac2", "quadratic"): lambda r: gwet_ac2(r, cats, "quadratic"),
        ("krippendorff_alpha", "nominal"): lambda r: krippendorff_alpha(r, cats, "nominal"),
        ("krippendorff_alpha", "ordinal"): lambda r: krippendorff_alpha(r, cats, "ordinal"),
        ("krippendorff_alpha", "interval"): lambda r: krippendorff_alpha(r, cats, "interval"),
        ("fleiss_kappa", "identity"): lambda r: fleiss_kappa(r, cats),
        ("cohen_kappa", "identity"): lambda r: cohen_kappa(r, cats),
    }


@pytest.mark.parametrize("n_raters", [2, 4])
def test_report_matches_functions_and_bootstrap(n_raters: int) -> None:
    cats = [1.0, 2, 3, 4, 5]
    ratings = np.vstack([KRIPPENDORFF_2011[:, -n_raters:], np.full((2, n_raters), NAN)])
    reports = reliability_report(ratings, cats, n_boot=150, confidence=0.9, seed=11)
    expected = list(_functions(cats))[: 8 if n_raters == 2 else 7]
    assert [(r.coefficient, r.weights) for r in reports] == expected
    for report in reports:
        assert isinstance(report, ReliabilityReport)
        assert (report.n_items, report.n_raters, report.n_boot) == (12, n_raters, 150)
        assert report.confidence == 0.9
        function = _functions(cats)[(report.coefficient, report.weights)]
        reference = bootstrap_reliability(ratings, function, n_boot=150, confidence=0.9, seed=11)
        assert report.estimate.value == pytest.approx(reference.value, abs=1e-12)
        assert report.estimate.low == pytest.approx(reference.low, abs=1e-12)
        assert report.estimate.high == pytest.approx(reference.high, abs=1e-12)
    assert reports[0].n_pairable_items == int((np.sum(~np.isnan(ratings), axis=1) >= 2).sum())


def test_report_marks_undefined_coefficients() -> None:
    ratings = np.array([[3, 3], [3, 3], [3, NAN]], dtype=float)
    by_name = {
        (r.coefficient, r.weights): r.estimate for r in reliability_report(ratings, [1, 2, 3])
    }
    assert by_name["gwet_ac1", "identity"] == Estimate(value=1.0, low=1.0, high=1.0)
    assert by_name["fleiss_kappa", "identity"].value is None
    assert by_name["krippendorff_alpha", "interval"].value is None
    assert by_name["cohen_kappa", "identity"].value is None
