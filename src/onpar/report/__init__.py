"""onpar.report: results.json for machines and a self-contained HTML page for people."""

from onpar.report.html import SCALE_LABELS, build_prompt_sections, render_report, write_report
from onpar.report.results_json import results_to_json, write_results_json

__all__ = [
    "SCALE_LABELS",
    "build_prompt_sections",
    "render_report",
    "results_to_json",
    "write_report",
    "write_results_json",
]
