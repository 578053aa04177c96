"""Raw-text log-likelihood of continuations, as academic benchmarks score multiple choice.

The quantity matches lm-evaluation-harness's `loglikelihood`: the summed log-prob of the
continuation's tokens after the context, and whether greedy decoding would produce them.
The cost differs, because a few-shot benchmark is mostly repetition:

* Each distinct model input (context + continuation minus its last token) runs once, and an
  input that is the start of a longer one is read from the longer one. MMLU's four choices
  " A" … " D" are single tokens after one context, so one input scores all four.
* Sorted inputs are split into groups that share a long prefix (a subject's description and
  few-shot block). The prefix is encoded once into a KV cache (the last one is kept for the
  next call); each row then runs only its own suffix, with the prefix's keys and values
  broadcast across the batch rather than copied per row.
* Only positions that predict continuation tokens reach the LM head, a chunk at a time.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from onpar.models.hf_local import HFChatModel, cache_kwarg

Pair = tuple[tuple[int, ...], tuple[int, ...]]
Score = tuple[float, bool]

# A group costs two extra forward calls (its prefix, then its own batches); on 2 CPU cores
# that fixed cost is worth about this many tokens, so shorter shared prefixes are not split off.
GROUP_OVERHEAD_TOKENS = 32
# Rows × padded width of one forward pass: at most MAX_BATCH_TOKENS (activations stay small);
# past MIN_BATCH_TOKENS real tokens, a batch is cut rather than padded by more than MAX_PADDING.
MAX_BATCH_TOKENS = 4096
MIN_BATCH_TOKENS = 256
MAX_PADDING = 0.0625
# LM-head rows at once, so the (rows × vocabulary) log-probs stay small.
HEAD_CHUNK = 256
# Requests tokenized per tokenizer call: batch calls are faster, chunks bound the memory.
ENCODE_CHUNK = 512


def loglikelihoods(
    model: HFChatModel, requests: Sequence[tuple[str, str]], batch_size: int = 16
) -> list[Score]:
    """(sum of continuation log-probs, continuation is greedy) per (context, continuation).

    `batch_size` caps the rows of one forward pass (fewer when rows are long). Identical
    requests are scored once; results come back in request order.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    pairs = encode_requests(model, requests)
    scores = score_pairs(model, pairs, batch_size)
    return [scores[p] for p in pairs]


def score_pairs(model: HFChatModel, pairs: Sequence[Pair], batch_size: int) -> dict[Pair, Score]:
    """Scores of token-level (context, continuation) pairs, each distinct input run once."""
    scores: dict[Pair, Score] = {p: (0.0, True) for p in pairs if not p[1]}
    inputs = distinct_inputs([p for p in set(pairs) if p[1]])
    for shared, group in prefix_groups(inputs):
        for batch in _batches(group, shared, batch_size):
            scores.update(_score_batch(model, batch, shared))
    return scores


def encode_requests(model: HFChatModel, requests: Sequence[tuple[str, str]]) -> list[Pair]:
    """Token ids of each (context, continuation), each distinct context encoded once.

    Texts go to the tokenizer in chunks (one batch call each, parallel in fast tokenizers),
    and requests sharing a context share one tuple of its ids.
    """
    tokenizer = model.tokenizer
    limit = _max_length(model)
    texts = [split_whitespace(context, continuation) for context, continuation in requests]
    context_ids: dict[str, tuple[int, ...]] = {}
    pairs: list[Pair] = []
    for start in range(0, len(texts), ENCODE_CHUNK):
        chunk = texts[start : start + ENCODE_CHUNK]
        new = list(dict.fromkeys(c for c, _ in chunk if c and c not in context_ids))
        context_ids.update(zip(new, map(tuple, _encode_many(tokenizer, new)), strict=True))
        joined = iter(_encode_many(tokenizer, [c + t for c, t in chunk if c]))
        for context, continuation in chunk:
            if context:  # split the joint encoding, so tokens merging across the seam stay merged
                ctx = context_ids[context]
                cont = tuple(next(joined)[len(ctx) :])
            else:  # nothing to condition on: lm-eval starts from BOS (or EOS)
                ctx = (prefix_token_id(tokenizer),)
                cont = tuple(_encode(tokenizer, continuation))
            pairs.append(_truncate(ctx, cont, limit))
    return pairs


