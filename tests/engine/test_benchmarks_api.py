"""`onpar bench` with chat-API contestants on the fake OpenAI server: letters, chat turns, code.

Chat APIs give no log-probs, so multiple choice is answered with a letter; unreadable
answers must be counted, never silently scored; finished items are never asked again.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from onpar.cli import app
from onpar.config import load_config
from onpar.engine import execute_run
from onpar.store.run_store import RunStore
from tests.models.openai_server import FakeOpenAIServer, Fault

HEADER = "question,choice0,choice1,choice2,choice3,answer\n"


def write_mmlu(root: Path) -> Path:
    (root / "dev").mkdir(parents=True)
    (root / "test").mkdir()
    dev = "".join(f"Dev question {i}?,a,b,c,d,{i % 4}\n" for i in range(5))
    (root / "dev" / "toy_subject_dev.csv").write_text(HEADER + dev, encoding="utf-8")
    test = "".join(f"Test question {i}?,w,x,y,z,{i % 4}\n" for i in range(4))
    (root / "test" / "toy_subject_test.csv").write_text(HEADER + test, encoding="utf-8")
    return root


def write_run(tmp_path: Path, server: FakeOpenAIServer, **overrides: Any) -> Path:
    write_mmlu(tmp_path / "mmlu")
    (tmp_path / "sums.jsonl").write_text(
        "".join(json.dumps({"q": f"{i}+{i}", "a": str(2 * i)}) + "\n" for i in range(3)),
        encoding="utf-8",
    )
    api = {
        "provider": "openai",
        "base_url": server.base_url,
        "api_key_env": "ONPAR_TEST_KEY",
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
        "max_retries": 1,
        "timeout_s": 5,
    }
    config = {
        "name": "bench-api",
        "output_dir": str(tmp_path / "out"),
        "contestants": [
            {"name": "x", "model": {**api, "model": "model-x"}},
            {"name": "y", "model": {**api, "model": "model-y"}},
        ],
        "benchmarks": [
            {"task": "mmlu", "path": "mmlu"},
            {
                "task": "generation",
                "name": "sums",
                "path": "sums.jsonl",
                "prompt": "What is {{q}}?",
                "reference": "a",
                "extract": r"(-?\d+)",
            },
            {"task": "humaneval", "limit": 2, "contestants": ["x"], "timeout_s": 5},
        ],
        "stats": {"bootstrap_samples": 200},
        "cache": {"enabled": False},
        **overrides,
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def scripted(body: dict[str, Any]) -> str:
    """x: right letters, sums and code; y: letter 'A' always, prose for sums."""
    text = body["messages"][-1]["content"]
    x = body["model"] == "model-x"
    if "multiple-choice question" in text:
        number = int(re.findall(r"Test question (\d)\?", text)[-1])
        if not x:
            return "I am not sure." if number == 3 else "A"
        return "The answer is " + "ABCD"[number % 4]
    if "What is" in text:
        n = int(re.search(r"What is (\d+)\+", text).group(1))  # type: ignore[union-attr]
        return f"It is {2 * n}." if x else "Let me think about it."
    if "def has_close_elements" in text:  # HumanEval/0: a correct full solution
        return (
            "```python\ndef has_close_elements(numbers, threshold):\n"
            "    return any(abs(a - b) < threshold for i, a in enumerate(numbers)"
            " for b in numbers[i + 1:])\n```"
        )
    return "```python\ndef nothing():\n    pass\n```"  # wrong for every other problem


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONPAR_TEST_KEY", "sk-test-bench")


def run(path: Path, **kwargs: Any) -> Any:
    return execute_run(load_config(path), path, show_progress=False, **kwargs)


def _scores(outputs: Any) -> dict[tuple[str, str, str], dict[str, Any]]:
    results = json.loads(outputs.results_json.read_text())
    return {(s["task"], s["contestant"], s["metric"]): s for s in results["benchmarks"]}


def test_letters_chat_turns_and_code_are_scored(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    openai_server.responder = scripted
    outputs = run(write_run(tmp_path, openai_server))
    scores = _scores(outputs)
    x_mmlu, y_mmlu = scores[("mmlu", "x", "acc")], scores[("mmlu", "y", "acc")]
    assert (x_mmlu["mode"], x_mmlu["estimate"]["value"], x_mmlu["n_unparseable"]) == (
        "letter",
        1.0,
        0,
    )
    assert (y_mmlu["estimate"]["value"], y_mmlu["n_unparseable"], y_mmlu["n_scored"]) == (
        0.25,
        1,
        4,
    )
    assert scores[("sums", "x", "exact_match")]["estimate"]["value"] == 1.0
    assert scores[("sums", "y", "exact_match")]["n_unparseable"] == 3
    assert scores[("humaneval", "x", "pass@1")]["estimate"]["value"] == 0.5
    assert ("humaneval", "y", "pass@1") not in scores  # not a participant
    results = json.loads(outputs.results_json.read_text())
    (mmlu_comparison,) = [c for c in results["benchmark_comparisons"] if c["task"] == "mmlu"]
    assert mmlu_comparison["difference"]["value"] == 0.75
    html = outputs.report_html.read_text()
    assert "Academic benchmarks" in html and "Llama 2 paper, Table 4" in html
    assert "68.9%" in html  # Llama 2 70B's published MMLU
    letter_requests = [r for r in openai_server.requests if "multiple-choice" in r.last_message]
    assert {r.body["max_tokens"] for r in letter_requests} == {8}
    first_question = "Test question 0?\nA. w\nB. x\nC. y\nD. z\nAnswer:"
    assert sum(r.last_message.endswith(first_question) for r in letter_requests) == 2


def test_rerun_asks_nothing_again_and_failures_are_retried(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    openai_server.responder = scripted
    openai_server.fail_when("Test question 2?", Fault.server_error())
    path = write_run(tmp_path, openai_server)
    first = _scores(run(path, tasks=["mmlu"]))
    assert first[("mmlu", "x", "acc")]["n_failed"] == 1
    assert ("sums", "x", "exact_match") not in first  # only the chosen task ran
    openai_server._state.rules.clear()  # the provider recovers
    seen = len(openai_server.requests)
    second = _scores(run(path, tasks=["mmlu"]))
    retried = openai_server.requests[seen:]
    assert len(retried) == 2  # the one failed item, for each contestant
    assert all("Test question 2?" in r.last_message for r in retried)
    assert second[("mmlu", "x", "acc")]["n_failed"] == 0
    seen = len(openai_server.requests)
    run(path, tasks=["mmlu"])
    assert len(openai_server.requests) == seen


def test_bad_benchmark_file_fails_before_anything_is_written(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    path = write_run(tmp_path, openai_server)
    bad = tmp_path / "mmlu" / "test" / "toy_subject_test.csv"
    bad.write_text(HEADER + "Q?,a,b,c,d,7\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["bench", str(path), "--no-progress"])
    assert result.exit_code == 2
    assert "toy_subject_test.csv:2: field 'answer'" in result.output
    assert not (tmp_path / "out").exists()
    assert openai_server.requests == []


def test_cli_bench_prints_the_table_and_unknown_task_is_an_error(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    openai_server.responder = scripted
    path = write_run(tmp_path, openai_server)
    result = CliRunner().invoke(app, ["bench", str(path), "--task", "sums", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "sums" in result.output and "exact_match" in result.output
    assert "3 unparseable" in result.output
    with RunStore(tmp_path / "out" / "run.sqlite") as store:
        assert {o.task for _, o in store.bench_outcomes()} == {"sums"}
    result = CliRunner().invoke(app, ["bench", str(path), "--task", "nope", "--no-progress"])
    assert result.exit_code == 2
    assert "no benchmark named nope" in result.output
