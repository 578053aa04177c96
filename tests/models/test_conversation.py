"""split_system and blocked_text: the message rules Anthropic and Gemini share."""

from __future__ import annotations

import pytest

from onpar.models.conversation import ConversationError, blocked_text, split_system
from onpar.records import Message
from onpar.safety.refusal import classify_refusal


def m(role: str, content: str) -> Message:
    return Message.model_validate({"role": role, "content": content})


def test_leading_system_messages_are_joined_and_turns_alternate() -> None:
    system, turns = split_system(
        [
            m("system", "A"),
            m("system", "B"),
            m("user", "u1"),
            m("assistant", "a1"),
            m("user", "u2"),
        ],
        assistant_role="model",
    )
    assert system == "A\n\nB"
    assert turns == [("user", "u1"), ("model", "a1"), ("user", "u2")]


def test_same_role_neighbours_are_merged() -> None:
    system, turns = split_system(
        [m("user", "u1"), m("user", "u2"), m("assistant", "a1"), m("assistant", "a2")],
        assistant_role="assistant",
    )
    assert system is None
    assert turns == [("user", "u1\n\nu2"), ("assistant", "a1\n\na2")]


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        ([m("user", "u"), m("system", "late")], "message 2 is a system message"),
        ([m("system", "only")], "no user message"),
        ([], "no user message"),
    ],
)
def test_unsendable_conversations_are_named(messages: list[Message], message: str) -> None:
    with pytest.raises(ConversationError, match=message):
        split_system(messages, assistant_role="assistant")


@pytest.mark.parametrize("reason", ["SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "refusal"])
def test_blocked_text_reads_as_a_full_refusal(reason: str) -> None:
    text = blocked_text(reason)
    assert f"({reason})" in text
    assert classify_refusal(text).label == "full_refusal"
