"""The `executor:` section: defaults to local; mistakes name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from onpar.config import ConfigError, load_config
from tests.config.test_loader import GOOD, write


def test_executor_defaults_to_local(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.executor.kind == "local"
    assert config.executor.in_flight == 4  # 2 per worker, 2 workers


def test_ray_executor_loads(tmp_path: Path) -> None:
    text = GOOD + "executor: {kind: ray, address: auto, num_workers: 8, num_gpus_per_worker: 1}\n"
    executor = load_config(write(tmp_path, text)).executor
    assert (executor.kind, executor.address, executor.num_workers) == ("ray", "auto", 8)
    assert executor.num_gpus_per_worker == 1.0 and executor.in_flight == 16


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("executor: {kind: dask}", "field 'executor.kind': Input should be 'local' or 'ray'"),
        ("executor: {kind: ray, num_workers: 0}", "field 'executor.num_workers'"),
        ("executor: {kind: ray, workers: 2}", "field 'executor.workers': unknown field"),
        ("executor: {address: auto}", "`address` is a Ray setting: set `kind: ray`"),
    ],
)
def test_bad_executor_sections_are_errors_at_their_line(
    tmp_path: Path, section: str, expected: str
) -> None:
    path = write(tmp_path, GOOD + section + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}:{GOOD.count(chr(10)) + 1}:" in str(caught.value)
    assert expected in str(caught.value)
