"""max_cost stops before a batch could cross it (exit 3), keeps the work, and resumes; costs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from onpar.cli import app
from onpar.config import load_config
from onpar.engine import RunSetupError, execute_run
from onpar.store.run_store import RunStore
from tests.engine.test_run_api import judge_prefers_x, write_run
from tests.models.openai_server import FakeOpenAIServer

PRICE = {"input_per_mtok": 1000.0, "output_per_mtok": 2000.0}  # $0.001 / $0.002 per token


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONPAR_TEST_KEY", "sk-test-budget")


def priced_run(tmp_path: Path, server: FakeOpenAIServer, **overrides: Any) -> Path:
    """The API test run with every model priced (loopback models are otherwise free)."""
    path = write_run(tmp_path, server, **overrides)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["prices"] = {name: PRICE for name in ("model-x", "model-y", "judge-model")}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def set_budget(path: Path, max_cost: float) -> None:
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["max_cost"] = max_cost
    path.write_text(yaml.safe_dump(config), encoding="utf-8")


def test_budget_stops_before_judging_then_a_higher_budget_resumes(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    openai_server.responder = judge_prefers_x
    path = priced_run(tmp_path, openai_server)
    # Answers cost ~$0.8 per batch at most (256 output tokens each); the judge batch, 6
    # requests with up to 512 output tokens each, could cost > $6: it must not start.
    set_budget(path, 2.0)
    result = CliRunner().invoke(app, ["run", str(path), "--no-progress"])
    assert result.exit_code == 3, result.output
    assert "budget reached" in result.output and "rerun with a higher max_cost" in result.output
    assert "About 6 requests are left" in result.output
    assert not [r for r in openai_server.requests if r.body["model"] == "judge-model"]
    with RunStore(tmp_path / "out" / "run.sqlite") as store:
        assert len(store.responses()) == 8 and store.judgments() == []
    answered = len(openai_server.requests)

    set_budget(path, 50.0)
    result = CliRunner().invoke(app, ["run", str(path), "--no-progress"])
    assert result.exit_code == 0, result.output
    new = openai_server.requests[answered:]
    assert [r.body["model"] for r in new] == ["judge-model"] * 6  # nothing redone


def test_costs_in_results_match_the_servers_usage(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    openai_server.responder = judge_prefers_x
    path = priced_run(tmp_path, openai_server)
    outputs = execute_run(load_config(path), path, show_progress=False)
    costs = json.loads(outputs.results_json.read_text())["costs"]
    judge = next(m for m in costs["members"] if m["role"] == "judge")
    sent = [r.body for r in openai_server.requests if r.body["model"] == "judge-model"]
    # The fake server counts words: prompt = words of all messages, completion = answer words.
    prompt_words = sum(len(m["content"].split()) for b in sent for m in b["messages"])
    completion_words = 6 * len(["X", "is", "clearer.\nVerdict:", "2"])
    assert (judge["requests"], judge["prompt_tokens"]) == (6, prompt_words)
    assert judge["completion_tokens"] == completion_words
    assert judge["cost_usd"] == pytest.approx((prompt_words * 1000 + completion_words * 2000) / 1e6)
    assert costs["total_usd"] == pytest.approx(sum(m["cost_usd"] for m in costs["members"]))
    html = outputs.report_html.read_text(encoding="utf-8")
    assert 'id="costs"' in html and "judge-model" in html


def test_max_cost_without_a_price_is_refused_before_anything_runs(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    path = write_run(tmp_path, openai_server)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["contestants"][1]["model"]["base_url"] = "https://api.example.invalid/v1"
    config["max_cost"] = 1.0
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(RunSetupError, match="max_cost needs a price for 'y'"):
        execute_run(load_config(path), path, show_progress=False)
    assert openai_server.requests == [] and not (tmp_path / "out").exists()


def test_batches_in_flight_stay_reserved_until_charged() -> None:
    """An executor may check batch 2 before batch 1 is committed: both estimates count."""
    from onpar.config.pricing import Price
    from onpar.config.schema import OpenAIModelSpec
    from onpar.engine.budget import Budget, BudgetReached
    from onpar.records import Message, Usage

    price = Price(input_per_mtok=0.0, output_per_mtok=1_000_000.0)  # $1 per output token
    spec = OpenAIModelSpec(provider="openai", model="m", price=price)
    budget = Budget(limit=10.0, prices={})
    conversation = [[Message(role="user", content="hi")]]
    budget.check(spec, "m", conversation, max_out=4)  # reserves $4
    budget.check(spec, "m", conversation, max_out=4)  # $8 reserved
    with pytest.raises(BudgetReached, match="could cost up to \\$4"):
        budget.check(spec, "m", conversation, max_out=4)  # $12 > $10
    budget.charge(spec, [Usage(completion_tokens=1)])  # batch 1 used $1, not $4
    assert budget.spent == pytest.approx(1.0)
    budget.check(spec, "m", conversation, max_out=4)  # $1 spent + $4 + $4 reserved = $9
    budget.charge(spec, [])  # a batch with nothing sent: no reservation to release
    with pytest.raises(BudgetReached):
        budget.check(spec, "m", conversation, max_out=2)  # $9 + $2 > $10
