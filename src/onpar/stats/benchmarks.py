"""Benchmark scores from stored outcomes: accuracy with intervals, maj@k, pass@k, paired tests.

Everything is computed from ``BenchOutcome`` records, so a report can be rebuilt from the
run store alone. Binary per-item metrics get Wilson intervals; pass@k (a per-problem
fraction) gets a percentile bootstrap over problems. Two contestants are compared on the
items both were scored on: paired bootstrap difference and McNemar's exact test.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from onpar.bench.metrics import pass_at_k
from onpar.records import BenchComparison, BenchGroupScore, BenchOutcome, BenchScore, Estimate
from onpar.stats.intervals import paired_bootstrap, wilson_interval
from onpar.stats.significance import holm_adjust, mcnemar_test, paired_accuracy_difference


def _by_item(outcomes: Sequence[BenchOutcome]) -> dict[str, list[BenchOutcome]]:
    grouped: dict[str, list[BenchOutcome]] = defaultdict(list)
    for outcome in sorted(outcomes, key=lambda o: (o.item_id, o.sample_index)):
        grouped[outcome.item_id].append(outcome)
    return dict(grouped)


def _binary_score(values: Mapping[str, float], confidence: float) -> tuple[Estimate, int]:
    n = len(values)
    return wilson_interval(round(sum(values.values())), n, confidence), n


def summarize_benchmark(
    task: str,
    contestant: str,
    n_items: int,
    outcomes: Sequence[BenchOutcome],
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    categories: Mapping[str, str] | None = None,
    pass_at: Sequence[int] = (),
    maj_at: int | None = None,
) -> list[BenchScore]:
    """Every metric of one contestant on one task (first sample per item, plus maj@k/pass@k)."""
    items = _by_item(outcomes)
    first = {item: samples[0] for item, samples in items.items() if samples[0].sample_index == 0}
    scored = {item: o for item, o in first.items() if o.ok}
    mode = next(iter(first.values())).mode if first else "loglikelihood"
    counts = {
        "n_items": n_items,
        "n_failed": sum(1 for o in first.values() if not o.ok),
        "n_unparseable": sum(1 for o in scored.values() if o.prediction is None),
        "n_length_truncated": sum(1 for o in scored.values() if o.finish_reason == "length"),
        "n_context_truncated": sum(1 for o in first.values() if o.context_truncated),
    }
    metric_names = sorted({name for o in scored.values() for name in o.metrics}, key=_metric_order)
    scores = []
    for metric in metric_names:
        values = {item: o.metrics[metric] for item, o in scored.items() if metric in o.metrics}
        estimate, n = _binary_score(values, confidence)
        groups = _groups(values, scored, None, confidence)
        cats = _groups(values, scored, categories, confidence) if categories else ()
        macro = float(np.mean([g.estimate.value for g in groups])) if len(groups) > 1 else None
        scores.append(
            BenchScore(
                task=task,
                contestant=contestant,
                metric=metric,
                mode=mode,
                estimate=estimate,
                n_scored=n,
                by_group=groups if len(groups) > 1 else (),
                by_category=cats,
                macro=macro,
                **counts,
            )
        )
    if maj_at and maj_at > 1:
        scores.append(_maj_score(task, contestant, items, maj_at, confidence, mode, counts))
    for k in pass_at:
        if k == 1 and all(len(samples) == 1 for samples in items.values()):
            continue  # one sample per problem: the per-item pass@1 above is the estimate
        scores = [s for s in scores if s.metric != f"pass@{k}"]  # n > 1: the estimator wins
        scores.append(
            _pass_score(task, contestant, items, k, confidence, n_boot, seed, mode, counts)
        )
    return scores


def _metric_order(name: str) -> tuple[int, str]:
    primary = ("acc", "exact_match", "pass@1")
    return (primary.index(name) if name in primary else len(primary), name)


def _groups(
    values: Mapping[str, float],
    scored: Mapping[str, BenchOutcome],
    categories: Mapping[str, str] | None,
    confidence: float,
) -> tuple[BenchGroupScore, ...]:
    tallies: dict[str, list[float]] = defaultdict(list)
    for item, value in values.items():
        group = scored[item].group
        if categories is not None:
            group = categories.get(group, "other")
        tallies[group].append(value)
    return tuple(
        BenchGroupScore(
            group=group,
            n=len(vals),
            estimate=wilson_interval(round(sum(vals)), len(vals), confidence),
        )
        for group, vals in sorted(tallies.items())
    )


def majority_vote(predictions: Sequence[str | None]) -> str | None:
    """Most frequent answer; ties go to the one seen first (lm-eval's `majority_vote`)."""
    return Counter(predictions).most_common(1)[0][0]


def _maj_score(
    task: str,
    contestant: str,
    items: Mapping[str, list[BenchOutcome]],
    k: int,
    confidence: float,
    mode: str,
    counts: Mapping[str, int],
) -> BenchScore:
    correct: dict[str, float] = {}
    for item, samples in items.items():
        usable = [o for o in samples if o.error is None][:k]
        if len(usable) < k:
            continue  # not all k samples exist (failures): not scored
        vote = majority_vote([o.prediction for o in usable])
        correct[item] = float(
            vote is not None and any(o.prediction == vote and o.correct for o in usable)
        )
    estimate, n = _binary_score(correct, confidence)
    return BenchScore(
        task=task,
        contestant=contestant,
        metric=f"maj@{k}",
        mode=mode,  # type: ignore[arg-type]
        estimate=estimate,
        n_scored=n,
        **counts,
    )


def _pass_score(
    task: str,
    contestant: str,
    items: Mapping[str, list[BenchOutcome]],
    k: int,
    confidence: float,
    n_boot: int,
    seed: int,
    mode: str,
    counts: Mapping[str, int],
) -> BenchScore:
    values = []
    for samples in items.values():
        usable = [o for o in samples if o.ok]
        if len(usable) >= k:
            values.append(pass_at_k(len(usable), sum(bool(o.correct) for o in usable), k))
    data = np.asarray(values, dtype=float)
    estimate = (
        paired_bootstrap(data, lambda b: b.mean(axis=1), confidence, n_boot, seed)
        if data.size
        else Estimate(value=None)
    )
    return BenchScore(
        task=task,
        contestant=contestant,
        metric=f"pass@{k}",
        mode=mode,  # type: ignore[arg-type]
        estimate=estimate,
        n_scored=int(data.size),
        **counts,
    )


def compare_benchmark(
    task: str,
    metric: str,
    x: str,
    y: str,
    outcomes_x: Sequence[BenchOutcome],
    outcomes_y: Sequence[BenchOutcome],
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> BenchComparison:
    """x − y on the items both answered (first sample), with McNemar's exact p-value."""
    values_x = {o.item_id: o.metrics[metric] for o in outcomes_x if _usable(o, metric)}
    values_y = {o.item_id: o.metrics[metric] for o in outcomes_y if _usable(o, metric)}
    shared = sorted(set(values_x) & set(values_y))
    a = np.array([values_x[i] for i in shared], dtype=float)
    b = np.array([values_y[i] for i in shared], dtype=float)
    if not shared:
        return BenchComparison(
            task=task,
            metric=metric,
            model_x=x,
            model_y=y,
            n_paired=0,
            difference=Estimate(value=None),
            p_value=None,
        )
    difference = paired_accuracy_difference(a, b, confidence, n_boot, seed)
    return BenchComparison(
        task=task,
        metric=metric,
        model_x=x,
        model_y=y,
        n_paired=len(shared),
        difference=difference,
        p_value=mcnemar_test(a, b, "exact"),
    )


def _usable(outcome: BenchOutcome, metric: str) -> bool:
    return outcome.sample_index == 0 and outcome.ok and metric in outcome.metrics


def with_holm(comparisons: Sequence[BenchComparison]) -> list[BenchComparison]:
    """Holm-adjusted p-values across all benchmark comparisons of a run."""
    tested = [i for i, c in enumerate(comparisons) if c.p_value is not None]
    adjusted = holm_adjust([comparisons[i].p_value for i in tested]) if tested else []
    out = list(comparisons)
    for index, p in zip(tested, adjusted, strict=True):
        out[index] = out[index].model_copy(update={"p_holm": float(p)})
    return out
