"""`--dry-run`: counts and prices what a run would do, calls nothing, writes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from onpar.cli import app
from onpar.config import load_config
from onpar.engine import execute_run
from onpar.engine.plan import RunPlan, plan_run
from tests.engine.test_run_api import judge_prefers_x, write_run
from tests.models.openai_server import FakeOpenAIServer

PRICE = {"input_per_mtok": 1000.0, "output_per_mtok": 2000.0}  # $0.001 / $0.002 per token


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONPAR_TEST_KEY", "sk-test-plan")


def plan(path: Path) -> RunPlan:
    return plan_run(load_config(path), path)


def by_stage(result: RunPlan) -> dict[tuple[str, str], Any]:
    return {(line.stage, line.member): line for line in result.lines}


def edit(path: Path, **changes: Any) -> None:
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config.update(changes)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")


def test_fresh_run_counts_every_request_and_calls_nothing(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    path = write_run(tmp_path, openai_server)
    result = plan(path)
    lines = by_stage(result)
    # 3 prompts, one of them two turns: 4 answers per contestant; 3 prompts x 2 orders judged.
    assert [(k, v.total, v.to_do) for k, v in lines.items()] == [
        (("generate", "x"), 4, 4),
        (("generate", "y"), 4, 4),
        (("judge", "judge"), 6, 6),
    ]
    assert lines[("judge", "judge")].output_tokens == 6 * 512  # max_new_tokens: upper bound
    assert lines[("judge", "judge")].input_tokens > 6 * 100  # instructions + both answers
    assert all(v.price == "local" and v.cost_usd == 0.0 for v in lines.values())  # loopback
    assert result.missing_keys == []
    assert openai_server.requests == []
    assert not (tmp_path / "out").exists()


def test_cli_dry_run_prints_the_plan_and_writes_nothing(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    path = write_run(tmp_path, openai_server)
    result = CliRunner().invoke(app, ["run", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output and "judge" in result.output
    assert openai_server.requests == []
    assert not (tmp_path / "out").exists()
    assert not any(p.name.endswith(".sqlite") for p in tmp_path.rglob("*"))


def test_store_and_priced_cost_are_taken_into_account(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    path = write_run(tmp_path, openai_server, judges=[])
    execute_run(load_config(path), path, show_progress=False)  # answers only
    edit(
        path,
        judges=[
            {
                "name": "judge",
                "model": {
                    "provider": "openai",
                    "model": "judge-model",
                    "base_url": openai_server.base_url,
                    "api_key_env": "ONPAR_TEST_KEY",
                    "price": PRICE,
                },
                "verdict": "text",
            }
        ],
    )
    seen = len(openai_server.requests)
    store = tmp_path / "out" / "run.sqlite"
    before = store.stat().st_mtime_ns
    lines = by_stage(plan(path))
    assert (lines[("generate", "x")].done, lines[("generate", "x")].to_do) == (4, 0)
    judge = lines[("judge", "judge")]
    assert (judge.total, judge.done, judge.to_do, judge.price) == (6, 0, 6, "config")
    expected = (judge.input_tokens * 1000 + judge.output_tokens * 2000) / 1e6
    assert judge.cost_usd == pytest.approx(expected)
    assert len(openai_server.requests) == seen and store.stat().st_mtime_ns == before

    openai_server.responder = judge_prefers_x  # the echo has no verdict: retried, not done
    execute_run(load_config(path), path, show_progress=False)
    done = plan(path)
    assert done.to_do == 0 and done.cost_usd == 0.0


def test_missing_key_and_unknown_price_are_reported(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    (tmp_path / "p.jsonl").write_text('{"id": "a", "turns": ["Hi"]}\n', encoding="utf-8")
    remote = {"provider": "openai", "base_url": "https://api.example.invalid/v1"}
    config = {
        "name": "remote",
        "output_dir": str(tmp_path / "out"),
        "contestants": [
            {"name": "a", "model": {**remote, "model": "gpt-4o-mini"}},
            {"name": "b", "model": {**remote, "model": "some-new-model"}},
        ],
        "prompts": [{"path": "p.jsonl"}],
        "cache": {"enabled": False},
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = plan(path)
    assert result.missing_keys == [
        "a: environment variable OPENAI_API_KEY is not set",
        "b: environment variable OPENAI_API_KEY is not set",
    ]
    lines = by_stage(result)
    assert lines[("generate", "a")].price == "table"
    assert lines[("generate", "a")].cost_usd is not None and lines[("generate", "a")].cost_usd > 0
    assert lines[("generate", "b")].cost_usd is None  # unknown, never a silent 0
    assert result.cost_usd is None
    cli = CliRunner().invoke(app, ["run", str(path), "--dry-run"])
    assert cli.exit_code == 0
    assert "OPENAI_API_KEY is not set" in cli.output and "unknown" in cli.output


def test_cross_run_cache_is_subtracted_in_a_new_output_dir(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    openai_server.responder = judge_prefers_x
    path = write_run(tmp_path, openai_server, cache={"path": str(tmp_path / "cache.sqlite")})
    execute_run(load_config(path), path, show_progress=False)
    edit(path, output_dir=str(tmp_path / "second"))
    lines = by_stage(plan(path))
    assert [(v.total, v.done, v.cached, v.to_do) for v in lines.values()] == [
        (4, 0, 4, 0),
        (4, 0, 4, 0),
        (6, 0, 6, 0),
    ]
    assert lines[("judge", "judge")].input_tokens == 0  # nothing left to send
    assert not (tmp_path / "second").exists()


def test_static_identity_is_the_backends_own(
    openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-identity")  # to build the real backend
    from onpar.config.schema import OpenAIModelSpec
    from onpar.engine.plan import _static_identities
    from onpar.models.openai_chat import OpenAIChatModel

    for base_url in (openai_server.base_url, None):
        spec = OpenAIModelSpec(provider="openai", model="m", base_url=base_url)
        config = load_config_for(spec)
        built = OpenAIChatModel(spec).identity()
        assert _static_identities(config) == {"a": built, "b": built}


def load_config_for(spec: Any) -> Any:
    from onpar.config.schema import RunConfig

    member = {"model": spec.model_dump(), "system_prompt": None}
    return RunConfig.model_validate(
        {
            "name": "ids",
            "output_dir": "/nonexistent",
            "contestants": [{"name": "a", **member}, {"name": "b", **member}],
            "prompts": [{"path": "p.jsonl"}],
        }
    )


def test_bench_dry_run_counts_items_per_contestant_and_subtracts_the_store(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    from tests.engine.test_benchmarks_api import write_run as write_bench_run

    path = write_bench_run(tmp_path, openai_server)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["benchmarks"] = config["benchmarks"][:2]  # mmlu (4 items) and sums (3 items)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    cli = CliRunner().invoke(app, ["bench", str(path), "--dry-run", "--task", "sums"])
    assert cli.exit_code == 0, cli.output
    assert "benchmark sums" in cli.output and "benchmark mmlu" not in cli.output
    result = plan_run(load_config(path), path, benchmarks_only=True)
    assert [(line.stage, line.member, line.total, line.to_do) for line in result.lines] == [
        ("benchmark mmlu", "x", 4, 4),
        ("benchmark mmlu", "y", 4, 4),
        ("benchmark sums", "x", 3, 3),
        ("benchmark sums", "y", 3, 3),
    ]
    assert openai_server.requests == [] and not (tmp_path / "out").exists()
    execute_run(load_config(path), path, show_progress=False, benchmarks_only=True, tasks=["sums"])
    after = by_stage(plan_run(load_config(path), path, benchmarks_only=True))
    assert (after[("benchmark sums", "x")].done, after[("benchmark mmlu", "x")].done) == (3, 0)
