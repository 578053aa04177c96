"""Academic benchmarks the Llama 2 way: task data and scoring rules as pure functions.

MMLU 5-shot (``mmlu``), GSM8K 8-shot (``gsm8k``) and HumanEval pass@k (``humaneval``,
``metrics``), built to give the same numbers as lm-evaluation-harness. No model calls here.
"""

from onpar.bench.gsm8k import extract_final_number, load_gsm8k, maj_at_k, read_gsm8k
from onpar.bench.humaneval import default_humaneval_path, load_humaneval
from onpar.bench.metrics import accuracy_with_ci, pass_at_k
from onpar.bench.mmlu import (
    SUBJECT_CATEGORIES,
    accuracy_by_category,
    accuracy_by_subject,
    load_mmlu,
    load_mmlu_subject,
    macro_accuracy,
    micro_accuracy,
    mmlu_subjects,
    read_mmlu_csv,
)
from onpar.bench.tasks import BenchFileError, CodeItem, GenerationItem, MultipleChoiceItem

__all__ = [
    "SUBJECT_CATEGORIES",
    "BenchFileError",
    "CodeItem",
    "GenerationItem",
    "MultipleChoiceItem",
    "accuracy_by_category",
    "accuracy_by_subject",
    "accuracy_with_ci",
    "default_humaneval_path",
    "extract_final_number",
    "load_gsm8k",
    "load_humaneval",
    "load_mmlu",
    "load_mmlu_subject",
    "macro_accuracy",
    "maj_at_k",
    "micro_accuracy",
    "mmlu_subjects",
    "pass_at_k",
    "read_gsm8k",
    "read_mmlu_csv",
]
