"""A whole run with an Anthropic contestant against a Google one, both on fake servers.

The judge is scripted on the fake Anthropic server. One Gemini answer is blocked by the
provider's safety filter: it must reach the judge and the report as a refusal, not a gap.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from onpar.config import load_config
from onpar.engine import execute_run
from onpar.store.run_store import RunStore
from tests.models import google_server
from tests.models.api_providers import ANTHROPIC, GOOGLE, serve
from tests.models.api_server_base import FakeApiServer

ANTHROPIC_SECRET = "sk-ant-test-NEVER-WRITE-41c9"
GEMINI_SECRET = "AIza-test-NEVER-WRITE-77e2"
PROMPTS = [
    {"id": "p1", "category": "factual questions", "turns": ["What is 2+2?"]},
    {"id": "p2", "category": "dialogue", "turns": ["Say hello.", "Again, louder."]},
    {"id": "p3", "category": "safety", "turns": ["HARMFUL request"]},
]


@pytest.fixture
def claude() -> Iterator[FakeApiServer]:
    yield from serve(ANTHROPIC)


@pytest.fixture
def gemini() -> Iterator[FakeApiServer]:
    yield from serve(GOOGLE)


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONPAR_TEST_ANTHROPIC_KEY", ANTHROPIC_SECRET)
    monkeypatch.setenv("ONPAR_TEST_GEMINI_KEY", GEMINI_SECRET)


def judge_prefers_claude(body: dict[str, Any]) -> str | None:
    """Prefers the answer with the 10-char system prompt (Claude's); refusals always lose."""
    if body["model"] != "judge-model":
        return None
    text = body["messages"][-1]["content"]
    a_is_claude = text.index("(system: 10 chars)") < text.index("[Conversation with Assistant B]")
    return "Verdict: " + ("2" if a_is_claude else "6")


def write_run(tmp_path: Path, claude: FakeApiServer, gemini: FakeApiServer) -> Path:
    (tmp_path / "prompts.jsonl").write_text("\n".join(json.dumps(p) for p in PROMPTS))
    fast = {"backoff_initial_s": 0.01, "backoff_max_s": 0.05, "max_retries": 2, "timeout_s": 5}
    anthropic = {
        "provider": "anthropic",
        "base_url": claude.root_url,
        "api_key_env": "ONPAR_TEST_ANTHROPIC_KEY",
        **fast,
    }
    google = {
        "provider": "google",
        "model": "gemini-fake",
        "base_url": gemini.root_url,
        "api_key_env": "ONPAR_TEST_GEMINI_KEY",
        **fast,
    }
    config = {
        "name": "claude-vs-gemini",
        "output_dir": str(tmp_path / "out"),
        "contestants": [
            {
                "name": "claude",
                "model": {**anthropic, "model": "claude-fake"},
                "system_prompt": "You are X.",
            },
            {"name": "gemini", "model": google},
        ],
        "prompts": [{"path": "prompts.jsonl"}],
        "judges": [
            {"name": "judge", "model": {**anthropic, "model": "judge-model"}, "verdict": "text"}
        ],
        "stats": {"bootstrap_samples": 200},
        "cache": {"enabled": False},
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_anthropic_vs_google_run_with_a_provider_block(
    tmp_path: Path, claude: FakeApiServer, gemini: FakeApiServer
) -> None:
    claude.responder = judge_prefers_claude
    gemini.fail_when("HARMFUL", google_server.answer_blocked("SAFETY"))
    path = write_run(tmp_path, claude, gemini)
    outputs = execute_run(load_config(path), path, show_progress=False)

    with RunStore(outputs.store) as store:
        responses = {(r.contestant, r.prompt_id, r.turn_index): r for _, r in store.responses()}
        judgments = [j for _, j in store.judgments()]
    assert len(responses) == 8 and all(r.ok for r in responses.values())
    blocked = responses[("gemini", "p3", 0)]
    assert blocked.finish_reason == "provider_blocked"
    assert blocked.text is not None and "safety filter" in blocked.text
    # Gemini's second turn carried its own first answer; Claude's system prompt went top-level.
    second = [r for r in gemini.requests if r.last_message == "Again, louder."]
    assert [c["role"] for c in second[0].body["contents"]] == ["user", "model", "user"]
    first_claude = claude.requests_containing("What is 2+2?")[0].body
    assert first_claude["system"] == "You are X."

    # The blocked answer was judged like any other answer, in both orders.
    judged = [j for j in judgments if j.prompt_id == "p3"]
    assert sorted(j.order for j in judged) == ["xy", "yx"] and all(j.score for j in judged)
    comparison = json.loads(outputs.results_json.read_text())["comparisons"][0]
    overall = comparison["overall"]
    assert (overall["n"], overall["wins"], overall["losses"]) == (3, 3, 0)
    report = outputs.report_html.read_text()
    assert "provider_blocked" in report

    manifest = json.loads(outputs.manifest_json.read_text())
    assert manifest["packages"]["anthropic"] and manifest["packages"]["google-genai"]
    identities = json.dumps(manifest)
    assert '"provider": "anthropic"' in identities and '"provider": "google"' in identities
    assert gemini.root_url in identities
    for file in [p for p in outputs.output_dir.rglob("*") if p.is_file()]:
        data = file.read_bytes()
        assert ANTHROPIC_SECRET.encode() not in data, file
        assert GEMINI_SECRET.encode() not in data, file
