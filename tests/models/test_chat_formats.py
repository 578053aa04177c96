"""Chat formats, checked against strings written by hand from each reference definition.

References: Meta's `llama/generation.py` (`chat_completion`) for llama2; FastChat's
`fastchat/conversation.py` templates `vicuna_v1.1` (ADD_COLON_TWO, sep " ", sep2 "</s>"),
`falcon` (RWKV style, roles User/Assistant, stop "\\nUser") and `mpt-30b-chat` (CHATML, sep
"<|im_end|>") for the others; system prompts from the Llama 2 paper's Table 31.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from onpar.models.chat_formats import (
    CHAT_FORMAT_NAMES,
    LLAMA2_DEFAULT_SYSTEM_PROMPT,
    MPT_SYSTEM_PROMPT,
    VICUNA_SYSTEM_PROMPT,
    Segment,
    chat_format,
    cut_at_stop,
    llama2_segments,
    paper_system_prompt,
)
from onpar.records import Message
from tests.conftest import needs_bundled_model


def m(role: str, content: str) -> Message:
    return Message(role=role, content=content)  # type: ignore[arg-type]


def render(name: str, messages: list[Message]) -> str:
    fmt = chat_format(name)
    assert fmt.render_text is not None
    return fmt.render_text(messages)


MULTI = [m("user", "one"), m("assistant", "first answer"), m("user", "two")]


# --- llama2 (token level: segments) ---------------------------------------------------------


def test_llama2_single_turn_with_system_prompt() -> None:
    segments = llama2_segments([m("system", "Be kind."), m("user", " Hi there ")])
    assert segments == [
        Segment("[INST] <<SYS>>\nBe kind.\n<</SYS>>\n\n Hi there [/INST]", add_eos=False)
    ]  # Meta strips the merged text only


def test_llama2_multi_turn_wraps_each_finished_exchange_in_bos_eos() -> None:
    segments = llama2_segments(
        [m("system", "S"), m("user", "one"), m("assistant", " first answer "), m("user", "two")]
    )
    assert segments == [
        Segment("[INST] <<SYS>>\nS\n<</SYS>>\n\none [/INST] first answer ", add_eos=True),
        Segment("[INST] two [/INST]", add_eos=False),
    ]


def test_llama2_without_system_prompt() -> None:
    assert llama2_segments([m("user", "q")]) == [Segment("[INST] q [/INST]", add_eos=False)]
    assert chat_format("llama2").default_system is None  # Meta's code adds none by itself


# --- vicuna_v1.1 ----------------------------------------------------------------------------


def test_vicuna_single_turn_uses_its_default_system_prompt() -> None:
    assert render("vicuna_v1.1", [m("user", "Hi")]) == (
        "A chat between a curious user and an artificial intelligence assistant. The assistant "
        "gives helpful, detailed, and polite answers to the user's questions. USER: Hi ASSISTANT:"
    )


def test_vicuna_multi_turn_with_system_prompt() -> None:
    assert render("vicuna_v1.1", [m("system", "S"), *MULTI]) == (
        "S USER: one ASSISTANT: first answer</s>USER: two ASSISTANT:"
    )


def test_vicuna_empty_system_prompt_is_kept_empty() -> None:
    assert render("vicuna_v1.1", [m("system", ""), m("user", "q")]) == " USER: q ASSISTANT:"


# --- falcon_instruct ------------------------------------------------------------------------


def test_falcon_single_turn_without_system_prompt() -> None:
    assert render("falcon_instruct", [m("user", "Hi")]) == "User: Hi\n\nAssistant:"


def test_falcon_multi_turn_with_system_prompt_collapses_blank_lines() -> None:
    messages = [m("system", "S"), m("user", "a\r\n\r\nb"), m("assistant", "c\n\nd"), m("user", "e")]
    assert render("falcon_instruct", messages) == (
        "SUser: a\nb\n\nAssistant: c\nd\n\nUser: e\n\nAssistant:"
    )  # FastChat prepends the system text with no separator
    assert chat_format("falcon_instruct").stop == ("\nUser",)


# --- mpt_chat (ChatML) ----------------------------------------------------------------------


def test_mpt_single_turn_uses_the_papers_mpt_system_prompt_by_default() -> None:
    assert render("mpt_chat", [m("user", "Hi")]) == (
        "<|im_start|>system\nA conversation between a user and an LLM-based AI assistant. "
        "The assistant gives helpful and honest answers.<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )


def test_mpt_multi_turn_with_system_prompt() -> None:
    assert render("mpt_chat", [m("system", "S"), *MULTI]) == (
        "<|im_start|>system\nS<|im_end|>\n"
        "<|im_start|>user\none<|im_end|>\n"
        "<|im_start|>assistant\nfirst answer<|im_end|>\n"
        "<|im_start|>user\ntwo<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_mpt_empty_system_prompt_drops_the_system_block() -> None:
    assert render("mpt_chat", [m("system", ""), m("user", "q")]) == (
        "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n"
    )


# --- shared rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", CHAT_FORMAT_NAMES)
@pytest.mark.parametrize(
    "messages",
    [
        [],
        [m("assistant", "a")],
        [m("user", "a"), m("user", "b")],
        [m("user", "a"), m("assistant", "b")],
        [m("system", "s")],
        [m("user", "a"), m("system", "s")],
    ],
)
def test_bad_role_orders_are_rejected(name: str, messages: list[Message]) -> None:
    fmt = chat_format(name)
    with pytest.raises(ValueError, match=f"{name} format"):
        llama2_segments(messages) if fmt.token_level else fmt.render_text(messages)  # type: ignore[misc]


def test_unknown_format_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"known: llama2, vicuna_v1\.1, falcon_instruct, mpt_chat"):
        chat_format("alpaca")


def test_paper_system_prompts_follow_table_31() -> None:
    assert paper_system_prompt("vicuna_v1.1") == VICUNA_SYSTEM_PROMPT
    assert paper_system_prompt("mpt_chat") == MPT_SYSTEM_PROMPT
    for other in ("llama2", "falcon_instruct", "template", None):
        assert paper_system_prompt(other) == LLAMA2_DEFAULT_SYSTEM_PROMPT
    assert LLAMA2_DEFAULT_SYSTEM_PROMPT.startswith(
        "You are a helpful, respectful and honest assistant."
    )
    assert "\n\nIf a question does not make any sense" in LLAMA2_DEFAULT_SYSTEM_PROMPT
    assert LLAMA2_DEFAULT_SYSTEM_PROMPT.endswith("please don't share false information.")


def test_cut_at_stop_takes_the_earliest_stop() -> None:
    assert cut_at_stop("a<|im_end|>b\nUser", ["\nUser", "<|im_end|>"]) == ("a", True)
    assert cut_at_stop("plain", ["\nUser"]) == ("plain", False)


# --- token level, with the bundled model's tokenizer ----------------------------------------


@pytest.fixture(scope="module")
def tokenizer(onpar_cache_dir: Path) -> object:
    mp = pytest.MonkeyPatch()
    mp.setenv("ONPAR_CACHE_DIR", str(onpar_cache_dir))
    from transformers import AutoTokenizer

    from onpar.models.hf_loading import resolve_model

    resolved = resolve_model("bundled:smollm2-135m-instruct", None)
    tok = AutoTokenizer.from_pretrained(resolved.location, gguf_file=resolved.gguf_file)
    mp.undo()
    return tok


@needs_bundled_model
def test_llama2_tokens_are_bos_segment_eos_per_exchange(onpar_cache_dir: Path) -> None:
    from onpar.config.schema import HFModelSpec
    from onpar.models.hf_local import HFChatModel

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONPAR_CACHE_DIR", str(onpar_cache_dir))
        backend = HFChatModel(
            HFModelSpec(provider="hf", model="bundled:smollm2-135m-instruct", chat_format="llama2")
        )
    tok = backend.tokenizer
    bos, eos = tok.bos_token_id, tok.eos_token_id
    first = tok.encode(
        "[INST] <<SYS>>\nS\n<</SYS>>\n\none [/INST] first answer ", add_special_tokens=False
    )
    last = tok.encode("[INST] two [/INST]", add_special_tokens=False)
    assert backend.encode([m("system", "S"), *MULTI]) == [bos, *first, eos, bos, *last]


@needs_bundled_model
def test_mpt_chat_equals_the_chatml_template_of_smollm2(tokenizer: object) -> None:
    """SmolLM2's own chat template is ChatML: with a system prompt both must agree exactly."""
    messages = [m("system", "S"), *MULTI]
    reference = tokenizer.apply_chat_template(  # type: ignore[attr-defined]
        [x.model_dump() for x in messages], tokenize=False, add_generation_prompt=True
    )
    assert render("mpt_chat", messages) == reference
    end = tokenizer.encode("<|im_end|>", add_special_tokens=False)  # type: ignore[attr-defined]
    assert end == [tokenizer.convert_tokens_to_ids("<|im_end|>")]  # type: ignore[attr-defined]


