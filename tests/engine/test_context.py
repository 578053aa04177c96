"""frozen_heap: what exists is exempt from the cyclic GC until the outermost block ends."""

from __future__ import annotations

import gc

from onpar.engine.context import frozen_heap


def test_frozen_heap_freezes_then_unfreezes_and_nests() -> None:
    assert gc.get_freeze_count() == 0
    with frozen_heap():
        outer = gc.get_freeze_count()
        assert outer > 0
        made_inside = [[i] for i in range(1000)]  # new objects: not frozen, collected as usual
        with frozen_heap():
            assert gc.get_freeze_count() >= outer + len(made_inside)
        assert gc.get_freeze_count() > 0  # the inner block does not thaw the outer one
    assert gc.get_freeze_count() == 0


def test_frozen_heap_unfreezes_on_error() -> None:
    try:
        with frozen_heap():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.get_freeze_count() == 0
