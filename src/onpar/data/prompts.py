"""Load prompt sets (onpar, MT-Bench, OpenAI-messages JSONL or CSV) into PromptItems.

A file is accepted whole or not at all: every line is parsed and checked (ids unique
included) before anything is returned, so a run never starts on half a prompt set.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from importlib.resources import files
from pathlib import Path

from onpar.config.schema import PromptSetConfig
from onpar.data.csvfile import NumberedItem, load_csv
from onpar.data.errors import PromptFileError
from onpar.data.formats import JSON_PARSERS, RecordParser, Where, detect_json_format
from onpar.data.textfiles import json_objects, read_text
from onpar.records import PromptItem

FORMATS = ("onpar", "mt_bench", "messages", "csv")
#: Prefix of a prompt path naming a file shipped with onpar: ``bundled:demo_prompts.jsonl``.
BUNDLED_PREFIX = "bundled:"
DEMO_PROMPTS = "demo_prompts.jsonl"
#: Llama 2's five helpfulness categories, as used by the bundled demo set.
HELPFULNESS_CATEGORIES = (
    "factual questions",
    "writing and content creation",
    "language assistance",
    "recommendations",
    "dialogue",
)
_CSV_OPTIONS = ("prompt_column", "id_column", "category_column")
_DELIMITERS = {".csv": ",", ".tsv": "\t"}


def bundled_path(name: str) -> Path:
    """Path of a file shipped in ``onpar/data/bundled`` (works from a checkout or an install)."""
    if not name or Path(name).name != name:
        raise ValueError(f"bundled file names are plain file names, got {name!r}")
    resource = files("onpar.data").joinpath("bundled").joinpath(name)
    if not resource.is_file():
        raise FileNotFoundError(
            f"no bundled file {name!r}; available: {', '.join(bundled_names()) or 'none'}"
        )
    return Path(str(resource))


def bundled_names() -> list[str]:
    """Names of the bundled files, for help texts and error messages."""
    folder = files("onpar.data").joinpath("bundled")
    return sorted(entry.name for entry in folder.iterdir() if entry.is_file())


def resolve_prompt_path(path: Path, base_dir: Path | None = None) -> Path:
    """Where a configured path points: bundled files by name, relative paths from base_dir."""
    text = str(path)
    if text.startswith(BUNDLED_PREFIX):
        try:
            return bundled_path(text.removeprefix(BUNDLED_PREFIX))
        except (ValueError, FileNotFoundError) as exc:
            raise PromptFileError(text, str(exc)) from exc
    path = path.expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


def load_prompt_set(spec: PromptSetConfig, base_dir: Path | None = None) -> list[PromptItem]:
    """All prompts of one file (the first ``spec.limit`` of them), or PromptFileError."""
    return [item for _, item in _load_numbered(spec, base_dir)]


def load_prompt_sets(
    specs: Sequence[PromptSetConfig], base_dir: Path | None = None
) -> list[PromptItem]:
    """Several files in config order; ids must be unique across them, since results key on id."""
    seen: dict[str, tuple[str, int]] = {}
    items: list[PromptItem] = []
    for spec in specs:
        display = str(spec.path)
        for line, item in _load_numbered(spec, base_dir):
            if item.id in seen:
                first_path, first_line = seen[item.id]
                raise PromptFileError(
                    display,
                    f"duplicate id {item.id!r}, already used in {first_path}:{first_line}; "
                    "ids must be unique across all prompt sets of a run",
                    line=line,
                    field="id",
                )
            seen[item.id] = (display, line)
            items.append(item)
    return items


def write_prompt_set(items: Iterable[PromptItem], path: Path) -> None:
    """Save prompts in onpar's JSONL layout (``source`` is dropped: it is where they came from)."""
    lines = [
        json.dumps(
            {
                "id": item.id,
                "category": item.category,
                "turns": list(item.turns),
                "tags": list(item.tags),
            },
            ensure_ascii=False,
        )
        for item in items
    ]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _load_numbered(spec: PromptSetConfig, base_dir: Path | None) -> list[NumberedItem]:
    """Parse and check the whole file, then apply the limit; items keep their line numbers."""
    display = str(spec.path)
    path = resolve_prompt_path(spec.path, base_dir)
    text = _read_text(path, display)
    fmt = spec.format if spec.format != "auto" else _detect_format(path, text, display)
    _check_options(spec, fmt, display)
    if fmt == "csv":
        items = load_csv(text, spec, display, display, _DELIMITERS.get(path.suffix.lower(), ","))
    elif fmt in JSON_PARSERS:
        items = _load_jsonl(text, display, JSON_PARSERS[fmt])
    else:
        raise PromptFileError(
            display, f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}"
        )
    _check_unique_ids(
        items, display, "question_id" if fmt == "mt_bench" else spec.id_column or "id"
    )
    return items[: spec.limit] if spec.limit is not None else items


def _read_text(path: Path, display: str) -> str:
    return read_text(path, display, PromptFileError, "prompt")


def _load_jsonl(text: str, display: str, parser: RecordParser) -> list[NumberedItem]:
    items = [
        (line, parser(record, Where(display, line), display))
        for line, record in json_objects(text, display, PromptFileError)
    ]
    if not items:
        raise PromptFileError(
            display, "no prompts found: the file is empty or has only blank lines"
        )
    return items


def _detect_format(path: Path, text: str, display: str) -> str:
    """CSV/TSV by extension; JSONL layouts by the keys of the first record."""
    if path.suffix.lower() in _DELIMITERS:
        return "csv"
    for line, record in json_objects(text, display, PromptFileError):
        fmt = detect_json_format(record)
        if fmt is None:
            keys = ", ".join(sorted(record)) or "none"
            raise PromptFileError(
                display,
                f"cannot tell the format from the first record's keys ({keys}); "
                f"set 'format' to one of {', '.join(FORMATS)}",
                line=line,
            )
        return fmt
    raise PromptFileError(display, "no prompts found: the file is empty or has only blank lines")


def _check_options(spec: PromptSetConfig, fmt: str, display: str) -> None:
    """CSV column options on a JSONL file are a mistake worth reporting, not ignoring."""
    if fmt == "csv":
        return
    for option in _CSV_OPTIONS:
        if getattr(spec, option) is not None:
            raise PromptFileError(
                display, f"only used for csv files, but this file is read as {fmt!r}", field=option
            )


def _check_unique_ids(items: list[NumberedItem], display: str, field: str) -> None:
    first_line: dict[str, int] = {}
    for line, item in items:
        if item.id in first_line:
            raise PromptFileError(
                display,
                f"duplicate id {item.id!r}, first used on line {first_line[item.id]}",
                line=line,
                field=field,
            )
        first_line[item.id] = line
