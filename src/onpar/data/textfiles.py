"""Reading text, JSON Lines and CSV input files, with every problem reported as file:line.

Shared by the prompt and judgment readers; each passes its own error class, so a caller
catching prompt-file errors never catches judgment-file errors by accident.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from onpar.data.errors import InputFileError


def read_text(path: Path, display: str, error: type[InputFileError], kind: str) -> str:
    """UTF-8 text (a leading BOM is dropped); a bad byte is reported with its line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(display, f"file not found (looked for {path.absolute()})") from None
    except IsADirectoryError:
        raise error(display, f"is a directory, expected a {kind} file") from None
    except OSError as exc:
        raise error(display, f"cannot read file: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(
            display,
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
            line=line,
        ) from None
    return text.removeprefix("\ufeff")


def json_objects(
    text: str, display: str, error: type[InputFileError]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Non-blank lines as JSON objects. Split on '\\n' only: JSON strings may hold U+2028."""
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise error(
                display, f"invalid JSON: {exc.msg} (column {exc.colno})", line=number
            ) from None
        if not isinstance(record, dict):
            kind = type(record).__name__.replace("dict", "object").replace("list", "array")
            raise error(display, f"expected a JSON object per line, got a JSON {kind}", line=number)
        yield number, record


def csv_rows(
    text: str, display: str, delimiter: str, error: type[InputFileError]
) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the line each starts on (a quoted cell may span several lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise error(display, f"invalid CSV: {exc}", line=start) from exc
        if any(cell.strip() for cell in row):
            yield start, row
