"""Benchmark scores: the unbiased pass@k estimator and accuracy with a Wilson interval."""

from __future__ import annotations

from onpar.records import Estimate
from onpar.stats.intervals import wilson_interval


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples of which ``c`` passed (Chen et al. 2021, Codex).

    pass@k = 1 − C(n−c, k) / C(n, k). The ratio of binomials is written as the product
    ∏_{i=n−c+1}^{n} (1 − k/i), which never forms the huge binomials, so it stays exact to
    float precision for n in the hundreds. When fewer than k samples failed, every draw of
    k contains a pass and the value is 1.
    """
    for name, value in (("n", n), ("c", c), ("k", k)):
        if isinstance(value, bool) or int(value) != value:
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


def accuracy_with_ci(correct: int, n: int, confidence: float = 0.95) -> Estimate:
    """Accuracy ``correct / n`` with its Wilson score interval (``value=None`` when n = 0).

    Wilson rather than the normal approximation lm-eval prints as stderr, because benchmark
    subsets (one MMLU subject: 100 questions) are small and accuracies can sit near 0 or 1.
    """
    return wilson_interval(correct, n, confidence)
