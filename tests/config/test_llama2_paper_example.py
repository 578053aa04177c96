"""The paper preset (examples/llama2-paper.yaml) and `system_prompt_preset: llama2_paper`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onpar.cli import app
from onpar.config import ConfigError, load_config
from onpar.config.schema import RunConfig
from onpar.models.chat_formats import (
    LLAMA2_DEFAULT_SYSTEM_PROMPT,
    MPT_SYSTEM_PROMPT,
    VICUNA_SYSTEM_PROMPT,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "llama2-paper.yaml"


def test_onpar_validate_accepts_the_example() -> None:
    result = CliRunner().invoke(app, ["validate", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "8 contestants" in result.output and "5 comparisons" in result.output


def test_example_pairs_each_model_with_its_table_31_prompt_and_format() -> None:
    config = load_config(EXAMPLE)
    expected = {  # name: (provider, chat format or None for APIs, Table 31 system prompt)
        "llama2-7b-chat": ("hf", "llama2", LLAMA2_DEFAULT_SYSTEM_PROMPT),
        "llama2-13b-chat": ("hf", "llama2", LLAMA2_DEFAULT_SYSTEM_PROMPT),
        "llama2-70b-chat": ("openai", None, LLAMA2_DEFAULT_SYSTEM_PROMPT),
        "mpt-7b-chat": ("hf", "mpt_chat", MPT_SYSTEM_PROMPT),
        "vicuna-13b-v1.1": ("llamacpp", "vicuna_v1.1", VICUNA_SYSTEM_PROMPT),
        "falcon-40b-instruct": ("hf", "falcon_instruct", LLAMA2_DEFAULT_SYSTEM_PROMPT),
        "chatgpt": ("openai", None, LLAMA2_DEFAULT_SYSTEM_PROMPT),
        "gemini": ("google", None, LLAMA2_DEFAULT_SYSTEM_PROMPT),
    }
    got = {
        c.name: (c.model.provider, getattr(c.model, "chat_format", None), c.system_prompt)
        for c in config.contestants
    }
    assert got == expected
    assert config.comparison_pairs() == [
        ("llama2-7b-chat", "mpt-7b-chat"),
        ("llama2-13b-chat", "vicuna-13b-v1.1"),
        ("llama2-70b-chat", "falcon-40b-instruct"),
        ("llama2-70b-chat", "chatgpt"),
        ("llama2-70b-chat", "gemini"),
    ]
    assert config.contestant("chatgpt").generation.max_new_tokens == 2000
    assert config.contestant("mpt-7b-chat").generation.temperature == 0.6


def test_a_stored_config_with_the_resolved_prompt_loads_again() -> None:
    config = load_config(EXAMPLE)
    again = RunConfig.model_validate(config.model_dump(mode="json"))
    assert again == config


def write(tmp_path: Path, contestant_extra: str) -> Path:
    path = tmp_path / "run.yaml"
    (tmp_path / "p.jsonl").write_text('{"id": "a", "turns": ["Hi"]}\n', encoding="utf-8")
    path.write_text(
        textwrap.dedent(
            """\
            name: t
            output_dir: out
            contestants:
              - name: a
                model: {provider: hf, model: "bundled:smollm2-135m-instruct", chat_format: mpt_chat}
            """
        )
        + textwrap.indent(contestant_extra, "    ")
        + textwrap.dedent(
            """\
              - name: b
                model: {provider: openai, model: gpt-4o-mini}
            prompts:
              - path: p.jsonl
            """
        ),
        encoding="utf-8",
    )
    return path


def test_preset_and_a_different_system_prompt_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "system_prompt_preset: llama2_paper\nsystem_prompt: Be brief.\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "run.yaml:4:" in message and "not both" in message


def test_unknown_preset_and_chat_format_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "system_prompt_preset: paper\n")
    with pytest.raises(ConfigError, match="system_prompt_preset"):
        load_config(path)
    path = write(tmp_path, "")
    path.write_text(path.read_text(encoding="utf-8").replace("mpt_chat", "chatml"), "utf-8")
    with pytest.raises(
        ConfigError, match=r"run\.yaml:5: field 'contestants\.0\.model.*chat_format"
    ):
        load_config(path)


def test_without_preset_system_prompt_stays_none(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.contestants[0].system_prompt is None  # the format's own default applies


def test_llamacpp_spec_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    text = path.read_text(encoding="utf-8").replace(
        '{provider: hf, model: "bundled:smollm2-135m-instruct", chat_format: mpt_chat}',
        "{provider: llamacpp, model: x.gguf, n_ctx: 8, n_gpu_layer: 1}",
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "run.yaml:5: field 'contestants.0.model.n_ctx': Input should be greater than" in message
    assert "run.yaml:5: field 'contestants.0.model.n_gpu_layer': unknown field" in message