@needs_bundled_model
def test_hf_backend_stops_at_the_formats_stop_strings(onpar_cache_dir: Path) -> None:
    from onpar.config.schema import HFModelSpec
    from onpar.models.hf_local import HFChatModel

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONPAR_CACHE_DIR", str(onpar_cache_dir))
        falcon = HFChatModel(
            HFModelSpec(
                provider="hf", model="bundled:smollm2-135m-instruct", chat_format="falcon_instruct"
            )
        )
        mpt = HFChatModel(
            HFModelSpec(
                provider="hf", model="bundled:smollm2-135m-instruct", chat_format="mpt_chat"
            )
        )
    tok = falcon.tokenizer
    assert (falcon.stop_ids, falcon.stop_texts) == ([], ["\nUser"])
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    assert (mpt.stop_ids, mpt.stop_texts) == ([im_end], [])
    tokens = tok.encode("Hello there.\nUser: next question", add_special_tokens=False)
    cut = falcon._decode(tokens, prompt_length=5)
    assert (cut.text, cut.finish_reason) == ("Hello there.", "stop")
    answer = tok.encode("Fine.", add_special_tokens=False)
    ended = mpt._decode([*answer, im_end, *answer], prompt_length=5)
    assert (ended.text, ended.finish_reason, ended.usage.completion_tokens) == (
        "Fine.",
        "stop",
        len(answer),
    )
