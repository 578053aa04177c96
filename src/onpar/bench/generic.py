"""Benchmarks over the user's own file: multiple choice or generation, declared in the config.

Rows come from JSON Lines, CSV (header row) or Parquet; prompts are Jinja2 templates over a
row's fields, as lm-evaluation-harness's ``doc_to_text``, so a task written for the harness
ports over by copying its templates. Every problem names the file, the line (the row number
for Parquet) and the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jinja2

from onpar.bench.tasks import BenchFileError, GenerationItem, MultipleChoiceItem
from onpar.config.benchmarks import GenerationSpec, MultipleChoiceSpec
from onpar.data.errors import expected
from onpar.data.textfiles import csv_rows, json_objects, read_text

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
Row = tuple[int, dict[str, Any]]

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def read_rows(path: Path, fmt: str = "auto", display: str | None = None) -> list[Row]:
    """(line, record) for every row of a JSONL, CSV or Parquet file."""
    shown = display if display is not None else str(path)
    kind = _format(path, fmt)
    if kind == "parquet":
        return _parquet_rows(path, shown)
    text = read_text(path, shown, BenchFileError, "JSON Lines" if kind == "jsonl" else "CSV")
    if kind == "jsonl":
        return list(json_objects(text, shown, BenchFileError))
    return _csv_records(text, shown)


def _format(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise BenchFileError(
        str(path), f"cannot tell the format from {suffix or 'no suffix'!r}; set `format`"
    )


def _csv_records(text: str, shown: str) -> list[Row]:
    rows = csv_rows(text, shown, ",", BenchFileError)
    first = next(rows, None)
    if first is None:
        raise BenchFileError(shown, "empty file, expected a header row")
    _, header = first
    names = [cell.strip() for cell in header]
    records = []
    for line, cells in rows:
        if len(cells) != len(names):
            raise BenchFileError(shown, f"{len(cells)} cells, header has {len(names)}", line=line)
        records.append((line, dict(zip(names, cells, strict=True))))
    return records


def _parquet_rows(path: Path, shown: str) -> list[Row]:
    try:
        import pandas as pd
    except ImportError:
        raise BenchFileError(shown, "reading Parquet needs pandas and pyarrow") from None
    if not path.is_file():
        raise BenchFileError(shown, f"file not found (looked for {path.absolute()})")
    try:
        frame = pd.read_parquet(path)
    except ImportError as exc:
        raise BenchFileError(shown, f"reading Parquet needs pyarrow: {exc}") from None
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise BenchFileError(shown, f"not a readable Parquet file: {exc}") from None
    records = json.loads(frame.to_json(orient="records", force_ascii=False))
    return [(index + 1, record) for index, record in enumerate(records)]


def render(template: str, record: dict[str, Any], shown: str, line: int, field: str) -> str:
    """A template over one row; a missing variable names the template's config field."""
    try:
        return _ENV.from_string(template).render(**record)
    except jinja2.UndefinedError as exc:
        raise BenchFileError(shown, f"{exc.message} in template", line=line, field=field) from None
    except jinja2.TemplateError as exc:
        raise BenchFileError(shown, f"template error: {exc}", line=line, field=field) from None


def _field(record: dict[str, Any], name: str, shown: str, line: int) -> Any:
    if name not in record or record[name] is None or record[name] == "":
        raise BenchFileError(shown, "missing value", line=line, field=name)
    return record[name]


def _choices(spec: MultipleChoiceSpec, record: dict[str, Any], shown: str, line: int) -> list[str]:
    if isinstance(spec.choices, str):
        value = _field(record, spec.choices, shown, line)
        if isinstance(value, str):
            try:
                value = json.loads(value)  # CSV cells hold lists as JSON
            except json.JSONDecodeError:
                raise BenchFileError(
                    shown, expected("a JSON list of choices", value), line=line, field=spec.choices
                ) from None
        if not isinstance(value, list) or len(value) < 2:
            raise BenchFileError(
                shown, expected("a list of 2+ choices", value), line=line, field=spec.choices
            )
        return [str(v) for v in value]
    return [str(_field(record, name, shown, line)) for name in spec.choices]


def _answer_index(
    spec: MultipleChoiceSpec, record: dict[str, Any], choices: Sequence[str], shown: str, line: int
) -> int:
    value = _field(record, spec.answer, shown, line)
    text = str(value).strip()
    if isinstance(value, int) or text.lstrip("-").isdigit():
        index = int(text)
    elif len(text) == 1 and text.upper() in LETTERS:
        index = LETTERS.index(text.upper())
    elif text in choices:
        index = list(choices).index(text)
    else:
        raise BenchFileError(
            shown,
            expected("a choice index, letter or choice text", value),
            line=line,
            field=spec.answer,
        )
    if not 0 <= index < len(choices):
        raise BenchFileError(
            shown,
            f"answer {index} out of range for {len(choices)} choices",
            line=line,
            field=spec.answer,
        )
    return index


def _continuations(
    spec: MultipleChoiceSpec, choices: Sequence[str], shown: str, line: int
) -> list[str]:
    return [
        spec.target_delimiter
        + render(
            spec.choice_format,
            {"choice": choice, "letter": LETTERS[i], "index": i},
            shown,
            line,
            "choice_format",
        )
        for i, choice in enumerate(choices)
    ]


