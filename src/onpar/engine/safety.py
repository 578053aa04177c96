"""Stage: safety the Llama 2 way (§4.4) — answer, rate on the 5-point scale, check refusals.

The chosen contestants answer the adversarial and borderline prompts through the same
generation stage as the side-by-side prompts (same request keys, batches, cache and
resume); each safety judge rates every final answer to an adversarial prompt; the refusal
classifier labels every final answer to a borderline prompt and to the side-by-side
prompts. Ratings and labels are batched, cached and committed like judgments, keyed so a
re-run recomputes nothing that is already stored.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Sequence
from dataclasses import dataclass, replace

from onpar.config.safety import SafetyConfig, SafetyJudgeConfig
from onpar.config.schema import ContestantConfig, RunConfig
from onpar.engine.context import RunContext, chunked
from onpar.engine.generation import generate_responses
from onpar.engine.judging import Answers, collect_answers, missing_answer
from onpar.judges.safety_scale import (
    SAFETY_OPTIONS,
    SAFETY_PROMPT_VERSION,
    rating_from_logprobs,
    rating_from_text,
    safety_messages,
)
from onpar.models.base import ChatModel
from onpar.records import (
    ChatRequest,
    Message,
    PromptItem,
    RefusalOutcome,
    RefusalSet,
    SafetyRating,
)
from onpar.safety import refusal as refusal_rules
from onpar.safety.refusal_judge import (
    JUDGE_PARAMS,
    REFUSAL_JUDGE_VERSION,
    judge_refusals,
)
from onpar.safety.run_sets import SafetySets
from onpar.store.cache import request_key

RULES = "rules"
_RULES_BATCH = 256


@dataclass(frozen=True)
class RatingRequest:
    """One contestant's conversation on one adversarial prompt, ready for a safety judge."""

    contestant: str
    prompt_id: str
    messages: tuple[Message, ...]
    key: str


@dataclass(frozen=True)
class RefusalItem:
    """One final answer to a safe prompt, ready for the refusal classifier."""

    prompt_set: RefusalSet
    contestant: str
    prompt_id: str
    user_turn: str
    answer: str
    key: str


def safety_contestants(config: RunConfig) -> list[ContestantConfig]:
    """The contestants named in `safety.contestants`, in config order (default: all)."""
    assert config.safety is not None
    wanted = config.safety.contestants
    return [c for c in config.contestants if wanted is None or c.name in wanted]


def run_safety(ctx: RunContext, sets: SafetySets, helpfulness: Sequence[PromptItem]) -> None:
    """Generate, rate and classify; everything already stored under the same key is kept."""
    safety = ctx.config.safety
    assert safety is not None
    chosen = safety_contestants(ctx.config)
    if sets.all:
        sub = replace(ctx, config=ctx.config.model_copy(update={"contestants": chosen}))
        generate_responses(sub, list(sets.all))
    answers = collect_answers([r for _, r in ctx.store.responses()])
    for judge in safety.judges:
        rate_answers(ctx, judge, chosen, sets.adversarial, answers)
    refusal_sets: list[tuple[RefusalSet, Sequence[PromptItem]]] = [("borderline", sets.borderline)]
    if safety.helpfulness_refusals:
        refusal_sets.append(("helpfulness", helpfulness))
    classify_answers(ctx, safety, chosen, refusal_sets, answers)


# -- 5-point ratings -------------------------------------------------------------------------
def rate_answers(
    ctx: RunContext,
    judge: SafetyJudgeConfig,
    contestants: Sequence[ContestantConfig],
    prompts: Sequence[PromptItem],
    answers: Answers,
) -> None:
    """Every contestant's final answer to every adversarial prompt, rated by `judge`."""
    model = ctx.pool.get(judge.model)
    requests = rating_requests(judge, model, contestants, prompts, answers)
    stored = {
        (r.contestant, r.prompt_id): (key, r)
        for key, r in ctx.store.safety_ratings()
        if r.judge == judge.name
    }
    task = ctx.progress.add_task(f"safety rating ({judge.name})", total=len(requests))
    for batch in chunked(requests, model.preferred_batch_size):
        pending = [r for r in batch if not _done(stored.get((r.contestant, r.prompt_id)), r.key)]
        if pending:
            ctx.store.put_safety_outcomes(_rate_batch(ctx, judge, model, pending))
        ctx.progress.advance(task, len(batch))


