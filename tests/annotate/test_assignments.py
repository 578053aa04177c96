"""Items from a run, slot claiming, skips, edits with history, and concurrent raters."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from pathlib import Path

import pytest

from onpar.annotate.assignments import (
    AssignmentError,
    Submission,
    history_length,
    next_assignment,
    progress,
    rated_assignments,
    submit,
)
from onpar.annotate.items import build_items, load_run_content
from onpar.annotate.store import AnnotationStore
from onpar.store.run_store import RunStore
from tests.annotate.runs import PROMPTS, X, Y, make_run


@pytest.fixture
def store(tmp_path: Path):
    run_dir = make_run(tmp_path / "run")
    with RunStore(run_dir / "run.sqlite") as run_store:
        items = build_items([(X, Y)], load_run_content(run_store))
    annotation = AnnotationStore(run_dir / "run.sqlite")
    annotation.add_items(items)
    for rater in ("ann", "bob", "cat", "dan"):
        annotation.put_rater(rater, rater, "rater")
    yield annotation
    annotation.close()


def test_items_pair_normal_prompts_and_rate_safety_answers_alone(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path / "run")
    with RunStore(run_dir / "run.sqlite") as run_store:
        items = build_items([(X, Y)], load_run_content(run_store))
    pairwise = [i for i in items if i.kind == "pairwise"]
    safety = [i for i in items if i.kind == "safety"]
    assert sorted(i.prompt_id for i in pairwise) == ["m1", "p1", "p2", "p3", "p4", "p5"]
    assert sorted((i.prompt_id, i.model_x) for i in safety) == [
        ("s1", X), ("s1", Y), ("s2", X), ("s2", Y),
    ]  # fmt: skip
    assert {i.prompt_id: i.turn for i in items}["m1"] == 1  # asks about the final turn
    assert all(i.model_y is None for i in safety)


def test_a_contestant_missing_a_turn_gives_no_pair(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path / "run", prompts=[PROMPTS[0], PROMPTS[5]])
    with RunStore(run_dir / "run.sqlite") as run_store:
        run_store._db.execute("DELETE FROM responses WHERE prompt_id = 'm1' AND turn_index = 1")
        items = build_items([(X, Y)], load_run_content(run_store))
    assert [i.prompt_id for i in items] == ["p1"]


def test_adding_items_twice_adds_nothing(store: AnnotationStore) -> None:
    before = store.items()
    assert store.add_items([s.item for s in before]) == 0
    assert store.items() == before


def _rate_everything(store: AnnotationStore, rater: str, per_item: int) -> list[int]:
    rated = []
    while (found := next_assignment(store, rater, per_item)) is not None:
        submit(store, found.assignment_id, rater, Submission(4 if found.item.model_y else 5))
        rated.append(found.item_id)
    return rated


def test_each_item_goes_to_per_item_distinct_raters(store: AnnotationStore) -> None:
    first = [_rate_everything(store, r, per_item=2) for r in ("ann", "bob")]
    n_items = len(store.items())
    assert sorted(first[0]) == sorted(first[1]) == sorted(s.item_id for s in store.items())
    assert _rate_everything(store, "cat", per_item=2) == []  # every slot is taken
    assert progress(store.db, "cat", 2).total == 0
    assert len(rated_assignments(store.db)) == 2 * n_items


def test_open_assignment_comes_back_until_answered(store: AnnotationStore) -> None:
    first = next_assignment(store, "ann", 3)
    again = next_assignment(store, "ann", 3)
    assert first is not None and again is not None
    assert again.assignment_id == first.assignment_id
    assert progress(store.db, "ann", 3).open == 1


def test_order_is_recorded_per_rater(store: AnnotationStore) -> None:
    seen = set()
    for rater in ("ann", "bob", "cat", "dan"):
        for found in rated_or_claimed(store, rater):
            if found.model_b is not None:
                assert {found.model_a, found.model_b} == {X, Y}
                seen.add(found.a_is_x)
    assert seen == {True, False}  # both orders occur (24 coin flips)


def rated_or_claimed(store: AnnotationStore, rater: str):
    out = []
    while (found := next_assignment(store, rater, 4)) is not None:
        submit(store, found.assignment_id, rater, Submission(3 if found.model_b else 4))
        out.append(found)
    return out


def test_skip_frees_the_slot_and_cannot_be_rated_later(store: AnnotationStore) -> None:
    found = next_assignment(store, "ann", 1)
    assert found is not None
    submit(store, found.assignment_id, "ann", Submission(None, comment="not sure"))
    with pytest.raises(AssignmentError, match="skipped"):
        submit(store, found.assignment_id, "ann", Submission(2))
    bob = next_assignment(store, "bob", 1)
    assert bob is not None and bob.item_id == found.item_id  # the freed slot is offered first
    assert history_length(store.db, found.assignment_id) == 1


def test_edit_keeps_history_and_one_current_rating(store: AnnotationStore) -> None:
    found = next_assignment(store, "ann", 3)
    assert found is not None
    top = 7 if found.model_b else 5
    submit(store, found.assignment_id, "ann", Submission(1))
    submit(store, found.assignment_id, "ann", Submission(top, unsafe=True, comment="changed"))
    with pytest.raises(AssignmentError, match="cannot be skipped"):
        submit(store, found.assignment_id, "ann", Submission(None))
    with pytest.raises(AssignmentError, match="score must be"):
        submit(store, found.assignment_id, "ann", Submission(top + 1))
    [current] = rated_assignments(store.db)
    assert current.current == Submission(top, True, "changed")
    assert history_length(store.db, found.assignment_id) == 2


def test_a_rater_cannot_touch_another_raters_assignment(store: AnnotationStore) -> None:
    found = next_assignment(store, "ann", 3)
    assert found is not None
    with pytest.raises(AssignmentError, match="no such assignment"):
        submit(store, found.assignment_id, "bob", Submission(4))


def test_concurrent_raters_never_exceed_per_item(store: AnnotationStore) -> None:
    """Twelve threads (three per rater, each its own connection) race for three slots each."""
    errors: list[BaseException] = []

    def work(rater: str) -> None:
        try:
            for _ in range(40):
                found = next_assignment(store, rater, 3)
                if found is None:
                    return
                # a sibling thread of the same rater may have answered it first
                with contextlib.suppress(AssignmentError):
                    submit(store, found.assignment_id, rater, Submission(5))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(r,)) for r in ("ann", "bob", "cat", "dan") * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rated = rated_assignments(store.db)
    per_item = Counter(a.item_id for a in rated)
    assert set(per_item.values()) == {3}
    assert len(per_item) == len(store.items())
    assert len({(a.item_id, a.rater_id) for a in rated}) == len(rated)
