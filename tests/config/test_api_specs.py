"""The anthropic and google model specs: YAML loads, typos name file:line:field, defaults."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from onpar.config import ConfigError, load_config
from onpar.config.schema import AnthropicModelSpec, GoogleModelSpec

CONFIG = """\
name: claude-vs-gemini
output_dir: out
contestants:
  - name: claude
    model:
      provider: anthropic
      model: claude-x
      concurrency: 2
  - name: gemini
    model:
      provider: google
      model: gemini-x
      {extra}
prompts:
  - path: prompts.jsonl
judges:
  - name: j
    model: {{provider: anthropic, model: claude-judge}}
    verdict: {verdict}
"""


def write(tmp_path: Path, extra: str = "timeout_s: 30", verdict: str = "text") -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(textwrap.dedent(CONFIG.format(extra=extra, verdict=verdict)), encoding="utf-8")
    return path


def test_specs_load_with_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path))
    claude, gemini = (c.model for c in config.contestants)
    assert isinstance(claude, AnthropicModelSpec) and isinstance(gemini, GoogleModelSpec)
    assert claude.api_key_env == "ANTHROPIC_API_KEY" and claude.concurrency == 2
    assert gemini.api_key_env == "GEMINI_API_KEY" and gemini.timeout_s == 30
    assert (gemini.max_retries, gemini.backoff_initial_s, gemini.base_url) == (6, 1.0, None)


def test_unknown_field_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, extra="temprature: 0.3")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}:13: field 'contestants.1.model.temprature': unknown field" in str(info.value)


def test_bad_value_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="concurrency"):
        load_config(write(tmp_path, extra="concurrency: 0"))


def test_logprobs_verdict_needs_a_local_model(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="verdict: logprobs needs a local model"):
        load_config(write(tmp_path, verdict="logprobs"))
