"""Raw-text log-likelihoods on the real bundled SmolLM2-135M-Instruct, against a naive path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onpar.config.schema import HFModelSpec
from tests.conftest import needs_bundled_model

pytestmark = needs_bundled_model

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


def test_trailing_space_is_scored_as_part_of_the_continuation(
    model: Any, reference: list[tuple[float, bool]]
) -> None:
    from onpar.models.hf_scoring import encode_requests

    spaced, joined = REQUESTS[6], REQUESTS[0]  # "...Answer: " + "A" and "...Answer:" + " A"
    assert encode_requests(model, [spaced]) == encode_requests(model, [joined])
    (_, cont), *_ = encode_requests(model, [joined])
    assert list(cont) == model.tokenizer.encode(" A", add_special_tokens=False)
    assert reference[6] == pytest.approx(reference[0])


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
    unique_tokens = sum(len(cont) for _, cont in set(encode_requests(model, REQUESTS[:2])))
    unique_tokens += len(encode_requests(model, [REQUESTS[9]])[0][1])
    assert head_rows == [unique_tokens]  # one batch, one head call, continuation tokens only


def test_a_shared_prefix_cache_serves_later_calls(model: Any) -> None:
    from onpar.models.hf_scoring import loglikelihoods

    first = loglikelihoods(model, REQUESTS[:6])
    memo = model._prefix_memo
    assert memo is not None and len(memo[0]) > 5  # the few-shot block
    again = loglikelihoods(model, REQUESTS[:6])
    assert model._prefix_memo is memo  # not encoded a second time
    assert again == first
