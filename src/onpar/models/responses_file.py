"""Answers generated elsewhere, read from a file, so models nobody can run here still compete.

Formats: MT-Bench ``model_answer/*.jsonl``, AlpacaEval ``outputs.json`` and onpar JSONL.
The whole file is read and checked up front, so a malformed line stops the run before any
judging (with file:line and field), while a merely missing answer is an explicit gap that
``lookup`` reports as an error result.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from onpar.config.schema import ResponsesFileSpec
from onpar.models.base import LogprobsUnsupportedError
from onpar.records import ChatRequest, ChatResult, Message

FileFormat = Literal["onpar", "mt_bench", "alpaca_eval"]
_ONPAR_FIELDS = frozenset({"prompt_id", "turn_index", "sample_index", "text", "model"})


@dataclass(frozen=True)
class _Answer:
    """One stored answer and where it came from (for error messages)."""

    text: str
    model: str | None
    where: str
    prompt_id: str | None = None
    turn_index: int | None = None  # None: the prompt's last turn
    sample_index: int = 0
    instruction: str | None = None  # AlpacaEval answers are keyed by prompt text instead


class ResponsesFileModel:
    """A contestant whose answers are looked up in a file rather than generated."""

    def __init__(self, spec: ResponsesFileSpec, base_dir: Path | None = None) -> None:
        path = spec.path if spec.path.is_absolute() or base_dir is None else base_dir / spec.path
        self._spec = spec
        self._path = path
        files = _answer_files(path)
        fmt = _detect_format(files[0]) if spec.format == "auto" else spec.format
        self._format: FileFormat = fmt
        answers = [a for file in files for a in _parse_file(file, self._format)]
        answers = _select_model(answers, spec.model, path)
        self._by_key, self._by_instruction = _build_index(answers)
        self._highest_turn = _highest_explicit_turns(self._by_key)
        self._digest = _digest(files)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def format(self) -> FileFormat:
        return self._format

    @property
    def preferred_batch_size(self) -> int:
        return 256  # nothing is generated; batches only set how often the engine commits

    def identity(self) -> dict[str, object]:
        return {
            "provider": "responses",
            "path": str(self._path),
            "format": self._format,
            "model": self._spec.model,
            "sha256": self._digest,
        }

    def lookup(
        self,
        prompt_id: str,
        turn_index: int,
        first_user_turn: str,
        sample_index: int = 0,
        *,
        n_turns: int | None = None,
    ) -> ChatResult:
        """The stored answer to one turn, or an error result naming the gap.

        ``first_user_turn`` matches AlpacaEval answers, which carry no prompt id. Pass
        ``n_turns`` so an onpar answer without ``turn_index`` (meaning "the last turn")
        cannot be mistaken for an earlier turn of a multi-turn prompt.
        """
        found = self._find(prompt_id, turn_index, first_user_turn, sample_index, n_turns)
        if found is None:
            sample = f" sample {sample_index}" if sample_index else ""
            error = f"no answer for prompt {prompt_id} turn {turn_index}{sample} in {self._path}"
            return ChatResult(error=error)
        return ChatResult(text=found.text)

    def _find(
        self, prompt_id: str, turn: int, first_turn: str, sample: int, n_turns: int | None
    ) -> _Answer | None:
        if turn < 0 or sample < 0:
            return None
        if self._format == "alpaca_eval":
            candidates = self._by_instruction.get(first_turn.strip(), []) if turn == 0 else []
            return candidates[sample] if sample < len(candidates) else None
        exact = self._by_key.get((prompt_id, turn, sample))
        last = self._by_key.get((prompt_id, None, sample))
        if exact is not None or last is None:
            return exact
        if n_turns is not None:
            return last if turn == n_turns - 1 else None
        # Unknown length: the turn-less answer covers turns after every explicitly answered one.
        return last if self._highest_turn.get((prompt_id, sample), -1) < turn else None

    def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResult]:
        raise NotImplementedError(
            f"{self._path} holds answers generated elsewhere and cannot chat; use "
            "lookup(prompt_id, turn_index, first_user_turn, sample_index) instead"
        )

    def render(self, messages: Sequence[Message]) -> str:
        """The messages as JSON: nothing is sent anywhere, but the engine logs what was asked."""
        return json.dumps([m.model_dump() for m in messages], indent=2, ensure_ascii=False)

    def score_options(
        self, conversations: Sequence[Sequence[Message]], options: Sequence[str]
    ) -> list[list[float]]:
        raise LogprobsUnsupportedError("a responses file cannot score continuations")

    def close(self) -> None:
        """Nothing to release: the file was read completely at construction."""


# files and formats ----------------------------------------------------------------------------


def _answer_files(path: Path) -> list[Path]:
    """The file itself, or every ``*.jsonl`` in a directory (MT-Bench's model_answer/)."""
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise ValueError(f"{path}: directory holds no *.jsonl answer files")
        return files
    if not path.is_file():
        raise FileNotFoundError(f"responses file not found: {path}")
    return [path]


def _detect_format(file: Path) -> FileFormat:
    """Guess from the suffix and the first record; ``format`` in the config overrides."""
    if file.suffix.lower() == ".json":
        return "alpaca_eval"
    for line_no, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        if line.lstrip().startswith("["):
            return "alpaca_eval"
        record = _parse_json_line(line, f"{file}:{line_no}")
        if "prompt_id" in record:
            return "onpar"
        if "question_id" in record and "choices" in record:
            return "mt_bench"
        raise ValueError(
            f"{file}:{line_no}: cannot tell the format (no 'prompt_id' or 'question_id' field); "
            "set `format` in the config"
        )
    raise ValueError(f"{file}: file is empty")


def _parse_file(file: Path, fmt: FileFormat) -> list[_Answer]:
    if fmt == "alpaca_eval":
        return [_alpaca_answer(rec, where) for rec, where in _json_list_records(file)]
    if fmt == "mt_bench":
        return [a for rec, where in _jsonl_records(file) for a in _mt_bench_answers(rec, where)]
    return [_onpar_answer(rec, where) for rec, where in _jsonl_records(file)]


def _jsonl_records(file: Path) -> Iterator[tuple[dict[str, Any], str]]:
    text = file.read_text(encoding="utf-8")
    for line_no, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            where = f"{file}:{line_no}"
            yield _parse_json_line(line, where), where


def _parse_json_line(line: str, where: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__}")
    return record


def _json_list_records(file: Path) -> Iterator[tuple[dict[str, Any], str]]:
    """Items of a JSON list with the line each starts on, so errors can point at it."""
    text = file.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{file}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    if not isinstance(items, list):
        raise ValueError(f"{file}:1: expected a JSON list of answers, got {type(items).__name__}")
    pos = text.index("[") + 1
    for _ in items:  # the text is valid JSON, so re-decoding item by item cannot fail
        pos = _skip(text, pos, " \t\r\n,")
        item, end = decoder.raw_decode(text, pos)
        where = f"{file}:{text.count(chr(10), 0, pos) + 1}"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: expected a JSON object, got {type(item).__name__}")
        yield item, where
        pos = end


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


# records --------------------------------------------------------------------------------------


def _field(record: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    """A required field of the given type, or a ValueError naming file:line and field."""
    if name not in record:
        raise ValueError(f"{where}: missing field '{name}'")
    return _typed(record[name], name, kind, where)


def _optional(record: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = record.get(name)
    return None if value is None else _typed(value, name, kind, where)


def _typed(value: Any, name: str, kind: type | tuple[type, ...], where: str) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        wanted = " or ".join(k.__name__ for k in kinds)
        raise ValueError(f"{where}: field '{name}' must be {wanted}, got {type(value).__name__}")
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        raise ValueError(f"{where}: field '{name}' must not be negative")
    return value


def _onpar_answer(record: dict[str, Any], where: str) -> _Answer:
    unknown = sorted(set(record) - _ONPAR_FIELDS)
    if unknown:
        allowed = ", ".join(sorted(_ONPAR_FIELDS))
        raise ValueError(f"{where}: unknown field '{unknown[0]}' (allowed: {allowed})")
    sample = _optional(record, "sample_index", int, where)
    return _Answer(
        text=_field(record, "text", str, where),
        model=_optional(record, "model", str, where),
        where=where,
        prompt_id=_field(record, "prompt_id", str, where),
        turn_index=_optional(record, "turn_index", int, where),
        sample_index=0 if sample is None else sample,
    )


def _mt_bench_answers(record: dict[str, Any], where: str) -> list[_Answer]:
    """One answer per (choice, turn); the choice's ``index`` is the sample index."""
    prompt_id = str(_field(record, "question_id", (int, str), where))
    model = _optional(record, "model_id", str, where)
    choices = _field(record, "choices", list, where)
    if not choices:
        raise ValueError(f"{where}: field 'choices' is empty")
    answers = []
    for position, choice in enumerate(choices):
        label = f"choices[{position}]"
        choice = _typed(choice, label, dict, where)
        sample = _optional(choice, "index", int, where)
        turns = _field(choice, "turns", list, where)
        for turn, text in enumerate(turns):
            _typed(text, f"{label}.turns[{turn}]", str, where)
            sample_index = position if sample is None else sample
            answers.append(_Answer(text, model, where, prompt_id, turn, sample_index))
    return answers


def _alpaca_answer(record: dict[str, Any], where: str) -> _Answer:
    return _Answer(
        text=_field(record, "output", str, where),
        model=_optional(record, "generator", str, where),
        where=where,
        instruction=_field(record, "instruction", str, where).strip(),
    )


def _select_model(answers: list[_Answer], wanted: str | None, source: Path) -> list[_Answer]:
    """Keep one model's answers; answers that name no model belong to whichever is asked for."""
    named = sorted({a.model for a in answers if a.model is not None})
    if wanted is None:
        if len(named) > 1:
            raise ValueError(
                f"{source} holds answers from several models ({', '.join(named)}); "
                "set `model` to choose one"
            )
        return answers
    if named and wanted not in named:
        known = ", ".join(named)
        raise ValueError(f"{source} has no answers from model {wanted!r}; it has: {known}")
    return [a for a in answers if a.model in (None, wanted)]


_Key = tuple[str, int | None, int]


def _build_index(answers: list[_Answer]) -> tuple[dict[_Key, _Answer], dict[str, list[_Answer]]]:
    by_key: dict[_Key, _Answer] = {}
    by_instruction: dict[str, list[_Answer]] = {}
    for answer in answers:
        if answer.instruction is not None:
            by_instruction.setdefault(answer.instruction, []).append(answer)
            continue
        assert answer.prompt_id is not None
        key = (answer.prompt_id, answer.turn_index, answer.sample_index)
        if key in by_key:
            turn = "last turn" if answer.turn_index is None else f"turn {answer.turn_index}"
            raise ValueError(
                f"{answer.where}: duplicate answer for prompt {answer.prompt_id} {turn} "
                f"sample {answer.sample_index} (first at {by_key[key].where})"
            )
        by_key[key] = answer
    return by_key, by_instruction


def _highest_explicit_turns(by_key: dict[_Key, _Answer]) -> dict[tuple[str, int], int]:
    """Per (prompt, sample), the last turn answered with an explicit ``turn_index``."""
    highest: dict[tuple[str, int], int] = {}
    for prompt_id, turn, sample in by_key:
        if turn is not None:
            highest[(prompt_id, sample)] = max(turn, highest.get((prompt_id, sample), -1))
    return highest


def _digest(files: list[Path]) -> str:
    """Content hash: the cache must notice when the answers change under the same name."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()
