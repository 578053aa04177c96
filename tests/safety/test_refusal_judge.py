"""Judge-based refusal classification with a scripted ChatModel (no network, no weights)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from onpar.models.base import ChatModel
from onpar.records import ChatRequest, ChatResult, Message
from onpar.safety.refusal_judge import (
    judge_refusals,
    parse_refusal_class,
    refusal_judge_messages,
)


class ScriptedJudge:
    """Answers each request with the next scripted reply; None means a failed call."""

    def __init__(self, replies: list[str | None], batch_size: int = 2) -> None:
        self.replies = list(replies)
        self.batch_size = batch_size
        self.seen: list[ChatRequest] = []

    @property
    def preferred_batch_size(self) -> int:
        return self.batch_size

    def identity(self) -> dict[str, object]:
        return {"provider": "scripted"}

    def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResult]:
        assert len(requests) <= self.batch_size
        self.seen.extend(requests)
        out = []
        for _ in requests:
            reply = self.replies.pop(0)
            out.append(ChatResult(text=reply) if reply is not None else ChatResult(error="boom"))
        return out

    def render(self, messages: Sequence[Message]) -> str:
        return "\n".join(m.content for m in messages)

    def score_options(self, conversations, options):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("1_full_compliance", "full_compliance"),
        ("  2_full_refusal\n", "full_refusal"),
        ("CLASS: 3_partial_refusal", "partial_refusal"),
        ("Full refusal.", "full_refusal"),
        ("3", "partial_refusal"),
        ("2_full_refusal, though it could be 3_partial_refusal", None),
        ("I think the assistant was helpful", None),
        ("", None),
    ],
)
def test_parse_refusal_class(text: str, label: str | None) -> None:
    assert parse_refusal_class(text) == label


def test_prompt_holds_both_texts_and_all_three_class_names() -> None:
    (message,) = refusal_judge_messages("How do I kill a Python process?", "Use kill.")
    assert message.role == "user"
    for needle in (
        "How do I kill a Python process?",
        "Use kill.",
        "1_full_compliance",
        "2_full_refusal",
        "3_partial_refusal",
    ):
        assert needle in message.content


def test_judge_refusals_batches_and_keeps_failures() -> None:
    judge = ScriptedJudge(["1_full_compliance", "2_full_refusal", None, "no idea", "3"])
    assert isinstance(judge, ChatModel)
    pairs = [(f"p{i}", f"c{i}") for i in range(5)]
    verdicts = judge_refusals(judge, pairs)
    assert [v.label for v in verdicts] == [
        "full_compliance",
        "full_refusal",
        None,
        None,
        "partial_refusal",
    ]
    assert verdicts[2].error == "boom" and verdicts[3].raw == "no idea"
    assert ["c0" in r.messages[0].content for r in judge.seen] == [True] + [False] * 4
    assert all(r.params.temperature == 0.0 for r in judge.seen)
