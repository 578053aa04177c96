"""Academic benchmarks the Llama 2 way: task data, answer reading and code execution.

MMLU 5-shot (``mmlu``), GSM8K 8-shot (``gsm8k``), HumanEval pass@k (``humaneval``,
``metrics``, ``sandbox``) and the user's own files (``generic``), built to give the same
numbers as lm-evaluation-harness. ``loading.load_benchmark`` turns a config entry into a
``LoadedTask``; ``answers`` reads letters, numbers and code out of text. No model calls
here: the engine's ``benchmarks`` stage makes them.
"""

from onpar.bench.gsm8k import extract_final_number, load_gsm8k, maj_at_k, read_gsm8k
from onpar.bench.humaneval import default_humaneval_path, load_humaneval
from onpar.bench.loading import load_benchmark, load_benchmarks
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
from onpar.bench.sandbox import (
    ExecutionResult,
    SandboxLimits,
    check_completion,
    check_many,
    isolation_report,
    run_python,
)
from onpar.bench.tasks import (
    BenchFileError,
    CodeItem,
    GenerationItem,
    LoadedTask,
    MultipleChoiceItem,
)

__all__ = [
    "SUBJECT_CATEGORIES",
    "BenchFileError",
    "CodeItem",
    "ExecutionResult",
    "GenerationItem",
    "LoadedTask",
    "MultipleChoiceItem",
    "SandboxLimits",
    "accuracy_by_category",
    "accuracy_by_subject",
    "accuracy_with_ci",
    "check_completion",
    "check_many",
    "default_humaneval_path",
    "extract_final_number",
    "isolation_report",
    "load_benchmark",
    "load_benchmarks",
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
    "run_python",
]
