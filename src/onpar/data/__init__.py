"""Prompt sets: read prompt files in several layouts into validated ``PromptItem`` records."""

from onpar.data.errors import PromptFileError
from onpar.data.prompts import (
    BUNDLED_PREFIX,
    DEMO_PROMPTS,
    FORMATS,
    HELPFULNESS_CATEGORIES,
    bundled_names,
    bundled_path,
    load_prompt_set,
    load_prompt_sets,
    resolve_prompt_path,
    write_prompt_set,
)

__all__ = [
    "BUNDLED_PREFIX",
    "DEMO_PROMPTS",
    "FORMATS",
    "HELPFULNESS_CATEGORIES",
    "PromptFileError",
    "bundled_names",
    "bundled_path",
    "load_prompt_set",
    "load_prompt_sets",
    "resolve_prompt_path",
    "write_prompt_set",
]
