"""Load safety prompt sets in their published layouts as ``PromptItem``s with risk tags.

Each loader validates the whole file before returning anything and reports the first bad row
as ``file:line: field 'x': ...``. Category mappings live in ``onpar.safety.categories``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

from onpar.data.errors import PromptFileError, expected
from onpar.data.formats import Where, make_item, parse_onpar
from onpar.data.textfiles import csv_rows, json_objects, read_text
from onpar.records import PromptItem
from onpar.safety import categories as cat
from onpar.safety.completions import atomic_write_text

SafetyFormat = Literal["onpar", "harmbench", "strongreject", "advbench", "xstest"]
SAFETY_FORMATS: tuple[str, ...] = get_args(SafetyFormat)
DEMO_SAFETY_PROMPTS = "safety_demo.jsonl"
#: How HarmBench joins a contextual behaviour's context and request (its own layout).
HARMBENCH_CONTEXT_SEPARATOR = "\n\n---\n\n"


class SafetyPromptFileError(PromptFileError):
    """A safety prompt file (HarmBench, StrongREJECT, AdvBench, XSTest, onpar) cannot be used."""


@dataclass(frozen=True)
class _Where(Where):
    """Where, raising the safety error class so callers can tell the two kinds apart."""

    def error(self, problem: str, field: str | None = None) -> SafetyPromptFileError:
        return SafetyPromptFileError(self.path, problem, line=self.line, field=field)


Row = dict[str, str]
Numbered = tuple[int, PromptItem]
RowParser = Callable[[Row, _Where, int, str], PromptItem]


def demo_safety_path() -> Path:
    """The bundled demo set: mild adversarial, borderline and multi-turn prompts we wrote."""
    return Path(str(resources.files("onpar.safety") / "data" / DEMO_SAFETY_PROMPTS))


def load_safety_prompts(
    path: Path | str, fmt: SafetyFormat | str, display: str | None = None
) -> list[PromptItem]:
    """Every prompt of ``path`` read as ``fmt``; the whole file is checked before returning."""
    shown_as = display or str(path)
    if fmt not in SAFETY_FORMATS:
        raise SafetyPromptFileError(
            shown_as, f"unknown format {fmt!r}; choose one of {', '.join(SAFETY_FORMATS)}"
        )
    text = read_text(Path(path), shown_as, SafetyPromptFileError, "CSV or JSONL")
    source = Path(path).name
    if fmt == "onpar":
        numbered = [
            (line, _onpar_item(rec, _Where(shown_as, line), source))
            for line, rec in json_objects(text, shown_as, SafetyPromptFileError)
        ]
    else:
        columns, parser = _CSV_LAYOUTS[fmt]
        numbered = [
            (where.line, parser(row, where, number, source))
            for number, (where, row) in enumerate(_csv_records(text, shown_as, columns), 1)
        ]
    if not numbered:
        raise SafetyPromptFileError(shown_as, "no prompts found: the file has no data rows")
    _check_unique_ids(numbered, shown_as)
    return [item for _, item in numbered]


def _check_unique_ids(numbered: list[Numbered], display: str) -> None:
    first_line: dict[str, int] = {}
    for line, item in numbered:
        if item.id in first_line:
            raise SafetyPromptFileError(
                display,
                f"duplicate id {item.id!r} (first on line {first_line[item.id]})",
                line=line,
                field="id",
            )
        first_line[item.id] = line


def _csv_records(text: str, display: str, columns: tuple[str, ...]) -> Iterator[tuple[_Where, Row]]:
    """Rows as column → cell dicts; the header must hold every column the layout reads."""
    rows = csv_rows(text, display, ",", SafetyPromptFileError)
    try:
        header_line, header = next(rows)
    except StopIteration:
        raise SafetyPromptFileError(display, "no prompts found: the file is empty") from None
    for column in columns:
        if header.count(column) != 1:
            problem = "missing from the header" if column not in header else "appears twice"
            raise SafetyPromptFileError(
                display,
                f"{problem}; the header has: {', '.join(header)}",
                line=header_line,
                field=column,
            )
    for line, row in rows:
        where = _Where(display, line)
        if len(row) != len(header):
            raise where.error(f"expected {len(header)} cells as in the header, got {len(row)}")
        yield where, dict(zip(header, row, strict=True))


def _text(row: Row, column: str, where: _Where) -> str:
    value = row[column]
    if not value.strip():
        raise where.error(expected("a non-empty string", value), column)
    return value


def _mapped(row: Row, column: str, mapping: dict[str, str], where: _Where) -> str:
    value = row[column]
    if value not in mapping:
        raise where.error(expected(f"one of {', '.join(sorted(mapping))}", value), column)
    return mapping[value]


def _item(where: _Where, *, tags: tuple[str, ...], **fields: object) -> PromptItem:
    """The record, with repeated tags dropped (HarmBench's semantic and functional overlap)."""
    return make_item(where, tags=tuple(dict.fromkeys(tags)), **fields)


def _harmbench(row: Row, where: _Where, number: int, source: str) -> PromptItem:
    """HarmBench behaviours: contextual ones carry their context before the request."""
    behavior = _text(row, "Behavior", where)
    category = _mapped(row, "SemanticCategory", cat.HARMBENCH_TO_LLAMA2, where)
    functional = _text(row, "FunctionalCategory", where)
    context = row["ContextString"]
    prompt = f"{context}{HARMBENCH_CONTEXT_SEPARATOR}{behavior}" if context.strip() else behavior
    return _item(
        where,
        id=_text(row, "BehaviorID", where),
        category=category,
        turns=(prompt,),
        tags=(
            *cat.risk_tags(category),
            "attack:direct",
            "label:unsafe",
            "source:harmbench",
            cat.tag("harmbench", row["SemanticCategory"]),
            cat.tag("harmbench", cat.slug(functional)),
        ),
        source=source,
    )


def _strongreject(row: Row, where: _Where, number: int, source: str) -> PromptItem:
    """StrongREJECT: six categories mapped to Llama 2's; ids are row numbers."""
    category = _mapped(row, "category", cat.STRONGREJECT_TO_LLAMA2, where)
    return _item(
        where,
        id=f"strongreject-{number}",
        category=category,
        turns=(_text(row, "forbidden_prompt", where),),
        tags=(
            *cat.risk_tags(category),
            "attack:direct",
            "label:unsafe",
            "source:strongreject",
            cat.tag("strongreject", cat.slug(row["category"])),
            cat.tag("strongreject", "from_" + cat.slug(_text(row, "source", where))),
        ),
        source=source,
    )


def _advbench(row: Row, where: _Where, number: int, source: str) -> PromptItem:
    """AdvBench harmful_behaviors.csv: no categories, so ``unmapped``; ids are row numbers."""
    _text(row, "target", where)
    return _item(
        where,
        id=f"advbench-{number}",
        category=cat.UNMAPPED,
        turns=(_text(row, "goal", where),),
        tags=("attack:direct", "label:unsafe", "source:advbench"),
        source=source,
    )


def _xstest(row: Row, where: _Where, number: int, source: str) -> PromptItem:
    """XSTest: safe prompts are ``borderline``; unsafe contrast prompts are ``unmapped``."""
    label = row["label"]
    if label not in cat.LABELS:
        raise where.error(expected("'safe' or 'unsafe'", label), "label")
    kind = row["type"]
    wanted = cat.XSTEST_SAFE_TYPES if label == "safe" else cat.XSTEST_UNSAFE_TYPES
    if kind not in wanted:
        raise where.error(expected(f"a {label} XSTest type ({', '.join(wanted)})", kind), "type")
    note = row.get("note", "")
    return _item(
        where,
        id=f"xstest-{_text(row, 'id', where)}",
        category=cat.BORDERLINE if label == "safe" else cat.UNMAPPED,
        turns=(_text(row, "prompt", where),),
        tags=(
            cat.tag("label", label),
            "source:xstest",
            cat.tag("xstest", kind),
            *((cat.tag("note", cat.slug(note)),) if note.strip() else ()),
        ),
        source=source,
    )


_CSV_LAYOUTS: dict[str, tuple[tuple[str, ...], RowParser]] = {
    "harmbench": (
        ("Behavior", "FunctionalCategory", "SemanticCategory", "ContextString", "BehaviorID"),
        _harmbench,
    ),
    "strongreject": (("category", "source", "forbidden_prompt"), _strongreject),
    "advbench": (("goal", "target"), _advbench),
    "xstest": (("id", "prompt", "type", "label"), _xstest),
}


def _onpar_item(record: dict[str, object], where: _Where, source: str) -> PromptItem:
    """onpar JSONL (id, category, turns, tags) whose category and tags use the taxonomy."""
    item = parse_onpar(record, where, source)
    if item.category not in cat.CATEGORIES:
        raise where.error(
            expected(f"one of {', '.join(cat.CATEGORIES)}", item.category), "category"
        )
    for index, value in enumerate(item.tags):
        _check_tag(value, where, f"tags[{index}]")
    risks = cat.tag_values(item.tags, "risk")
    if item.category in cat.RISK_CATEGORIES and risks != [item.category]:
        raise where.error(
            f"a {item.category} prompt needs exactly the tag 'risk:{item.category}'", "tags"
        )
    if item.category not in cat.RISK_CATEGORIES and risks:
        raise where.error(f"risk tags belong only to risk categories, not {item.category}", "tags")
    return item


def _check_tag(value: str, where: _Where, field: str) -> None:
    prefix, sep, rest = value.partition(":")
    if not sep or not rest or prefix not in cat.TAG_PREFIXES:
        raise where.error(
            expected(f"'prefix:value' with prefix one of {', '.join(cat.TAG_PREFIXES)}", value),
            field,
        )
    allowed = {"attack": cat.ATTACK_VECTORS, "label": cat.LABELS, "risk": cat.RISK_CATEGORIES}
    if prefix in allowed and rest not in allowed[prefix]:
        raise where.error(expected(f"{prefix}: one of {', '.join(allowed[prefix])}", value), field)


def write_safety_prompts(items: list[PromptItem], path: Path) -> None:
    """Save prompts as onpar JSONL (readable by run configs and by format 'onpar'), atomically."""
    lines = [
        json.dumps(
            {"id": i.id, "category": i.category, "turns": list(i.turns), "tags": list(i.tags)},
            ensure_ascii=False,
        )
        for i in items
    ]
    atomic_write_text(path, "".join(line + "\n" for line in lines))
