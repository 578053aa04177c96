"""Stage: academic benchmarks — every contestant takes every configured task, resumably.

Per (task, contestant) the stage picks how the model can take the task (`choose_mode`):
local `hf` models score multiple choice by log-likelihood and continue raw text; chat APIs
answer multiple choice with a letter and generation tasks as a chat turn. Work is cut into
batches in a fixed order; each batch skips items already in the store under the same
request key, takes what the cross-run cache holds, computes the rest and commits its
`BenchOutcome`s in one transaction — the same resume contract as generation and judging.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from onpar.bench.answers import (
    CHAT_CODE_INSTRUCTION,
    GSM8K_STOPS,
    HUMANEVAL_STOPS,
    chat_code_program_body,
    cut_at_stops,
    extract_with_regex,
    letter_instruction,
    normalize_answer,
    parse_letter,
)
from onpar.bench.gsm8k import extract_final_number, is_correct
from onpar.bench.mmlu import SUBJECT_CATEGORIES
from onpar.bench.tasks import (
    AnyItem,
    CodeItem,
    GenerationItem,
    LoadedTask,
    MultipleChoiceItem,
    item_group,
    item_id,
)
from onpar.config.benchmarks import (
    BenchmarkSpec,
    GenerationSpec,
    Gsm8kSpec,
    HumanEvalSpec,
    MmluSpec,
    sampling_temperature,
)
from onpar.config.schema import ContestantConfig, ResponsesFileSpec, RunConfig
from onpar.engine.context import RunContext, chunked
from onpar.records import (
    BenchComparison,
    BenchMode,
    BenchOutcome,
    BenchScore,
    ChatRequest,
    GenerationParams,
    Message,
)
from onpar.stats.benchmarks import compare_benchmark, summarize_benchmark, with_holm
from onpar.store.cache import request_key

BENCH_PROTOCOL_VERSION = 1  # bump when prompts or scoring rules change: keys change with it


@dataclass(frozen=True)
class BenchJob:
    """One model call to make for one item (one sample of it) and its store/cache key."""

    item: AnyItem
    sample_index: int
    key: str
    request: Any  # (context, continuations), ContinuationRequest or ChatRequest


def participants(config: RunConfig, spec: BenchmarkSpec) -> list[ContestantConfig]:
    """Contestants that take this benchmark (all, unless the entry names some)."""
    names = spec.contestants
    return [c for c in config.contestants if names is None or c.name in names]


def choose_mode(task: LoadedTask, contestant: ContestantConfig, model: Any) -> BenchMode | None:
    """How this contestant takes this task; None when it cannot (answers read from a file)."""
    if isinstance(contestant.model, ResponsesFileSpec):
        return None
    local = hasattr(model, "tokenizer") and hasattr(model, "model")
    if task.kind == "multiple_choice":
        wanted = getattr(task.spec, "mode", "auto")
        if wanted == "letter" or (wanted == "auto" and not local):
            return "letter"
        if not local:
            raise ValueError(
                f"benchmark {task.name!r}: contestant {contestant.name!r} gives no log-probs; "
                "use mode: letter (or auto)"
            )
        return "loglikelihood"
    if task.kind == "generation":
        return "generation" if local else "chat"
    return "code" if local else "chat_code"


def run_benchmarks(ctx: RunContext, tasks: Sequence[LoadedTask]) -> None:
    """Fill the store with every contestant's outcome on every task (resuming finished work).

    Contestants whose answers come from a file cannot take benchmarks; the report says so.
    """
    ctx.store.set_meta("bench_tasks", {task.name: len(task.items) for task in tasks})
    for task in tasks:
        for contestant in participants(ctx.config, task.spec):
            model = ctx.pool.get(contestant.model)
            mode = choose_mode(task, contestant, model)
            if mode is not None:
                _run_task(ctx, task, contestant, model, mode)


def _run_task(
    ctx: RunContext, task: LoadedTask, contestant: ContestantConfig, model: Any, mode: BenchMode
) -> None:
    identity = model.identity()
    jobs = [job for item in task.items for job in _jobs(task, item, mode, identity)]
    stored = {
        (o.item_id, o.sample_index): key
        for key, o in ctx.store.bench_outcomes(task.name, contestant.name)
        if o.error is None
    }
    pending = [j for j in jobs if stored.get((item_id(j.item), j.sample_index)) != j.key]
    bar = ctx.progress.add_task(f"{task.name} · {contestant.name}", total=len(jobs))
    ctx.progress.advance(bar, len(jobs) - len(pending))
    batch_size = task.spec.batch_size if mode == "loglikelihood" else model.preferred_batch_size
    for batch in chunked(pending, max(batch_size, 1)):
        outputs = _outputs(ctx, model, mode, batch)
        outcomes = _score(task, contestant.name, mode, batch, outputs)
        ctx.store.put_bench_outcomes(
            (job.key, outcome) for job, outcome in zip(batch, outcomes, strict=True)
        )
        ctx.progress.advance(bar, len(batch))


# -- requests ---------------------------------------------------------------------------------
def _jobs(
    task: LoadedTask, item: AnyItem, mode: BenchMode, identity: dict[str, object]
) -> list[BenchJob]:
    spec = task.spec
    samples = getattr(spec, "samples", 1)
    jobs = []
    for sample in range(samples):
        request = _request(task, item, mode, sample)
        key = request_key(identity, "bench", BENCH_PROTOCOL_VERSION, mode, request, sample)
        jobs.append(BenchJob(item, sample, key, request))
    return jobs


def sample_seed(base: int, item: str, sample: int) -> int:
    """A per-(item, sample) seed: independent draws that do not depend on batching."""
    digest = hashlib.sha256(f"{base}/{item}/{sample}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _request(task: LoadedTask, item: AnyItem, mode: BenchMode, sample: int) -> Any:
    spec = task.spec
    if mode == "loglikelihood":
        assert isinstance(item, MultipleChoiceItem)
        return {"context": item.context, "continuations": list(item.choices)}
    if mode == "letter":
        assert isinstance(item, MultipleChoiceItem)
        text = item.letter_prompt or item.context
        content = f"{letter_instruction(len(item.choices))}\n\n{text}"
        params = GenerationParams(max_new_tokens=getattr(spec, "max_new_tokens", 8))
        return ChatRequest(messages=(Message(role="user", content=content),), params=params)
    assert isinstance(spec, Gsm8kSpec | GenerationSpec | HumanEvalSpec)
    temperature = sampling_temperature(spec)
    seed = sample_seed(spec.seed, item_id(item), sample)
    prompt = item.prompt if isinstance(item, GenerationItem | CodeItem) else ""
    if mode in ("generation", "code"):
        from onpar.models.hf_continuation import ContinuationRequest

        return ContinuationRequest(
            context=prompt,
            until=_until(spec),
            max_new_tokens=spec.max_new_tokens,
            temperature=temperature,
            top_p=spec.top_p if temperature > 0 else 1.0,
            seed=seed if temperature > 0 else None,
        )
    content = (
        f"{CHAT_CODE_INSTRUCTION}\n\n```python\n{prompt}```" if mode == "chat_code" else prompt
    )
    params = GenerationParams(
        temperature=temperature,
        top_p=spec.top_p if temperature > 0 else 1.0,
        max_new_tokens=spec.max_new_tokens,
        seed=seed,
    )
    return ChatRequest(messages=(Message(role="user", content=content),), params=params)


def _until(spec: Gsm8kSpec | GenerationSpec | HumanEvalSpec) -> tuple[str, ...]:
    if isinstance(spec, Gsm8kSpec):
        return GSM8K_STOPS
    if isinstance(spec, HumanEvalSpec):
        return HUMANEVAL_STOPS
    return tuple(spec.until)


# -- model calls --------------------------------------------------------------------------------
def _outputs(ctx: RunContext, model: Any, mode: BenchMode, batch: Sequence[BenchJob]) -> list[dict]:
    """Model output per job, from the cross-run cache where possible, each key computed once."""
    keys = [job.key for job in batch]
    cached = ctx.cache.get_many(keys)
    fresh = {job.key: job.request for job in batch if job.key not in cached}
    computed = dict(zip(fresh, _call(model, mode, list(fresh.values())), strict=True))
    ctx.cache.put_many({k: v for k, v in computed.items() if v.get("error") is None})
    return [cached[k] if k in cached else computed[k] for k in keys]


def _call(model: Any, mode: BenchMode, requests: list[Any]) -> list[dict]:
    if not requests:
        return []
    if mode == "loglikelihood":
        return _loglikelihood_outputs(model, requests)
    if mode in ("generation", "code"):
        from onpar.models.hf_continuation import generate_until

        return [c.model_dump(mode="json") for c in generate_until(model, requests)]
    results = model.generate(requests)
    return [
        {
            "text": r.text,
            "finish_reason": r.finish_reason,
            "error": r.error,
            "context_truncated": False,
        }
        for r in results
    ]


def _loglikelihood_outputs(model: Any, requests: list[dict]) -> list[dict]:
    from onpar.models.hf_scoring import loglikelihoods

    pairs = [(r["context"], c) for r in requests for c in r["continuations"]]
    scored = loglikelihoods(model, pairs, batch_size=64)
    outputs, start = [], 0
    for request in requests:
        end = start + len(request["continuations"])
        outputs.append(
            {
                "scores": [s for s, _ in scored[start:end]],
                "greedy": [g for _, g in scored[start:end]],
                "context_truncated": _would_truncate(model, request),
            }
        )
        start = end
    return outputs


def _would_truncate(model: Any, request: dict) -> bool:
    """Whether the longest (context, continuation) exceeds the model's window (lm-eval cuts it)."""
    limit = getattr(model.spec, "max_context_tokens", None) or getattr(
        model.model.config, "max_position_embeddings", None
    )
    if limit is None:
        return False
    longest = max(request["continuations"], key=len)
    tokens = model.tokenizer.encode(request["context"] + longest, add_special_tokens=False)
    return len(tokens) > limit + 1


