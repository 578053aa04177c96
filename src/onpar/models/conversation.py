"""Turning onpar's OpenAI-shaped messages into what Anthropic and Gemini accept.

Both take the system prompt apart from the turns and want user and model turns to alternate.
Consecutive turns of one role are merged (joined by a blank line) rather than rejected: the
content is unchanged and ``render`` shows exactly what was sent. A system message after the
conversation has started has no faithful place in either API, so it is rejected by name.

A provider safety block is an answer, not a failure: the user of that product sees a refusal.
``blocked_text`` is what such an answer reads as, to judges and the refusal classifier alike;
the backend keeps ``finish_reason="provider_blocked"`` so it can be counted separately.
"""

from __future__ import annotations

from collections.abc import Sequence

from onpar.models.api_common import Failure
from onpar.records import Message

BLOCKED_FINISH_REASON = "provider_blocked"


class ConversationError(ValueError):
    """The conversation cannot be expressed in this provider's message format."""


def split_system(
    messages: Sequence[Message], *, assistant_role: str
) -> tuple[str | None, list[tuple[str, str]]]:
    """(system prompt or None, [(role, text)]) with same-role neighbours merged."""
    system_parts: list[str] = []
    turns: list[tuple[str, str]] = []
    for position, message in enumerate(messages, start=1):
        if message.role == "system":
            if turns:
                raise ConversationError(
                    f"message {position} is a system message after the conversation started; "
                    "this provider takes one system prompt, before the first turn"
                )
            system_parts.append(message.content)
            continue
        role = assistant_role if message.role == "assistant" else "user"
        if turns and turns[-1][0] == role:
            turns[-1] = (role, f"{turns[-1][1]}\n\n{message.content}")
        else:
            turns.append((role, message.content))
    if not any(role == "user" for role, _ in turns):
        raise ConversationError("the conversation has no user message")
    return ("\n\n".join(system_parts) if system_parts else None), turns


def blocked_text(provider_reason: str) -> str:
    """The answer text of a provider safety block; it reads as a refusal (a test checks that)."""
    return (
        "[I cannot answer: the provider's safety filter blocked this response "
        f"({provider_reason}).]"
    )


def unsendable(exc: ConversationError) -> Failure:
    """A conversation the provider cannot take: no retry will change that."""
    return Failure(f"cannot send this conversation: {exc}", retryable=False)
