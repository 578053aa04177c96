"""MMLU: per-subject CSV reading, lm-evaluation-harness's 5-shot prompt, and accuracy roll-ups.

Data layout (the Hugging Face ``cais/mmlu`` layout, as in /work/shared/data/mmlu):
``dev/<subject>_dev.csv`` (5 few-shot examples) and ``test/<subject>_test.csv``, each with the
header ``question,choice0,choice1,choice2,choice3,answer`` and ``answer`` an integer 0-3.

Prompt facts, confirmed in EleutherAI/lm-evaluation-harness (v0.4.x):

* ``lm_eval/tasks/mmlu/default/_default_template_yaml``: ``fewshot_split: dev``,
  ``fewshot_config: sampler: first_n`` (the dev rows in file order), ``doc_to_text:
  "{{question.strip()}}\\nA. {{choices[0]}}\\nB. …\\nD. {{choices[3]}}\\nAnswer:"``,
  ``doc_to_choice: ["A", "B", "C", "D"]``, ``doc_to_target: answer``, metric ``acc``.
* ``lm_eval/tasks/mmlu/_generate_configs.py`` (and e.g. ``default/mmlu_abstract_algebra.yaml``):
  description ``"The following are multiple choice questions (with answers) about
  {subject with '_' → ' '}.\\n\\n"`` and the subject → category table copied as data below.
* The harness's defaults join text and target with ``target_delimiter=" "`` and examples
  with ``fewshot_delimiter="\\n\\n"``, hence the continuations ``" A"`` … ``" D"``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from onpar.bench.tasks import BenchFileError, MultipleChoiceItem
from onpar.data.errors import expected
from onpar.data.textfiles import csv_rows, read_text

HEADER = ("question", "choice0", "choice1", "choice2", "choice3", "answer")
LETTERS = ("A", "B", "C", "D")
CONTINUATIONS = tuple(f" {letter}" for letter in LETTERS)
NUM_FEWSHOT = 5
CATEGORIES = ("stem", "humanities", "social_sciences", "other")

# Subject → category, as in lm-eval's mmlu/_generate_configs.py (Hendrycks et al. 2021).
SUBJECT_CATEGORIES: dict[str, str] = {
    **dict.fromkeys(
        [
            "abstract_algebra",
            "anatomy",
            "astronomy",
            "college_biology",
            "college_chemistry",
            "college_computer_science",
            "college_mathematics",
            "college_physics",
            "computer_security",
            "conceptual_physics",
            "electrical_engineering",
            "elementary_mathematics",
            "high_school_biology",
            "high_school_chemistry",
            "high_school_computer_science",
            "high_school_mathematics",
            "high_school_physics",
            "high_school_statistics",
            "machine_learning",
        ],
        "stem",
    ),
    **dict.fromkeys(
        [
            "formal_logic",
            "high_school_european_history",
            "high_school_us_history",
            "high_school_world_history",
            "international_law",
            "jurisprudence",
            "logical_fallacies",
            "moral_disputes",
            "moral_scenarios",
            "philosophy",
            "prehistory",
            "professional_law",
            "world_religions",
        ],
        "humanities",
    ),
    **dict.fromkeys(
        [
            "econometrics",
            "high_school_geography",
            "high_school_government_and_politics",
            "high_school_macroeconomics",
            "high_school_microeconomics",
            "high_school_psychology",
            "human_sexuality",
            "professional_psychology",
            "public_relations",
            "security_studies",
            "sociology",
            "us_foreign_policy",
        ],
        "social_sciences",
    ),
    **dict.fromkeys(
        [
            "business_ethics",
            "clinical_knowledge",
            "college_medicine",
            "global_facts",
            "human_aging",
            "management",
            "marketing",
            "medical_genetics",
            "miscellaneous",
            "nutrition",
            "professional_accounting",
            "professional_medicine",
            "virology",
        ],
        "other",
    ),
}


class MmluRow(NamedTuple):
    """One validated CSV row and the line it starts on."""

    line: int
    question: str
    choices: tuple[str, str, str, str]
    answer: int


def read_mmlu_csv(path: Path, display: str | None = None) -> tuple[MmluRow, ...]:
    """All rows of one subject file; any problem raises ``BenchFileError`` with file:line."""
    shown = display if display is not None else str(path)
    text = read_text(path, shown, BenchFileError, "CSV")
    rows = csv_rows(text, shown, ",", BenchFileError)
    first = next(rows, None)
    if first is None:
        raise BenchFileError(shown, f"empty file, expected the header {','.join(HEADER)}")
    line, header = first
    if tuple(cell.strip() for cell in header) != HEADER:
        raise BenchFileError(shown, expected(",".join(HEADER), ",".join(header)), line=line)
    return tuple(_parse_row(shown, number, row) for number, row in rows)


def _parse_row(display: str, line: int, row: list[str]) -> MmluRow:
    if len(row) > len(HEADER):
        raise BenchFileError(display, f"{len(row)} cells, expected {len(HEADER)}", line=line)
    if not row[0].strip():
        raise BenchFileError(display, "empty question", line=line, field="question")
    for index in range(4):
        if len(row) <= index + 1 or not row[index + 1].strip():
            raise BenchFileError(display, "missing choice", line=line, field=f"choice{index}")
    if len(row) < len(HEADER):
        raise BenchFileError(display, "missing answer", line=line, field="answer")
    if row[5].strip() not in ("0", "1", "2", "3"):
        raise BenchFileError(display, expected("an integer 0-3", row[5]), line=line, field="answer")
    choices = (row[1], row[2], row[3], row[4])
    return MmluRow(line, row[0], choices, int(row[5].strip()))


def subject_description(subject: str) -> str:
    """The harness's per-subject description, underscores shown as spaces."""
    topic = subject.replace("_", " ")
    return f"The following are multiple choice questions (with answers) about {topic}.\n\n"


