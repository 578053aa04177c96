"""The one error a prompt file can raise, so callers catch a single class and show its text."""

from __future__ import annotations

import json
from typing import Any

_MAX_SHOWN = 60


class InputFileError(ValueError):
    """An input file cannot be used; the message says where (file:line, field) and what was wanted.

    Format: ``<file>[:<line>]: [field '<name>': ]<problem>``, e.g.
    ``prompts.jsonl:7: field 'turns': expected a non-empty list of non-empty strings, got []``.
    Each kind of file has its own subclass, so catching one kind does not catch another.
    """

    def __init__(
        self, path: str, problem: str, *, line: int | None = None, field: str | None = None
    ) -> None:
        self.path = path
        self.problem = problem
        self.line = line
        self.field = field
        where = path if line is None else f"{path}:{line}"
        what = problem if field is None else f"field {field!r}: {problem}"
        super().__init__(f"{where}: {what}")

    def __reduce__(self) -> tuple[Any, ...]:
        """Keep the error picklable (worker processes) despite the keyword-only arguments."""
        return (_rebuild, (type(self), self.path, self.problem, self.line, self.field))


def _rebuild(
    cls: type[InputFileError], path: str, problem: str, line: int | None, field: str | None
) -> InputFileError:
    return cls(path, problem, line=line, field=field)


class PromptFileError(InputFileError):
    """A prompt file cannot be used."""


def shown(value: object) -> str:
    """Show an offending value as the user wrote it (JSON), cut short to stay readable."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return text


def expected(what: str, got: object) -> str:
    """The standard 'expected X, got Y' wording used by every check."""
    return f"expected {what}, got {shown(got)}"
