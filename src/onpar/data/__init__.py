"""Stage 1, the inputs: prompt sets (``PromptItem``) and judgments made elsewhere (``Rating``).

Every reader validates a whole file before returning anything; errors name file:line:field.
"""

from onpar.data.errors import PromptFileError
from onpar.data.judgments import (
    JUDGMENT_FORMATS,
    SCALES,
    JudgmentFileError,
    JudgmentFormat,
    Rating,
    Scale,
    load_judgments,
)
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
    "JUDGMENT_FORMATS",
    "SCALES",
    "JudgmentFileError",
    "JudgmentFormat",
    "PromptFileError",
    "Rating",
    "Scale",
    "bundled_names",
    "bundled_path",
    "load_judgments",
    "load_prompt_set",
    "load_prompt_sets",
    "resolve_prompt_path",
    "write_prompt_set",
]