# -- scoring ------------------------------------------------------------------------------------
def _score(
    task: LoadedTask,
    contestant: str,
    mode: BenchMode,
    batch: Sequence[BenchJob],
    outputs: Sequence[dict],
) -> list[BenchOutcome]:
    scorer: Callable[[LoadedTask, BenchJob, dict], dict[str, Any]]
    if mode == "loglikelihood":
        scorer = _score_loglikelihood
    elif mode == "letter":
        scorer = _score_letter
    elif mode in ("generation", "chat"):
        scorer = _score_generation
    else:
        return _score_code(task, contestant, mode, batch, outputs)
    return [
        BenchOutcome(
            task=task.name,
            contestant=contestant,
            item_id=item_id(job.item),
            group=item_group(job.item, task.name),
            sample_index=job.sample_index,
            mode=mode,
            context_truncated=bool(output.get("context_truncated")),
            **scorer(task, job, output),
        )
        for job, output in zip(batch, outputs, strict=True)
    ]


def _score_loglikelihood(task: LoadedTask, job: BenchJob, output: dict) -> dict[str, Any]:
    item = job.item
    assert isinstance(item, MultipleChoiceItem)
    scores = [float(s) for s in output["scores"]]
    lengths = [len(choice) for choice in item.choices]
    best = _argmax(scores)
    best_norm = _argmax([s / max(n, 1) for s, n in zip(scores, lengths, strict=True)])
    return {
        "prediction": str(best),
        "correct": best == item.answer,
        "scores": tuple(scores),
        "choice_lengths": tuple(lengths),
        "metrics": {"acc": float(best == item.answer), "acc_norm": float(best_norm == item.answer)},
    }


