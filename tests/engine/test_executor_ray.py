"""`executor: ray` on a real local Ray cluster of 2 workers, against the fake OpenAI server.

The cluster is started once for the module (2 CPUs, no dashboard). Each run's workers call
the fake server over 127.0.0.1 from their own processes; the driver commits. A Ray run must
store exactly what a local run stores, and a SIGKILLed Ray run must resume to the same result.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from onpar.config import load_config
from onpar.config.executor import ExecutorConfig
from onpar.config.schema import OpenAIModelSpec
from onpar.engine import execute_run
from onpar.engine import run as run_module
from onpar.engine.budget import BudgetReached
from onpar.engine.costs import run_costs
from onpar.engine.executors import ExecutorError, RayExecutor, make_executor, share_rate_limits
from onpar.models.base import ChatModel
from onpar.records import ChatRequest, GenerationParams, Message
from onpar.store.run_store import RunStore
from tests.engine.test_run_local import JUDGMENTS, RESPONSES, table, wait_for_rows
from tests.models.openai_server import FakeOpenAIServer

ray = pytest.importorskip("ray")

PROMPTS = [
    {"id": f"p{i}", "turns": [f"Question {i}: name {'a fruit' if i % 2 else 'a colour'}."]}
    for i in range(6)
] + [
    {"id": "m1", "turns": ["Write a title.", "Shorter."]},
    {"id": "m2", "turns": ["Pick a number.", "Double it."]},
]


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """One local cluster for the module: 2 CPUs, so 2 workers of 1 CPU each."""
    started = time.monotonic()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    print(f"\nray.init took {time.monotonic() - started:.1f} s")
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def judge_by_length(body: dict[str, Any]) -> str | None:
    """A deterministic scripted judge: the verdict follows the judge prompt's length."""
    if body["model"] != "judge-model":
        return None  # contestants get the server's echo
    return f"Verdict: {1 + len(body['messages'][-1]['content']) % 7}"


def write_config(
    tmp_path: Path, name: str, server: FakeOpenAIServer, executor: dict[str, Any] | None
) -> Path:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("\n".join(json.dumps(p) for p in PROMPTS), encoding="utf-8")
    api = {
        "provider": "openai",
        "base_url": server.base_url,
        "concurrency": 1,
        "batch_size": 4,
        "max_retries": 1,
        "timeout_s": 10,
    }
    config: dict[str, Any] = {
        "name": name,
        "output_dir": str(tmp_path / name),
        "contestants": [
            {"name": "x", "model": {**api, "model": "model-x"}, "system_prompt": "Be brief."},
            {"name": "y", "model": {**api, "model": "model-y"}},
        ],
        "prompts": [{"path": str(prompts)}],
        "judges": [{"name": "judge", "model": {**api, "model": "judge-model"}, "verdict": "text"}],
        "stats": {"bootstrap_samples": 200},
        "cache": {"enabled": False},
    }
    if executor is not None:
        config["executor"] = executor
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


RAY_2_WORKERS = {"kind": "ray", "num_workers": 2, "num_cpus_per_worker": 1}


def run(path: Path) -> Any:
    return execute_run(load_config(path), path, show_progress=False)


def sent(server: FakeOpenAIServer, since: int = 0) -> list[str]:
    """Every request the server received, as sorted JSON (model + messages)."""
    bodies = [r.body for r in server.requests[since:]]
    return sorted(json.dumps([b["model"], b["messages"]], sort_keys=True) for b in bodies)


def comparisons(out: Path) -> Any:
    return json.loads((out / "results.json").read_text())["comparisons"]


