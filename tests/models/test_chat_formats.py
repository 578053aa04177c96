"""Llama 2-Chat format, checked against the strings Meta's reference code tokenizes."""

from __future__ import annotations

import pytest

from onpar.models.chat_formats import LLAMA2_DEFAULT_SYSTEM_PROMPT, Segment, llama2_segments
from onpar.records import Message


def m(role: str, content: str) -> Message:
    return Message(role=role, content=content)  # type: ignore[arg-type]


def test_single_turn_with_system_prompt() -> None:
    segments = llama2_segments([m("system", "Be kind."), m("user", " Hi there ")])
    assert segments == [
        Segment("[INST] <<SYS>>\nBe kind.\n<</SYS>>\n\n Hi there [/INST]", add_eos=False)
    ]  # Meta strips the merged text only


def test_multi_turn_wraps_each_finished_exchange_in_bos_eos() -> None:
    segments = llama2_segments(
        [m("system", "S"), m("user", "one"), m("assistant", " first answer "), m("user", "two")]
    )
    assert segments == [
        Segment("[INST] <<SYS>>\nS\n<</SYS>>\n\none [/INST] first answer ", add_eos=True),
        Segment("[INST] two [/INST]", add_eos=False),
    ]


def test_without_system_prompt() -> None:
    assert llama2_segments([m("user", "q")]) == [Segment("[INST] q [/INST]", add_eos=False)]


@pytest.mark.parametrize(
    "messages",
    [
        [],
        [m("assistant", "a")],
        [m("user", "a"), m("user", "b")],
        [m("user", "a"), m("assistant", "b")],
        [m("system", "s")],
    ],
)
def test_bad_role_orders_are_rejected(messages: list[Message]) -> None:
    with pytest.raises(ValueError, match="llama2 format"):
        llama2_segments(messages)


def test_default_system_prompt_is_the_papers() -> None:
    assert LLAMA2_DEFAULT_SYSTEM_PROMPT.startswith(
        "You are a helpful, respectful and honest assistant."
    )
    assert "\n\nIf a question does not make any sense" in LLAMA2_DEFAULT_SYSTEM_PROMPT
    assert LLAMA2_DEFAULT_SYSTEM_PROMPT.endswith("please don't share false information.")
