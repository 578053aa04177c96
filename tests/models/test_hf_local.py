"""The transformers backend on the real bundled SmolLM2-135M-Instruct (GGUF)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from onpar.config.schema import HFModelSpec
from onpar.records import ChatRequest, GenerationParams, Message
from tests.conftest import needs_bundled_model

pytestmark = needs_bundled_model

QUESTION = (Message(role="user", content="What is the capital of France?"),)


@pytest.fixture(scope="module")
def model(onpar_cache_dir: Path) -> Iterator[object]:
    mp = pytest.MonkeyPatch()
    mp.setenv("ONPAR_CACHE_DIR", str(onpar_cache_dir))
    from onpar.models.hf_local import HFChatModel

    backend = HFChatModel(
        HFModelSpec(provider="hf", model="bundled:smollm2-135m-instruct", batch_size=4)
    )
    yield backend
    backend.close()
    mp.undo()


def request(content: str, **params: float) -> ChatRequest:
    return ChatRequest(
        messages=(Message(role="user", content=content),),
        params=GenerationParams(max_new_tokens=12, **params),  # type: ignore[arg-type]
    )


def test_render_is_the_tokenizers_chat_template(model: object) -> None:
    text = model.render(QUESTION)  # type: ignore[attr-defined]
    assert text.endswith(
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    )
    assert "You are a helpful AI assistant named SmolLM" in text  # the template's default system


def test_greedy_answers_are_deterministic_and_sensible(model: object) -> None:
    first = model.generate([request("What is the capital of France?"), request("Name a colour.")])  # type: ignore[attr-defined]
    second = model.generate([request("What is the capital of France?"), request("Name a colour.")])  # type: ignore[attr-defined]
    assert first == second
    assert "Paris" in (first[0].text or "")
    assert first[0].usage.completion_tokens <= 12
    assert first[0].finish_reason in {"stop", "length"}


def test_seeded_sampling_repeats_and_seed_matters(model: object) -> None:
    batch = [request("Write a word.", temperature=1.0, seed=s) for s in (1, 1, 2)]
    again = model.generate(batch)  # type: ignore[attr-defined]
    assert model.generate(batch) == again  # type: ignore[attr-defined]
    other = model.generate([request("Write a word.", temperature=1.0, seed=7)] * 3)  # type: ignore[attr-defined]
    assert [r.text for r in other] != [r.text for r in again]


def test_left_padding_matches_unbatched_prefix(model: object) -> None:
    short, long = (
        request("Hi."),
        request("Please list three large cities in Europe, with countries."),
    )
    batched = model.generate([short, long])  # type: ignore[attr-defined]
    alone = model.generate([short])  # type: ignore[attr-defined]
    assert batched[0].text.split()[:3] == alone[0].text.split()[:3]  # type: ignore[union-attr]


def test_option_scores_single_token_path_equals_continuation_path(model: object) -> None:
    digits = [str(i) for i in range(1, 8)]
    fast = model.score_options([QUESTION], digits)[0]  # type: ignore[attr-defined]
    slow = model._continuation_logprobs(
        [model.encode(QUESTION)], [model.tokenizer.encode(d) for d in digits]
    )[0]  # type: ignore[attr-defined]
    assert fast == pytest.approx(slow, abs=1e-4)
    assert all(lp < 0 for lp in fast)
    assert sum(math.exp(lp) for lp in fast) < 1
    paris = model.score_options(
        [QUESTION], ["The capital of France is Paris.", "The capital of France is Rome."]
    )[0]  # type: ignore[attr-defined]
    assert paris[0] > paris[1]


def test_llama2_format_wraps_exchanges_in_bos_eos(
    onpar_cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONPAR_CACHE_DIR", str(onpar_cache_dir))
    from onpar.models.hf_local import HFChatModel

    backend = HFChatModel(
        HFModelSpec(provider="hf", model="bundled:smollm2-135m-instruct", chat_format="llama2")
    )
    conversation = (
        Message(role="system", content="SYS"),
        Message(role="user", content="hi"),
        Message(role="assistant", content="hello"),
        Message(role="user", content="bye"),
    )
    ids = backend.encode(conversation)
    tok = backend.tokenizer
    assert ids[0] == tok.bos_token_id
    assert ids.count(tok.bos_token_id) == 2 and ids.count(tok.eos_token_id) == 1
    first_end = ids.index(tok.eos_token_id)
    assert tok.decode(ids[1:first_end]) == "[INST] <<SYS>>\nSYS\n<</SYS>>\n\nhi [/INST] hello "
    assert tok.decode(ids[first_end + 2 :]) == "[INST] bye [/INST]"