def test_ray_run_stores_what_a_local_run_stores_and_uses_both_workers(
    tmp_path: Path,
    openai_server: FakeOpenAIServer,
    ray_cluster: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    openai_server.responder = judge_by_length
    run(write_config(tmp_path, "local", openai_server, None))
    local_requests = sent(openai_server)
    made: list[Any] = []

    def keep(*args: Any) -> Any:  # the real factory; the test only keeps the executor it made
        made.append(make_executor(*args))
        return made[-1]

    monkeypatch.setattr(run_module, "make_executor", keep)
    before = len(openai_server.requests)
    started = time.monotonic()
    run(write_config(tmp_path, "ray", openai_server, RAY_2_WORKERS))
    print(f"\nray run (2 workers, {len(PROMPTS)} prompts): {time.monotonic() - started:.1f} s")

    for query in (RESPONSES, JUDGMENTS):
        assert table(tmp_path / "ray" / "run.sqlite", query) == table(
            tmp_path / "local" / "run.sqlite", query
        )
    assert comparisons(tmp_path / "ray") == comparisons(tmp_path / "local")
    assert comparisons(tmp_path / "ray")[0]["overall"]["n"] == len(PROMPTS)
    assert sent(openai_server, before) == local_requests  # each request once, none from here
    executor = made[0]
    assert isinstance(executor, RayExecutor)
    pids = executor.worker_pids
    assert len(set(pids)) == 2 and os.getpid() not in pids
    # 2 contestants × (2 batches of turn 0 + 1 of turn 1) + 16 judgments in 4 batches = 10
    assert set(executor.batches_by_pid) == set(pids)
    assert sum(executor.batches_by_pid.values()) == 10
    assert min(executor.batches_by_pid.values()) >= 3, executor.batches_by_pid


def test_sigkilled_ray_run_resumes_to_the_same_result(
    tmp_path: Path, openai_server: FakeOpenAIServer, ray_cluster: str, onpar_env: dict[str, str]
) -> None:
    openai_server.responder = judge_by_length
    run(write_config(tmp_path, "reference", openai_server, None))
    openai_server.latency_s = 0.3  # slow enough to kill the driver between batches
    # The killed driver joins the module's cluster, as `address: auto` joins `ray start --head`.
    config = write_config(
        tmp_path, "killed", openai_server, {**RAY_2_WORKERS, "address": ray_cluster}
    )
    t0 = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "onpar", "run", str(config), "--no-progress"],
        env=onpar_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = tmp_path / "killed" / "run.sqlite"
    wait_for_rows(store, "SELECT count(*) FROM responses", 4, process)
    print(f"\nkilled after {time.monotonic() - t0:.1f} s")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    partial = table(store, "SELECT count(*) FROM responses")[0][0]
    assert 4 <= partial < 16 + 4, "the kill came too late to interrupt generation"
    assert table(store, "SELECT count(*) FROM judgments")[0][0] == 0

    openai_server.latency_s = 0.0
    before = len(openai_server.requests)
    t1 = time.monotonic()
    run(config)  # the same config: joins the cluster again, and resumes
    print(f"resumed in {time.monotonic() - t1:.1f} s")
    assert table(store, RESPONSES) == table(tmp_path / "reference" / "run.sqlite", RESPONSES)
    assert table(store, JUDGMENTS) == table(tmp_path / "reference" / "run.sqlite", JUDGMENTS)
    assert comparisons(tmp_path / "killed") == comparisons(tmp_path / "reference")
    contestant_calls = [
        r for r in openai_server.requests[before:] if r.body["model"] != "judge-model"
    ]
    assert len(contestant_calls) == 20 - partial  # only what was not committed is asked again


def echo_texts(model: ChatModel, requests: list[ChatRequest]) -> list[str | None]:
    """A batch function for the unit tests below (module level, so Ray can ship it)."""
    return [r.text for r in model.generate(requests)]


def _request(text: str) -> ChatRequest:
    return ChatRequest(messages=(Message(role="user", content=text),), params=GenerationParams())


@pytest.fixture(scope="module")
def small_executor(ray_cluster: str) -> Iterator[RayExecutor]:
    """2 workers asking for no CPU, so they leave the cluster's 2 CPUs to the runs above."""
    executor = RayExecutor(
        ExecutorConfig(kind="ray", num_workers=2, num_cpus_per_worker=0, max_in_flight=3)
    )
    try:
        yield executor
    finally:
        executor.close()


def fail_batch(model: ChatModel, requests: list[ChatRequest]) -> list[str]:
    raise ValueError("scripted failure on the worker")


