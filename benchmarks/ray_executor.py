"""`executor: local` vs `executor: ray` (2 workers) on one machine, against a slow fake server.

The fake OpenAI server from the tests answers every request after ``--latency`` seconds;
each backend sends one request at a time (``concurrency: 1``, batches of 4), so the run is
bound by waiting, as a run against remote servers is. Runs the same config locally, then on
a local Ray cluster (started once, timed separately), and checks both stored the same rows.

Run: /tmp/venv/bin/python benchmarks/ray_executor.py [--prompts 24] [--latency 0.1]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.models.openai_server

from tests.models.openai_server import FakeOpenAIServer

from onpar.config import load_config
from onpar.config.executor import ExecutorConfig
from onpar.engine import execute_run
from onpar.engine.executors import RayExecutor

ROWS = "SELECT contestant, prompt_id, turn_index, text FROM responses ORDER BY 1, 2, 3"


def judge(body: dict[str, Any]) -> str | None:
    if body["model"] != "judge-model":
        return None
    return f"Verdict: {1 + len(body['messages'][-1]['content']) % 7}"


def write_config(root: Path, name: str, url: str, n: int, executor: dict | None) -> Path:
    prompts = root / "prompts.jsonl"
    prompts.write_text(
        "\n".join(json.dumps({"id": f"p{i}", "turns": [f"Q{i}?"]}) for i in range(n))
    )
    api = {"provider": "openai", "base_url": url, "concurrency": 1, "timeout_s": 30}
    config: dict[str, Any] = {
        "name": name,
        "output_dir": str(root / name),
        "contestants": [
            {"name": "x", "model": {**api, "model": "model-x"}},
            {"name": "y", "model": {**api, "model": "model-y"}},
        ],
        "prompts": [{"path": str(prompts)}],
        "judges": [{"name": "j", "model": {**api, "model": "judge-model"}, "verdict": "text"}],
        "stats": {"bootstrap_samples": 200},
        "cache": {"enabled": False},
    }
    if executor:
        config["executor"] = executor
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def timed_run(path: Path) -> float:
    started = time.monotonic()
    execute_run(load_config(path), path, show_progress=False)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=24)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    import ray

    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer() as server:
        root = Path(tmp)
        server.latency_s, server.responder = args.latency, judge
        requests = 4 * args.prompts  # 2 contestants + 2 judge orders per prompt
        local = timed_run(write_config(root, "local", server.base_url, args.prompts, None))
        started = time.monotonic()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        init_s = time.monotonic() - started
        started = time.monotonic()
        RayExecutor(ExecutorConfig(kind="ray", num_workers=2)).close()
        actors_s = time.monotonic() - started
        ray_config = {"kind": "ray", "num_workers": 2, "num_cpus_per_worker": 1}
        on_ray = timed_run(write_config(root, "ray", server.base_url, args.prompts, ray_config))
        ray.shutdown()
        same = all(
            sqlite3.connect(root / name / "run.sqlite").execute(ROWS).fetchall()
            == sqlite3.connect(root / "local" / "run.sqlite").execute(ROWS).fetchall()
            for name in ("ray",)
        )
        print(f"{requests} requests, {args.latency * 1000:.0f} ms each, one at a time per backend")
        print(f"  local executor:          {local:6.1f} s")
        print(f"  ray.init (2 CPUs):       {init_s:6.1f} s")
        print(f"  2 Ray actors started:    {actors_s:6.1f} s")
        print(f"  ray executor, 2 workers: {on_ray:6.1f} s (actor start-up included)")
        print(f"  same stored responses:   {same}")


if __name__ == "__main__":
    main()
