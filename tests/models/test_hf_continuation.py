"""Raw-text generation until stop strings: pure helpers, then the real bundled SmolLM2.

The real-model tests hold the fast path (shared-prefix cache, batching, dropping finished
rows) to the plain recipe lm-eval's HF backend amounts to: one unbatched greedy
`generate` per prompt, decoded without special tokens and cut at the stop strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from onpar.config.schema import HFModelSpec
from onpar.models.hf_continuation import (
    ContinuationRequest,
    cut_at_stop,
    encode_context,
    shared_prefix_lengths,
)
from tests.conftest import SHARED_DATA, needs_bundled_model

GSM8K = SHARED_DATA / "gsm8k"
GSM8K_UNTIL = ("Question:", "</s>", "<|im_end|>")  # lm-eval's gsm8k task, EOS text included
needs_gsm8k = pytest.mark.skipif(not (GSM8K / "test.jsonl").is_file(), reason=f"{GSM8K} absent")


def test_cut_at_stop_takes_the_earliest_stop_and_ignores_empty_ones() -> None:
    text = "x = 3\n\nQuestion: next</s>"
    assert cut_at_stop(text, ("</s>", "Question:")) == ("x = 3\n\n", True)
    assert cut_at_stop(text, ("", "nope")) == (text, False)
    assert cut_at_stop(text, ()) == (text, False)
    assert cut_at_stop("Question: at once", ("Question:",)) == ("", True)


def test_shared_prefix_stops_where_neighbouring_batches_part() -> None:
    block = list(range(100))

    def batch(*tails: tuple[int, ...]) -> list[Any]:
        return [SimpleNamespace(context_ids=block + list(t)) for t in tails]

    batches = [batch((1, 2, 9), (1, 2, 8)), batch((3, 4, 9), (3, 4, 8)), batch((5, 6, 7))]
    # Each batch alone shares 102 tokens (100 for the last, which keeps one of its own);
    # 100 are shared by all, so one cached prefix serves every batch.
    assert shared_prefix_lengths(batches) == [100, 100, 100]
    unrelated = [batch((1, 2, 9), (1, 2, 8)), [SimpleNamespace(context_ids=[7] * 50)]]
    assert shared_prefix_lengths(unrelated) == [102, 49]  # a lone row keeps its last token


def fake_model(max_context_tokens: int) -> Any:
    """Just enough of HFChatModel for encode_context: one token per character."""
    tokenizer = SimpleNamespace(
        encode=lambda text, add_special_tokens: [ord(c) for c in text],
        bos_token_id=1,
        eos_token_id=2,
    )
    return SimpleNamespace(
        tokenizer=tokenizer,
        spec=SimpleNamespace(max_context_tokens=max_context_tokens),
        model=SimpleNamespace(config=SimpleNamespace(max_position_embeddings=8192)),
    )


def test_context_is_cut_from_the_left_to_leave_room_for_the_generation() -> None:
    model = fake_model(max_context_tokens=10)
    assert encode_context(model, ContinuationRequest(context="abcdefghij", max_new_tokens=4)) == (
        [ord(c) for c in "efghij"],
        True,
    )
    assert encode_context(model, ContinuationRequest(context="abc", max_new_tokens=4)) == (
        [ord(c) for c in "abc"],
        False,
    )
    assert encode_context(model, ContinuationRequest(context="", max_new_tokens=4)) == ([1], False)
    with pytest.raises(ValueError, match="lower max_new_tokens"):
        encode_context(model, ContinuationRequest(context="abc", max_new_tokens=10))


def test_request_fields_are_checked() -> None:
    with pytest.raises(ValidationError):
        ContinuationRequest(context="x", max_new_tokens=0)
    with pytest.raises(ValidationError):
        ContinuationRequest(context="x", top_p=0)
    with pytest.raises(ValidationError):
        ContinuationRequest(context="x", stop=("a",))  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def model(onpar_cache_dir: Path) -> Iterator[Any]:
    import torch

    mp = pytest.MonkeyPatch()
    mp.setenv("ONPAR_CACHE_DIR", str(onpar_cache_dir))
    threads = torch.get_num_threads()
    # The 2-core test machine is shared; one thread avoids OpenMP spinning against the others
    # (10x slower decoding when busy) and costs at most 2x when idle.
    torch.set_num_threads(1)
    from onpar.models.hf_local import HFChatModel

    backend = HFChatModel(HFModelSpec(provider="hf", model="bundled:smollm2-135m-instruct"))
    yield backend
    backend.close()
    torch.set_num_threads(threads)
    mp.undo()


def plain_generate(model: Any, ids: list[int], max_new_tokens: int, until: tuple[str, ...]) -> str:
    """The reference: unbatched greedy transformers `generate`, decoded and cut at the stops."""
    import torch

    input_ids = torch.tensor([ids])
    with torch.inference_mode():
        output = model.model.generate(
            input_ids,
            attention_mask=torch.ones_like(input_ids),
            do_sample=False,
            max_new_tokens=max_new_tokens,
            pad_token_id=model.pad_id,
        )
    text = model.tokenizer.decode(output[0, len(ids) :], skip_special_tokens=True)
    return cut_at_stop(text, until)[0]


def plain_ids(model: Any, context: str) -> list[int]:
    return list(model.tokenizer.encode(context, add_special_tokens=False))


@needs_bundled_model
@needs_gsm8k
def test_greedy_gsm8k_8_shot_matches_plain_generate(model: Any) -> None:
    from onpar.bench.gsm8k import load_gsm8k
    from onpar.models.hf_continuation import generate_until

    items = load_gsm8k(GSM8K / "test.jsonl", GSM8K / "train.jsonl")[:3]  # ~1,400 tokens each
    requests = [
        ContinuationRequest(context=item.prompt, until=GSM8K_UNTIL, max_new_tokens=24)
        for item in items
    ]
    widths: list[int] = []
    embed = model.model.get_input_embeddings()
    hook = embed.register_forward_hook(lambda _m, args, _out: widths.append(args[0].shape[1]))
    try:
        fast = generate_until(model, requests, batch_size=2)  # a batch of 2, then a lone row
    finally:
        hook.remove()
    memo = model._prefix_memo
    assert memo is not None and len(memo[0]) > 1000  # the 8-shot block...
    assert sum(w > 1000 for w in widths) <= 1  # ...encoded at most once for both batches
    for request, result in zip(requests, fast, strict=True):
        ids = plain_ids(model, request.context)
        assert result.text == plain_generate(model, ids, 24, GSM8K_UNTIL)
        assert result.prompt_tokens == len(ids) and not result.context_truncated
        assert result.finish_reason == "stop" or result.completion_tokens == 24
    assert {r.finish_reason for r in fast} == {"stop", "length"}  # both kinds of ending seen


@needs_bundled_model
def test_stop_strings_eos_and_token_limit(model: Any) -> None:
    from onpar.models.hf_continuation import generate_until
    from onpar.records import Message

    counting = "1, 2, 3, 4, 5,"
    chat = model.render([Message(role="user", content="What is the capital of France?")])
    requests = [
        ContinuationRequest(context=counting, max_new_tokens=12),
        ContinuationRequest(context=counting, until=(" 8", " 7"), max_new_tokens=12),
        ContinuationRequest(context=chat, max_new_tokens=32),
    ]
    free, stopped, answer = generate_until(model, requests)
    assert (free.finish_reason, free.completion_tokens) == ("length", 12)
    assert free.text == plain_generate(model, plain_ids(model, counting), 12, ())
    assert " 7" in free.text and stopped.finish_reason == "stop"
    assert stopped.text == free.text[: free.text.index(" 7")]
    assert stopped.completion_tokens < 12  # generation ended at the stop, not at the limit
    assert answer.finish_reason == "stop" and answer.completion_tokens < 32  # EOS
    assert answer.text == plain_generate(model, plain_ids(model, chat), 32, ())
    assert "<|im_end|>" not in answer.text and "Paris" in answer.text


@needs_bundled_model
def test_long_context_is_cut_from_the_left_and_flagged(model: Any) -> None:
    from onpar.models.hf_continuation import generate_until
    from onpar.models.hf_local import HFChatModel

    spec = HFModelSpec(provider="hf", model="bundled:smollm2-135m-instruct", max_context_tokens=48)
    small = HFChatModel(spec, shares_weights_with=model)
    long_context = ", ".join(str(n) for n in range(1, 60)) + ","
    requests = [
        ContinuationRequest(context=long_context, max_new_tokens=8),
        ContinuationRequest(context="1, 2, 3,", max_new_tokens=8),
    ]
    cut, short = generate_until(small, requests)
    assert (cut.prompt_tokens, cut.context_truncated) == (40, True)
    assert cut.text == plain_generate(model, plain_ids(model, long_context)[-40:], 8, ())
    assert not short.context_truncated


@needs_bundled_model
def test_seeded_sampling_repeats_in_any_batch(model: Any) -> None:
    from onpar.models.hf_continuation import generate_until

    def sample(seed: int, context: str = "The capital of France is") -> ContinuationRequest:
        return ContinuationRequest(context=context, max_new_tokens=12, temperature=1.0, seed=seed)

    (alone,) = generate_until(model, [sample(7)])
    others = [sample(3, "Once upon a time"), sample(7), sample(5, "My favourite food is")]
    in_batch = generate_until(model, others, batch_size=3)
    assert in_batch[1] == alone
    texts = {c.text for c in generate_until(model, [sample(s) for s in range(4)])}
    assert len(texts) > 1


@needs_bundled_model
def test_duplicates_run_once_and_finished_rows_leave_the_batch(model: Any) -> None:
    from onpar.models.hf_continuation import generate_until

    rows_per_call: list[int] = []
    embed = model.model.get_input_embeddings()
    hook = embed.register_forward_hook(lambda _m, args, _out: rows_per_call.append(len(args[0])))
    short = ContinuationRequest(context="1, 2, 3,", max_new_tokens=2)
    long = ContinuationRequest(context="1, 2, 3,", max_new_tokens=6)
    requests = [short, long, short, short.model_copy(update={"seed": 9})]  # seed moot: greedy
    try:
        results = generate_until(model, requests)
    finally:
        hook.remove()
    assert results[0] == results[2] == results[3]
    assert results[1].text.startswith(results[0].text)
    # the prefill runs 2 distinct rows; after the short one's 2 tokens, the long one alone
    assert rows_per_call[-6:] == [2, 2, 1, 1, 1, 1]


@needs_bundled_model
def test_rows_sharing_nothing_match_plain_generate_and_keep_the_cached_prefix(model: Any) -> None:
    from onpar.models.hf_continuation import generate_until

    generate_until(model, [ContinuationRequest(context="Few-shot block. Q: 1", max_new_tokens=1)])
    memo = model._prefix_memo
    contexts = ["Once upon a time, in a small village,", "1, 2, 3,"]  # no common first token
    results = generate_until(
        model, [ContinuationRequest(context=c, max_new_tokens=10) for c in contexts]
    )
    for context, result in zip(contexts, results, strict=True):
        assert result.text == plain_generate(model, plain_ids(model, context), 10, ())
    assert model._prefix_memo is memo  # an empty shared prefix does not evict the cached one
