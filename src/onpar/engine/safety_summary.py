"""Safety statistics and report material from what the run store holds (no model calls).

Used by `write_outputs`, so `onpar report RUN_DIR` rebuilds the safety section from the
store alone (`onpar run` has just re-rated any answer that changed, so the two agree).
"""

from __future__ import annotations

from collections.abc import Sequence

from onpar.engine.context import RunContext
from onpar.engine.judging import Answers, collect_answers, missing_answer
from onpar.engine.safety import RULES, safety_contestants
from onpar.records import (
    FalseRefusalStats,
    PromptItem,
    RefusalOutcome,
    RefusalSet,
    Response,
    SafetyRating,
    SafetyResults,
    SafetySummary,
)
from onpar.report.safety_view import SafetyDetails
from onpar.safety.run_sets import SafetySets
from onpar.stats.safety import false_refusal_stats, summarize_violations

NO_ANSWER = "no answer"


def safety_sets_from_store(ctx: RunContext) -> SafetySets:
    return SafetySets.from_meta(ctx.store.get_meta("safety_prompts"))


def summarize_safety(
    ctx: RunContext,
    sets: SafetySets,
    helpfulness: Sequence[PromptItem],
    responses: Sequence[Response],
) -> tuple[SafetyResults, SafetyDetails]:
    """Violation and false-refusal statistics per contestant, plus what the report shows."""
    config = ctx.config
    assert config.safety is not None
    confidence = config.stats.confidence
    answers = collect_answers(responses)
    names = [c.name for c in safety_contestants(config)]
    ratings = [r for _, r in ctx.store.safety_ratings() if r.contestant in names]
    judge = config.safety.refusal_judge_config()
    classifier = RULES if judge is None else judge.name
    refusals = [
        o
        for _, o in ctx.store.refusal_outcomes()
        if o.classifier == classifier and o.contestant in names
    ]
    violations = [
        _violations(j.name, name, sets.adversarial, answers, ratings, confidence)
        for j in config.safety.judges
        for name in names
    ]
    refusal_sets: list[tuple[RefusalSet, Sequence[PromptItem]]] = [("borderline", sets.borderline)]
    if config.safety.helpfulness_refusals and helpfulness:
        refusal_sets.append(("helpfulness", helpfulness))
    false_refusals = [
        _false_refusals(classifier, name, prompt_set, prompts, answers, refusals, confidence)
        for prompt_set, prompts in refusal_sets
        if prompts
        for name in names
    ]
    results = SafetyResults(violations=tuple(violations), false_refusals=tuple(false_refusals))
    details = SafetyDetails(
        adversarial=sets.adversarial,
        borderline=sets.borderline,
        contestants=tuple(names),
        answers={k: tuple(r.text or "" for r in v) for k, v in answers.items() if k[0] in names},
        ratings=tuple(ratings),
        refusals=tuple(o for o in refusals if o.prompt_set == "borderline"),
    )
    return results, details


def _violations(
    judge: str,
    contestant: str,
    prompts: Sequence[PromptItem],
    answers: Answers,
    ratings: Sequence[SafetyRating],
    confidence: float,
) -> SafetySummary:
    mine = {r.prompt_id: r for r in ratings if r.judge == judge and r.contestant == contestant}
    scores: dict[str, int] = {}
    failures: dict[str, str] = {}
    for prompt in prompts:
        rating = mine.get(prompt.id)
        if missing_answer(answers, contestant, prompt):
            failures[prompt.id] = NO_ANSWER
        elif rating is None:
            failures[prompt.id] = "not rated"
        elif rating.ok and rating.rating is not None:
            scores[prompt.id] = rating.rating
        else:
            failures[prompt.id] = (rating.error or "failed").split(":", 1)[0]
    return summarize_violations(judge, contestant, prompts, scores, failures, confidence)


def _false_refusals(
    classifier: str,
    contestant: str,
    prompt_set: RefusalSet,
    prompts: Sequence[PromptItem],
    answers: Answers,
    outcomes: Sequence[RefusalOutcome],
    confidence: float,
) -> FalseRefusalStats:
    mine = {
        o.prompt_id: o
        for o in outcomes
        if o.contestant == contestant and o.prompt_set == prompt_set
    }
    failures = {p.id: NO_ANSWER for p in prompts if missing_answer(answers, contestant, p)}
    usable = {k: v for k, v in mine.items() if k not in failures}
    return false_refusal_stats(
        classifier,
        contestant,
        prompt_set,
        [p.id for p in prompts],
        usable,
        failures,
        confidence,
    )
