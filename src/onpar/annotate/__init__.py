"""Human side-by-side ratings (Llama 2 protocol) in a local web app: `onpar annotate`.

Items come from a run's store; ratings go back into the same run.sqlite. ``create_app``
builds the FastAPI app, ``prepare`` readies a run for raters, ``human_ratings`` returns the
pairwise ratings as ``Rating`` records (what ``onpar stats`` analyses), ``safety_ratings``
the 5-point safety ratings.

Names are imported on first use, so ``onpar --help`` does not load FastAPI or SciPy.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "AnnotationStore": "onpar.annotate.store",
    "AppSettings": "onpar.annotate.app",
    "Item": "onpar.annotate.items",
    "LoginLink": "onpar.annotate.preparation",
    "RaterSpec": "onpar.annotate.raters",
    "SafetyRating": "onpar.annotate.export",
    "build_items": "onpar.annotate.items",
    "create_app": "onpar.annotate.app",
    "export_ratings": "onpar.annotate.export",
    "human_ratings": "onpar.annotate.export",
    "load_raters": "onpar.annotate.raters",
    "prepare": "onpar.annotate.preparation",
    "safety_ratings": "onpar.annotate.export",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'onpar.annotate' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
