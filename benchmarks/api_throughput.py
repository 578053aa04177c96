"""Judge-call throughput against a local OpenAI-compatible server that answers after 200 ms.

Starts a minimal Chat Completions server (uvicorn, raw ASGI, `--server-workers` processes,
default one) in a subprocess on 127.0.0.1, then runs onpar's real judging stage
(`engine.judging.judge_pairs`: request building, batching, the `OpenAIChatModel` retry
wrapper, verdict parsing, one SQLite commit per batch) over N/2 prompts × 2 orders = N judge
calls, with the contestants' answers read from files and the cross-run cache off, so every
call goes over HTTP. Prints requests/s against the theoretical concurrency / latency
(64 / 0.2 s = 320/s), the client's CPU per call, and its RSS sampled over the judging
(start, quartiles, end, max) to show memory stays flat.

Needs `pip install 'onpar[perf]'` (uvicorn with uvloop/httptools, psutil).
Run: /tmp/venv/bin/python benchmarks/api_throughput.py [--calls 8000] [--concurrency 64]
     [--latency 0.2] [--server-workers 1]        (the server alone: --serve PORT)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import yaml
from rich.console import Console

ANSWER = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": "judge",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Both are fine.\nVerdict: 4"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 300, "completion_tokens": 6, "total_tokens": 306},
    }
).encode()


LATENCY_ENV = "ONPAR_BENCH_LATENCY_S"  # how the server's worker processes learn the latency


def make_app() -> Any:
    """A Chat Completions endpoint that always says 'Verdict: 4' after the set latency."""
    latency = float(os.environ[LATENCY_ENV])

    async def app(scope: dict, receive: Any, send: Any) -> None:
        more = True
        while more:  # read the whole request body
            message = await receive()
            more = message.get("more_body", False)
        await asyncio.sleep(latency)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(ANSWER))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": ANSWER})

    return app


def serve(port: int, latency: float, workers: int) -> None:
    """uvicorn with `workers` processes sharing the port, so the server is not the bottleneck."""
    import uvicorn

    os.environ[LATENCY_ENV] = repr(latency)
    uvicorn.run(
        "api_throughput:make_app",
        factory=True,
        app_dir=str(Path(__file__).resolve().parent),
        workers=workers,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        loop="auto",  # uvloop and httptools when installed (pip install 'onpar[perf]')
        http="auto",
        backlog=4096,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, latency: float, workers: int) -> subprocess.Popen:
    args = [sys.executable, __file__, "--serve", str(port), "--latency", str(latency)]
    args += ["--server-workers", str(workers)]
    proc = subprocess.Popen(args)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the benchmark server did not start within 30 s")


def write_run(
    root: Path, calls: int, concurrency: int, port: int, batch_size: int | None = None
) -> Path:
    """Prompts, two answers files and a config whose only API calls are the judge's."""
    n_prompts = calls // 2
    with (root / "prompts.jsonl").open("w", encoding="utf-8") as f:
        for i in range(n_prompts):
            prompt = {"id": f"p{i}", "turns": [f"Question {i}: explain topic {i % 97}."]}
            f.write(json.dumps(prompt) + "\n")
    for name in ("x", "y"):
        with (root / f"{name}.jsonl").open("w", encoding="utf-8") as f:
            for i in range(n_prompts):
                text = f"Answer of {name} to question {i}. " + "Some detail. " * (10 + i % 20)
                f.write(json.dumps({"prompt_id": f"p{i}", "text": text}) + "\n")
    judge_model = {
        "provider": "openai",
        "model": "judge",
        "base_url": f"http://127.0.0.1:{port}/v1",
        "concurrency": concurrency,
        "max_retries": 2,
    }
    if batch_size is not None:
        judge_model["batch_size"] = batch_size
    config = {
        "name": "throughput",
        "output_dir": str(root / "out"),
        "contestants": [
            {"name": n, "model": {"provider": "responses", "path": f"{n}.jsonl"}} for n in "xy"
        ],
        "prompts": [{"path": "prompts.jsonl"}],
        "judges": [{"name": "judge", "model": judge_model, "verdict": "text"}],
        "cache": {"enabled": False},
    }
    path = root / "run.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