def rating_requests(
    judge: SafetyJudgeConfig,
    model: ChatModel,
    contestants: Sequence[ContestantConfig],
    prompts: Sequence[PromptItem],
    answers: Answers,
) -> list[RatingRequest]:
    """Requests for every complete conversation, in a resume-stable order."""
    wants_digit = judge.uses_logprobs
    identity = model.identity()
    extra = None if wants_digit else judge.generation
    requests = []
    for contestant in contestants:
        for prompt in prompts:
            if missing_answer(answers, contestant.name, prompt):
                continue
            texts = [t.text or "" for t in answers[(contestant.name, prompt.id)]]
            messages = tuple(safety_messages(prompt, texts, wants_digit=wants_digit))
            key = request_key(identity, SAFETY_PROMPT_VERSION, wants_digit, messages, extra)
            requests.append(RatingRequest(contestant.name, prompt.id, messages, key))
    requests.sort(key=lambda r: (sum(len(m.content) for m in r.messages), r.key, r.contestant))
    return requests


def _done(found: tuple[str, SafetyRating | RefusalOutcome] | None, key: str) -> bool:
    if found is None or found[0] != key:
        return False
    outcome = found[1]
    return outcome.ok if isinstance(outcome, SafetyRating) else outcome.label is not None


def _rate_batch(
    ctx: RunContext, judge: SafetyJudgeConfig, model: ChatModel, pending: Sequence[RatingRequest]
) -> list[tuple[str, SafetyRating]]:
    cached = ctx.cache.get_many([r.key for r in pending])
    fresh = {r.key: r.messages for r in pending if r.key not in cached}  # deduped
    computed = dict(zip(fresh, _ratings(judge, model, list(fresh.values())), strict=True))
    ctx.cache.put_many({k: v for k, v in computed.items() if v["error"] is None})
    rows = []
    for r in pending:
        fields = cached.get(r.key) or computed[r.key]
        probs = fields["option_probs"]
        rating = SafetyRating(
            judge=judge.name,
            contestant=r.contestant,
            prompt_id=r.prompt_id,
            rating=fields["rating"],
            option_probs=None if probs is None else tuple(probs),
            raw=fields["raw"],
            error=fields["error"],
        )
        rows.append((r.key, rating))
    return rows


def _ratings(
    judge: SafetyJudgeConfig, model: ChatModel, conversations: list[tuple[Message, ...]]
) -> list[dict]:
    """One rating record per conversation, from log-probs or parsed text; failures kept."""
    if not conversations:
        return []
    if not judge.uses_logprobs:
        requests = [ChatRequest(messages=c, params=judge.generation) for c in conversations]
        return [_from_text(result.text, result.error) for result in model.generate(requests)]
    try:
        scores = model.score_options(conversations, SAFETY_OPTIONS)
        return [_from_logprobs(lp) for lp in scores]
    except (RuntimeError, ValueError) as exc:  # e.g. out of memory: record it on each item
        error = f"judge call failed: {type(exc).__name__}: {exc}"
        return [_failure(error) for _ in conversations]


def _failure(error: str) -> dict:
    return {"rating": None, "option_probs": None, "raw": None, "error": error}


def _from_logprobs(logprobs: Sequence[float]) -> dict:
    try:
        rating, probs = rating_from_logprobs(logprobs)
    except ValueError as exc:
        return _failure(f"unreadable log-probs: {exc}")
    return {"rating": rating, "option_probs": list(probs), "raw": None, "error": None}


def _from_text(text: str | None, error: str | None) -> dict:
    if text is None:
        return _failure(f"judge call failed: {error or 'no text'}")
    rating = rating_from_text(text)
    problem = None if rating is not None else "unparseable rating: no 'Rating: N' (1-5) found"
    return {"rating": rating, "option_probs": None, "raw": text, "error": problem}


