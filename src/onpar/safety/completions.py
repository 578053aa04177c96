"""Read a table of completions (CSV or JSON Lines) and write it back with refusal labels.

The columns are named by the user, never guessed. The whole file is checked before anything
is written, and the copy is written atomically, so a bad input leaves no output behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from onpar.data.errors import InputFileError, expected
from onpar.data.textfiles import csv_rows, json_objects, read_text

LABEL_COLUMN = "refusal_label"
TableFormat = Literal["csv", "jsonl"]


def atomic_write_text(path: Path, text: str) -> None:
    """Temp file in the same folder, then ``os.replace``: readers never see half a file.

    (``onpar.report`` has the same helper, but importing it pulls in scipy and matplotlib.)
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


class CompletionsFileError(InputFileError):
    """A file of completions to classify cannot be used."""


@dataclass(frozen=True)
class CompletionTable:
    """A whole input file: its layout, its rows as read, and each row's prompt and completion."""

    path: Path
    fmt: TableFormat
    header: list[str]
    rows: list[Any]
    prompts: list[str]
    completions: list[str]


def table_format(path: Path) -> TableFormat:
    """The layout from the file name: .csv or .jsonl (the output keeps the input's layout)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    raise CompletionsFileError(str(path), f"expected a .csv or .jsonl file, got {suffix!r}")


def read_completions(path: Path, prompt_col: str, completion_col: str) -> CompletionTable:
    """Every row's prompt and completion; the first bad row raises with file:line:field."""
    fmt = table_format(path)
    text = read_text(path, str(path), CompletionsFileError, fmt.upper())
    reader = _read_csv if fmt == "csv" else _read_jsonl
    header, rows, pairs = reader(text, str(path), prompt_col, completion_col)
    if not rows:
        raise CompletionsFileError(str(path), "no rows found")
    prompts = [p for p, _ in pairs]
    completions = [c for _, c in pairs]
    return CompletionTable(path, fmt, header, rows, prompts, completions)


def _read_csv(
    text: str, display: str, prompt_col: str, completion_col: str
) -> tuple[list[str], list[Any], list[tuple[str, str]]]:
    rows = csv_rows(text, display, ",", CompletionsFileError)
    try:
        header_line, header = next(rows)
    except StopIteration:
        raise CompletionsFileError(display, "the file is empty") from None
    at = {}
    for option, name in (("--prompt-col", prompt_col), ("--completion-col", completion_col)):
        if header.count(name) != 1:
            raise CompletionsFileError(
                display,
                f"column given by {option} not found once in the header "
                f"(columns: {', '.join(header)})",
                line=header_line,
                field=name,
            )
        at[name] = header.index(name)
    kept, pairs = [], []
    for line, row in rows:
        if len(row) != len(header):
            raise CompletionsFileError(
                display, f"expected {len(header)} cells as in the header, got {len(row)}", line=line
            )
        if not row[at[prompt_col]].strip():
            raise CompletionsFileError(
                display, "expected a non-empty prompt", line=line, field=prompt_col
            )
        kept.append(row)
        pairs.append((row[at[prompt_col]], row[at[completion_col]]))
    return header, kept, pairs


def _read_jsonl(
    text: str, display: str, prompt_col: str, completion_col: str
) -> tuple[list[str], list[Any], list[tuple[str, str]]]:
    kept, pairs = [], []
    for line, record in json_objects(text, display, CompletionsFileError):
        for name, need_text in ((prompt_col, True), (completion_col, False)):
            value = record.get(name)
            if not isinstance(value, str) or (need_text and not value.strip()):
                want = "a non-empty string" if need_text else "a string"
                problem = (
                    f"missing; expected {want}" if name not in record else expected(want, value)
                )
                raise CompletionsFileError(display, problem, line=line, field=name)
        kept.append(record)
        pairs.append((record[prompt_col], record[completion_col]))
    return [], kept, pairs


def write_labelled(table: CompletionTable, labels: list[str], out: Path) -> None:
    """A copy of the input with a ``refusal_label`` column (replaced if already there)."""
    if len(labels) != len(table.rows):
        raise ValueError("one label per row is needed")
    if table.fmt == "jsonl":
        lines = [
            json.dumps({**record, LABEL_COLUMN: label}, ensure_ascii=False)
            for record, label in zip(table.rows, labels, strict=True)
        ]
        atomic_write_text(out, "".join(line + "\n" for line in lines))
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    replace_at = table.header.index(LABEL_COLUMN) if LABEL_COLUMN in table.header else None
    writer.writerow(table.header if replace_at is not None else [*table.header, LABEL_COLUMN])
    for row, label in zip(table.rows, labels, strict=True):
        if replace_at is None:
            writer.writerow([*row, label])
        else:
            writer.writerow([*row[:replace_at], label, *row[replace_at + 1 :]])
    atomic_write_text(out, buffer.getvalue())
