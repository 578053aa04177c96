"""Raw-text generation until stop strings, as academic benchmarks (GSM8K, HumanEval) need.

The text matches lm-evaluation-harness 0.4.x's HF `generate_until` (greedy: token for token,
up to float noise): the context is encoded without special tokens (lm-eval's default for
causal models; it adds BOS only with `add_bos_token`), cut from the left to
`window - max_new_tokens` tokens, and the decoded generation (special tokens skipped) is cut
before the first occurrence of any stop string; the EOS token always stops.

The cost differs. Few-shot prompts repeat one long block, so requests are sorted by tokens,
the prefix a batch shares is encoded once into a KV cache (kept for the next batch), each
row prefills only its own suffix, and an own decoding loop drops a row from the batch as
soon as it stops, so a batch never runs to its longest row.

Deviations from lm-eval, all deliberate:

* An empty context is replaced by the BOS token (EOS where there is none), as for
  log-likelihoods; lm-eval would hand the model an empty input.
* Sampling uses temperature and top-p only (no top-k 50 from transformers' defaults), with a
  random stream per request, so a seeded request gives the same text in any batch.
* A stop string that is itself a special token other than EOS stops generation there; lm-eval
  would skip it in the decoded text and keep what the batch generated after it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from onpar.models.hf_local import HFChatModel, cache_kwarg, common_prefix_length
from onpar.models.hf_scoring import prefix_token_id
from onpar.records import Record

FinishReason = Literal["stop", "length"]


class ContinuationRequest(Record):
    """One raw-text prompt to continue, and when to stop."""

    context: str = Field(description="Raw text the model continues; no chat template.")
    until: tuple[str, ...] = Field(
        default=(), description="Stop strings; the text is cut before the first of any."
    )
    max_new_tokens: int = Field(default=256, ge=1, description="Generated tokens at most.")
    temperature: float = Field(default=0.0, ge=0.0, description="0 means greedy decoding.")
    top_p: float = Field(default=1.0, gt=0.0, le=1.0, description="Nucleus mass kept.")
    seed: int | None = Field(
        default=None, description="Sampling seed: same request and seed, same text in any batch."
    )


class Continuation(Record):
    """What the model wrote after one request's context."""

    text: str = Field(description="Decoded generation, cut before the first stop string.")
    finish_reason: FinishReason = Field(description="'stop': stop string or EOS; else 'length'.")
    prompt_tokens: int = Field(description="Context tokens the model saw (after truncation).")
    completion_tokens: int = Field(description="Tokens generated, stop string and EOS included.")
    context_truncated: bool = Field(description="Context was cut from the left to fit.")


