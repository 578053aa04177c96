"""Stage 2: every contestant answers every prompt, turn by turn, with its own earlier answers.

Requests are batched in a fixed order (by prompt length, then id) so a resumed run forms the
same batches as an uninterrupted one; each batch is committed in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.progress import TaskID

from onpar.config.schema import ContestantConfig, ResponsesFileSpec
from onpar.engine.context import RunContext, chunked
from onpar.models.base import ChatModel
from onpar.records import ChatRequest, ChatResult, Message, PromptItem, Response
from onpar.store.cache import request_key


@dataclass(frozen=True)
class TurnRequest:
    """One pending (prompt, turn) for a contestant, with its cache/store key."""

    prompt: PromptItem
    turn_index: int
    request: ChatRequest
    key: str


def conversation(
    contestant: ContestantConfig,
    prompt: PromptItem,
    turn_index: int,
    earlier_answers: Sequence[str],
) -> tuple[Message, ...]:
    """The messages a contestant receives for `turn_index`: system prompt, history, new turn."""
    messages: list[Message] = []
    if contestant.system_prompt is not None:
        messages.append(Message(role="system", content=contestant.system_prompt))
    for user, answer in zip(prompt.turns[:turn_index], earlier_answers, strict=True):
        messages += [Message(role="user", content=user), Message(role="assistant", content=answer)]
    messages.append(Message(role="user", content=prompt.turns[turn_index]))
    return tuple(messages)


def generate_responses(ctx: RunContext, prompts: Sequence[PromptItem]) -> None:
    """Fill the store with every contestant's answer to every turn (resuming finished work)."""
    total = sum(len(p.turns) for p in prompts) * len(ctx.config.contestants)
    task = ctx.progress.add_task("generating", total=total)
    for turn_index in range(max(len(p.turns) for p in prompts)):
        for contestant in ctx.config.contestants:
            stored = _stored_responses(ctx, contestant.name)
            todo = _turn_requests(ctx, contestant, prompts, turn_index, stored)
            if isinstance(contestant.model, ResponsesFileSpec):
                _read_from_file(ctx, contestant, todo, stored)
                ctx.progress.advance(task, len(todo))
                continue
            size = ctx.pool.get(contestant.model).preferred_batch_size
            _run_batches(ctx, contestant, chunked(todo, size), stored, task)
    ctx.progress.update(task, completed=total)


def _stored_responses(
    ctx: RunContext, contestant: str
) -> dict[tuple[str, int], tuple[str, Response]]:
    return {
        (r.prompt_id, r.turn_index): (key, r)
        for key, r in ctx.store.responses()
        if r.contestant == contestant and r.sample_index == 0
    }


def _turn_requests(
    ctx: RunContext,
    contestant: ContestantConfig,
    prompts: Sequence[PromptItem],
    turn_index: int,
    stored: dict[tuple[str, int], tuple[str, Response]],
) -> list[TurnRequest]:
    """All requests for this turn whose earlier turns succeeded, in a resume-stable order."""
    identity = _identity(ctx, contestant)
    requests: list[TurnRequest] = []
    for prompt in prompts:
        if len(prompt.turns) <= turn_index:
            continue
        earlier = [stored.get((prompt.id, k)) for k in range(turn_index)]
        if any(item is None or not item[1].ok for item in earlier):
            continue  # an earlier turn failed: the conversation cannot go on
        answers = [item[1].text or "" for item in earlier if item is not None]
        messages = conversation(contestant, prompt, turn_index, answers)
        request = ChatRequest(messages=messages, params=contestant.generation)
        key = request_key(identity, request)
        requests.append(TurnRequest(prompt, turn_index, request, key))
    requests.sort(key=lambda r: (sum(len(m.content) for m in r.request.messages), r.prompt.id))
    return requests


def _identity(ctx: RunContext, contestant: ContestantConfig) -> dict[str, object]:
    return ctx.pool.get(contestant.model).identity()  # for answer files: path and content hash


