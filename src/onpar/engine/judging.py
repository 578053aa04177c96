"""Stage 3: every judge rates every compared pair in both orders (A/B swapped).

A pair is judged only when both contestants answered the final turn; otherwise the verdict
records why it is missing. Judgments are batched, cached and committed like responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from onpar.config.schema import JudgeConfig
from onpar.engine.context import RunContext, chunked, frozen_heap
from onpar.judges.combine import pair_verdict
from onpar.judges.pairwise import (
    OPTIONS,
    Transcript,
    judge_messages,
    verdict_from_logprobs,
    verdict_from_text,
)
from onpar.models.base import ChatModel
from onpar.records import (
    ChatRequest,
    Judgment,
    Message,
    Order,
    PairVerdict,
    PromptItem,
    Response,
    Usage,
)
from onpar.store.cache import request_key

JUDGE_PROMPT_VERSION = "pairwise-7pt-v1"

Answers = dict[tuple[str, str], list[Response]]  # (contestant, prompt_id) -> turns in order


@dataclass(frozen=True)
class JudgeRequest:
    """One pair in one order, ready to send to the judge."""

    prompt: PromptItem
    model_x: str
    model_y: str
    order: Order
    messages: tuple[Message, ...]
    key: str


def uses_logprobs(judge: JudgeConfig) -> bool:
    """'auto' reads log-probs from local models and parses text from APIs."""
    return judge.uses_logprobs


def collect_answers(responses: Sequence[Response]) -> Answers:
    answers: Answers = {}
    for r in sorted(responses, key=lambda r: r.turn_index):
        if r.sample_index == 0:
            answers.setdefault((r.contestant, r.prompt_id), []).append(r)
    return answers


def missing_answer(answers: Answers, contestant: str, prompt: PromptItem) -> str | None:
    """Why a contestant has no usable final answer to `prompt` (None when it has one)."""
    turns = answers.get((contestant, prompt.id), [])
    if len(turns) < len(prompt.turns) or not all(t.ok for t in turns):
        return f"no answer from {contestant}"  # the error itself is on the Response row
    return None


def judge_pairs(ctx: RunContext, prompts: Sequence[PromptItem]) -> None:
    with frozen_heap():  # the run's responses live all stage long: no GC rescans of them
        _judge_pairs(ctx, prompts)


def _judge_pairs(ctx: RunContext, prompts: Sequence[PromptItem]) -> None:
    answers = collect_answers([r for _, r in ctx.store.responses()])
    for judge in ctx.config.judges:
        model = ctx.pool.get(judge.model)
        requests = _judge_requests(ctx, judge, model, prompts, answers)
        stored = {
            _judgment_slot(j): (key, j) for key, j in ctx.store.judgments() if j.judge == judge.name
        }
        task = ctx.progress.add_task(f"judging ({judge.name})", total=len(requests))
        batches = chunked(requests, model.preferred_batch_size)
        jobs = (_prepare(ctx, judge, batch, stored) for batch in batches)
        assert ctx.executor is not None  # RunContext sets it
        verdict_fn = partial(_verdicts, judge)  # picklable: runs on a Ray worker if asked
        with frozen_heap():  # the requests live all stage long: no GC rescans of them
            for (batch, size), verdicts in ctx.executor.map(judge.model, verdict_fn, jobs):
                if batch.pending:  # committed here, on the driver, in batch order
                    ctx.store.put_judgments(_run_batch(ctx, judge, batch, verdicts))
                ctx.progress.advance(task, size)


def _judge_requests(
    ctx: RunContext,
    judge: JudgeConfig,
    model: ChatModel,
    prompts: Sequence[PromptItem],
    answers: Answers,
) -> list[JudgeRequest]:
    wants_digit = uses_logprobs(judge)
    identity = model.identity()
    requests = []
    for model_x, model_y in ctx.config.comparison_pairs():
        for prompt in prompts:
            if missing_answer(answers, model_x, prompt) or missing_answer(answers, model_y, prompt):
                continue
            sides = {name: _transcript(answers, name, prompt) for name in (model_x, model_y)}
            for order, (first, second) in (("xy", (model_x, model_y)), ("yx", (model_y, model_x))):
                messages = tuple(
                    judge_messages(prompt, sides[first], sides[second], wants_digit=wants_digit)
                )
                extra = None if wants_digit else judge.generation
                key = request_key(identity, JUDGE_PROMPT_VERSION, wants_digit, messages, extra)
                requests.append(JudgeRequest(prompt, model_x, model_y, order, messages, key))
    # Similar lengths batch together (less padding); the order is fixed, so resumes match.
    requests.sort(key=lambda r: (sum(len(m.content) for m in r.messages), r.key))
    return requests


def _transcript(answers: Answers, contestant: str, prompt: PromptItem) -> Transcript:
    turns = answers[(contestant, prompt.id)]
    return Transcript(user_turns=prompt.turns, answers=tuple(t.text or "" for t in turns))


def _judgment_slot(j: Judgment) -> tuple[str, str, str, str]:
    return (j.prompt_id, j.model_x, j.model_y, j.order)


def _is_done(request: JudgeRequest, stored: dict) -> bool:
    found = stored.get((request.prompt.id, request.model_x, request.model_y, request.order))
    return found is not None and found[0] == request.key and found[1].ok


@dataclass(frozen=True)
class _Batch:
    """A batch on its way through the executor: what is pending, cached and to be judged."""

    pending: list[JudgeRequest]
    cached: dict[str, dict]
    fresh_keys: list[str]


def _prepare(
    ctx: RunContext, judge: JudgeConfig, batch: Sequence[JudgeRequest], stored: dict
) -> tuple[tuple[_Batch, int], list[tuple[Message, ...]]]:
    """What the executor must compute for this batch (nothing when all is stored or cached)."""
    pending = [r for r in batch if not _is_done(r, stored)]
    cached = ctx.cache.get_many([r.key for r in pending]) if pending else {}
    fresh = {r.key: r.messages for r in pending if r.key not in cached}  # deduped
    if ctx.budget is not None:  # max_cost: stop before this batch could cross it
        max_out = 0 if uses_logprobs(judge) else judge.generation.max_new_tokens
        ctx.budget.check(judge.model, judge.name, list(fresh.values()), max_out)
    return (_Batch(pending, cached, list(fresh)), len(batch)), list(fresh.values())


def _run_batch(
    ctx: RunContext, judge: JudgeConfig, batch: _Batch, verdicts: list[dict]
) -> list[tuple[str, Judgment]]:
    pending, cached = batch.pending, batch.cached
    computed = dict(zip(batch.fresh_keys, verdicts, strict=True))
    if ctx.budget is not None:
        ctx.budget.charge(judge.model, [Usage(**v.get("usage", {})) for v in computed.values()])
    ctx.cache.put_many({k: v for k, v in computed.items() if v["error"] is None})
    rows = []
    for r in pending:
        fields = cached.get(r.key) or computed[r.key]
        probs = fields["option_probs"]
        judgment = Judgment(
            judge=judge.name,
            prompt_id=r.prompt.id,
            model_x=r.model_x,
            model_y=r.model_y,
            order=r.order,
            score=fields["score"],
            raw=fields["raw"],
            error=fields["error"],
            option_probs=None if probs is None else tuple(probs),
            usage=Usage(**fields.get("usage", {})),  # older cache entries have none
            cached=r.key in cached,
        )
        rows.append((r.key, judgment))
    return rows


def _verdicts(
    judge: JudgeConfig, model: ChatModel, conversations: list[tuple[Message, ...]]
) -> list[dict]:
    """One verdict record per conversation: from log-probs or parsed text; failures recorded."""
    if not uses_logprobs(judge):
        requests = [ChatRequest(messages=c, params=judge.generation) for c in conversations]
        return [
            {**_from_text(result.text, result.error), "usage": result.usage.model_dump()}
            for result in model.generate(requests)
        ]
    try:
        return [_from_logprobs(lp) for lp in model.score_options(conversations, OPTIONS)]
    except (RuntimeError, ValueError) as exc:  # e.g. out of memory: record it on each item
        error = f"{type(exc).__name__}: {exc}"
        return [{"score": None, "option_probs": None, "raw": None, "error": error}] * len(
            conversations
        )


def _from_logprobs(logprobs: Sequence[float]) -> dict:
    score, probs = verdict_from_logprobs(logprobs)
    return {"score": score, "option_probs": list(probs), "raw": None, "error": None}


def _from_text(text: str | None, error: str | None) -> dict:
    if text is None:
        return {"score": None, "option_probs": None, "raw": None, "error": error or "no text"}
    score = verdict_from_text(text)
    problem = None if score is not None else "unparseable verdict: no 'Verdict: N' (1-7) found"
    return {"score": score, "option_probs": None, "raw": text, "error": problem}


def pair_verdicts(
    ctx: RunContext,
    prompts: Sequence[PromptItem],
    responses: Sequence[Response],
    stored_judgments: Sequence[Judgment],
) -> dict[tuple[str, str, str], list[PairVerdict]]:
    """Every (judge, x, y) comparison's per-prompt verdicts, missing ones with their reason."""
    answers = collect_answers(responses)
    judgments = {(j.judge, *_judgment_slot(j)): j for j in stored_judgments}
    out: dict[tuple[str, str, str], list[PairVerdict]] = {}
    for judge in ctx.config.judges:
        for x, y in ctx.config.comparison_pairs():
            out[(judge.name, x, y)] = [
                pair_verdict(
                    prompt,
                    judge.name,
                    x,
                    y,
                    judgments.get((judge.name, prompt.id, x, y, "xy")),
                    judgments.get((judge.name, prompt.id, x, y, "yx")),
                    judge.combine,
                    missing_answer(answers, x, prompt) or missing_answer(answers, y, prompt),
                )
                for prompt in prompts
            ]
    return out
