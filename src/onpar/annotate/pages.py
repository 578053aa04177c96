"""What a rater's page shows, built without contestant names: answers are 'A' and 'B' only.

The view records here are the only things templates see for raters, so a name can reach a
rater's page only if a model wrote it into its own answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from onpar.annotate.assignments import Assignment, Progress
from onpar.annotate.items import RunContent
from onpar.annotate.render import render_markdown
from onpar.annotate.scales import options


@dataclass(frozen=True)
class Exchange:
    """One user turn and the answer(s) to it; answer_b is None on the safety page."""

    user: Markup
    answer_a: Markup
    answer_b: Markup | None
    is_final: bool


@dataclass(frozen=True)
class RatePage:
    """Everything the rating template needs, and nothing that names a contestant."""

    assignment_id: str
    kind: str
    exchanges: list[Exchange]
    question: str
    labels: list[tuple[int, str]]
    current_score: int | None
    current_unsafe: bool
    current_comment: str
    can_skip: bool
    previous_id: str | None
    done: int
    total: int

    @property
    def is_multi_turn(self) -> bool:
        return len(self.exchanges) > 1


def rate_page(
    found: Assignment, content: RunContent, progress: Progress, previous_id: str | None
) -> RatePage:
    """The page for one assignment, left/right as recorded for this rater."""
    prompt_id = found.item.prompt_id
    left = content.conversation(found.model_a, prompt_id)
    right = None if found.model_b is None else content.conversation(found.model_b, prompt_id)
    exchanges = [
        Exchange(
            user=render_markdown(user),
            answer_a=render_markdown(answer),
            answer_b=None if right is None else render_markdown(right[k][1]),
            is_final=k == len(left) - 1,
        )
        for k, (user, answer) in enumerate(left)
    ]
    question, labels = options(found.item.kind)
    current = found.current
    return RatePage(
        assignment_id=found.assignment_id,
        kind=found.item.kind,
        exchanges=exchanges,
        question=question,
        labels=list(enumerate(labels, start=1)),
        current_score=None if current is None else current.score,
        current_unsafe=current is not None and current.unsafe,
        current_comment="" if current is None else current.comment,
        can_skip=found.status == "open",
        previous_id=previous_id,
        done=progress.rated,
        total=progress.total,
    )


def template_environment() -> Environment:
    """Autoescaping on for every template, whatever its file name."""
    return Environment(
        loader=PackageLoader("onpar.annotate", "templates"), autoescape=True, auto_reload=False
    )
