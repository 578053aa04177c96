"""`onpar run --dry-run`: what a run would call, how often, and what it would cost.

Loads and validates the config, prompts and benchmark data, then counts requests per stage
without building a single model (no weights loaded, no API called, no key needed). What
the run's store already holds, and what the cross-run cache would answer, is subtracted;
both are opened read-only and nothing is written.

Request keys need a backend's identity, which only a built backend knows; the plan takes it
from the previous attempt's manifest when the member's model spec is unchanged. Without it
(a first run, or a changed spec) the store still counts by slot and the cache is not asked.
Tokens are estimated by characters / 4, output by ``max_new_tokens`` (an upper bound).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from onpar.bench.loading import load_benchmarks
from onpar.bench.tasks import CodeItem, GenerationItem, LoadedTask
from onpar.config.pricing import estimate_tokens
from onpar.config.schema import (
    ContestantConfig,
    JudgeConfig,
    OpenAIModelSpec,
    ResponsesFileSpec,
    RunConfig,
)
from onpar.data import load_prompt_sets
from onpar.engine.benchmarks import participants
from onpar.engine.costs import price_for, run_costs
from onpar.engine.generation import conversation
from onpar.engine.judging import JUDGE_PROMPT_VERSION, uses_logprobs
from onpar.judges.pairwise import Transcript, judge_messages
from onpar.records import ChatRequest, PromptItem, Response
from onpar.store.cache import request_key
from onpar.store.run_store import RunStore

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
Answers = dict[tuple[str, str, int], Response]  # (contestant, prompt_id, turn) -> ok response


@dataclass
class PlanLine:
    """One stage × member: requests in total, already done, answerable from cache, to do."""

    stage: str
    member: str
    model: str
    total: int = 0
    done: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    price: str = "unknown"
    cost_usd: float | None = None

    @property
    def to_do(self) -> int:
        return self.total - self.done - self.cached


@dataclass
class RunPlan:
    """The dry run's answer: one line per stage and member, plus what the user must fix."""

    lines: list[PlanLine]
    missing_keys: list[str]
    notes: list[str] = field(default_factory=list)
    max_cost: float | None = None
    spent_usd: float | None = 0.0

    @property
    def to_do(self) -> int:
        return sum(line.to_do for line in self.lines)

    @property
    def cost_usd(self) -> float | None:
        costs = [line.cost_usd for line in self.lines]
        return None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)


@dataclass
class _Prior:
    """What an earlier attempt left: answers, judgment slots, identities, cached keys."""

    answers: Answers
    answer_keys: dict[tuple[str, str, int], str]
    judgment_keys: dict[tuple[str, str, str, str, str], str]
    bench_done: dict[tuple[str, str], int]
    identities: dict[str, dict]
    cache_path: Path | None
    spent_usd: float | None = 0.0
    cache_db: sqlite3.Connection | None = None
    cache_answers: dict[tuple[str, str, int], str] = field(default_factory=dict)


def plan_run(
    config: RunConfig,
    config_path: Path,
    *,
    benchmarks_only: bool = False,
    tasks: Sequence[str] | None = None,
) -> RunPlan:
    """Count and price what `execute_run` would do with this config now; writes nothing."""
    from onpar.engine.run import _chosen_benchmarks  # late: run.py imports the whole engine

    base_dir = config_path.parent
    prompts = load_prompt_sets(config.prompts, base_dir=base_dir)
    bench_tasks = load_benchmarks(_chosen_benchmarks(config, tasks), base_dir)
    prior = _read_prior(config)
    lines: list[PlanLine] = []
    try:
        if prompts and not benchmarks_only:
            lines += [_generation_line(config, c, prompts, prior) for c in config.contestants]
            lines += [_judge_line(config, j, prompts, prior) for j in config.judges]
        lines += _benchmark_lines(config, bench_tasks, prior)
    finally:
        if prior.cache_db is not None:
            prior.cache_db.close()
    members = [*config.contestants, *([] if benchmarks_only else config.judges)]
    plan = RunPlan(lines, _missing_keys(members), max_cost=config.max_cost)
    plan.spent_usd = prior.spent_usd
    if prior.cache_path is None and config.cache.enabled:
        plan.notes.append("no cross-run cache file yet: nothing is taken from it")
    if getattr(config, "safety", None) is not None and not benchmarks_only:
        plan.notes.append("the safety stage's calls are not counted here yet")
    unknown = [m.name for m in members if m.name not in prior.identities]
    if unknown and prior.cache_path is not None:
        plan.notes.append(
            f"cache not consulted for {', '.join(unknown)}: their identity is known only "
            "after a run with the same model spec has built them"
        )
    return plan