# -- refusals --------------------------------------------------------------------------------
def classify_answers(
    ctx: RunContext,
    safety: SafetyConfig,
    contestants: Sequence[ContestantConfig],
    refusal_sets: Sequence[tuple[RefusalSet, Sequence[PromptItem]]],
    answers: Answers,
) -> None:
    """Label every final answer to a safe prompt with the configured refusal classifier."""
    judge = safety.refusal_judge_config()
    model = None if judge is None else ctx.pool.get(judge.model)
    classifier = RULES if judge is None else judge.name
    identity = _rules_identity() if model is None else model.identity()
    items = [
        item
        for prompt_set, prompts in refusal_sets
        for item in refusal_items(identity, prompt_set, contestants, prompts, answers)
    ]
    stored = {
        (o.contestant, o.prompt_id): (key, o)
        for key, o in ctx.store.refusal_outcomes()
        if o.classifier == classifier
    }
    pending = [i for i in items if not _done(stored.get((i.contestant, i.prompt_id)), i.key)]
    size = _RULES_BATCH if model is None else model.preferred_batch_size
    task = ctx.progress.add_task(f"refusals ({classifier})", total=len(items))
    ctx.progress.advance(task, len(items) - len(pending))
    for batch in chunked(pending, size):
        labels = _by_rules(batch) if model is None else _by_judge(ctx, model, batch)
        rows = [
            (item.key, _outcome(classifier, item, fields))
            for item, fields in zip(batch, labels, strict=True)
        ]
        ctx.store.put_safety_outcomes(rows)
        ctx.progress.advance(task, len(batch))


def refusal_items(
    identity: object,
    prompt_set: RefusalSet,
    contestants: Sequence[ContestantConfig],
    prompts: Sequence[PromptItem],
    answers: Answers,
) -> list[RefusalItem]:
    items = []
    for contestant in contestants:
        for prompt in prompts:
            if missing_answer(answers, contestant.name, prompt):
                continue
            answer = answers[(contestant.name, prompt.id)][-1].text or ""
            key = request_key(identity, REFUSAL_JUDGE_VERSION, prompt.turns[-1], answer)
            items.append(
                RefusalItem(prompt_set, contestant.name, prompt.id, prompt.turns[-1], answer, key)
            )
    return items


def _rules_identity() -> dict[str, str]:
    """The rules' identity is their source: editing refusal.py re-labels stored answers."""
    source = inspect.getsource(refusal_rules)
    return {"classifier": RULES, "source_sha256": hashlib.sha256(source.encode()).hexdigest()}


def _by_rules(batch: Sequence[RefusalItem]) -> list[dict]:
    out = []
    for item in batch:
        verdict = refusal_rules.classify_refusal(item.answer)
        out.append({"label": verdict.label, "reason": verdict.reason, "error": None})
    return out


def _by_judge(ctx: RunContext, model: ChatModel, batch: Sequence[RefusalItem]) -> list[dict]:
    cached = ctx.cache.get_many([i.key for i in batch])
    fresh = {i.key: (i.user_turn, i.answer) for i in batch if i.key not in cached}
    judged = judge_refusals(model, list(fresh.values()), JUDGE_PARAMS)
    computed = {}
    for key, verdict in zip(fresh, judged, strict=True):
        error = verdict.error and f"judge call failed: {verdict.error}"
        if error is None and verdict.label is None:
            error = "unreadable class: no single XSTest class in the judge's reply"
        computed[key] = {"label": verdict.label, "reason": verdict.raw, "error": error}
    ctx.cache.put_many({k: v for k, v in computed.items() if v["error"] is None})
    return [cached.get(i.key) or computed[i.key] for i in batch]


def _outcome(classifier: str, item: RefusalItem, fields: dict) -> RefusalOutcome:
    label = fields["label"]
    capability = label is not None and refusal_rules.is_capability_refusal(item.answer)
    return RefusalOutcome(
        classifier=classifier,
        contestant=item.contestant,
        prompt_id=item.prompt_id,
        prompt_set=item.prompt_set,
        label=label,
        capability=capability and label != "full_compliance",
        reason=fields["reason"],
        error=fields["error"],
    )


WEAK_SAFETY_JUDGE_NOTE = (
    "The safety judge {name} is the 135M-parameter bundled model. It cannot tell a harmful "
    "answer from a harmless one reliably: its violation rates check the pipeline, they are "
    "not evidence. Rate safety with a strong model (docs/safety.md)."
)


def safety_notes(safety: SafetyConfig) -> list[str]:
    """Report notes about the safety stage's setup (weak judge, no judge)."""
    notes = [
        WEAK_SAFETY_JUDGE_NOTE.format(name=j.name)
        for j in safety.judges
        if j.model.provider == "hf" and "smollm2-135m" in j.model.model
    ]
    if safety.adversarial and not safety.judges:
        notes.append("No safety judges are configured: adversarial answers were not rated.")
    return notes
