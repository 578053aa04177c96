"""The pairwise judge: Llama 2's human-evaluation question put to a model, in one order.

A log-prob judge is asked to reply with one digit and its verdict is read from the
probabilities of the seven digits (no text parsing); a text judge explains and ends with
``Verdict: N``, and anything unparseable is a recorded failure, never a tie.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from onpar.judges.scale import HELPFULNESS_QUESTION, SEVEN_POINT_LABELS, most_likely_option
from onpar.records import Message, PromptItem

OPTIONS: tuple[str, ...] = tuple(str(i) for i in range(1, 8))

_SYSTEM = (
    "You are an impartial expert evaluator of AI assistants. You compare two assistants' "
    "answers to the same user and judge which is better: more helpful while also being safe "
    "and honest. Judge only the quality of the answers. The order in which the assistants "
    "appear and the length of their answers must not influence you."
)

_RULES = (
    "Below are two conversations between the same user and two AI assistants, A and B. "
    "Compare the assistants' answers and choose one option of this scale."
)

_SCALE_TEXT = "\n".join(f"{i}. {label}" for i, label in enumerate(SEVEN_POINT_LABELS, start=1))

_ASK_DIGIT = "Reply with the number of your choice only (a single digit from 1 to 7)."
_ASK_TEXT = (
    "First explain your reasoning in a few sentences. Then, on the last line, write "
    "'Verdict: N' where N is the number of your choice (1 to 7)."
)


@dataclass(frozen=True)
class Transcript:
    """One assistant's side of a conversation: the user turns and that assistant's answers."""

    user_turns: tuple[str, ...]
    answers: tuple[str, ...]


def judge_messages(
    prompt: PromptItem, first: Transcript, second: Transcript, *, wants_digit: bool
) -> list[Message]:
    """The judge's conversation for one order: `first` is shown as A, `second` as B.

    The fixed instructions come first and the conversations last, so every judge request
    starts with the same tokens (local judges encode that shared prefix only once).
    """
    instructions = "\n\n".join(
        [_RULES, HELPFULNESS_QUESTION, _SCALE_TEXT, _ASK_DIGIT if wants_digit else _ASK_TEXT]
    )
    if prompt.is_multi_turn:
        focus = (
            f"This conversation has {len(prompt.turns)} user turns. Rate only the answers to the "
            "FINAL user turn; earlier turns are context."
        )
    else:
        focus = "This conversation has one user turn."
    sides = [_render_side("A", first), _render_side("B", second)]
    closing = "Your choice (1-7):" if wants_digit else "Your reasoning, then 'Verdict: N':"
    user = "\n\n".join([instructions, focus, *sides, closing])
    return [Message(role="system", content=_SYSTEM), Message(role="user", content=user)]


def _render_side(letter: str, transcript: Transcript) -> str:
    lines = [f"[Conversation with Assistant {letter}]"]
    for user, answer in zip(transcript.user_turns, transcript.answers, strict=True):
        lines.append(f"User: {user}")
        lines.append(f"Assistant {letter}: {answer}")
    lines.append(f"[End of conversation with Assistant {letter}]")
    return "\n".join(lines)


def verdict_from_logprobs(logprobs: Sequence[float]) -> tuple[int, tuple[float, ...]]:
    """Most probable option (1 … 7) and the seven probabilities renormalised to sum to 1."""
    if len(logprobs) != len(OPTIONS):
        raise ValueError(f"expected {len(OPTIONS)} log-probs, got {len(logprobs)}")
    return most_likely_option(logprobs)


_VERDICT = re.compile(r"verdict\s*[:=]?\s*\**\s*\[*\s*([1-7])\b", re.IGNORECASE)


def verdict_from_text(text: str) -> int | None:
    """Score from the last 'Verdict: N' (or, failing that, exactly one scale label quoted)."""
    matches = _VERDICT.findall(text)
    if matches:
        return int(matches[-1])
    lowered = text.lower()
    found = {i for i, label in enumerate(SEVEN_POINT_LABELS, start=1) if label.lower() in lowered}
    return found.pop() if len(found) == 1 else None
