"""GSM8K: JSONL reading, the 8-shot prompt, lm-eval's answer extraction, and maj@k.

Data: JSON Lines ``{"question": ..., "answer": ...}`` (openai/grade-school-math); the
worked answer ends with ``#### <final number>``.

Format facts, confirmed in EleutherAI/lm-evaluation-harness ``lm_eval/tasks/gsm8k/gsm8k.yaml``
(metadata version 3.0):

* ``doc_to_text: "Question: {{question}}\\nAnswer:"`` and ``doc_to_target: "{{answer}}"`` (the
  full worked answer, calculator annotations ``<<…>>`` included), joined by the default
  ``target_delimiter`` " " and ``fewshot_delimiter`` "\\n\\n"; generation stops at
  ``"Question:"``.
* ``strict-match``: regex ``#### (\\-?[0-9\\.\\,]+)``, first match.
* ``flexible-extract``: regex ``(-?[$0-9.,]{2,})|(-?[0-9]+)`` with ``group_select: -1``, i.e.
  the last match in the text (the RegexFilter then takes the non-empty group and strips it).
* ``exact_match`` ignores ``","``, ``"\\$"``, ``"(?s).*#### "`` and ``"\\.$"`` on both sides.

Choice made here: that task defaults to 5 shots drawn at random from train; Llama 2 reports
GSM8K 8-shot, so the shots are the **first 8 train examples, in file order** (fixed, so the
prompt never depends on a seed). lm-eval's ``gsm8k-cot-llama`` task uses the 8 hand-written
chain-of-thought exemplars of Wei et al. instead; this module keeps the plain ``gsm8k`` format.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, NamedTuple

from onpar.bench.tasks import BenchFileError, GenerationItem
from onpar.data.errors import expected
from onpar.data.textfiles import json_objects, read_text

NUM_FEWSHOT = 8
ANSWER_MARK = "#### "
_STRICT = re.compile(r"#### (\-?[0-9\.\,]+)")
_FLEXIBLE = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")

Mode = Literal["strict", "flexible"]


class GsmRow(NamedTuple):
    """One validated record, its line, and its normalised final answer."""

    line: int
    question: str
    answer: str
    final: str


def read_gsm8k(path: Path, display: str | None = None) -> tuple[GsmRow, ...]:
    """All records of a GSM8K JSONL file; any problem raises ``BenchFileError`` with file:line."""
    shown = display if display is not None else str(path)
    text = read_text(path, shown, BenchFileError, "JSON Lines")
    return tuple(
        _parse(shown, line, record) for line, record in json_objects(text, shown, BenchFileError)
    )


def _parse(display: str, line: int, record: dict[str, object]) -> GsmRow:
    for field in ("question", "answer"):
        value = record.get(field)
        if not isinstance(value, str) or not value.strip():
            raise BenchFileError(
                display, expected("a non-empty string", value), line=line, field=field
            )
    question, answer = str(record["question"]), str(record["answer"])
    if ANSWER_MARK not in answer:
        raise BenchFileError(
            display,
            "no final answer '#### <number>' in the worked answer",
            line=line,
            field="answer",
        )
    # The reference as lm-eval's exact_match sees it: everything up to the last '#### ' dropped.
    final = normalize_number(re.sub(r"(?s).*#### ", "", answer))
    if not final:
        raise BenchFileError(display, "empty final answer after '#### '", line=line, field="answer")
    return GsmRow(line, question, answer, final)


def normalize_number(text: str) -> str:
    """Drop ``,`` and ``$`` and one trailing ``.``, as lm-eval's exact_match ignores them."""
    return re.sub(r"\.$", "", text.replace(",", "").replace("$", "").strip())


def extract_final_number(text: str, mode: Mode = "flexible") -> str | None:
    """The answer lm-eval would read from ``text``, normalised; ``None`` where it finds none.

    ``"strict"``: the number after the first ``#### ``. ``"flexible"``: the last number-like
    run anywhere in the text. lm-eval writes ``[invalid]`` where this returns ``None``.
    """
    if mode == "strict":
        found = _STRICT.findall(text)
        raw = found[0] if found else None
    elif mode == "flexible":
        matches = _FLEXIBLE.findall(text)
        raw = next((group for group in matches[-1] if group), None) if matches else None
    else:
        raise ValueError(f"mode must be 'strict' or 'flexible', got {mode!r}")
    return None if raw is None else normalize_number(raw)


def is_correct(prediction: str | None, reference: str) -> bool:
    """Exact match after the same normalisation on both sides (an absent answer is wrong)."""
    return prediction is not None and normalize_number(prediction) == normalize_number(reference)


def maj_at_k(answers: Sequence[str | None]) -> str | None:
    """Majority vote over the extracted answers of k samples (self-consistency).

    Tie rule: among equally frequent answers, the one that appears first in ``answers``
    wins — what lm-eval's ``majority_vote`` filter gets from ``Counter.most_common(1)``.
    As there, an unreadable answer (``None``, lm-eval's ``[invalid]``) is a candidate too.
    """
    if not answers:
        raise ValueError("maj@k needs at least one answer")
    return Counter(answers).most_common(1)[0][0]


def format_example(row: GsmRow) -> str:
    """A solved few-shot example: the question and the full worked answer."""
    return f"Question: {row.question}\nAnswer: {row.answer}"


def gsm8k_prompt(shots: Sequence[GsmRow], question: str) -> str:
    """The shots, then the open question ending in ``Answer:``, separated by blank lines."""
    return "\n\n".join(
        [*(format_example(shot) for shot in shots), f"Question: {question}\nAnswer:"]
    )


def load_gsm8k(
    test_path: Path, train_path: Path, num_fewshot: int = NUM_FEWSHOT
) -> tuple[GenerationItem, ...]:
    """Every test question with its k-shot prompt (first k train records) and final answer."""
    shots = read_gsm8k(train_path)[:num_fewshot] if num_fewshot else ()
    if len(shots) < num_fewshot:
        raise BenchFileError(str(train_path), f"{len(shots)} records, need {num_fewshot} few-shot")
    return tuple(
        GenerationItem(
            id=f"gsm8k/{index}",
            prompt=gsm8k_prompt(shots, row.question),
            reference=row.final,
            source_line=row.line,
        )
        for index, row in enumerate(read_gsm8k(test_path))
    )
