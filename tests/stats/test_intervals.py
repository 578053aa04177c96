"""Wilson intervals, percentile intervals and the paired bootstrap helper."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, bootstrap

from onpar.records import Estimate
from onpar.stats import intervals, paired_bootstrap, percentile_interval, wilson_interval


def _wilson_cases() -> list[tuple[int, int, float]]:
    cases = []
    for n in (1, 2, 3, 5, 10, 17, 50, 100, 333, 1000):
        ks = range(n + 1) if n <= 100 else sorted({0, 1, 2, n // 7, n // 2, n - 1, n})
        for k in ks:
            for confidence in (0.8, 0.95, 0.99):
                cases.append((k, n, confidence))
    return cases


def test_wilson_matches_scipy_reference() -> None:
    cases = _wilson_cases()
    assert len(cases) > 600
    for k, n, confidence in cases:
        ours = wilson_interval(k, n, confidence)
        ref = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
        assert ours.value == pytest.approx(k / n, abs=1e-12)
        assert ours.low == pytest.approx(ref.low, abs=1e-9), (k, n, confidence)
        assert ours.high == pytest.approx(ref.high, abs=1e-9), (k, n, confidence)


def test_wilson_closed_form_at_zero_successes() -> None:
    # k = 0: the upper bound is z² / (n + z²).
    z = 1.959963984540054
    est = wilson_interval(0, 10)
    assert est.low == 0.0
    assert est.high == pytest.approx(z * z / (10 + z * z), abs=1e-12)
    assert wilson_interval(10, 10).high == 1.0


def test_wilson_empty_sample_has_no_value() -> None:
    assert wilson_interval(0, 0) == Estimate(value=None, low=None, high=None)


@pytest.mark.parametrize(
    ("k", "n", "confidence"),
    [(-1, 5, 0.95), (6, 5, 0.95), (1.5, 5, 0.95), (1, 5, 1.0), (1, 5, 0.0)],
)
def test_wilson_rejects_bad_input(k: float, n: int, confidence: float) -> None:
    with pytest.raises(ValueError):
        wilson_interval(k, n, confidence)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=10_000),
    frac=st.floats(min_value=0.0, max_value=1.0),
    confidence=st.floats(min_value=0.5, max_value=0.999),
)
def test_wilson_bounds_bracket_the_proportion(n: int, frac: float, confidence: float) -> None:
    k = round(frac * n)
    est = wilson_interval(k, n, confidence)
    assert est.value is not None and est.low is not None and est.high is not None
    assert 0.0 <= est.low <= est.value <= est.high <= 1.0
    assert est.high - est.low > 0.0


def test_wilson_narrows_with_confidence_and_n() -> None:
    def width(k: int, n: int, confidence: float) -> float:
        est = wilson_interval(k, n, confidence)
        assert est.low is not None and est.high is not None
        return est.high - est.low

    assert width(30, 100, 0.99) > width(30, 100, 0.95) > width(30, 100, 0.8)
    assert width(3, 10, 0.95) > width(30, 100, 0.95) > width(300, 1000, 0.95)


def test_percentile_interval_drops_non_finite_and_handles_empty() -> None:
    values = np.array([np.nan, *np.arange(101.0), np.inf])
    assert percentile_interval(values, 0.9) == pytest.approx((5.0, 95.0))
    assert percentile_interval(np.array([np.nan, np.nan])) is None
    assert percentile_interval(np.array([])) is None


def _mean(batch: np.ndarray) -> np.ndarray:
    return batch.mean(axis=1)


def _mean_difference(batch: np.ndarray) -> np.ndarray:
    return batch[..., 0].mean(axis=1) - batch[..., 1].mean(axis=1)


def test_paired_bootstrap_mean_agrees_with_scipy_percentile() -> None:
    data = np.random.default_rng(7).normal(1.0, 2.0, size=300)
    ours = paired_bootstrap(data, _mean, n_boot=5000, seed=1)
    ref = bootstrap(
        (data,), np.mean, method="percentile", n_resamples=5000, rng=np.random.default_rng(2)
    ).confidence_interval
    assert ours.value == pytest.approx(data.mean())
    assert ours.low == pytest.approx(ref.low, abs=0.03)
    assert ours.high == pytest.approx(ref.high, abs=0.03)
    assert ours.low < ours.value < ours.high


def test_paired_bootstrap_keeps_within_prompt_correlation() -> None:
    rng = np.random.default_rng(3)
    prompt_effect = rng.normal(0.0, 3.0, size=200)
    pairs = np.column_stack([prompt_effect + 0.5, prompt_effect + rng.normal(0.0, 0.3, 200)])
    paired = paired_bootstrap(pairs, _mean_difference, n_boot=2000, seed=0)
    # Breaking the pairing (independent resampling per column) must give a much wider CI.
    unpaired_reps = []
    for col_seed in range(500):
        gen = np.random.default_rng(col_seed)
        a = pairs[gen.integers(0, 200, 200), 0]
        b = pairs[gen.integers(0, 200, 200), 1]
        unpaired_reps.append(a.mean() - b.mean())
    unpaired = percentile_interval(np.array(unpaired_reps))
    assert paired.low is not None and paired.high is not None and unpaired is not None
    assert paired.high - paired.low < 0.25 * (unpaired[1] - unpaired[0])
    assert paired.low < 0.5 < paired.high


def test_paired_bootstrap_matches_scipy_paired() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(0.0, 1.0, size=150)
    y = x + rng.normal(0.2, 0.5, size=150)
    ours = paired_bootstrap(np.column_stack([x, y]), _mean_difference, n_boot=5000, seed=4)
    ref = bootstrap(
        (x, y),
        lambda a, b, axis: a.mean(axis=axis) - b.mean(axis=axis),
        paired=True,
        method="percentile",
        n_resamples=5000,
        rng=np.random.default_rng(5),
    ).confidence_interval
    assert ours.low == pytest.approx(ref.low, abs=0.02)
    assert ours.high == pytest.approx(ref.high, abs=0.02)


def test_paired_bootstrap_is_reproducible_and_seed_dependent() -> None:
    data = np.random.default_rng(0).random(50)
    first = paired_bootstrap(data, _mean, n_boot=300, seed=9)
    assert first == paired_bootstrap(data, _mean, n_boot=300, seed=9)
    assert first != paired_bootstrap(data, _mean, n_boot=300, seed=10)


def test_paired_bootstrap_batches_large_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    data = np.random.default_rng(1).random(100)
    whole = paired_bootstrap(data, _mean, n_boot=4000, seed=0)
    monkeypatch.setattr(intervals, "_MAX_BATCH_ELEMENTS", 3_000)  # 30 resamples per batch
    calls: list[int] = []

    def counting_mean(batch: np.ndarray) -> np.ndarray:
        calls.append(batch.shape[0])
        return _mean(batch)

    batched = paired_bootstrap(data, counting_mean, n_boot=4000, seed=0)
    assert calls[0] == 1 and sum(calls[1:]) == 4000 and max(calls[1:]) == 30
    assert batched.low == pytest.approx(whole.low, abs=0.01)
    assert batched.high == pytest.approx(whole.high, abs=0.01)


def test_paired_bootstrap_edge_cases() -> None:
    assert paired_bootstrap(np.array([]), _mean) == Estimate(value=None)
    constant = paired_bootstrap(np.full(20, 0.25), _mean, n_boot=100)
    assert constant == Estimate(value=0.25, low=0.25, high=0.25)
    nan_stat = paired_bootstrap(np.ones(5), lambda b: np.full(b.shape[0], np.nan), n_boot=10)
    assert nan_stat == Estimate(value=None)
    with pytest.raises(ValueError, match="statistic must map"):
        paired_bootstrap(np.ones(5), lambda b: b.mean(), n_boot=10)
    with pytest.raises(ValueError):
        paired_bootstrap(np.ones(5), _mean, n_boot=0)
    with pytest.raises(ValueError):
        paired_bootstrap(np.float64(1.0), _mean)


def test_paired_bootstrap_drops_undefined_replicates() -> None:
    # Ratio of column sums: undefined (NaN) on resamples whose denominator is 0.
    data = np.array([[1.0, 1.0]] + [[0.0, 0.0]] * 9)

    def ratio(batch: np.ndarray) -> np.ndarray:
        den = batch[..., 1].sum(axis=1)
        return np.divide(
            batch[..., 0].sum(axis=1), den, out=np.full(den.shape, np.nan), where=den > 0
        )

    est = paired_bootstrap(data, ratio, n_boot=500, seed=0)
    assert est == Estimate(value=1.0, low=1.0, high=1.0)
    assert math.isclose(est.value or 0.0, 1.0)
