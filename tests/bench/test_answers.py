"""Reading answers out of text: letters, stop strings, regex extraction, chat code."""

from __future__ import annotations

import pytest

from onpar.bench.answers import (
    HUMANEVAL_STOPS,
    chat_code_program_body,
    code_from_chat,
    cut_at_stops,
    extract_with_regex,
    letter_instruction,
    normalize_answer,
    parse_letter,
)
from onpar.bench.tasks import CodeItem


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("B", 1),
        (" (C) because", 2),
        ("D. Paris", 3),
        ("A) first", 0),
        ("**B**", 1),
        ("The answer is C.", 2),
        ("Answer: D", 3),
        ("answer is (a)", 0),
    ],
)
def test_parse_letter_reads_the_chosen_option(reply: str, expected: int) -> None:
    assert parse_letter(reply, 4) == expected


@pytest.mark.parametrize(
    "reply",
    [
        None,
        "",
        "I think it is about algebra.",
        "E",  # not among four options
        "The answer is B or maybe the answer is C",  # two different letters
        "Because of this, I cannot say",  # prose starting with a capital letter word
    ],
)
def test_parse_letter_refuses_to_guess(reply: str | None) -> None:
    assert parse_letter(reply, 4) is None


def test_letter_instruction_lists_the_letters() -> None:
    assert "(A, B, C or D)" in letter_instruction(4)
    assert "(A or B)" in letter_instruction(2)


def test_cut_at_stops_uses_the_earliest_stop() -> None:
    text = "x = 1\n    return x\ndef other():\n#"
    assert cut_at_stops(text, HUMANEVAL_STOPS) == "x = 1\n    return x"
    assert cut_at_stops("no stop here", ("Question:",)) == "no stop here"
    assert cut_at_stops("abc", ("",)) == "abc"


def test_extract_with_regex_takes_the_last_match_and_first_group() -> None:
    assert extract_with_regex("first 3 then 45 then 6", r"(\d+)") == "6"
    assert extract_with_regex("Final: yes", r"Final: (\w+)") == "yes"
    assert extract_with_regex("no digits", r"\d+") is None
    assert extract_with_regex("  whole  ", None) == "whole"
    assert extract_with_regex("   ", None) is None


def test_normalize_answer_options() -> None:
    assert normalize_answer(" Paris,  France. ", ignore_case=True, ignore_punctuation=True) == (
        "paris france"
    )
    assert normalize_answer("Paris", ignore_case=False, ignore_punctuation=False) == "Paris"


def test_code_from_chat_takes_the_first_fenced_block() -> None:
    reply = "Here you go:\n```python\ndef f(x):\n    return x\n```\nDone."
    assert code_from_chat(reply) == "def f(x):\n    return x\n"
    assert code_from_chat("    return 1\n") == "    return 1\n"


def test_chat_code_that_redefines_the_function_gets_a_stub_body() -> None:
    item = CodeItem(task_id="t/0", prompt="def f(x):\n    '''doc'''\n", test="", entry_point="f")
    body = chat_code_program_body(item, "```python\ndef f(x):\n    return x + 1\n```")
    program = item.prompt + body
    namespace: dict[str, object] = {}
    exec(compile(program, "<test>", "exec"), namespace)  # our own test string
    assert namespace["f"](1) == 2  # type: ignore[operator]
    assert chat_code_program_body(item, "    return x\n") == "    return x\n"
