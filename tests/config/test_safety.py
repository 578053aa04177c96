"""The `safety:` section: good configs load, every mistake names file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from onpar.config import ConfigError, load_config
from onpar.safety.prompt_sets import SafetyPromptFileError
from onpar.safety.run_sets import SAFETY_ID_PREFIX, load_safety_sets

ONLY_SAFETY = """\
name: s
output_dir: out
contestants:
  - name: a
    model: {provider: hf, model: "bundled:smollm2-135m-instruct"}
safety:
  adversarial:
    - path: bundled
      limit: 4
  borderline:
    - path: bundled
  judges:
    - name: sj
      model: {provider: openai, model: gpt-4o, base_url: "http://127.0.0.1:9/v1"}
      verdict: text
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_config_with_only_safety_and_one_contestant_is_valid(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ONLY_SAFETY))
    assert config.safety is not None
    assert config.safety.refusal_classifier == "rules"
    assert config.safety.contestants is None
    assert config.safety.judges[0].uses_logprobs is False
    sets = load_safety_sets(config.safety, tmp_path)
    assert len(sets.adversarial) == 4
    assert all(p.id.startswith(SAFETY_ID_PREFIX) for p in sets.all)
    assert all("label:unsafe" in p.tags for p in sets.adversarial)
    assert {p.category for p in sets.borderline} <= {"borderline", "safe"}
    assert len(sets.borderline) == 19


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("      limit: 4", "      limti: 4", r"run\.yaml:9: field 'safety\.adversarial\.0\.limti'"),
        (
            "      verdict: text",
            "      verdict: logprobs",
            r"run\.yaml:13: field 'safety\.judges\.0'.*logprobs needs a local model",
        ),
        (
            "  borderline:",
            "  contestants: [zz]\n  borderline:",
            r"run\.yaml:1: .*safety names unknown contestant 'zz'",
        ),
        (
            "  judges:",
            "  refusal_classifier: judge\n  refusal_judge: nobody\n  judges:",
            r"run\.yaml:6: field 'safety'.*nobody",
        ),
        ("      limit: 4", "      limit: 0", r"run\.yaml:9: field 'safety\.adversarial\.0\.limit'"),
        ("    - name: sj", "    - name: rules", r"run\.yaml:6: field 'safety'.*'rules' names"),
    ],
)
def test_mistakes_are_located(tmp_path: Path, old: str, new: str, where: str) -> None:
    assert old in ONLY_SAFETY
    with pytest.raises(ConfigError, match=where):
        load_config(write(tmp_path, ONLY_SAFETY.replace(old, new)))


def test_safety_needs_prompt_sets_and_judge_for_judge_refusals(tmp_path: Path) -> None:
    text = ONLY_SAFETY.split("safety:")[0] + "safety:\n  judges: []\n"
    with pytest.raises(ConfigError, match=r"adversarial.*borderline"):
        load_config(write(tmp_path, text))
    text = ONLY_SAFETY.split("  judges:")[0] + "  refusal_classifier: judge\n"
    with pytest.raises(ConfigError, match="at least one entry in `judges`"):
        load_config(write(tmp_path, text))


def test_bad_safety_file_is_located(tmp_path: Path) -> None:
    (tmp_path / "adv.jsonl").write_text(
        '{"id": "x", "category": "illicit_criminal", "turns": ["q"],'
        ' "tags": ["risk:illicit_criminal"]}\n{"id": "y", "category": "nope", "turns": ["q"]}\n'
    )
    config = load_config(
        write(
            tmp_path,
            ONLY_SAFETY.replace("path: bundled\n      limit", "path: adv.jsonl\n      limit"),
        )
    )
    assert config.safety is not None
    with pytest.raises(SafetyPromptFileError, match=r"adv\.jsonl:2: field 'category'"):
        load_safety_sets(config.safety, tmp_path)


def test_same_file_twice_is_a_duplicate_id(tmp_path: Path) -> None:
    text = ONLY_SAFETY.replace("      limit: 4\n", "      limit: 4\n    - path: bundled\n")
    config = load_config(write(tmp_path, text))
    assert config.safety is not None
    with pytest.raises(SafetyPromptFileError, match="duplicate id"):
        load_safety_sets(config.safety, tmp_path)


def test_demo_config_has_a_safety_section_on_the_bundled_set() -> None:
    demo = Path(__file__).resolve().parents[2] / "examples" / "demo.yaml"
    config = load_config(demo)
    assert config.safety is not None
    assert config.safety.judges[0].uses_logprobs
    assert config.safety.contestants is None  # both system prompts take part
    sets = load_safety_sets(config.safety, demo.parent)
    # The demo takes a slice of the bundled set (its order interleaves the risk categories),
    # which must still cover every Llama 2 risk category and both single- and multi-turn.
    assert (len(sets.adversarial), len(sets.borderline)) == (12, 8)
    assert sum(p.is_multi_turn for p in sets.adversarial) == 3
    risks = {t for p in sets.adversarial for t in p.tags if t.startswith("risk:")}
    assert risks == {"risk:illicit_criminal", "risk:hateful_harmful", "risk:unqualified_advice"}
    for risk in risks:
        single = [p for p in sets.adversarial if risk in p.tags and not p.is_multi_turn]
        assert len(single) == 3, risk
    assert any(p.is_multi_turn for p in sets.borderline)


def test_the_whole_bundled_safety_set_loads_without_limits(tmp_path: Path) -> None:
    config_path = tmp_path / "all.yaml"
    config_path.write_text(
        "name: all\noutput_dir: out\ncontestants:\n"
        "  - {name: a, model: {provider: hf, model: bundled:smollm2-135m-instruct}}\n"
        "safety:\n  adversarial:\n    - path: bundled\n  borderline:\n    - path: bundled\n",
        encoding="utf-8",
    )
    config = load_config(config_path)
    assert config.safety is not None
    sets = load_safety_sets(config.safety, tmp_path)
    assert (len(sets.adversarial), len(sets.borderline)) == (27, 19)
    assert sum(p.is_multi_turn for p in sets.adversarial) == 5
