"""Whole runs against the fake Chat Completions server: multi-turn, judging, gaps, secrets."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from onpar.config import load_config
from onpar.engine import RunSetupError, execute_run
from onpar.store.run_store import RunStore
from tests.models.openai_server import FakeOpenAIServer, Fault

SECRET = "sk-test-DO-NOT-LEAK-7f3a9c"

PROMPTS = [
    {"id": "s1", "category": "factual questions", "turns": ["What is 2+2?"]},
    {"id": "s2", "category": "dialogue", "turns": ["Say hello."]},
    {
        "id": "m1",
        "category": "writing and content creation",
        "turns": ["Write a title.", "Shorter."],
    },
]


def write_run(tmp_path: Path, server: FakeOpenAIServer, **overrides: Any) -> Path:
    (tmp_path / "prompts.jsonl").write_text(
        "\n".join(json.dumps(p) for p in PROMPTS), encoding="utf-8"
    )
    api = {
        "provider": "openai",
        "base_url": server.base_url,
        "api_key_env": "ONPAR_TEST_KEY",
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
        "max_retries": 2,
        "timeout_s": 5,
    }
    config = {
        "name": "api-run",
        "output_dir": str(tmp_path / "out"),
        "contestants": [
            {"name": "x", "model": {**api, "model": "model-x"}, "system_prompt": "You are X."},
            {"name": "y", "model": {**api, "model": "model-y"}},
        ],
        "prompts": [{"path": "prompts.jsonl"}],
        "judges": [{"name": "judge", "model": {**api, "model": "judge-model"}, "verdict": "text"}],
        "stats": {"bootstrap_samples": 200},
        "cache": {"enabled": False},
        **overrides,
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def judge_prefers_x(body: dict[str, Any]) -> str | None:
    """A scripted judge preferring X's answers (X's echo names its 10-char system prompt)."""
    if body["model"] != "judge-model":
        return None  # contestants get the echo
    text = body["messages"][-1]["content"]
    a_is_x = text.index("(system: 10 chars)") < text.index("[Conversation with Assistant B]")
    return "X is clearer.\nVerdict: " + ("2" if a_is_x else "6")


def run(path: Path) -> Any:
    return execute_run(load_config(path), path, show_progress=False)


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONPAR_TEST_KEY", SECRET)


def test_multi_turn_conversation_carries_each_contestants_own_answers(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    run(write_run(tmp_path, openai_server, judges=[]))
    second_turns = [r for r in openai_server.requests if r.last_message == "Shorter."]
    assert len(second_turns) == 2
    by_model = {r.body["model"]: r.body["messages"] for r in second_turns}
    assert by_model["model-x"] == [
        {"role": "system", "content": "You are X."},
        {"role": "user", "content": "Write a title."},
        {"role": "assistant", "content": "echo: Write a title. (system: 10 chars)"},
        {"role": "user", "content": "Shorter."},
    ]
    assert by_model["model-y"][1]["content"] == "echo: Write a title. (system: 0 chars)"


def test_judged_in_both_orders_and_combined(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    openai_server.responder = judge_prefers_x
    outputs = run(write_run(tmp_path, openai_server))
    results = json.loads(outputs.results_json.read_text())
    overall = results["comparisons"][0]["overall"]
    assert (overall["wins"], overall["ties"], overall["losses"]) == (3, 0, 0)
    assert results["comparisons"][0]["position"]["consistency"]["value"] == 1.0
    with RunStore(outputs.store) as store:
        orders = sorted((j.prompt_id, j.order, j.score) for _, j in store.judgments())
    assert orders == [
        ("m1", "xy", 2),
        ("m1", "yx", 6),
        ("s1", "xy", 2),
        ("s1", "yx", 6),
        ("s2", "xy", 2),
        ("s2", "yx", 6),
    ]


def test_unparseable_verdict_is_a_failure_not_a_tie(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    outputs = run(write_run(tmp_path, openai_server))  # the echo never contains a verdict
    comparison = json.loads(outputs.results_json.read_text())["comparisons"][0]
    assert comparison["overall"]["n"] == 0 and comparison["overall"]["ties"] == 0
    assert comparison["failures"] == {"judge failed": 3}
    with RunStore(outputs.store) as store:
        judgments = [j for _, j in store.judgments()]
    assert all(
        j.score is None and j.raw and "unparseable verdict" in (j.error or "") for j in judgments
    )


def test_failed_request_is_recorded_and_retried_on_rerun(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    openai_server.responder = judge_prefers_x
    openai_server.fail_when("Say hello.", Fault.server_error())
    path = write_run(tmp_path, openai_server)
    outputs = run(path)
    comparison = json.loads(outputs.results_json.read_text())["comparisons"][0]
    assert comparison["failures"] == {"no answer from x": 1}
    assert "gave up after 3 attempts" in outputs.report_html.read_text()
    with RunStore(outputs.store) as store:
        failed = [r for _, r in store.responses() if r.error]
    assert [(r.contestant, r.prompt_id) for r in failed] == [("x", "s2"), ("y", "s2")]
    assert "HTTP 500" in (failed[0].error or "")

    openai_server._state.rules.clear()  # the outage is over: a re-run fills the gap only
    before = len(openai_server.requests)
    outputs = run(path)
    new_requests = openai_server.requests[before:]
    assert {r.last_message for r in new_requests if r.body["model"] != "judge-model"} == {
        "Say hello."
    }
    assert json.loads(outputs.results_json.read_text())["comparisons"][0]["overall"]["n"] == 3


def test_rerun_resumes_without_calling_again(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    openai_server.responder = judge_prefers_x
    path = write_run(tmp_path, openai_server)
    first = run(path).results_json.read_text()
    calls = len(openai_server.requests)
    assert run(path).results_json.read_text() == first
    assert len(openai_server.requests) == calls


def test_response_cache_is_shared_between_runs(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    openai_server.responder = judge_prefers_x
    cache = {"enabled": True, "path": str(tmp_path / "cache.sqlite")}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    run(write_run(tmp_path / "a", openai_server, cache=cache))
    calls = len(openai_server.requests)
    outputs = run(write_run(tmp_path / "b", openai_server, cache=cache))
    assert len(openai_server.requests) == calls
    with RunStore(outputs.store) as store:
        assert all(r.cached for _, r in store.responses())


def test_api_key_is_sent_but_never_written(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    openai_server.responder = judge_prefers_x
    openai_server.fail_when("What is 2+2?", Fault.http(400, f"bad request for key {SECRET}"))
    outputs = run(write_run(tmp_path, openai_server))
    assert all(r.headers["authorization"] == f"Bearer {SECRET}" for r in openai_server.requests)
    files = [p for p in outputs.output_dir.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"run.sqlite", "results.json", "report.html", "manifest.json"}
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
    assert re.search(r"HTTP 400", outputs.report_html.read_text())


def test_missing_answer_in_responses_file_is_an_explicit_gap(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    openai_server.responder = judge_prefers_x
    answers = tmp_path / "answers.jsonl"
    answers.write_text(
        json.dumps({"prompt_id": "s1", "text": "4"})
        + "\n"
        + json.dumps({"prompt_id": "m1", "turn_index": 0, "text": "A Title"})
        + "\n"
        + json.dumps({"prompt_id": "m1", "turn_index": 1, "text": "Title"})
        + "\n",
        encoding="utf-8",
    )
    path = write_run(tmp_path, openai_server)
    config = yaml.safe_load(path.read_text())
    config["contestants"][1] = {
        "name": "archived",
        "model": {"provider": "responses", "path": "answers.jsonl"},
    }
    path.write_text(yaml.safe_dump(config))
    outputs = run(path)
    comparison = json.loads(outputs.results_json.read_text())["comparisons"][0]
    assert comparison["overall"]["n"] == 2
    assert comparison["failures"] == {"no answer from archived": 1}
    assert "no answer for prompt s2" in outputs.report_html.read_text()


@pytest.mark.parametrize(
    "change",
    [
        {"api_key_env": "ONPAR_TEST_UNSET_KEY", "base_url": "https://api.example.invalid/v1"},
        {"provider": "responses", "path": "missing.jsonl"},
    ],
)
def test_setup_errors_stop_before_anything_is_written(
    tmp_path: Path, openai_server: FakeOpenAIServer, change: dict[str, str]
) -> None:
    path = write_run(tmp_path, openai_server)
    config = yaml.safe_load(path.read_text())
    model = {} if change.get("provider") == "responses" else config["contestants"][0]["model"]
    config["contestants"][0]["model"] = {**model, **change}
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(RunSetupError, match="contestant 'x': "):
        run(path)
    assert not (tmp_path / "out").exists()
    assert openai_server.requests == []