def _argmax(values: Sequence[float]) -> int:
    """First index of the largest value (numpy's argmax tie rule, as lm-eval uses)."""
    return max(range(len(values)), key=lambda i: (values[i], -i))


def _score_letter(task: LoadedTask, job: BenchJob, output: dict) -> dict[str, Any]:
    item = job.item
    assert isinstance(item, MultipleChoiceItem)
    if output.get("error"):
        return {"error": output["error"], "raw": output.get("text")}
    choice = parse_letter(output.get("text"), len(item.choices))
    return {
        "prediction": None if choice is None else str(choice),
        "correct": choice == item.answer,
        "raw": output.get("text"),
        "finish_reason": output.get("finish_reason"),
        "metrics": {"acc": float(choice == item.answer)},
    }


def _score_generation(task: LoadedTask, job: BenchJob, output: dict) -> dict[str, Any]:
    item = job.item
    assert isinstance(item, GenerationItem)
    if output.get("error"):
        return {"error": output["error"], "raw": output.get("text")}
    spec = task.spec
    text = cut_at_stops(output.get("text") or "", _until(spec))  # type: ignore[arg-type]
    common = {"raw": text, "finish_reason": output.get("finish_reason")}
    if isinstance(spec, Gsm8kSpec):
        flexible = extract_final_number(text, "flexible")
        strict = extract_final_number(text, "strict")
        return {
            **common,
            "prediction": flexible,
            "correct": is_correct(flexible, item.reference),
            "metrics": {
                "exact_match": float(is_correct(flexible, item.reference)),
                "exact_match_strict": float(is_correct(strict, item.reference)),
            },
        }
    assert isinstance(spec, GenerationSpec)
    answer = extract_with_regex(text, spec.extract)
    options = {"ignore_case": spec.ignore_case, "ignore_punctuation": spec.ignore_punctuation}
    prediction = None if answer is None else normalize_answer(answer, **options)
    hit = prediction is not None and prediction == normalize_answer(item.reference, **options)
    return {
        **common,
        "prediction": prediction,
        "correct": hit,
        "metrics": {"exact_match": float(hit)},
    }


