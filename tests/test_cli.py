"""The `onpar` command line: help, version, validation and error exits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from onpar import __version__
from onpar.cli import app

runner = CliRunner()


def test_help_lists_every_command_with_a_line_of_help() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "validate", "report", "prompt"):
        assert command in result.output
    assert "Generate, judge, run benchmarks and report" in result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"onpar {__version__}"


def test_help_starts_fast_without_heavy_imports() -> None:
    heavy = ("torch", "transformers", "openai", "matplotlib", "numpy", "scipy")
    code = f"import sys, onpar.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def write_prompts(folder: Path) -> None:
    rows = [{"id": "a", "turns": ["Hi"]}, {"id": "b", "turns": ["Hello", "Again"]}]
    (folder / "p.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")


CONFIG = """\
name: cli
output_dir: {out}
contestants:
  - name: a
    model: {{provider: openai, model: m, base_url: "http://127.0.0.1:9/v1"}}
  - name: b
    model: {{provider: openai, model: m2, base_url: "http://127.0.0.1:9/v1"}}
prompts:
  - path: p.jsonl
"""


def test_validate_reports_counts(tmp_path: Path) -> None:
    write_prompts(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG.format(out=tmp_path / "out"))
    result = runner.invoke(app, ["validate", str(config)])
    assert result.exit_code == 0, result.output
    assert "2 contestants, 0 judges, 2 prompts (1 multi-turn), 1 comparisons" in result.output
    assert not (tmp_path / "out").exists()


def test_bad_config_exits_nonzero_and_writes_nothing(tmp_path: Path) -> None:
    write_prompts(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG.format(out=tmp_path / "out").replace("model: m2", "modle: m2"))
    result = runner.invoke(app, ["run", str(config)])
    assert result.exit_code == 2
    assert f"{config}:7: field 'contestants.1.model.modle': unknown field" in result.output
    assert not (tmp_path / "out").exists()


def test_bad_prompt_file_exits_nonzero_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "p.jsonl").write_text('{"id": "a", "turns": ["Hi"]}\n{"id": "b", "turns": []}\n')
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG.format(out=tmp_path / "out"))
    result = runner.invoke(app, ["run", str(config)])
    assert result.exit_code == 2
    assert "p.jsonl:2: field 'turns'" in result.output
    assert not (tmp_path / "out").exists()


def test_report_needs_a_run_dir(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "no run.sqlite here" in result.output
