"""`onpar annotate serve` as a real process: links printed, SIGKILL loses nothing acknowledged."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from onpar.annotate import human_ratings, safety_ratings
from onpar.annotate.store import AnnotationStore
from tests.annotate.runs import make_run, raters_file
from tests.annotate.server import free_port

LAUNCH = "from onpar.annotate.cli import annotate_app; annotate_app()"


def _start(run_dir: Path, raters: Path, port: int) -> tuple[subprocess.Popen, dict[str, str]]:
    """Start the CLI and read the printed links (rater name -> URL or the 'earlier' note)."""
    command = [sys.executable, "-c", LAUNCH, "serve", str(run_dir), "--raters", str(raters)]
    process = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(4)]  # summary, 2 raters, admin
    links = dict(line.strip().split(": ", 1) for line in lines[1:])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
            return process, links
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("server did not start")


def _login(base: str, link: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=5)
    client.get("/login")
    token = link.split("#token=", 1)[1]
    data = {"token": token, "csrf_token": client.cookies["onpar_login"]}
    assert client.post("/login", data=data).status_code == 303
    page = client.get("/rate/next", follow_redirects=True).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    return client, csrf.group(1)


def test_sigkill_loses_no_acknowledged_rating_and_restart_keeps_sessions(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path / "run")
    raters = raters_file(tmp_path / "raters.yaml", ["ann", "bob"])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process, links = _start(run_dir, raters, port)
    try:
        assert set(links) == {"Rater ann", "Rater bob", "Admin"}
        client, csrf = _login(base, links["Rater ann"])
        target = client.get("/rate/next").headers["location"]
        for _ in range(7):
            response = client.post(
                target,
                data={"csrf_token": csrf, "score": "5"},
                headers={"accept": "application/json"},
            )
            assert response.status_code == 200  # acknowledged
            target = response.json()["next"]
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    store = AnnotationStore(run_dir / "run.sqlite")
    assert len(human_ratings(store.db)) + len(safety_ratings(store.db)) == 7
    store.close()
    process, links = _start(run_dir, raters, port)
    try:
        assert links["Rater ann"].startswith("(issued earlier")  # only hashes were kept
        response = client.post(
            target, data={"csrf_token": csrf, "score": "5"}, headers={"accept": "application/json"}
        )
        assert response.status_code == 200  # the session survived the restart
    finally:
        process.terminate()
        process.wait(timeout=10)