def _score_code(
    task: LoadedTask,
    contestant: str,
    mode: BenchMode,
    batch: Sequence[BenchJob],
    outputs: Sequence[dict],
) -> list[BenchOutcome]:
    """Run every completion of the batch in the sandbox (in parallel), then score pass/fail."""
    from onpar.bench.sandbox import SandboxLimits, check_many

    spec = task.spec
    assert isinstance(spec, HumanEvalSpec)
    limits = SandboxLimits(wall_s=spec.timeout_s, cpu_s=spec.timeout_s, memory_mb=spec.memory_mb)
    runnable = [
        (job, output) for job, output in zip(batch, outputs, strict=True) if not output.get("error")
    ]
    completions = []
    for job, output in runnable:
        assert isinstance(job.item, CodeItem)
        text = output.get("text") or ""
        if mode == "chat_code":
            completions.append(chat_code_program_body(job.item, text))
        else:
            completions.append(cut_at_stops(text, HUMANEVAL_STOPS))
    results = check_many(
        [(job.item, c) for (job, _), c in zip(runnable, completions, strict=True)],  # type: ignore[misc]
        limits,
        workers=spec.workers,
    )
    by_key = {
        job.key: (completion, result)
        for (job, _), completion, result in zip(runnable, completions, results, strict=True)
    }
    outcomes = []
    for job, output in zip(batch, outputs, strict=True):
        base = {
            "task": task.name,
            "contestant": contestant,
            "item_id": item_id(job.item),
            "group": task.name,
            "sample_index": job.sample_index,
            "mode": mode,
            "finish_reason": output.get("finish_reason"),
            "context_truncated": bool(output.get("context_truncated")),
        }
        if job.key not in by_key:
            outcomes.append(BenchOutcome(**base, error=output.get("error"), raw=output.get("text")))
            continue
        completion, result = by_key[job.key]
        if result.status == "error":  # the sandbox failed, not the model: retried next run
            outcomes.append(BenchOutcome(**base, error=f"sandbox: {result.detail}", raw=completion))
            continue
        outcomes.append(
            BenchOutcome(
                **base,
                prediction=result.status,
                correct=result.passed,
                raw=completion,
                detail=result.detail,
                metrics={"pass@1": float(result.passed)},
            )
        )
    return outcomes


# -- statistics ---------------------------------------------------------------------------------
def summarize_benchmarks(
    config: RunConfig, outcomes: Sequence[BenchOutcome], n_items: dict[str, int]
) -> tuple[list[BenchScore], list[BenchComparison]]:
    """Scores per (task, contestant) and paired comparisons, from stored outcomes only."""
    stats = config.stats
    by_run: dict[tuple[str, str], list[BenchOutcome]] = {}
    for outcome in outcomes:
        by_run.setdefault((outcome.task, outcome.contestant), []).append(outcome)
    scores: list[BenchScore] = []
    comparisons: list[BenchComparison] = []
    for spec in config.benchmarks:
        name = spec.task_name
        if name not in n_items:
            continue  # configured but not run yet (e.g. `onpar bench --task other`)
        takers = [c.name for c in participants(config, spec) if (name, c.name) in by_run]
        for contestant in takers:
            scores += summarize_benchmark(
                name,
                contestant,
                n_items[name],
                by_run[(name, contestant)],
                confidence=stats.confidence,
                n_boot=stats.bootstrap_samples,
                seed=stats.seed,
                categories=SUBJECT_CATEGORIES if isinstance(spec, MmluSpec) else None,
                pass_at=spec.pass_at if isinstance(spec, HumanEvalSpec) else (),
                maj_at=getattr(spec, "samples", 1) if not isinstance(spec, HumanEvalSpec) else None,
            )
        metric = _primary_metric(spec)
        for x, y in _bench_pairs(config, takers):
            comparisons.append(
                compare_benchmark(
                    name,
                    metric,
                    x,
                    y,
                    by_run[(name, x)],
                    by_run[(name, y)],
                    confidence=stats.confidence,
                    n_boot=stats.bootstrap_samples,
                    seed=stats.seed,
                )
            )
    return scores, with_holm(comparisons)


def _primary_metric(spec: BenchmarkSpec) -> str:
    if isinstance(spec, HumanEvalSpec):
        return "pass@1"
    if isinstance(spec, Gsm8kSpec | GenerationSpec):
        return "exact_match"
    return "acc"


def _bench_pairs(config: RunConfig, takers: Sequence[str]) -> list[tuple[str, str]]:
    """The configured comparisons among this task's takers; default the first against each."""
    if config.comparisons is not None:
        return [(x, y) for x, y in config.comparisons if x in takers and y in takers]
    return [(takers[0], other) for other in takers[1:]] if takers else []
