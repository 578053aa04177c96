"""Chat formats rendered exactly as their reference code does, for models without a template.

Llama 2-Chat (Meta's `llama/generation.py`, `chat_completion`): the system prompt is folded
into the first user turn between ``<<SYS>>`` markers; every completed (user, answer) exchange
is tokenized on its own with BOS and EOS; the open final user turn gets BOS only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from onpar.records import Message

B_INST, E_INST = "[INST]", "[/INST]"
B_SYS, E_SYS = "<<SYS>>\n", "\n<</SYS>>\n\n"

LLAMA2_DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful, respectful and honest assistant. Always answer as helpfully as possible, "
    "while being safe. Your answers should not include any harmful, unethical, racist, sexist, "
    "toxic, dangerous, or illegal content. Please ensure that your responses are socially "
    "unbiased and positive in nature.\n\nIf a question does not make any sense, or is not "
    "factually coherent, explain why instead of answering something not correct. If you don't "
    "know the answer to a question, please don't share false information."
)


@dataclass(frozen=True)
class Segment:
    """Text tokenized on its own, preceded by BOS and (for finished exchanges) followed by EOS."""

    text: str
    add_eos: bool


def llama2_segments(messages: Sequence[Message]) -> list[Segment]:
    """Split a conversation into the segments Meta's reference code tokenizes separately."""
    turns = list(messages)
    if turns and turns[0].role == "system":
        system, *turns = turns
        if not turns or turns[0].role != "user":
            raise ValueError("llama2 format: a system prompt must be followed by a user turn")
        turns[0] = Message(role="user", content=B_SYS + system.content + E_SYS + turns[0].content)
    roles = [m.role for m in turns]
    expected = ["user", "assistant"] * (len(turns) // 2) + ["user"] * (len(turns) % 2)
    if roles != expected or not turns or turns[-1].role != "user":
        raise ValueError(
            "llama2 format: turns must alternate user/assistant and end with a user turn; "
            f"got {roles}"
        )
    segments = [
        Segment(f"{B_INST} {user.content.strip()} {E_INST} {answer.content.strip()} ", add_eos=True)
        for user, answer in zip(turns[0::2], turns[1::2], strict=False)
    ]
    segments.append(Segment(f"{B_INST} {turns[-1].content.strip()} {E_INST}", add_eos=False))
    return segments
