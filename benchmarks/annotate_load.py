"""Load test of `onpar annotate`: many simulated raters over loopback, nothing lost.

A synthetic finished run (2 contestants, enough prompts for --ratings at --per-item) is
prepared, the app is served by uvicorn in its own process, and --raters asyncio clients
each sign in through the real login form and then loop: POST a rating (JSON, as the page's
script does), then GET the next item's page, as a browser would. Afterwards the store is
checked: every acknowledged rating is there with its score, none is duplicated, no item has
more than --per-item raters. Prints throughput and p50/p99 latency of the rating POSTs and
of the page loads.

Run: /tmp/venv/bin/python benchmarks/annotate_load.py [--raters 50] [--ratings 5000] [--rate 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import numpy as np

from onpar.annotate import RaterSpec, prepare
from onpar.annotate.store import AnnotationStore
from onpar.records import Message, PromptItem, Response
from onpar.store.run_store import RunStore

CONTESTANTS = ("model-x", "model-y")
SERVER = (
    "import sys, uvicorn; from pathlib import Path;"
    "from onpar.annotate.app import AppSettings, create_app;"
    "app = create_app(AppSettings(run_dir=Path(sys.argv[1]), per_item=int(sys.argv[3])));"
    "uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[2]), log_level='warning',"
    " access_log=False)"
)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_run(run_dir: Path, n_prompts: int) -> None:
    """A finished run with answers of a realistic size (a few paragraphs, one code block)."""
    run_dir.mkdir(parents=True)
    prompts = [PromptItem(id=f"q{i:05d}", turns=(f"Question {i}?",)) for i in range(n_prompts)]
    body = "A paragraph of **answer** text with `code`. " * 12 + "\n\n```python\nprint(1)\n```\n"
    config = {
        "name": "load",
        "output_dir": str(run_dir),
        "contestants": [
            {"name": c, "model": {"provider": "responses", "path": f"{c}.jsonl"}}
            for c in CONTESTANTS
        ],
        "prompts": [{"path": "prompts.jsonl"}],
    }
    responses = [
        (
            f"{c}-{p.id}",
            Response(
                contestant=c,
                prompt_id=p.id,
                turn_index=0,
                messages=(Message(role="user", content=p.turns[0]),),
                text=f"{c} says: {body}",
            ),
        )
        for c in CONTESTANTS
        for p in prompts
    ]
    with RunStore(run_dir / "run.sqlite") as store:
        store.set_meta("config", config)
        store.set_meta("prompts", [p.model_dump(mode="json") for p in prompts])
        store.put_responses(responses)


@dataclass
class Pace:
    """When each rater sends: every `interval` s from its own offset (open loop), or at once.

    Latency is measured from the scheduled send time, so a slow server cannot hide its queue
    by delaying the next request (no coordinated omission).
    """

    interval: float  # 0: closed loop, send as soon as the previous answer arrived
    offset: float
    start_event: asyncio.Event
    start: float = 0.0

    async def ready(self) -> None:
        await self.start_event.wait()

    async def wait_turn(self, n: int) -> float:
        if self.interval == 0:
            return time.perf_counter()
        due = self.start + self.offset + n * self.interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        return due


@dataclass
class Results:
    """What the clients saw: acknowledged ratings and latencies (seconds)."""

    acknowledged: dict[str, tuple[str, int]] = field(default_factory=dict)  # id -> (rater, s)
    post_latency: list[float] = field(default_factory=list)
    page_latency: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Connection:
    """A minimal keep-alive HTTP/1.1 client: httpx costs more CPU than the server under test."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer, self.host = reader, writer, host
        self.cookies: dict[str, str] = {}

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def request(
        self, method: str, path: str, form: dict[str, str] | None = None, json: bool = False
    ) -> tuple[int, dict[str, str], str]:
        body = urlencode(form or {}).encode()
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", f"Content-Length: {len(body)}"]
        head += [f"Cookie: {cookie}"] if cookie else []
        head += ["Content-Type: application/x-www-form-urlencoded"] if form is not None else []
        head += ["Accept: application/json"] if json else []
        self.writer.write("\r\n".join(head).encode() + b"\r\n\r\n" + body)
        status_line, *lines = (await self.reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
        headers: dict[str, str] = {}
        for line in filter(None, lines):
            name, value = line.split(": ", 1)
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
            headers[name.lower()] = value
        text = (await self.reader.readexactly(int(headers["content-length"]))).decode()
        return int(status_line.split()[1]), headers, text

    def close(self) -> None:
        self.writer.close()


async def rater(
    port: int, rater_id: str, token: str, quota: int, pages: bool, pace: Pace, results: Results
) -> None:
    """One simulated rater: sign in, then rate `quota` items on the pace's schedule."""
    client = await Connection.open("127.0.0.1", port)
    await client.request("GET", "/login")
    form = {"token": token, "csrf_token": client.cookies["onpar_login"]}
    await client.request("POST", "/login", form)
    target = (await client.request("GET", "/rate/next"))[1]["location"]
    page = (await client.request("GET", target))[2]
    csrf = CSRF.search(page).group(1)  # type: ignore[union-attr]
    await pace.ready()
    for n in range(quota):
        score = 1 + (hash((rater_id, n)) % 7)
        start = await pace.wait_turn(n)
        status, _, text = await client.request(
            "POST", target, {"csrf_token": csrf, "score": str(score)}, json=True
        )
        results.post_latency.append(time.perf_counter() - start)
        if status != 200:
            results.errors.append(f"{rater_id}: {status} {text}")
            break
        results.acknowledged[target.rsplit("/", 1)[1]] = (rater_id, score)
        target = json.loads(text)["next"]
        if pages and n + 1 < quota:
            start = time.perf_counter()
            await client.request("GET", target)
            results.page_latency.append(time.perf_counter() - start)
    client.close()


def check_store(run_dir: Path, results: Results, per_item: int) -> list[str]:
    """Problems found: lost, altered or duplicated ratings, or over-filled items."""
    store = AnnotationStore(run_dir / "run.sqlite")
    db = store.db
    stored = {
        a: (r, s)
        for a, r, s in db.execute(
            "SELECT a.assignment_id, a.rater_id, r.score FROM annotate_assignments a"
            " JOIN annotate_ratings r USING (assignment_id)"
        )
    }
    history = db.execute("SELECT COUNT(*) FROM annotate_rating_history").fetchone()[0]
    pairs = db.execute(
        "SELECT item_id, rater_id FROM annotate_assignments WHERE status = 'rated'"
    ).fetchall()
    store.close()
    problems = [
        f"lost or altered: {a}" for a, v in results.acknowledged.items() if stored.get(a) != v
    ]
    problems += [
        f"not acknowledged but stored: {a}" for a in set(stored) - set(results.acknowledged)
    ]
    if history != len(results.acknowledged):
        problems.append(f"history has {history} rows for {len(results.acknowledged)} ratings")
    if len(set(pairs)) != len(pairs):
        problems.append("an item was rated twice by one rater")
    if any(n > per_item for n in Counter(item for item, _ in pairs).values()):
        problems.append(f"an item has more than {per_item} raters")
    return problems


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(f"{base}/login", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), to separate cost from load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles_ms(values: list[float]) -> str:
    p50, p99 = np.percentile(np.array(values) * 1000, [50, 99])
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"


async def run_clients(
    port: int, tokens: dict[str, str], total: int, pages: bool, rate: float
) -> tuple[Results, float]:
    """All raters sign in first; then the clock starts and they rate (``rate`` per second)."""
    results = Results()
    quota = math.ceil(total / len(tokens))
    quotas = {r: min(quota, total - i * quota) for i, r in enumerate(tokens)}
    go = asyncio.Event()
    interval = len(tokens) / rate if rate > 0 else 0.0
    paces = [Pace(interval, i * interval / len(tokens), go) for i in range(len(tokens))]
    tasks = [
        asyncio.create_task(rater(port, r, tokens[r], q, pages, pace, results))
        for (r, q), pace in zip(quotas.items(), paces, strict=True)
        if q > 0
    ]
    await asyncio.sleep(2.0)  # sign-in of every rater, outside the measured window
    start = time.perf_counter()
    for pace in paces:
        pace.start = start
    go.set()
    await asyncio.gather(*tasks)
    return results, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", type=int, default=50)
    parser.add_argument("--ratings", type=int, default=5000)
    parser.add_argument("--per-item", type=int, default=3)
    parser.add_argument(
        "--rate",
        type=float,
        default=300.0,
        help="Offered load in ratings/s over all raters (open loop); 0: as fast as possible.",
    )
    parser.add_argument(
        "--no-pages",
        dest="pages",
        action="store_false",
        help="Only POST ratings; by default each rater also loads the next item's page.",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        make_run(run_dir, math.ceil(args.ratings / args.per_item) + args.raters)
        specs = [RaterSpec(id=f"r{i:03d}") for i in range(args.raters)]
        tokens = {link.rater_id: link.token for link in prepare(run_dir, specs).links}
        tokens.pop("@admin")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-c", SERVER, str(run_dir), str(port), str(args.per_item)]
        server = subprocess.Popen(command, env=os.environ.copy())
        try:
            wait_until_up(base, server)
            server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
            results, seconds = asyncio.run(
                run_clients(port, tokens, args.ratings, args.pages, args.rate)
            )  # type: ignore[arg-type]
            server_cpu = cpu_seconds(server.pid) - server_cpu
            client_cpu = time.process_time() - client_cpu
        finally:
            server.terminate()
            server.wait(timeout=30)
        problems = results.errors + check_store(run_dir, results, args.per_item)
    n = len(results.acknowledged)
    offered = f"offered {args.rate:.0f} ratings/s" if args.rate > 0 else "closed loop"
    print(f"{args.raters} raters ({offered}), {n} ratings acknowledged in {seconds:.1f} s")
    print(f"throughput: {n / seconds:.0f} ratings/s")
    print(f"rating POST: {percentiles_ms(results.post_latency)}")
    if results.page_latency:
        print(f"next page GET: {percentiles_ms(results.page_latency)}")
    print(
        f"CPU per rating: server {1000 * server_cpu / n:.1f} ms, "
        f"clients {1000 * client_cpu / n:.1f} ms; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        "store check: "
        + ("OK, zero lost or duplicated" if not problems else "; ".join(problems[:5]))
    )
    sys.exit(1 if problems or n != args.ratings else 0)


if __name__ == "__main__":
    main()