def split_whitespace(context: str, continuation: str) -> tuple[str, str]:
    """Move the context's trailing whitespace onto the continuation.

    BPE vocabularies glue a space to the word after it (" B"), so "Answer: " + "B" must be
    tokenized as "Answer:" + " B" to score the token the model would actually emit.
    """
    stripped = context.rstrip()
    return stripped, context[len(stripped) :] + continuation


def prefix_token_id(tokenizer: Any) -> int:
    """The token an empty context stands for: BOS where the vocabulary has one, else EOS."""
    if tokenizer.bos_token_id is not None:
        return int(tokenizer.bos_token_id)
    return int(tokenizer.eos_token_id)


def _encode(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer.encode(text, add_special_tokens=False)) if text else []


def _encode_many(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    """`_encode` of each text in one tokenizer call."""
    if not texts:
        return []
    return [list(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]


def _max_length(model: HFChatModel) -> int | None:
    spec_limit = getattr(model.spec, "max_context_tokens", None)
    return spec_limit or getattr(model.model.config, "max_position_embeddings", None)


def _truncate(ctx: tuple[int, ...], cont: tuple[int, ...], limit: int | None) -> Pair:
    """Drop the oldest context tokens so the model's input (all but the last token) fits."""
    if limit is not None and len(ctx) + len(cont) > limit + 1:
        if len(cont) > limit:
            raise ValueError(f"continuation of {len(cont)} tokens exceeds the {limit}-token window")
        ctx = ctx[len(ctx) + len(cont) - limit - 1 :]
    return ctx, cont


@dataclass
class ModelInput:
    """One sequence the model runs, and the pairs whose tokens are read from its positions."""

    tokens: tuple[int, ...]
    pairs: list[Pair] = field(default_factory=list)

    @property
    def first_read(self) -> int:
        """The earliest position read (it predicts a continuation's first token)."""
        return min(len(ctx) for ctx, _ in self.pairs) - 1


def distinct_inputs(pairs: Sequence[Pair]) -> list[ModelInput]:
    """The distinct inputs of non-empty pairs, sorted; an input that starts a longer one merges.

    Positions are absolute and the model is causal, so the hidden state at position p is the
    same in any input sharing the first p + 1 tokens: a pair's reads move to the longer input.
    """
    by_tokens: dict[tuple[int, ...], list[Pair]] = defaultdict(list)
    for ctx, cont in pairs:
        by_tokens[(ctx + cont)[:-1]].append((ctx, cont))
    kept: list[ModelInput] = []
    # In sorted order every sequence that starts with x comes right after x, so comparing
    # with the next kept input (which absorbed its own prefixes) finds any longer owner.
    for tokens in sorted(by_tokens, reverse=True):
        if kept and kept[-1].tokens[: len(tokens)] == tokens:
            kept[-1].pairs.extend(by_tokens[tokens])
        else:
            kept.append(ModelInput(tokens, list(by_tokens[tokens])))
    kept.reverse()
    return kept


def prefix_groups(inputs: Sequence[ModelInput]) -> list[tuple[int, list[ModelInput]]]:
    """(shared prefix length, inputs) per group; inputs worth no shared prefix pool under 0.

    Splits the sorted inputs where it saves the most computed tokens: a run of n inputs
    sharing L tokens saves (n - 1) · L, less a fixed per-group cost. A shared prefix stops
    before any position that is read, so every read comes from the suffix forward pass.
    """
    if not inputs:
        return []
    bounds = [
        min(_common_length(a.tokens, b.tokens), a.first_read, b.first_read)
        for a, b in pairwise(inputs)
    ]
    groups: list[tuple[int, list[ModelInput]]] = []
    pooled: list[ModelInput] = []
    for lo, hi, shared in _best_runs(bounds, len(inputs)):
        if shared > 0:
            groups.append((shared, list(inputs[lo:hi])))
        else:
            pooled.extend(inputs[lo:hi])
    if pooled:
        groups.append((0, pooled))
    return groups


def _common_length(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """Length of the common start of two token sequences (numpy: they are hundreds long)."""
    import numpy as np

    n = min(len(a), len(b))
    differs = np.asarray(a[:n]) != np.asarray(b[:n])
    return int(differs.argmax()) if differs.any() else n


def _best_runs(bounds: list[int], count: int) -> list[tuple[int, int, int]]:
    """Partition inputs 0..count-1 into runs (lo, hi, shared) that save the most tokens.

    bounds[k] is how many tokens inputs k and k+1 may share. On the Cartesian tree of bounds
    (minimum at the root) each node either keeps its whole span as one run sharing its bound,
    or leaves it to its two sides, whichever saves more; singletons share nothing.
    """
    if not bounds:
        return [(0, count, 0)]
    left, right = [-1] * len(bounds), [-1] * len(bounds)
    stack: list[int] = []
    for k, bound in enumerate(bounds):
        last = -1
        while stack and bounds[stack[-1]] > bound:
            last = stack.pop()
        left[k] = last
        if stack:
            right[stack[-1]] = k
        stack.append(k)
    root = stack[0]
    preorder, todo = [], [root]
    while todo:
        k = todo.pop()
        preorder.append(k)
        todo.extend(c for c in (left[k], right[k]) if c >= 0)
    lo, hi = [0] * len(bounds), [0] * len(bounds)
    saved, whole = [0] * len(bounds), [False] * len(bounds)
    for k in reversed(preorder):  # children before parents
        lo[k] = lo[left[k]] if left[k] >= 0 else k
        hi[k] = hi[right[k]] if right[k] >= 0 else k + 2
        split = sum(saved[c] for c in (left[k], right[k]) if c >= 0)
        merged = (hi[k] - lo[k] - 1) * bounds[k] - GROUP_OVERHEAD_TOKENS
        whole[k], saved[k] = merged > split, max(merged, split)
    runs: list[tuple[int, int, int]] = []
    todo = [root]
    while todo:
        k = todo.pop()
        if whole[k]:
            runs.append((lo[k], hi[k], bounds[k]))
            continue
        for child, single in ((right[k], k + 1), (left[k], k)):
            if child >= 0:
                todo.append(child)
            else:
                runs.append((single, single + 1, 0))
    return sorted(runs)


def _batches(
    group: Sequence[ModelInput], shared: int, batch_size: int
) -> Iterator[list[ModelInput]]:
    """Rows by suffix length, cut into forward passes that waste little on padding.

    A batch holds at most `batch_size` rows and MAX_BATCH_TOKENS padded tokens; once it has
    MIN_BATCH_TOKENS real tokens (enough to keep the matrix products efficient) it is also cut
    where the next, longer row would make more than MAX_PADDING of it padding.
    """
    batch: list[ModelInput] = []
    real = 0
    for row in sorted(group, key=lambda r: len(r.tokens)):
        length = len(row.tokens) - shared  # the longest so far: rows come sorted
        padded = (len(batch) + 1) * length
        if batch and (
            len(batch) >= batch_size
            or padded > MAX_BATCH_TOKENS
            or (real >= MIN_BATCH_TOKENS and padded - real - length > MAX_PADDING * padded)
        ):
            yield batch
            batch, real = [], 0
        batch.append(row)
        real += length
    if batch:
        yield batch


def _score_batch(model: HFChatModel, rows: Sequence[ModelInput], shared: int) -> dict[Pair, Score]:
    """Run one batch and read every pair's tokens; each read position hits the head once."""
    import torch

    hidden = _suffix_hidden_states(model, [r.tokens for r in rows], shared)
    read_at: dict[tuple[int, int], int] = {}
    reads: list[int] = []  # per continuation token: index into the read positions
    targets: list[int] = []
    spans: list[tuple[Pair, int, int]] = []
    for index, row in enumerate(rows):
        for ctx, cont in row.pairs:
            start = len(targets)
            for offset, token in enumerate(cont):
                key = (index, len(ctx) - 1 + offset - shared)
                reads.append(read_at.setdefault(key, len(read_at)))
                targets.append(token)
            spans.append(((ctx, cont), start, len(targets)))
    positions = torch.tensor(list(read_at), dtype=torch.long)
    read_index, target_ids = torch.tensor(reads), torch.tensor(targets)
    head = model.model.get_output_embeddings()
    token_logprobs = torch.empty(len(targets))
    greedy = torch.empty(len(targets), dtype=torch.bool)
    with torch.inference_mode():
        for start in range(0, len(positions), HEAD_CHUNK):
            chunk = positions[start : start + HEAD_CHUNK].to(hidden.device)
            logits = head(hidden[chunk[:, 0], chunk[:, 1]])
            logprobs = torch.log_softmax(logits.float(), dim=-1).cpu()
            here = (read_index >= start) & (read_index < start + len(chunk))
            local = read_index[here] - start
            token_logprobs[here] = logprobs[local, target_ids[here]]
            greedy[here] = logprobs.argmax(dim=-1)[local] == target_ids[here]
    values, flags = token_logprobs.tolist(), greedy.tolist()
    return {
        pair: (float(sum(values[start:end])), all(flags[start:end])) for pair, start, end in spans
    }


def _suffix_hidden_states(
    model: HFChatModel, inputs: Sequence[tuple[int, ...]], shared: int
) -> Any:
    """Final hidden states of each input after its first `shared` tokens (common to all).

    The shared prefix comes from the model's memoised KV cache. Right padding keeps each
    row's real tokens at their true positions after the prefix.
    """
    import torch

    suffixes = [list(tokens[shared:]) for tokens in inputs]
    lengths = torch.tensor([len(s) for s in suffixes])
    width = int(lengths.max())
    device = model.model.device
    ids = torch.tensor([s + [model.pad_id] * (width - len(s)) for s in suffixes], device=device)
    mask = torch.cat(
        [
            torch.ones(len(inputs), shared, dtype=torch.long),
            (torch.arange(width)[None, :] < lengths[:, None]).long(),
        ],
        dim=1,
    ).to(device)
    decoder = model.model.get_decoder()
    with torch.inference_mode():
        extra: dict[str, Any] = {}
        if shared:
            cache = model.prefix_cache(inputs[0][:shared], 1)
            extra = cache_kwarg(decoder, _broadcast(cache, len(inputs)))
        output = decoder(input_ids=ids, attention_mask=mask, use_cache=bool(shared), **extra)
    return output.last_hidden_state


def _broadcast(cache: Any, batch: int) -> Any:
    """The one-row prefix cache serving `batch` rows, without a copy per row.

    Each layer's keys and values are expanded (a view), and the layer hands attention the
    prefix joined with the new tokens without keeping them, so no batch-sized cache persists.
    Transformers releases without cache layers get the plain per-row copy.
    """
    layer_class = _shared_prefix_layer_class()
    if layer_class is None or not hasattr(cache, "layers"):
        cache.batch_repeat_interleave(batch)
        return cache
    cache.layers = [
        layer_class(layer.keys.expand(batch, -1, -1, -1), layer.values.expand(batch, -1, -1, -1))
        for layer in cache.layers
    ]
    return cache


@functools.cache
def _shared_prefix_layer_class() -> type | None:
    try:
        import torch
        from transformers.cache_utils import DynamicLayer
    except ImportError:
        return None

    class SharedPrefixLayer(DynamicLayer):  # type: ignore[misc, valid-type]
        """A read-only prefix: `update` returns prefix + new states and stores nothing."""

        def __init__(self, keys: Any, values: Any) -> None:
            super().__init__()
            self.keys, self.values = keys, values
            self.device = keys.device
            self.is_initialized = True

        def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> Any:
            return (
                torch.cat([self.keys, key_states], dim=-2),
                torch.cat([self.values, value_states], dim=-2),
            )

    return SharedPrefixLayer