def format_question(row: MmluRow) -> str:
    """``doc_to_text``: the stripped question, the four lettered options, then ``Answer:``."""
    options = "".join(
        f"\n{letter}. {choice}" for letter, choice in zip(LETTERS, row.choices, strict=True)
    )
    return f"{row.question.strip()}{options}\nAnswer:"


def fewshot_context(subject: str, shots: Sequence[MmluRow], row: MmluRow) -> str:
    """Description, each shot with its answer letter, then the question, joined by blank lines."""
    examples = [f"{format_question(shot)} {LETTERS[shot.answer]}" for shot in shots]
    return subject_description(subject) + "\n\n".join([*examples, format_question(row)])


def mmlu_subjects(root: Path) -> tuple[str, ...]:
    """Subjects with a test file under ``root/test``, sorted by name."""
    files = sorted((root / "test").glob("*_test.csv"))
    return tuple(path.name.removesuffix("_test.csv") for path in files)


def load_mmlu_subject(
    root: Path, subject: str, num_fewshot: int = NUM_FEWSHOT
) -> tuple[MultipleChoiceItem, ...]:
    """Every test question of one subject as a scored item with its k-shot context.

    The shots are the first ``num_fewshot`` dev rows in file order (``sampler: first_n``).
    """
    dev_path = root / "dev" / f"{subject}_dev.csv"
    shots = read_mmlu_csv(dev_path)[:num_fewshot] if num_fewshot else ()
    if len(shots) < num_fewshot:
        raise BenchFileError(str(dev_path), f"{len(shots)} rows, need {num_fewshot} few-shot")
    return tuple(
        MultipleChoiceItem(
            id=f"{subject}/{index}",
            subject=subject,
            context=fewshot_context(subject, shots, row),
            choices=CONTINUATIONS,
            answer=row.answer,
            source_line=row.line,
        )
        for index, row in enumerate(read_mmlu_csv(root / "test" / f"{subject}_test.csv"))
    )


def load_mmlu(
    root: Path, subjects: Iterable[str] | None = None, num_fewshot: int = NUM_FEWSHOT
) -> tuple[MultipleChoiceItem, ...]:
    """Items of the given subjects (default: every subject found), subject by subject."""
    chosen = mmlu_subjects(root) if subjects is None else tuple(subjects)
    return tuple(item for s in chosen for item in load_mmlu_subject(root, s, num_fewshot))


Outcomes = Iterable[tuple[str, bool]]


def _tally(outcomes: Outcomes, key: dict[str, str] | None) -> dict[str, tuple[int, int]]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for subject, correct in outcomes:
        group = subject if key is None else _category(subject, key)
        counts[group][0] += bool(correct)
        counts[group][1] += 1
    return {group: (c, n) for group, (c, n) in sorted(counts.items())}


def _category(subject: str, key: dict[str, str]) -> str:
    try:
        return key[subject]
    except KeyError:
        raise ValueError(f"unknown MMLU subject {subject!r}: no category") from None


def accuracy_by_subject(outcomes: Outcomes) -> dict[str, float]:
    """Share correct per subject, from ``(subject, correct)`` pairs."""
    return {s: c / n for s, (c, n) in _tally(outcomes, None).items()}


def accuracy_by_category(outcomes: Outcomes) -> dict[str, float]:
    """Share correct per MMLU category, pooling the category's questions (micro)."""
    return {g: c / n for g, (c, n) in _tally(outcomes, SUBJECT_CATEGORIES).items()}


def micro_accuracy(outcomes: Outcomes) -> float:
    """Share of all questions answered correctly (each question weighs the same).

    The headline MMLU number of Hendrycks et al. (the mean over all questions). Whether a given
    lm-eval version weights its ``mmlu`` group by size was not confirmed here (the ``_mmlu.yaml``
    read lists the four category groups only), so both this and ``macro_accuracy`` exist.
    """
    pairs = list(outcomes)
    if not pairs:
        raise ValueError("no outcomes")
    return sum(bool(correct) for _, correct in pairs) / len(pairs)


def macro_accuracy(outcomes: Outcomes) -> float:
    """Mean of the per-subject accuracies (each subject weighs the same)."""
    per_subject = accuracy_by_subject(outcomes)
    if not per_subject:
        raise ValueError("no outcomes")
    return sum(per_subject.values()) / len(per_subject)