def test_results_come_back_in_order_and_a_refused_batch_first_drains_the_sent_ones(
    openai_server: FakeOpenAIServer, small_executor: RayExecutor
) -> None:
    spec = OpenAIModelSpec(provider="openai", model="m", base_url=openai_server.base_url)
    seen: list[int] = []

    def jobs() -> Iterator[tuple[int, list[ChatRequest]]]:
        for i in range(5):
            if i == 4:
                raise RuntimeError("budget reached")  # as BudgetReached would, mid-stream
            seen.append(i)
            yield i, [] if i == 2 else [_request(f"q{i}a"), _request(f"q{i}b")]

    got: list[tuple[int, list[str | None]]] = []
    with pytest.raises(RuntimeError, match="budget reached"):
        for item in small_executor.map(spec, echo_texts, jobs()):
            got.append(item)
    assert seen == [0, 1, 2, 3]
    assert [i for i, _ in got] == [0, 1, 2, 3]  # every batch sent before the refusal
    assert got[2] == (2, [])  # an empty batch is not sent
    assert got[3] == (3, ["echo: q3a (system: 0 chars)", "echo: q3b (system: 0 chars)"])
    assert len(openai_server.requests) == 6


def test_a_failing_batch_is_an_error_that_names_the_model(
    openai_server: FakeOpenAIServer, small_executor: RayExecutor
) -> None:
    spec = OpenAIModelSpec(provider="openai", model="m", base_url=openai_server.base_url)
    with pytest.raises(ExecutorError, match=r"openai:m: ValueError: scripted failure on the "):
        list(small_executor.map(spec, fail_batch, [(0, [_request("q")])]))


def test_missing_ray_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    with pytest.raises(ExecutorError, match=r"pip install 'onpar\[ray\]'"):
        RayExecutor(ExecutorConfig(kind="ray"))


def test_per_minute_limits_are_split_between_workers() -> None:
    spec = OpenAIModelSpec(
        provider="openai", model="m", requests_per_minute=600, tokens_per_minute=90_000
    )
    shared = share_rate_limits(spec, 3)
    assert (shared.requests_per_minute, shared.tokens_per_minute) == (200, 30_000)
    assert share_rate_limits(spec, 1) is spec
    unlimited = OpenAIModelSpec(provider="openai", model="m")
    assert share_rate_limits(unlimited, 3) is unlimited


def test_budget_with_batches_in_flight_stops_in_time_and_resumes(
    tmp_path: Path, openai_server: FakeOpenAIServer, ray_cluster: str
) -> None:
    """Batches sent ahead keep their cost estimate reserved; what was sent is kept; resumable."""
    openai_server.responder = judge_by_length
    priced = {"input_per_mtok": 1000.0, "output_per_mtok": 1000.0}  # $0.001 per token
    path = write_config(tmp_path, "budget", openai_server, RAY_2_WORKERS)
    config = yaml.safe_load(path.read_text())
    for member in (*config["contestants"], *config["judges"]):
        member["model"]["price"] = priced
        member["generation"] = {"max_new_tokens": 100}
    reference = tmp_path / "reference.yaml"  # the same run, locally and without a budget
    unlimited = {k: v for k, v in config.items() if k != "executor"}
    reference.write_text(yaml.safe_dump({**unlimited, "output_dir": str(tmp_path / "reference")}))
    run(reference)
    # x's two first-turn batches are estimated at $0.458 and $0.464 (upper bounds; each really
    # costs ≈ $0.06). Both are formed before either is charged: the first's estimate stays
    # reserved, so the second (0.458 + 0.464 > 0.7) is refused, and the first is still kept.
    # Locally the same budget lets generation finish (each check sees the real spend).
    config["max_cost"] = 0.7
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(BudgetReached):
        run(path)
    store = tmp_path / "budget" / "run.sqlite"
    with RunStore(store) as opened:
        responses = [r for _, r in opened.responses()]
        judgments = [j for _, j in opened.judgments()]
    assert [r.contestant for r in responses] == ["x"] * 4 and judgments == []
    costs = run_costs(load_config(path), responses, judgments)
    assert 0 < sum(m.cost_usd or 0.0 for m in costs.members) <= 0.7

    config["max_cost"] = 100.0  # a higher budget resumes the run
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    run(path)
    assert table(store, RESPONSES) == table(tmp_path / "reference" / "run.sqlite", RESPONSES)
    assert table(store, JUDGMENTS) == table(tmp_path / "reference" / "run.sqlite", JUDGMENTS)
