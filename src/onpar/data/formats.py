"""Turn one decoded JSON record of each supported layout into a validated PromptItem.

Each parser checks fields itself before building the PromptItem, so a mistake is reported
as ``file:line: field 'x': expected ..., got ...`` rather than as a pydantic traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from onpar.data.errors import PromptFileError, expected
from onpar.records import PromptItem

DEFAULT_CATEGORY = "uncategorized"
ONPAR_KEYS = ("id", "category", "turns", "tags")
TURNS_WANTED = "a non-empty list of non-empty strings"
TEXT_WANTED = "a non-empty string"
ID_WANTED = "a non-empty string or an integer"
#: Roles that would override the contestant's own system prompt.
SYSTEM_ROLES = ("system", "developer")


@dataclass(frozen=True)
class Where:
    """Position of the record being parsed, so every error can name file and line."""

    path: str
    line: int

    def error(self, problem: str, field: str | None = None) -> PromptFileError:
        return PromptFileError(self.path, problem, line=self.line, field=field)


Record = dict[str, Any]
RecordParser = Callable[[Record, Where, str], PromptItem]


def is_text(value: object) -> bool:
    """A usable piece of prompt text: a string with something other than whitespace."""
    return isinstance(value, str) and value.strip() != ""


def get_id(record: Record, key: str, where: Where, default: str | None = None) -> str:
    """Ids may be written as numbers (MT-Bench does); they are kept as strings."""
    if key not in record:
        if default is not None:
            return default
        raise where.error(f"missing; expected {ID_WANTED}", key)
    value = record[key]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not is_text(value):
        raise where.error(expected(ID_WANTED, value), key)
    return value


def get_turns(record: Record, key: str, where: Where) -> tuple[str, ...]:
    if key not in record:
        raise where.error(f"missing; expected {TURNS_WANTED}", key)
    value = record[key]
    if not isinstance(value, list) or not value:
        raise where.error(expected(TURNS_WANTED, value), key)
    for index, turn in enumerate(value):
        if not is_text(turn):
            raise where.error(expected(TEXT_WANTED, turn), f"{key}[{index}]")
    return tuple(value)


def get_category(record: Record, where: Where) -> str:
    value = record.get("category", DEFAULT_CATEGORY)
    if not is_text(value):
        raise where.error(expected(TEXT_WANTED, value), "category")
    return value


def get_tags(record: Record, where: Where) -> tuple[str, ...]:
    value = record.get("tags", [])
    if not isinstance(value, list):
        raise where.error(expected("a list of non-empty strings", value), "tags")
    for index, tag in enumerate(value):
        if not is_text(tag):
            raise where.error(expected(TEXT_WANTED, tag), f"tags[{index}]")
    return tuple(value)


def make_item(where: Where, **fields: Any) -> PromptItem:
    """Final validation by the shared record type; a failure here still names file and line."""
    try:
        return PromptItem(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise where.error(first["msg"], field) from exc


def parse_onpar(record: Record, where: Where, source: str) -> PromptItem:
    """onpar's own layout. Unknown keys are errors, so a typo like 'categroy' is not lost."""
    unknown = sorted(set(record) - set(ONPAR_KEYS))
    if unknown:
        raise where.error(
            f"unknown field; the onpar format has only {', '.join(ONPAR_KEYS)}", unknown[0]
        )
    return make_item(
        where,
        id=get_id(record, "id", where),
        category=get_category(record, where),
        turns=get_turns(record, "turns", where),
        tags=get_tags(record, where),
        source=source,
    )


def parse_mt_bench(record: Record, where: Where, source: str) -> PromptItem:
    """MT-Bench question.jsonl; extra keys (``reference`` …) are ignored, ids become strings."""
    return make_item(
        where,
        id=get_id(record, "question_id", where),
        category=get_category(record, where),
        turns=get_turns(record, "turns", where),
        source=source,
    )


def parse_messages(record: Record, where: Where, source: str) -> PromptItem:
    """OpenAI-style chat records: user messages become turns, assistant messages are dropped.

    Contestants write their own answers, so assistant messages in the file are ignored. System
    messages are rejected because each contestant carries its own system prompt. Keys other
    than id, messages, category and tags are ignored. The id defaults to the line number.
    """
    return make_item(
        where,
        id=get_id(record, "id", where, default=str(where.line)),
        category=get_category(record, where),
        turns=_user_turns(record, where),
        tags=get_tags(record, where),
        source=source,
    )


def _user_turns(record: Record, where: Where) -> tuple[str, ...]:
    wanted = "a non-empty list of {role, content} objects"
    if "messages" not in record:
        raise where.error(f"missing; expected {wanted}", "messages")
    messages = record["messages"]
    if not isinstance(messages, list) or not messages:
        raise where.error(expected(wanted, messages), "messages")
    turns: list[str] = []
    for index, message in enumerate(messages):
        field = f"messages[{index}]"
        if not isinstance(message, dict):
            raise where.error(expected("an object with 'role' and 'content'", message), field)
        role = message.get("role")
        if role in SYSTEM_ROLES:
            raise where.error(
                f"{role} messages are not allowed: each contestant carries its own system prompt "
                "(set 'system_prompt' in the contestant's config instead)",
                f"{field}.role",
            )
        if role not in ("user", "assistant"):
            raise where.error(expected("'user' or 'assistant'", role), f"{field}.role")
        if role == "user":
            content = message.get("content")
            if not is_text(content):
                raise where.error(expected(TEXT_WANTED, content), f"{field}.content")
            turns.append(content)
    if not turns:
        raise where.error("expected at least one message with role 'user', got none", "messages")
    return tuple(turns)


JSON_PARSERS: dict[str, RecordParser] = {
    "onpar": parse_onpar,
    "mt_bench": parse_mt_bench,
    "messages": parse_messages,
}


def detect_json_format(record: Record) -> str | None:
    """Guess the layout from the first record's keys; None when nothing fits."""
    if "messages" in record:
        return "messages"
    if "question_id" in record:
        return "mt_bench"
    if "turns" in record:
        return "onpar"
    return None