def _read_prior(config: RunConfig) -> _Prior:
    path = config.output_dir / "run.sqlite"
    cache_path = _cache_path(config)
    if not path.exists():
        return _Prior({}, {}, {}, {}, _static_identities(config), cache_path)
    store = RunStore.open_read_only(path)
    try:
        responses = [(k, r) for k, r in store.responses() if r.sample_index == 0]
        judgments = store.judgments()
        outcomes = store.bench_outcomes()
        previous, manifest = store.get_meta("config") or {}, store.get_meta("manifest") or {}
    finally:
        store.close()
    costs = run_costs(config, [r for _, r in responses], [j for _, j in judgments])
    bench_done: dict[tuple[str, str], int] = {}
    for _, o in outcomes:
        if o.ok:
            bench_done[(o.task, o.contestant)] = bench_done.get((o.task, o.contestant), 0) + 1
    return _Prior(
        answers={(r.contestant, r.prompt_id, r.turn_index): r for _, r in responses if r.ok},
        answer_keys={(r.contestant, r.prompt_id, r.turn_index): k for k, r in responses if r.ok},
        judgment_keys={
            (j.judge, j.prompt_id, j.model_x, j.model_y, j.order): k for k, j in judgments if j.ok
        },
        bench_done=bench_done,
        identities={
            **_static_identities(config),
            **_unchanged_identities(config, previous, manifest.get("models", {})),
        },
        cache_path=cache_path,
        spent_usd=sum(m.cost_usd or 0.0 for m in costs.members),
    )


def _unchanged_identities(config: RunConfig, previous: dict, identities: dict) -> dict[str, dict]:
    """Identities from the last manifest, for members whose model spec has not changed."""
    old = {
        m["name"]: m["model"]
        for m in [*previous.get("contestants", []), *previous.get("judges", [])]
    }
    out = {}
    for member in [*config.contestants, *config.judges]:
        if member.name in identities and old.get(member.name) == member.model.model_dump(
            mode="json"
        ):
            out[member.name] = identities[member.name]
    return out


def _static_identities(config: RunConfig) -> dict[str, dict]:
    """Identities that need no built backend: an OpenAI-compatible endpoint's is its URL.

    Must equal ``OpenAIChatModel.identity()`` (tests/engine/test_plan.py checks it).
    """
    from onpar.models.openai_chat import DEFAULT_BASE_URL

    return {
        m.name: {
            "provider": "openai",
            "model": m.model.model,
            "base_url": m.model.base_url or DEFAULT_BASE_URL,
        }
        for m in [*config.contestants, *config.judges]
        if isinstance(m.model, OpenAIModelSpec)
    }


def _cache_path(config: RunConfig) -> Path | None:
    from onpar.store.cache import default_cache_path

    if not config.cache.enabled:
        return None
    path = config.cache.path or default_cache_path()
    return path if path.exists() else None


def _cached(prior: _Prior, key: str | None) -> dict | None:
    """The cross-run cache's value for `key` (read-only; an unreadable cache holds nothing)."""
    if key is None or prior.cache_path is None:
        return None
    try:
        if prior.cache_db is None:
            prior.cache_db = sqlite3.connect(f"file:{prior.cache_path}?mode=ro", uri=True)
        row = prior.cache_db.execute("SELECT value FROM outputs WHERE key = ?", (key,)).fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else json.loads(row[0])


def _line(config: RunConfig, stage: str, member: ContestantConfig | JudgeConfig) -> PlanLine:
    spec = member.model
    resolved = price_for(spec, config.prices)
    model = str(getattr(spec, "model", None) or getattr(spec, "path", ""))
    return PlanLine(stage, member.name, model, price=resolved.source)


def _placeholder(max_new_tokens: int) -> str:
    return "x" * (max_new_tokens * 4)  # an answer not generated yet: its longest length


def _generation_line(
    config: RunConfig, contestant: ContestantConfig, prompts: Sequence[PromptItem], prior: _Prior
) -> PlanLine:
    from_file = isinstance(contestant.model, ResponsesFileSpec)
    line = _line(config, "generate (from file)" if from_file else "generate", contestant)
    identity = prior.identities.get(contestant.name)
    max_new = contestant.generation.max_new_tokens
    for prompt in prompts:
        earlier: list[str] = []
        known = True  # every earlier turn is done, so this turn's messages are exact
        for turn in range(len(prompt.turns)):
            slot = (contestant.name, prompt.id, turn)
            messages = conversation(contestant, prompt, turn, earlier)
            key = None
            if identity is not None and known:
                request = ChatRequest(messages=messages, params=contestant.generation)
                key = request_key(identity, request)
            line.total += 1
            stored = prior.answers.get(slot)
            if known and stored and (key is None or prior.answer_keys.get(slot) == key):
                line.done += 1
                earlier.append(stored.text or "")
                continue
            hit = _cached(prior, key)
            if hit is not None:  # the cached answer carries the conversation on
                line.cached += 1
                prior.cache_answers[slot] = str(hit.get("text") or "")
                earlier.append(prior.cache_answers[slot])
                continue
            known = False
            if not from_file:
                line.input_tokens += estimate_tokens(messages)
                line.output_tokens += max_new
            earlier.append(_placeholder(max_new))
    _price(config, contestant, line)
    return line