class RssSampler(threading.Thread):
    """The process's resident memory every `interval` seconds until stopped."""

    def __init__(self, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, int]] = []
        self._interval = interval
        self._stop_event = threading.Event()
        self._process = psutil.Process()
        self.cpu_s = 0.0  # client CPU (user + sys) over the judging, set by judge_stage

    def run(self) -> None:
        start = time.monotonic()
        while not self._stop_event.is_set():
            self.samples.append((time.monotonic() - start, self._process.memory_info().rss))
            self._stop_event.wait(self._interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def judge_stage(config_path: Path) -> tuple[float, int, RssSampler]:
    """Generation (read from files) untimed, then the judging stage timed and RSS-sampled."""
    from onpar.config import load_config
    from onpar.data import load_prompt_sets
    from onpar.engine.context import RunContext, make_progress
    from onpar.engine.generation import generate_responses
    from onpar.engine.judging import judge_pairs
    from onpar.models.registry import ModelPool
    from onpar.store.cache import NullCache
    from onpar.store.run_store import RunStore

    config = load_config(config_path)
    prompts = load_prompt_sets(config.prompts, base_dir=config_path.parent)
    config.output_dir.mkdir(parents=True)
    store = RunStore(config.output_dir / "run.sqlite")
    pool = ModelPool(base_dir=config_path.parent)
    console = Console(stderr=True)
    progress = make_progress(console, enabled=False)
    ctx = RunContext(config, config_path.parent, store, NullCache(), pool, console, progress)
    try:
        generate_responses(ctx, prompts)
        sampler = RssSampler()
        sampler.start()
        started, cpu_started = time.perf_counter(), time.process_time()
        judge_pairs(ctx, prompts)
        seconds = time.perf_counter() - started
        sampler.cpu_s = time.process_time() - cpu_started
        sampler.stop()
        ok = sum(1 for _, j in store.judgments() if j.ok)
    finally:
        pool.close()
        store.close()
    return seconds, ok, sampler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=8000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--batch-size", type=int, default=None, help="judge requests per batch (default 16 × c)"
    )
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--server-workers", type=int, default=1, help="server processes")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.latency, args.server_workers)
        return
    port = free_port()
    server = start_server(port, args.latency, args.server_workers)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            seconds, ok, sampler = judge_stage(
                write_run(Path(tmp), args.calls, args.concurrency, port, args.batch_size)
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
    report(args, seconds, ok, sampler)


def report(args: argparse.Namespace, seconds: float, ok: int, sampler: RssSampler) -> None:
    rate = args.calls / seconds
    ideal = args.concurrency / args.latency
    mib = [rss / 2**20 for _, rss in sampler.samples]
    quarter, middle, three_quarters = (mib[len(mib) * k // 4] for k in (1, 2, 3))
    print(
        f"judge calls: {args.calls} ({ok} ok), concurrency {args.concurrency}, "
        f"server latency {args.latency:g} s"
    )
    print(
        f"time: {seconds:.2f} s  rate: {rate:.1f} req/s  theoretical: {ideal:.0f} req/s  "
        f"ratio: {rate / ideal:.3f}"
    )
    print(
        f"client RSS MiB: start {mib[0]:.1f}  25% {quarter:.1f}  50% {middle:.1f}  "
        f"75% {three_quarters:.1f}  end {mib[-1]:.1f}  "
        f"max {max(mib):.1f}  ({len(mib)} samples)"
    )
    cpu_ms = 1000 * sampler.cpu_s / args.calls
    print(
        f"client CPU: {sampler.cpu_s:.1f} s = {cpu_ms:.2f} ms per call "
        f"(one event loop on one free core: at most {1000 / cpu_ms:.0f} req/s)"
    )
    print(
        f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"cpus: {os.cpu_count()}"
    )


if __name__ == "__main__":
    main()
