"""Raw-text log-likelihoods on the real bundled SmolLM2-135M-Instruct, against a naive path.

The planning helpers (distinct inputs, prefix groups) are checked on plain token tuples.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from onpar.config.schema import HFModelSpec
from onpar.models.hf_scoring import GROUP_OVERHEAD_TOKENS, distinct_inputs, prefix_groups
from tests.conftest import SHARED_DATA, needs_bundled_model

MMLU = SHARED_DATA / "mmlu"

FEW_SHOT = "Capital of Peru?\nA. Lima\nB. Cusco\nAnswer: A\n\n"
QUESTIONS = (
    "Capital of Italy?\nA. Rome\nB. Milan\nC. Turin\nAnswer:",
    "Kenya is in?\nA. Asia\nB. Africa\nC. Europe\nAnswer:",
)
REQUESTS = [
    *((FEW_SHOT + q, f" {letter}") for q in QUESTIONS for letter in "ABC"),
    (FEW_SHOT + QUESTIONS[0] + " ", "A"),  # trailing space moves onto the continuation
    ("The capital of France is", " Paris, on the Seine."),  # several tokens
    ("", "Hello there"),  # empty context: conditioned on BOS
    ("1, 2, 3, 4,", " 5"),
    ("1, 2, 3, 4,", " 6"),
    (FEW_SHOT + QUESTIONS[1], " B. Africa"),
]


@pytest.fixture(scope="module")
def model(onpar_cache_dir: Path) -> Iterator[Any]:
    mp = pytest.MonkeyPatch()
    mp.setenv("ONPAR_CACHE_DIR", str(onpar_cache_dir))
    from onpar.models.hf_local import HFChatModel

    backend = HFChatModel(HFModelSpec(provider="hf", model="bundled:smollm2-135m-instruct"))
    yield backend
    backend.close()
    mp.undo()


def naive(model: Any, context: str, continuation: str) -> tuple[float, bool]:
    """The plain recipe: one full forward of context + continuation, no cache, no batching."""
    import torch

    tok = model.tokenizer
    if context:
        stripped = context.rstrip()
        continuation = context[len(stripped) :] + continuation
        ctx = tok.encode(stripped, add_special_tokens=False)
        cont = tok.encode(stripped + continuation, add_special_tokens=False)[len(ctx) :]
    else:
        ctx, cont = [tok.bos_token_id], tok.encode(continuation, add_special_tokens=False)
    ids = torch.tensor([ctx + cont])
    with torch.inference_mode():
        logits = model.model(input_ids=ids).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)[len(ctx) - 1 : -1]
    targets = torch.tensor(cont)
    total = float(logprobs.gather(1, targets[:, None]).sum())
    return total, bool((logprobs.argmax(-1) == targets).all())


@pytest.fixture(scope="module")
def reference(model: Any) -> list[tuple[float, bool]]:
    return [naive(model, context, continuation) for context, continuation in REQUESTS]


@needs_bundled_model
def test_fast_path_matches_naive_reference_in_request_order(
    model: Any, reference: list[tuple[float, bool]]
) -> None:
    from onpar.models.hf_scoring import loglikelihoods

    fast = loglikelihoods(model, REQUESTS, batch_size=5)  # several batches, some mixed
    for request, (score, greedy), (want_score, want_greedy) in zip(
        REQUESTS, fast, reference, strict=True
    ):
        context, continuation = request
        assert score == pytest.approx(want_score, abs=1e-4), (context[-30:], continuation)
        assert greedy == want_greedy, (context[-30:], continuation)
    assert any(greedy for _, greedy in fast) and not all(greedy for _, greedy in fast)


@needs_bundled_model
def test_trailing_space_is_scored_as_part_of_the_continuation(
    model: Any, reference: list[tuple[float, bool]]
) -> None:
    from onpar.models.hf_scoring import encode_requests

    spaced, joined = REQUESTS[6], REQUESTS[0]  # "...Answer: " + "A" and "...Answer:" + " A"
    assert encode_requests(model, [spaced]) == encode_requests(model, [joined])
    (_, cont), *_ = encode_requests(model, [joined])
    assert list(cont) == model.tokenizer.encode(" A", add_special_tokens=False)
    assert reference[6] == pytest.approx(reference[0])


@needs_bundled_model
def test_duplicates_are_computed_once_and_only_needed_positions_hit_the_head(
    model: Any, reference: list[tuple[float, bool]]
) -> None:
    from onpar.models.hf_scoring import encode_requests, loglikelihoods

    head_rows: list[int] = []
    head = model.model.get_output_embeddings()
    hook = head.register_forward_hook(lambda _m, args, _out: head_rows.append(args[0].shape[0]))
    picks = [0, 1, 9, 0, 6, 1]  # 0 twice, and 6 is 0 spelled differently
    try:
        results = loglikelihoods(model, [REQUESTS[i] for i in picks], batch_size=64)
    finally:
        hook.remove()
    for i, (score, greedy) in zip(picks, results, strict=True):
        assert score == pytest.approx(reference[i][0], abs=1e-4)
        assert greedy == reference[i][1]
    # " A" and " B" follow one context: one input, one position read for both. " 5" adds its
    # own tokens. One batch, one head call, and only positions that predict something.
    (_, five), *_ = encode_requests(model, [REQUESTS[9]])
    assert head_rows == [1 + len(five)]


@needs_bundled_model
def test_a_shared_prefix_cache_serves_later_calls(model: Any) -> None:
    from onpar.models.hf_scoring import encode_requests, loglikelihoods

    block = FEW_SHOT * 4  # long enough to be worth a group of its own
    requests = [(block + q, f" {letter}") for q in QUESTIONS for letter in "ABC"]
    first = loglikelihoods(model, requests)
    memo = model._prefix_memo
    (block_ids, _), *_ = encode_requests(model, [(block.rstrip(), " x")])
    assert memo is not None and memo[0][: len(block_ids) - 1] == block_ids[:-1]
    again = loglikelihoods(model, requests)
    assert model._prefix_memo is memo  # not encoded a second time
    assert again == first
    for (context, continuation), (score, greedy) in zip(requests, first, strict=True):
        want_score, want_greedy = naive(model, context, continuation)
        assert score == pytest.approx(want_score, abs=1e-4)
        assert greedy == want_greedy


def naive_choices(model: Any, context: str, choices: Sequence[str]) -> list[tuple[float, bool]]:
    """One plain forward of the whole context, read for each single-token choice."""
    import torch

    tok = model.tokenizer
    ctx = tok.encode(context, add_special_tokens=False)
    with torch.inference_mode():
        logits = model.model(input_ids=torch.tensor([ctx])).logits[0, -1].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    results = []
    for choice in choices:
        (token,) = tok.encode(context + choice, add_special_tokens=False)[len(ctx) :]
        results.append((float(logprobs[token]), int(logprobs.argmax()) == token))
    return results


@needs_bundled_model
@pytest.mark.skipif(not (MMLU / "test").is_dir(), reason=f"{MMLU} absent")
def test_real_mmlu_questions_match_a_plain_full_forward(model: Any) -> None:
    """Two subjects, 5-shot: every choice's log-prob and greedy flag as a full forward gives.

    Each question's four choices share one input, so the head sees one row per question.
    """
    from onpar.bench import load_mmlu
    from onpar.models.hf_scoring import loglikelihoods

    items = [
        *load_mmlu(MMLU, ["abstract_algebra"])[:2],
        *load_mmlu(MMLU, ["high_school_geography"])[:1],
    ]
    requests = [(item.context, choice) for item in items for choice in item.choices]
    head_rows: list[int] = []
    head = model.model.get_output_embeddings()
    hook = head.register_forward_hook(lambda _m, args, _out: head_rows.append(args[0].shape[0]))
    try:
        fast = loglikelihoods(model, requests, batch_size=4)
    finally:
        hook.remove()
    assert sum(head_rows) == len(items)
    plain = [r for item in items for r in naive_choices(model, item.context, item.choices)]
    for (context, continuation), (score, greedy), (want_score, want_greedy) in zip(
        requests, fast, plain, strict=True
    ):
        assert score == pytest.approx(want_score, abs=1e-4), (context[-40:], continuation)
        assert greedy == want_greedy
    for i in range(len(items)):  # the prediction: argmax over the four choices
        assert max(range(4), key=lambda c, i=i: fast[4 * i + c][0]) == max(
            range(4), key=lambda c, i=i: plain[4 * i + c][0]
        )


# -- planning, on token tuples ------------------------------------------------------------------
def pair(ctx: list[int], cont: list[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return tuple(ctx), tuple(cont)


def test_choices_after_one_context_share_one_input() -> None:
    ctx = [5, 6, 7, 8]
    inputs = distinct_inputs([pair(ctx, [t]) for t in (10, 11, 12, 13)])
    assert [i.tokens for i in inputs] == [tuple(ctx)]
    assert len(inputs[0].pairs) == 4 and inputs[0].first_read == 3


def test_an_input_that_starts_a_longer_one_is_read_from_it() -> None:
    short = pair([1, 2, 3], [4])  # input 1 2 3
    long = pair([1, 2, 3], [4, 5, 6])  # input 1 2 3 4 5: position 2 serves both
    other = pair([1, 9], [3])  # input 1 9: after, not a prefix
    inputs = distinct_inputs([short, other, long])
    assert [i.tokens for i in inputs] == [(1, 2, 3, 4, 5), (1, 9)]
    assert sorted(inputs[0].pairs) == sorted([short, long])


def test_prefix_groups_split_at_the_few_shot_blocks() -> None:
    block_a, block_b = list(range(100, 160)), list(range(200, 250))
    questions = [[1000 + q, 2000 + q] for q in range(6)]
    a = [pair(block_a + q, [7]) for q in questions]
    b = [pair(block_b + q, [7]) for q in questions[:3]]
    lone = [pair([50, 51], [7]), pair([60, 61, 62], [8, 9])]
    groups = prefix_groups(distinct_inputs(a + b + lone))
    assert [(shared, len(g)) for shared, g in groups] == [(60, 6), (50, 3), (0, 2)]


def test_a_shared_prefix_stops_before_any_read_position() -> None:
    block = list(range(100, 160))
    # the continuations start alike, so the inputs share the block and more, but the first
    # continuation token is read at the block's last position ([1, 9] reads from [1, 2, 3])
    rows = [pair(block, [1, 2, 3, 4]), pair(block, [1, 2, 5, 6]), pair(block, [1, 9])]
    (shared, group), *rest = prefix_groups(distinct_inputs(rows))
    assert not rest and shared == len(block) - 1 and len(group) == 2


def test_short_shared_prefixes_are_not_worth_a_group() -> None:
    few = GROUP_OVERHEAD_TOKENS // 2
    rows = [pair([*range(few), 900 + q], [1]) for q in range(2)]
    assert [(shared, len(g)) for shared, g in prefix_groups(distinct_inputs(rows))] == [(0, 2)]
    assert prefix_groups([]) == []
