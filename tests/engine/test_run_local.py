"""End-to-end runs of the `onpar` command on the real bundled model."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import needs_bundled_model

pytestmark = needs_bundled_model

PROMPTS = [
    {"id": "f1", "category": "factual questions", "turns": ["What is the capital of Italy?"]},
    {
        "id": "w1",
        "category": "writing and content creation",
        "turns": ["Write a one-line poem about tea."],
    },
    {"id": "l1", "category": "language assistance", "turns": ["Fix: 'he go to school'"]},
    {
        "id": "r1",
        "category": "recommendations",
        "turns": ["Suggest a name for a cat.", "Another one?"],
    },
    {"id": "d1", "category": "dialogue", "turns": ["Hi! How are you?", "Tell me a joke.", "Why?"]},
]


def tiny_config(tmp_path: Path, name: str = "tiny", **overrides: Any) -> Path:
    (tmp_path / "prompts.jsonl").write_text(
        "\n".join(json.dumps(p) for p in PROMPTS), encoding="utf-8"
    )
    smol = {"provider": "hf", "model": "bundled:smollm2-135m-instruct", "batch_size": 2}
    config = {
        "name": name,
        "output_dir": str(tmp_path / name),
        "contestants": [
            {"name": "plain", "model": smol, "generation": {"max_new_tokens": 8}},
            {
                "name": "terse",
                "model": smol,
                "system_prompt": "Answer in three words.",
                "generation": {"max_new_tokens": 8},
            },
        ],
        "prompts": [{"path": "prompts.jsonl"}],
        "judges": [{"name": "smol", "model": smol, "verdict": "logprobs"}],
        "stats": {"bootstrap_samples": 200},
        "cache": {"enabled": False},
        **overrides,
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def onpar(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "onpar", *args], capture_output=True, text=True, env=env, timeout=600
    )


def table(db_path: Path, query: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(db_path)
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


RESPONSES = (
    "SELECT contestant, prompt_id, turn_index, request_key, text, error FROM responses"
    " ORDER BY 1, 2, 3"
)
JUDGMENTS = (
    "SELECT judge, prompt_id, model_x, model_y, ord, score, option_probs, error FROM judgments"
    " ORDER BY 1, 2, 3, 4, 5"
)


def test_run_writes_report_and_results(tmp_path: Path, onpar_env: dict[str, str]) -> None:
    done = onpar("run", str(tiny_config(tmp_path)), "--no-progress", env=onpar_env)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "tiny"
    results = json.loads((out / "results.json").read_text())
    (comparison,) = results["comparisons"]
    assert (comparison["model_x"], comparison["model_y"], comparison["judge"]) == (
        "plain",
        "terse",
        "smol",
    )
    overall = comparison["overall"]
    assert overall["n"] + sum(comparison["failures"].values()) == len(PROMPTS)
    assert overall["wins"] + overall["ties"] + overall["losses"] == overall["n"]
    assert set(comparison["by_turns"]) == {"single-turn", "multi-turn"}
    responses = table(out / "run.sqlite", RESPONSES)
    assert len(responses) == 2 * sum(len(p["turns"]) for p in PROMPTS)
    assert all(text and error is None for *_, text, error in responses)
    judgments = table(out / "run.sqlite", JUDGMENTS)
    assert len(judgments) == 2 * len(PROMPTS)
    for *_, score, probs, error in judgments:
        assert error is None and 1 <= score <= 7
        assert sum(json.loads(probs)) == pytest.approx(1.0)
    html = (out / "report.html").read_text()
    assert "plain" in html and "terse" in html and "<svg" in html
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["models"]["plain"]["sha256"]) == 64


def wait_for_rows(db_path: Path, query: str, at_least: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if table(db_path, query)[0][0] >= at_least:
                return
        except sqlite3.OperationalError:
            pass  # the database or table does not exist yet
        time.sleep(0.05)
    raise AssertionError(f"run ended or stalled before {at_least} rows: {process.poll()}")


def test_sigkill_then_rerun_equals_uninterrupted_run(
    tmp_path: Path, onpar_env: dict[str, str]
) -> None:
    reference = onpar(
        "run", str(tiny_config(tmp_path, "reference")), "--no-progress", env=onpar_env
    )
    assert reference.returncode == 0, reference.stderr
    killed_config = tiny_config(tmp_path, "killed")
    store = tmp_path / "killed" / "run.sqlite"
    for table_name, at_least in (
        ("responses", 3),
        ("judgments", 2),
    ):  # kill mid-generation, then mid-judging
        process = subprocess.Popen(
            [sys.executable, "-m", "onpar", "run", str(killed_config), "--no-progress"],
            env=onpar_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        wait_for_rows(store, f"SELECT count(*) FROM {table_name}", at_least, process)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL
    partial = table(store, "SELECT count(*) FROM judgments")[0][0]
    assert partial < 2 * len(PROMPTS), "the second kill came too late to interrupt judging"
    resumed = onpar("run", str(killed_config), "--no-progress", env=onpar_env)
    assert resumed.returncode == 0, resumed.stderr
    assert table(store, RESPONSES) == table(tmp_path / "reference" / "run.sqlite", RESPONSES)
    assert table(store, JUDGMENTS) == table(tmp_path / "reference" / "run.sqlite", JUDGMENTS)
    reference_results = json.loads((tmp_path / "reference" / "results.json").read_text())
    resumed_results = json.loads((tmp_path / "killed" / "results.json").read_text())
    assert resumed_results["comparisons"] == reference_results["comparisons"]


def test_prompt_show_prints_the_exact_text(tmp_path: Path, onpar_env: dict[str, str]) -> None:
    config = tiny_config(tmp_path)
    done = onpar("prompt", "show", str(config), "terse", "r1", env=onpar_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "<|im_start|>system\nAnswer in three words.<|im_end|>\n<|im_start|>user\n"
    )
    assert "<answer to turn 1: not generated yet>" in done.stdout
    assert done.stdout.rstrip("\n").endswith("Another one?<|im_end|>\n<|im_start|>assistant")
    missing = onpar("prompt", "show", str(config), "terse", "nope", env=onpar_env)
    assert missing.returncode == 2 and "no prompt 'nope'" in missing.stderr
