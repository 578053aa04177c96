"""Read single-turn prompts from a CSV (or TSV) file with a header row.

Columns are named in the prompt set config, never guessed, so a renamed column fails loudly
instead of silently reading the wrong text.
"""

from __future__ import annotations

from onpar.config.schema import PromptSetConfig
from onpar.data.errors import PromptFileError, expected
from onpar.data.formats import DEFAULT_CATEGORY, TEXT_WANTED, Where, is_text, make_item
from onpar.data.textfiles import csv_rows
from onpar.records import PromptItem

NumberedItem = tuple[int, PromptItem]


def load_csv(
    text: str, spec: PromptSetConfig, display: str, source: str, delimiter: str = ","
) -> list[NumberedItem]:
    """Parse every data row; row n (1-based, blank rows skipped) gets id str(n) by default."""
    rows = csv_rows(text, display, delimiter, PromptFileError)
    try:
        header_line, header = next(rows)
    except StopIteration:
        raise PromptFileError(display, "no prompts found: the file is empty") from None
    prompt_at = _column(header, spec.prompt_column, "prompt_column", display, header_line)
    id_at = _column(header, spec.id_column, "id_column", display, header_line)
    category_at = _column(header, spec.category_column, "category_column", display, header_line)
    items: list[NumberedItem] = []
    for number, (line, row) in enumerate(rows, start=1):
        where = Where(display, line)
        if len(row) != len(header):
            raise where.error(f"expected {len(header)} cells as in the header, got {len(row)}")
        items.append(
            (line, _item(row, header, where, source, str(number), (prompt_at, id_at, category_at)))
        )
    if not items:
        raise PromptFileError(display, "no prompts found: the file has a header but no data rows")
    return items


def _item(
    row: list[str],
    header: list[str],
    where: Where,
    source: str,
    row_number: str,
    at: tuple[int | None, int | None, int | None],
) -> PromptItem:
    prompt_at, id_at, category_at = at
    assert prompt_at is not None  # _column enforces it for the prompt column
    prompt = row[prompt_at]
    if not is_text(prompt):
        raise where.error(expected(TEXT_WANTED, prompt), header[prompt_at])
    prompt_id = row_number
    if id_at is not None:
        prompt_id = row[id_at]
        if not is_text(prompt_id):
            raise where.error(expected("a non-empty id", prompt_id), header[id_at])
    category = DEFAULT_CATEGORY
    if category_at is not None and is_text(row[category_at]):
        category = row[category_at]
    return make_item(where, id=prompt_id, category=category, turns=(prompt,), source=source)


def _column(
    header: list[str], name: str | None, option: str, display: str, line: int
) -> int | None:
    """Index of a configured column; the prompt column is the only required one."""
    if name is None:
        if option == "prompt_column":
            raise PromptFileError(
                display,
                "csv prompt sets need 'prompt_column' in the config; "
                f"available columns: {', '.join(header)}",
                field=option,
            )
        return None
    if header.count(name) != 1:
        problem = "appears more than once in" if name in header else "is not a column of"
        raise PromptFileError(
            display,
            f"{name!r} {problem} the header; available columns: {', '.join(header)}",
            line=line,
            field=option,
        )
    return header.index(name)
