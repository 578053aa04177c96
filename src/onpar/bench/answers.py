"""Reading answers out of generated text: letters from chat models, numbers, regexes, code.

Pure functions, so every rule is unit-tested on strings and the engine only calls them.
An answer that cannot be read is ``None`` — counted as unparseable in the report, never
silently turned into a wrong letter.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

from onpar.bench.generic import LETTERS
from onpar.bench.tasks import CodeItem

# Stop sequences of the Codex paper / openai human-eval for completing a function body.
HUMANEVAL_STOPS = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
# lm-eval's gsm8k task stops at the next question (and the model's end-of-text markers).
GSM8K_STOPS = ("Question:", "</s>", "<|im_end|>")


def letter_instruction(n_choices: int) -> str:
    """What a chat model is told before a multiple-choice question."""
    letters = ", ".join(LETTERS[: n_choices - 1]) + f" or {LETTERS[n_choices - 1]}"
    return (
        "Answer the last multiple-choice question. Reply with the letter of the correct "
        f"option ({letters}) only."
    )


def parse_letter(text: str | None, n_choices: int) -> int | None:
    """The option a chat model chose, or None when its reply names no single option.

    Accepted: a reply that starts with the letter ("B", "(B)", "B.", "B) Paris"), or states
    "answer is B" / "Answer: B". Anything else — two different letters, prose only — is None.
    """
    if not text:
        return None
    allowed = LETTERS[:n_choices]
    body = text.strip().replace("*", "")
    leading = re.match(rf"^\(?([{allowed}])(?:[\).:\s]|$)", body)
    if leading:
        return allowed.index(leading.group(1))
    stated = re.findall(rf"answer(?: is)?\s*[:\-]?\s*\(?([{allowed}])\b", body, re.IGNORECASE)
    if stated and len({s.upper() for s in stated}) == 1:
        letter = stated[0].upper()
        return allowed.index(letter) if letter in allowed else None
    return None


def cut_at_stops(text: str, until: Sequence[str]) -> str:
    """The text up to the first occurrence of any stop string (lm-eval's `until`)."""
    cut = len(text)
    for stop in until:
        if stop:
            found = text.find(stop)
            if found != -1:
                cut = min(cut, found)
    return text[:cut]


def extract_with_regex(text: str, pattern: str | None) -> str | None:
    """Last match of ``pattern`` (its first non-empty group, else the whole match); None if none.

    No pattern: the whole text, stripped (None if empty).
    """
    if pattern is None:
        stripped = text.strip()
        return stripped or None
    matches = list(re.finditer(pattern, text))
    if not matches:
        return None
    last = matches[-1]
    groups = [g for g in last.groups() if g]
    return (groups[0] if groups else last.group(0)).strip()


def normalize_answer(text: str, *, ignore_case: bool, ignore_punctuation: bool) -> str:
    """Whitespace collapsed; optionally lower-cased and punctuation dropped (lm-eval's options)."""
    if ignore_case:
        text = text.lower()
    if ignore_punctuation:
        text = text.translate(str.maketrans("", "", string.punctuation))
    return " ".join(text.split())


def code_from_chat(reply: str) -> str:
    """The code in a chat reply: the first fenced block if there is one, else the whole reply."""
    fenced = re.search(r"```(?:[A-Za-z0-9_+-]*)\n(.*?)(?:```|$)", reply, re.DOTALL)
    return fenced.group(1) if fenced else reply


def chat_code_program_body(item: CodeItem, reply: str) -> str:
    """A completion to append to the HumanEval prompt, from a chat model's reply.

    Chat models usually rewrite the whole function. If the code defines the entry point, the
    prompt's own unfinished definition is replaced: the completion becomes a body that
    defines nothing more than ``pass`` for the stub and then the model's full code, which
    redefines the function (later definitions win in Python). Otherwise the code is taken
    as the body itself.
    """
    code = code_from_chat(reply)
    if re.search(rf"^\s*def\s+{re.escape(item.entry_point)}\s*\(", code, re.MULTILINE):
        return "    pass\n\n" + code
    return code


CHAT_CODE_INSTRUCTION = (
    "Complete the following Python function. Reply with the complete function in one "
    "```python code block, and nothing else."
)
