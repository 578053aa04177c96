"""Stage 4: pairwise judging on Llama 2's 7-point scale, in both orders."""

from onpar.judges.combine import CombineRule, combine_orders, pair_verdict
from onpar.judges.pairwise import (
    OPTIONS,
    Transcript,
    judge_messages,
    verdict_from_logprobs,
    verdict_from_text,
)
from onpar.judges.scale import HELPFULNESS_QUESTION, SEVEN_POINT_LABELS, label_for

__all__ = [
    "HELPFULNESS_QUESTION",
    "OPTIONS",
    "SEVEN_POINT_LABELS",
    "CombineRule",
    "Transcript",
    "combine_orders",
    "judge_messages",
    "label_for",
    "pair_verdict",
    "verdict_from_logprobs",
    "verdict_from_text",
]
