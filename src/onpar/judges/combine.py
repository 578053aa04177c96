"""Turn the two orders' verdicts on a pair into one win / tie / loss (see docs/judging.md).

Rules, both from model_x's side, with p_xy and p_yx the signed preferences for x in [-3, 3]:

- ``agree`` (default; MT-Bench's rule, Zheng et al. 2023): x wins if both orders favour x,
  loses if both favour y, and anything else — a tie in either order, or orders that
  contradict each other — is a tie. Conservative under position bias.
- ``mean``: the sign of (p_xy + p_yx) / 2; uses how strongly each order preferred an answer.
"""

from __future__ import annotations

from typing import Literal

from onpar.records import Judgment, Outcome, PairVerdict, PromptItem

CombineRule = Literal["agree", "mean"]


def outcome_of(preference: float) -> Outcome:
    return "win" if preference > 0 else "loss" if preference < 0 else "tie"


def combine_orders(pref_xy: int, pref_yx: int, rule: CombineRule) -> Outcome:
    if rule == "mean":
        return outcome_of((pref_xy + pref_yx) / 2)
    first, second = outcome_of(pref_xy), outcome_of(pref_yx)
    return first if first == second else "tie"


def pair_verdict(
    prompt: PromptItem,
    judge: str,
    model_x: str,
    model_y: str,
    xy: Judgment | None,
    yx: Judgment | None,
    rule: CombineRule,
    missing_reason: str | None = None,
) -> PairVerdict:
    """One prompt's verdict; without both orders' judgments there is no outcome, with a reason."""
    pref_xy = xy.preference_for_x if xy is not None and xy.ok else None
    pref_yx = yx.preference_for_x if yx is not None and yx.ok else None
    outcome = None
    if missing_reason is None:
        if pref_xy is None or pref_yx is None:
            missing_reason = "judge failed" if (xy is not None or yx is not None) else "not judged"
        else:
            outcome = combine_orders(pref_xy, pref_yx, rule)
    return PairVerdict(
        judge=judge,
        prompt_id=prompt.id,
        category=prompt.category,
        is_multi_turn=prompt.is_multi_turn,
        model_x=model_x,
        model_y=model_y,
        outcome=outcome,
        preference_xy=pref_xy,
        preference_yx=pref_yx,
        missing_reason=missing_reason,
    )
