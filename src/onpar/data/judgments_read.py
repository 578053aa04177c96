"""Read judgment files as text, JSON lines, a JSON array or CSV rows, each with its line number.

Every error names the file and the line, so a user can open the file at the faulty record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from onpar.data.errors import expected
from onpar.data.judgments_records import At, JudgmentFileError
from onpar.data.textfiles import json_objects, read_text

JsonObject = dict[str, Any]
NumberedObject = tuple[int, JsonObject]
TEXT_WANTED = "a non-empty string"
ID_WANTED = "a non-empty string or an integer"
_DECODER = json.JSONDecoder()


def read_judgment_text(path: Path, display: str) -> str:
    return read_text(path, display, JudgmentFileError, "judgment")


def json_lines(text: str, display: str) -> Iterator[NumberedObject]:
    """Non-blank lines as JSON objects (see ``textfiles.json_objects``)."""
    return json_objects(text, display, JudgmentFileError)


def json_array(text: str, display: str) -> list[NumberedObject]:
    """Elements of a top-level JSON array of objects, each with the line its '{' is on.

    The whole document is validated first, so the scan for element positions cannot fail.
    """
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise JudgmentFileError(
            display, f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno
        ) from None
    pos = _skip_space(text, 0)
    if not text.startswith("[", pos):
        raise JudgmentFileError(display, "expected a JSON array of objects", line=1)
    pos = _skip_space(text, pos + 1)
    records: list[NumberedObject] = []
    line, counted = 1, 0
    while not text.startswith("]", pos):
        line, counted = line + text.count("\n", counted, pos), pos
        value, end = _DECODER.raw_decode(text, pos)
        records.append((line, _object(value, display, line, "an array of JSON objects")))
        pos = _skip_space(text, end)
        if text.startswith(",", pos):
            pos = _skip_space(text, pos + 1)
    return records


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\n\r":
        pos += 1
    return pos


def _object(value: Any, display: str, line: int, wanted: str) -> JsonObject:
    if not isinstance(value, dict):
        kind = type(value).__name__.replace("dict", "object").replace("list", "array")
        raise JudgmentFileError(display, f"expected {wanted}, got a JSON {kind}", line=line)
    return value


def is_text(value: object) -> bool:
    return isinstance(value, str) and value.strip() != ""


def require(record: JsonObject, key: str, at: At, wanted: str) -> Any:
    """The value of a required field; its absence is reported with what was wanted."""
    if key not in record:
        raise at.error(f"missing; expected {wanted}", key)
    return record[key]


def require_text(record: JsonObject, key: str, at: At) -> str:
    value = require(record, key, at, TEXT_WANTED)
    if not is_text(value):
        raise at.error(expected(TEXT_WANTED, value), key)
    return value


def require_id(record: JsonObject, key: str, at: At) -> str:
    """Ids may be numbers (MT-Bench question_id is); they are kept as strings."""
    value = require(record, key, at, ID_WANTED)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not is_text(value):
        raise at.error(expected(ID_WANTED, value), key)
    return value


def optional_text(record: JsonObject, key: str, at: At) -> str | None:
    """An optional label: absent, null or blank means not given."""
    value = record.get(key)
    if value is None or value == "":
        return None
    if not is_text(value):
        raise at.error(expected(TEXT_WANTED, value), key)
    return value
