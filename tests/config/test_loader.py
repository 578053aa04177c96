"""Config validation: every mistake names file, line and field; good configs load."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from onpar.config import ConfigError, load_config
from onpar.models.chat_formats import LLAMA2_DEFAULT_SYSTEM_PROMPT

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
name: tiny
output_dir: out
contestants:
  - name: a
    model: {provider: hf, model: "bundled:smollm2-135m-instruct"}
  - name: b
    model: {provider: openai, model: gpt-4o-mini, base_url: "http://127.0.0.1:9/v1"}
    generation: {temperature: 0.7, top_p: 0.9, max_new_tokens: 64, seed: 3}
prompts:
  - path: prompts.jsonl
judges:
  - name: j
    model: {provider: hf, model: "bundled:smollm2-135m-instruct"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_good_config_loads_with_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert [c.name for c in config.contestants] == ["a", "b"]
    assert config.contestants[1].generation.top_p == 0.9
    assert config.contestants[0].generation.temperature == 0.0
    assert config.comparison_pairs() == [("a", "b")]
    assert config.judges[0].combine == "agree"
    assert config.stats.confidence == 0.95


def test_demo_config_is_valid_and_uses_llama2_system_prompt() -> None:
    config = load_config(REPO / "examples" / "demo.yaml")
    assert config.contestants[0].system_prompt is None
    assert config.contestants[1].system_prompt == LLAMA2_DEFAULT_SYSTEM_PROMPT
    assert config.judges[0].verdict == "logprobs"


def test_bench_example_config_is_valid() -> None:
    config = load_config(REPO / "examples" / "bench.yaml")
    assert [b.task_name for b in config.benchmarks] == ["mmlu", "gsm8k", "humaneval"]
    assert config.prompts == [] and config.comparison_pairs() == []


@pytest.mark.parametrize(
    ("benchmarks", "message"),
    [
        ([{"task": "mmlu"}], "benchmarks.0.mmlu.path"),
        ([{"task": "gsm8k", "path": "g", "samples": 0}], "benchmarks.0.gsm8k.samples"),
        ([{"task": "humaneval", "pass_at": [10]}], "pass_at [10] needs"),
        ([{"task": "mmlu", "path": "m"}, {"task": "mmlu", "path": "n"}], "repeated: mmlu"),
        ([{"task": "mmlu", "path": "m", "contestants": ["zz"]}], "unknown contestant 'zz'"),
        ([{"task": "trivia", "path": "m"}], "benchmarks.0"),
    ],
)
def test_bad_benchmark_entries(
    tmp_path: Path, benchmarks: list[dict[str, object]], message: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "b",
                "output_dir": "out",
                "contestants": [{"name": "a", "model": {"provider": "hf", "model": "m"}}],
                "benchmarks": benchmarks,
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path)


def test_a_config_needs_prompts_or_benchmarks(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    one = [{"name": "a", "model": {"provider": "hf", "model": "m"}}]
    path.write_text(
        yaml.safe_dump({"name": "b", "output_dir": "o", "contestants": one}), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="nothing to run"):
        load_config(path)
    path.write_text(
        yaml.safe_dump(
            {"name": "b", "output_dir": "o", "contestants": one, "prompts": [{"path": "p"}]}
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="at least 2 contestants"):
        load_config(path)


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        (
            "max_new_tokens: 64",
            "max_new_tokens: -1",
            ":8: field 'contestants.1.generation.max_new_tokens'",
        ),
        (
            "temperature: 0.7",
            "temprature: 0.7",
            ":8: field 'contestants.1.generation.temprature': unknown field",
        ),
        ("provider: openai", "provider: opnai", ":7: field 'contestants.1.model'"),
        (
            "  - name: b\n",
            "  - nme: b\n",
            ":6: field 'contestants.1.name': required field is missing",
        ),
        ("name: j", "name: 'bad name!'", ":12: field 'judges.0.name'"),
    ],
)
def test_errors_name_file_line_and_field(
    tmp_path: Path, replace: str, by: str, expected: str
) -> None:
    assert replace in GOOD
    path = write(tmp_path, GOOD.replace(replace, by))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}{expected}" in str(info.value)


def test_unknown_comparison_and_duplicate_names(tmp_path: Path) -> None:
    text = GOOD.replace("  - name: b\n", "  - name: a\n")
    with pytest.raises(ConfigError, match="contestant names must be unique; repeated: a"):
        load_config(write(tmp_path, text))
    text = GOOD + "comparisons: [[a, zz]]\n"
    with pytest.raises(ConfigError, match="unknown contestant 'zz'"):
        load_config(write(tmp_path, text))


def test_logprob_verdicts_need_a_local_judge(tmp_path: Path) -> None:
    text = (
        GOOD.replace(
            '    model: {provider: hf, model: "bundled:smollm2-135m-instruct"}\n"""',
            "",
        )
        + "    verdict: logprobs\n"
    )
    text = text.replace(
        '  - name: j\n    model: {provider: hf, model: "bundled:smollm2-135m-instruct"}',
        "  - name: j\n    model: {provider: openai, model: gpt-4o}",
    )
    with pytest.raises(ConfigError, match="verdict: logprobs needs a local model"):
        load_config(write(tmp_path, text))


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\ncontestants: [\n  - a\n")
    with pytest.raises(ConfigError, match=rf"{path}:\d+: invalid YAML"):
        load_config(path)


def test_not_a_mapping_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(write(tmp_path, "- just\n- a list\n"))
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.yaml")
