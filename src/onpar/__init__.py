"""onpar: is this open model on par with that one, for these prompts?

A run flows through the sub-packages in order:
``config`` → ``data`` (prompts) → ``models`` (contestants answer) → ``judges`` (pairwise
verdicts) → ``stats`` (win/tie/loss with CIs) → ``report`` (results.json, report.html),
orchestrated by ``engine`` and persisted by ``store``. Records passed between stages live
in ``onpar.records``. ``bench`` holds the academic benchmark tasks (MMLU, GSM8K, HumanEval).
docs/architecture.md maps every feature to its module.
"""

__version__ = "0.1.0"