def _judge_line(
    config: RunConfig, judge: JudgeConfig, prompts: Sequence[PromptItem], prior: _Prior
) -> PlanLine:
    line = _line(config, "judge", judge)
    identity = prior.identities.get(judge.name)
    wants_digit = uses_logprobs(judge)
    extra = None if wants_digit else judge.generation
    for x, y in config.comparison_pairs():
        for prompt in prompts:
            sides = {n: _transcript(config, prior, n, prompt) for n in (x, y)}
            for order, (first, second) in (("xy", (x, y)), ("yx", (y, x))):
                a, a_known = sides[first]
                b, b_known = sides[second]
                messages = tuple(judge_messages(prompt, a, b, wants_digit=wants_digit))
                line.total += 1
                key = None
                if identity is not None and a_known and b_known:
                    key = request_key(identity, JUDGE_PROMPT_VERSION, wants_digit, messages, extra)
                slot = (judge.name, prompt.id, x, y, order)
                found = prior.judgment_keys.get(slot)
                if found is not None and a_known and b_known and (key is None or found == key):
                    line.done += 1
                    continue
                if _cached(prior, key) is not None:
                    line.cached += 1
                    continue
                line.input_tokens += estimate_tokens(messages)
                line.output_tokens += 0 if wants_digit else judge.generation.max_new_tokens
    _price(config, judge, line)
    return line


def _transcript(
    config: RunConfig, prior: _Prior, name: str, prompt: PromptItem
) -> tuple[Transcript, bool]:
    """The contestant's side as stored or cached, else placeholders; and whether all is known."""
    max_new = config.contestant(name).generation.max_new_tokens
    answers, known = [], True
    for turn in range(len(prompt.turns)):
        stored = prior.answers.get((name, prompt.id, turn))
        text = stored.text or "" if stored is not None else None
        text = prior.cache_answers.get((name, prompt.id, turn)) if text is None else text
        known = known and text is not None
        answers.append(_placeholder(max_new) if text is None else text)
    return Transcript(user_turns=prompt.turns, answers=tuple(answers)), known


def _benchmark_lines(
    config: RunConfig, bench_tasks: Sequence[LoadedTask], prior: _Prior
) -> list[PlanLine]:
    """Benchmark calls per task × contestant; the store counts by item (keys not checked)."""
    lines = []
    for task in bench_tasks:
        samples = int(getattr(task.spec, "samples", 1))
        for contestant in participants(config, task.spec):
            if isinstance(contestant.model, ResponsesFileSpec):
                continue  # cannot take benchmarks (the report says so)
            line = _line(config, f"benchmark {task.name}", contestant)
            line.total = len(task.items) * samples
            line.done = min(line.total, prior.bench_done.get((task.name, contestant.name), 0))
            share = line.to_do / line.total if line.total else 0.0
            chars = sum(len(_item_text(item)) for item in task.items) * samples
            line.input_tokens = int(chars / 4 * share)
            line.output_tokens = line.to_do * contestant.generation.max_new_tokens
            _price(config, contestant, line)
            lines.append(line)
    return lines


def _item_text(item: object) -> str:
    if isinstance(item, (GenerationItem, CodeItem)):
        return item.prompt
    return str(getattr(item, "letter_prompt", None) or getattr(item, "context", ""))


def _price(config: RunConfig, member: ContestantConfig | JudgeConfig, line: PlanLine) -> None:
    """Cost of the to-do requests' estimated tokens (answers files cost nothing)."""
    resolved = price_for(member.model, config.prices)
    if isinstance(member.model, ResponsesFileSpec):
        line.input_tokens = line.output_tokens = 0
    line.cost_usd = resolved.cost(line.input_tokens, line.output_tokens)


def _missing_keys(members: Sequence[ContestantConfig | JudgeConfig]) -> list[str]:
    """API keys the run would need that the environment does not hold (names only)."""
    missing = []
    for member in members:
        env = getattr(member.model, "api_key_env", None)
        if env is None or os.environ.get(env):
            continue
        if env == "GEMINI_API_KEY" and os.environ.get("GOOGLE_API_KEY"):
            continue  # the google backend's default accepts either (models/google_chat.py)
        base_url = getattr(member.model, "base_url", None)
        if base_url and urlparse(str(base_url)).hostname in _LOCAL_HOSTS:
            continue  # local servers go without a key
        missing.append(f"{member.name}: environment variable {env} is not set")
    return missing