def _is_done(item: TurnRequest, stored: dict[tuple[str, int], tuple[str, Response]]) -> bool:
    found = stored.get((item.prompt.id, item.turn_index))
    return found is not None and found[0] == item.key and found[1].ok


@dataclass(frozen=True)
class _Batch:
    """A batch on its way through the executor: what is pending, cached and to be generated."""

    pending: list[TurnRequest]
    cached: dict[str, dict]
    fresh_keys: list[str]


def _run_batches(
    ctx: RunContext,
    contestant: ContestantConfig,
    batches: Iterable[Sequence[TurnRequest]],
    stored: dict[tuple[str, int], tuple[str, Response]],
    progress_task: TaskID,
) -> None:
    """Generate through the run's executor; each batch is committed here, in order."""
    jobs = (_prepare(ctx, contestant, batch, stored) for batch in batches)
    assert ctx.executor is not None  # RunContext sets it
    for (batch, size), answers in ctx.executor.map(contestant.model, _generate, jobs):
        _commit(ctx, contestant, batch, answers)
        ctx.progress.advance(progress_task, size)


def _generate(model: ChatModel, requests: Sequence[ChatRequest]) -> list[ChatResult]:
    """Runs where the executor puts it: in this process or on a Ray worker."""
    return model.generate(requests)


def _prepare(
    ctx: RunContext,
    contestant: ContestantConfig,
    batch: Sequence[TurnRequest],
    stored: dict[tuple[str, int], tuple[str, Response]],
) -> tuple[tuple[_Batch, int], list[ChatRequest]]:
    pending = [item for item in batch if not _is_done(item, stored)]
    cached = ctx.cache.get_many([item.key for item in pending]) if pending else {}
    fresh = {item.key: item.request for item in pending if item.key not in cached}  # deduped
    if ctx.budget is not None:  # max_cost: stop before this batch could cross it
        conversations = [r.messages for r in fresh.values()]
        ctx.budget.check(
            contestant.model, contestant.name, conversations, contestant.generation.max_new_tokens
        )
    return (_Batch(pending, cached, list(fresh)), len(batch)), list(fresh.values())


def _commit(
    ctx: RunContext, contestant: ContestantConfig, batch: _Batch, answers: list[ChatResult]
) -> None:
    pending, cached = batch.pending, batch.cached
    if not pending:
        return
    if ctx.budget is not None:
        ctx.budget.charge(contestant.model, [a.usage for a in answers])
    results = dict(zip(batch.fresh_keys, answers, strict=True))
    ctx.cache.put_many({k: r.model_dump(mode="json") for k, r in results.items() if r.ok})
    rows = []
    for item in pending:
        is_cached = item.key in cached
        result = ChatResult.model_validate(cached[item.key]) if is_cached else results[item.key]
        rows.append((item.key, _response(contestant.name, item, result, cached=is_cached)))
    ctx.store.put_responses(rows)


def _response(contestant: str, item: TurnRequest, result: ChatResult, *, cached: bool) -> Response:
    return Response(
        contestant=contestant,
        prompt_id=item.prompt.id,
        turn_index=item.turn_index,
        messages=item.request.messages,
        text=result.text,
        error=result.error,
        finish_reason=result.finish_reason,
        usage=result.usage,
        cached=cached,
    )


def _read_from_file(
    ctx: RunContext,
    contestant: ContestantConfig,
    todo: Sequence[TurnRequest],
    stored: dict[tuple[str, int], tuple[str, Response]],
) -> None:
    """Answers generated elsewhere: looked up, never generated; a gap is recorded as an error."""
    source = ctx.pool.get(contestant.model)
    rows = []
    for item in todo:
        if _is_done(item, stored):
            continue
        result = source.lookup(  # type: ignore[attr-defined]
            item.prompt.id, item.turn_index, item.prompt.turns[0], n_turns=len(item.prompt.turns)
        )
        rows.append((item.key, _response(contestant.name, item, result, cached=False)))
    ctx.store.put_responses(rows)