def generate_until(
    model: HFChatModel, requests: Sequence[ContinuationRequest], batch_size: int = 8
) -> list[Continuation]:
    """Continue each request's context; results come back in request order.

    Identical requests are generated once (except unseeded sampling, where each is a draw).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    keys = [_dedup_key(r, i) for i, r in enumerate(requests)]
    first: dict[Hashable, ContinuationRequest] = {}
    for key, request in zip(keys, requests, strict=True):
        first.setdefault(key, request)
    stops = _stop_token_ids(model)
    rows = sorted(
        (_Row(key, r, *encode_context(model, r), stops) for key, r in first.items()),
        key=lambda row: row.context_ids,
    )
    batches = [rows[s : s + batch_size] for s in range(0, len(rows), batch_size)]
    for batch, shared in zip(batches, shared_prefix_lengths(batches), strict=True):
        _generate_batch(model, batch, shared)
    done = {row.key: row.result(model.tokenizer) for row in rows}
    return [done[key] for key in keys]


def encode_context(model: HFChatModel, request: ContinuationRequest) -> tuple[list[int], bool]:
    """Context token ids, cut from the left to leave room for the generation; and whether cut."""
    tokenizer = model.tokenizer
    ids = list(tokenizer.encode(request.context, add_special_tokens=False))
    if not ids:
        ids = [prefix_token_id(tokenizer)]
    budget = context_window(model) - request.max_new_tokens
    if budget < 1:
        raise ValueError(
            f"max_new_tokens={request.max_new_tokens} leaves no room for context in the "
            f"{context_window(model)}-token window; lower max_new_tokens"
        )
    if len(ids) > budget:
        return ids[-budget:], True
    return ids, False


def context_window(model: HFChatModel) -> int:
    """Tokens the model attends to: the spec's limit, else the config's (lm-eval's max_length)."""
    config = model.model.config
    names = ("n_positions", "max_position_embeddings", "n_ctx")
    for limit in (model.spec.max_context_tokens, *(getattr(config, n, None) for n in names)):
        if limit:
            return int(limit)
    return 2048  # lm-eval's default when nothing says


def cut_at_stop(text: str, until: Sequence[str]) -> tuple[str, bool]:
    """Text before the earliest occurrence of any non-empty stop string; and whether one occurs."""
    positions = [text.find(stop) for stop in until if stop]
    found = [p for p in positions if p >= 0]
    return (text[: min(found)], True) if found else (text, False)


def shared_prefix_lengths(batches: Sequence[Sequence[Any]]) -> list[int]:
    """Per batch, the prefix length to take from the KV cache.

    A batch's own shared prefix often runs a few tokens into its questions ("Question: A"),
    so consecutive batches would each encode the long few-shot block anew. Where the prefix
    shared with the neighbouring batches is only a little shorter (the extra suffix tokens
    cost less than re-encoding it), that one is used, so the memoised cache serves them all.
    """
    ids = [[list(row.context_ids) for row in batch] for batch in batches]
    lengths: list[int] = []
    for index, batch in enumerate(ids):
        own = common_prefix_length(batch)
        wider = own
        if index > 0:
            wider = min(wider, _common_length(ids[index - 1][-1], batch[0]))
        if index + 1 < len(ids):
            wider = min(wider, _common_length(batch[-1], ids[index + 1][0]))
        lengths.append(wider if (own - wider) * len(batch) < wider else own)
    return lengths


def _common_length(a: Sequence[int], b: Sequence[int]) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


def _dedup_key(request: ContinuationRequest, index: int) -> Hashable:
    """Requests with one key get one generation: the seed is moot when greedy."""
    if request.temperature == 0:
        return request.model_copy(update={"seed": None, "top_p": 1.0})
    if request.seed is None:
        return ("unseeded draw", index)
    return request


def _stop_token_ids(model: HFChatModel) -> frozenset[int]:
    """EOS of the tokenizer and of the generation config (transformers stops at the latter)."""
    ids = {model.tokenizer.eos_token_id}
    configured = getattr(getattr(model.model, "generation_config", None), "eos_token_id", None)
    ids.update(configured if isinstance(configured, list) else [configured])
    return frozenset(int(i) for i in ids if i is not None)


@dataclass
class _Row:
    """One distinct request while it is being generated."""

    key: Hashable
    request: ContinuationRequest
    context_ids: list[int]
    context_truncated: bool
    stop_ids: frozenset[int]
    tokens: list[int] = field(default_factory=list)
    finish: FinishReason | None = None
    generator: Any = None

    def push(self, token: int, tokenizer: Any) -> bool:
        """Add a generated token; True once the row has finished."""
        self.tokens.append(token)
        if token in self.stop_ids or self._has_stop_string(tokenizer):
            self.finish = "stop"
        elif len(self.tokens) >= self.request.max_new_tokens:
            self.finish = "length"
        return self.finish is not None

    def _has_stop_string(self, tokenizer: Any) -> bool:
        """Stop strings are sought in the text so far, special tokens shown (as lm-eval does)."""
        if not self.request.until:
            return False
        text = tokenizer.decode(self.tokens, skip_special_tokens=False)
        return cut_at_stop(text, self.request.until)[1]

    def result(self, tokenizer: Any) -> Continuation:
        kept = [t for t in self.tokens if t not in self.stop_ids]
        text = tokenizer.decode(kept, skip_special_tokens=True)
        text, _ = cut_at_stop(text, self.request.until)
        return Continuation(
            text=text,
            finish_reason=self.finish or "length",
            prompt_tokens=len(self.context_ids),
            completion_tokens=len(self.tokens),
            context_truncated=self.context_truncated,
        )


def _generate_batch(model: HFChatModel, rows: list[_Row], shared: int) -> None:
    """Generate every row to its end; finished rows leave the batch at once."""
    import torch

    for row in rows:
        row.generator = _row_generator(row.request, model.model.device)
    with torch.inference_mode():
        cache = _batch_cache(model, tuple(rows[0].context_ids[:shared]), len(rows))
        logits, mask, positions = _prefill(model, rows, shared, cache)
        active = list(range(len(rows)))
        while True:
            tokens = _next_tokens([rows[i] for i in active], logits)
            keep = [j for j, i in enumerate(active) if not rows[i].push(tokens[j], model.tokenizer)]
            if not keep:
                return
            if len(keep) < len(active):
                index = torch.tensor(keep, device=mask.device)
                cache.batch_select_indices(index)
                mask, positions = mask[index], positions[index]
                active = [active[j] for j in keep]
            step_ids = torch.tensor([[tokens[j]] for j in keep], device=mask.device)
            logits, mask, positions = _decode_step(model, step_ids, cache, mask, positions)


def _batch_cache(model: HFChatModel, prefix: tuple[int, ...], batch: int) -> Any:
    """The prefix's KV cache for each row; no prefix leaves the memoised one in place."""
    from transformers import DynamicCache

    return model.prefix_cache(prefix, batch) if prefix else DynamicCache()


def _prefill(model: HFChatModel, rows: list[_Row], shared: int, cache: Any) -> tuple[Any, Any, Any]:
    """Run each row's suffix after the cached prefix; logits at each row's last token.

    Suffixes are right-padded with masked slots; explicit positions keep each real token at
    its true position, and later tokens continue from each row's own length.
    """
    import torch

    device = model.model.device
    suffixes = [row.context_ids[shared:] for row in rows]
    lengths = torch.tensor([len(s) for s in suffixes])
    width = int(lengths.max())
    ids = torch.tensor([s + [model.pad_id] * (width - len(s)) for s in suffixes], device=device)
    real = torch.arange(width)[None, :] < lengths[:, None]
    mask = torch.cat([torch.ones(len(rows), shared, dtype=torch.long), real.long()], dim=1)
    positions = (shared + torch.arange(width)).expand(len(rows), width)
    last = lengths - 1
    keep = torch.unique(last)  # only positions some row ends at reach the LM head
    output = model.model(
        input_ids=ids,
        attention_mask=mask.to(device),
        position_ids=positions.to(device),
        use_cache=True,
        logits_to_keep=keep.to(device),
        **cache_kwarg(model.model, cache),
    )
    column = torch.searchsorted(keep, last)
    logits = output.logits[torch.arange(len(rows)), column.to(device)]
    return logits, mask.to(device), (shared + lengths).to(device)


def _decode_step(
    model: HFChatModel, step_ids: Any, cache: Any, mask: Any, positions: Any
) -> tuple[Any, Any, Any]:
    """One new token per active row; returns its logits and the grown mask and positions."""
    import torch

    mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
    output = model.model(
        input_ids=step_ids,
        attention_mask=mask,
        position_ids=positions[:, None],
        use_cache=True,
        logits_to_keep=1,
        **cache_kwarg(model.model, cache),
    )
    return output.logits[:, -1], mask, positions + 1


def _next_tokens(rows: list[_Row], logits: Any) -> list[int]:
    """Each row's next token: greedy argmax, or a draw from its own random stream."""
    greedy = logits.argmax(dim=-1).tolist()
    return [
        greedy[j] if row.request.temperature == 0 else _sample(row, logits[j])
        for j, row in enumerate(rows)
    ]


def _sample(row: _Row, logits: Any) -> int:
    """A draw after temperature and top-p (nucleus) filtering, from the row's generator."""
    import torch

    probs = torch.softmax(logits.float() / row.request.temperature, dim=-1)
    if row.request.top_p < 1:
        sorted_probs, order = probs.sort(descending=True)
        before = sorted_probs.cumsum(0) - sorted_probs
        kept = before < row.request.top_p  # smallest set reaching top_p; the top token always
        probs = torch.zeros_like(probs).scatter(0, order[kept], sorted_probs[kept])
    return int(torch.multinomial(probs, 1, generator=row.generator))


def _row_generator(request: ContinuationRequest, device: Any) -> Any:
    """A random stream fixed by the request and its seed (fresh entropy when unseeded)."""
    import torch

    if request.temperature == 0:
        return None
    if request.seed is None:
        seed = secrets.randbits(63)
    else:
        digest = hashlib.sha256(request.model_dump_json().encode()).digest()
        seed = int.from_bytes(digest[:8], "little") & 0x7FFFFFFFFFFFFFFF
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator
