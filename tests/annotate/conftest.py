"""Fixtures: a prepared run (items, raters, keys) and a TestClient per rater."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from onpar.annotate import AppSettings, RaterSpec, create_app, prepare
from onpar.annotate.security import RateLimit
from onpar.records import PromptItem
from tests.annotate.runs import make_run

RATERS = ["ann", "bob", "cat", "dan"]


@dataclass
class PreparedRun:
    run_dir: Path
    tokens: dict[str, str]  # rater id (and '@admin') -> login key

    def app(self, per_item: int = 3, attempts: int = 10):
        settings = AppSettings(
            run_dir=self.run_dir, per_item=per_item, rate_limit=RateLimit(attempts=attempts)
        )
        return create_app(settings)


def prepared_run(
    run_dir: Path, raters: list[str] = RATERS, prompts: list[PromptItem] | None = None
) -> PreparedRun:
    make_run(run_dir, prompts)
    result = prepare(run_dir, [RaterSpec(id=r) for r in raters])
    return PreparedRun(run_dir, {link.rater_id: link.token for link in result.links})


@pytest.fixture
def run(tmp_path: Path) -> PreparedRun:
    return prepared_run(tmp_path / "run")


def signed_in(app, token: str) -> TestClient:
    """A client holding a session for ``token`` (through the real login form)."""
    client = TestClient(app, base_url="http://127.0.0.1")
    client.get("/login")
    response = client.post(
        "/login",
        data={"token": token, "csrf_token": client.cookies["onpar_login"]},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def csrf_of(client: TestClient) -> str:
    """The session's CSRF token, read from a page the way the browser gets it."""
    page = client.get("/rate/next").text
    if "csrf_token" not in page:
        page = client.get("/admin").text
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]
