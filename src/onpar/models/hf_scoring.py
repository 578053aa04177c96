"""Raw-text log-likelihood of continuations, as academic benchmarks score multiple choice.

The quantity matches lm-evaluation-harness's `loglikelihood`: the summed log-prob of the
continuation's tokens after the context, and whether greedy decoding would produce them.
The cost differs: a few-shot benchmark repeats one long prefix in every request, so rows are
grouped, the prefix shared by a batch is encoded once into a KV cache (kept for the next
batch), and only the positions that predict continuation tokens reach the LM head.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from onpar.models.hf_local import HFChatModel, cache_kwarg, common_prefix_length

Pair = tuple[tuple[int, ...], tuple[int, ...]]


def loglikelihoods(
    model: HFChatModel, requests: Sequence[tuple[str, str]], batch_size: int = 16
) -> list[tuple[float, bool]]:
    """(sum of continuation log-probs, continuation is greedy) per (context, continuation).

    Identical requests are scored once, and rows are sorted by context tokens so a batch
    holds neighbouring questions of one few-shot block; results come back in request order.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    pairs = encode_requests(model, requests)
    unique = sorted(set(pairs))
    scores: dict[Pair, tuple[float, bool]] = {}
    for start in range(0, len(unique), batch_size):
        chunk = unique[start : start + batch_size]
        scores.update(zip(chunk, _score_rows(model, chunk), strict=True))
    return [scores[p] for p in pairs]


def encode_requests(model: HFChatModel, requests: Sequence[tuple[str, str]]) -> list[Pair]:
    """Token ids of each (context, continuation), each distinct context encoded once."""
    tokenizer = model.tokenizer
    limit = _max_length(model)
    context_ids: dict[str, list[int]] = {}
    pairs: list[Pair] = []
    for context, continuation in requests:
        context, continuation = split_whitespace(context, continuation)
        if context not in context_ids:
            context_ids[context] = _encode(tokenizer, context)
        ctx = context_ids[context]
        if ctx:  # split the joint encoding, so tokens merging across the seam stay merged
            cont = _encode(tokenizer, context + continuation)[len(ctx) :]
        else:  # nothing to condition on: lm-eval starts from BOS (or EOS)
            ctx, cont = [prefix_token_id(tokenizer)], _encode(tokenizer, continuation)
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


def _max_length(model: HFChatModel) -> int | None:
    spec_limit = getattr(model.spec, "max_context_tokens", None)
    return spec_limit or getattr(model.model.config, "max_position_embeddings", None)


def _truncate(ctx: list[int], cont: list[int], limit: int | None) -> Pair:
    """Drop the oldest context tokens so the model's input (all but the last token) fits."""
    if limit is not None and len(ctx) + len(cont) > limit + 1:
        if len(cont) > limit:
            raise ValueError(f"continuation of {len(cont)} tokens exceeds the {limit}-token window")
        ctx = ctx[len(ctx) + len(cont) - limit - 1 :]
    return tuple(ctx), tuple(cont)


def _score_rows(model: HFChatModel, rows: Sequence[Pair]) -> list[tuple[float, bool]]:
    """Score one batch: shared prefix from the cache, each row's own tokens right-padded."""
    import torch

    scorable = [r for r in rows if r[1]]
    results: dict[Pair, tuple[float, bool]] = {r: (0.0, True) for r in rows if not r[1]}
    if scorable:
        contexts = [list(c) for c, _ in scorable]
        shared = common_prefix_length(contexts)  # leaves each row its last context token
        hidden = _suffix_hidden_states(model, scorable, shared)
        rows_at, positions, targets = _target_index(scorable, shared)
        with torch.inference_mode():
            picked = hidden[rows_at.to(hidden.device), positions.to(hidden.device)]
            logits = model.model.get_output_embeddings()(picked)
            logprobs = torch.log_softmax(logits.float(), dim=-1).cpu()
        token_logprobs = logprobs.gather(1, targets[:, None]).squeeze(1)
        greedy = logprobs.argmax(dim=-1) == targets
        start = 0
        for row in scorable:
            end = start + len(row[1])
            total = float(token_logprobs[start:end].sum())
            results[row] = (total, bool(greedy[start:end].all()))
            start = end
    return [results[r] for r in rows]


def _suffix_hidden_states(model: HFChatModel, rows: Sequence[Pair], shared: int) -> Any:
    """Final hidden states of each row's input after the shared prefix.

    The input is context + continuation minus its last token (which predicts nothing).
    Right padding keeps real tokens at their true positions after the cached prefix.
    """
    import torch

    inputs = [list(c + t)[shared:-1] for c, t in rows]
    lengths = torch.tensor([len(i) for i in inputs])
    width = int(lengths.max())
    pad = model.pad_id
    device = model.model.device
    ids = torch.tensor([i + [pad] * (width - len(i)) for i in inputs], device=device)
    mask = torch.cat(
        [
            torch.ones(len(rows), shared, dtype=torch.long),
            (torch.arange(width)[None, :] < lengths[:, None]).long(),
        ],
        dim=1,
    ).to(device)
    with torch.inference_mode():
        cache = model.prefix_cache(rows[0][0][:shared], len(rows))
        decoder = model.model.get_decoder()
        output = decoder(
            input_ids=ids, attention_mask=mask, use_cache=True, **cache_kwarg(decoder, cache)
        )
    return output.last_hidden_state


def _target_index(rows: Sequence[Pair], shared: int) -> tuple[Any, Any, Any]:
    """Flat (row, position, token) of every continuation token, positions after `shared`.

    The token at full position p is predicted by the hidden state at p - 1.
    """
    import torch

    rows_at: list[int] = []
    positions: list[int] = []
    targets: list[int] = []
    for index, (ctx, cont) in enumerate(rows):
        first = len(ctx) - 1 - shared
        rows_at.extend([index] * len(cont))
        positions.extend(range(first, first + len(cont)))
        targets.extend(cont)
    return torch.tensor(rows_at), torch.tensor(positions), torch.tensor(targets)