def _item_id(spec: MultipleChoiceSpec | GenerationSpec, record: dict[str, Any], index: int) -> str:
    name = spec.task_name
    if spec.id_field is not None and record.get(spec.id_field) not in (None, ""):
        return f"{name}/{record[spec.id_field]}"
    return f"{name}/{index}"


def _check_ids(ids: Sequence[tuple[str, int]], shown: str, field: str | None) -> None:
    seen: dict[str, int] = {}
    for item_id, line in ids:
        if item_id in seen:
            raise BenchFileError(
                shown,
                f"duplicate id {item_id!r} (first on line {seen[item_id]})",
                line=line,
                field=field,
            )
        seen[item_id] = line


def _letter_question(question: str, choices: Sequence[str]) -> str:
    options = "".join(f"\n{LETTERS[i]}. {choice}" for i, choice in enumerate(choices))
    stem = question.rstrip()
    return f"{stem.removesuffix('Answer:').rstrip()}{options}\nAnswer:"


def load_multiple_choice(
    spec: MultipleChoiceSpec, base_dir: Path
) -> tuple[MultipleChoiceItem, ...]:
    """Items of a user MC task: prompt + each choice scored as a continuation."""
    path = _resolve(spec.path, base_dir)
    shown = str(spec.path)
    shots = _mc_shots(spec, base_dir)
    items = []
    for index, (line, record) in enumerate(
        _limited(read_rows(path, spec.format, shown), spec.limit)
    ):
        question = render(spec.prompt, record, shown, line, "prompt")
        choices = _choices(spec, record, shown, line)
        if len(choices) > len(LETTERS):
            raise BenchFileError(shown, f"{len(choices)} choices, at most 26", line=line)
        answer = _answer_index(spec, record, choices, shown, line)
        letter_shots = [f"{_letter_question(q, c)} {LETTERS[a]}" for q, c, a, _ in shots]
        items.append(
            MultipleChoiceItem(
                id=_item_id(spec, record, index),
                subject=_group(spec, record),
                context=spec.description
                + spec.fewshot_delimiter.join([*(s for *_, s in shots), question]),
                choices=tuple(_continuations(spec, choices, shown, line)),
                answer=answer,
                source_line=line,
                letter_prompt=spec.description
                + "\n\n".join([*letter_shots, _letter_question(question, choices)]),
            )
        )
    _check_ids([(i.id, i.source_line) for i in items], shown, spec.id_field)
    return tuple(items)


def _mc_shots(spec: MultipleChoiceSpec, base_dir: Path) -> list[tuple[str, list[str], int, str]]:
    """(question, choices, answer, solved example text) of the first num_fewshot rows."""
    shown, rows = _fewshot_rows(spec, base_dir)
    shots = []
    for line, record in rows:
        question = render(spec.prompt, record, shown, line, "prompt")
        choices = _choices(spec, record, shown, line)
        answer = _answer_index(spec, record, choices, shown, line)
        solved = question + _continuations(spec, choices, shown, line)[answer]
        shots.append((question, choices, answer, solved))
    return shots


def load_generation(spec: GenerationSpec, base_dir: Path) -> tuple[GenerationItem, ...]:
    """Items of a user generation task: prompt, and the reference answer to match."""
    path = _resolve(spec.path, base_dir)
    shown = str(spec.path)
    shots = _generation_shots(spec, base_dir)
    items = []
    for index, (line, record) in enumerate(
        _limited(read_rows(path, spec.format, shown), spec.limit)
    ):
        question = render(spec.prompt, record, shown, line, "prompt")
        reference = str(_field(record, spec.reference, shown, line)).strip()
        items.append(
            GenerationItem(
                id=_item_id(spec, record, index),
                prompt=spec.description + spec.fewshot_delimiter.join([*shots, question]),
                reference=reference,
                source_line=line,
                group=_group(spec, record),
            )
        )
    _check_ids([(i.id, i.source_line) for i in items], shown, spec.id_field)
    return tuple(items)


def _fewshot_rows(
    spec: MultipleChoiceSpec | GenerationSpec, base_dir: Path
) -> tuple[str, list[Row]]:
    """The first num_fewshot rows of the few-shot file (none when there are no shots)."""
    if not spec.num_fewshot or spec.fewshot_path is None:
        return "", []
    shown = str(spec.fewshot_path)
    rows = read_rows(_resolve(spec.fewshot_path, base_dir), spec.format, shown)
    if len(rows) < spec.num_fewshot:
        raise BenchFileError(shown, f"{len(rows)} rows, need {spec.num_fewshot} few-shot")
    return shown, rows[: spec.num_fewshot]


def _generation_shots(spec: GenerationSpec, base_dir: Path) -> list[str]:
    shown, rows = _fewshot_rows(spec, base_dir)
    shots = []
    for line, record in rows:
        question = render(spec.prompt, record, shown, line, "prompt")
        if spec.target is not None:
            target = render(spec.target, record, shown, line, "target")
        else:
            target = str(_field(record, spec.reference, shown, line))
        shots.append(question + spec.target_delimiter + target)
    return shots


def _group(spec: MultipleChoiceSpec | GenerationSpec, record: dict[str, Any]) -> str:
    if spec.group_field is None:
        return spec.task_name
    return str(record.get(spec.group_field) or spec.task_name)


def _limited(rows: list[Row], limit: int | None) -> Iterator[Row]:
    yield from rows if limit is None else rows[:limit]


def _resolve(path: Path, base_dir: Path) -> Path:
    return path if path.is_absolute() else base_dir / path
