"""Sessions, ownership, CSRF, rate limits, blindness and inert answers, through HTTP."""

from __future__ import annotations

import re
import sqlite3

import pytest
from fastapi.testclient import TestClient

from tests.annotate.conftest import PreparedRun, csrf_of, signed_in
from tests.annotate.runs import X, Y

ROUTES = [
    ("GET", "/"),
    ("GET", "/rate/next"),
    ("GET", "/rate/{aid}"),
    ("POST", "/rate/{aid}"),
    ("GET", "/admin"),
    ("POST", "/logout"),
    ("GET", "/static/rate.js"),
]


def _probe(client: TestClient, method: str, path: str, csrf: str = "") -> int:
    data = {"csrf_token": csrf, "score": "4"} if method == "POST" else None
    return client.request(method, path, data=data, follow_redirects=False).status_code


def test_every_route_needs_a_session(run: PreparedRun) -> None:
    app = run.app()
    ann = signed_in(app, run.tokens["ann"])
    aid = ann.get("/rate/next").url.path.rsplit("/", 1)[1]
    anonymous = TestClient(app, base_url="http://127.0.0.1")
    for method, path in ROUTES:
        assert _probe(anonymous, method, path.format(aid=aid)) == 401, (method, path)
    assert anonymous.get("/login").status_code == 200
    assert anonymous.get("/static/app.css").status_code == 200


def test_another_raters_session_sees_nothing_of_mine(run: PreparedRun) -> None:
    app = run.app()
    ann = signed_in(app, run.tokens["ann"])
    aid = ann.get("/rate/next").url.path.rsplit("/", 1)[1]
    bob = signed_in(app, run.tokens["bob"])
    bob_csrf = csrf_of(bob)
    assert bob.get(f"/rate/{aid}").status_code == 404
    assert _probe(bob, "POST", f"/rate/{aid}", bob_csrf) == 404
    assert bob.get("/admin").status_code == 403
    admin = signed_in(app, run.tokens["@admin"])
    assert admin.get(f"/rate/{aid}").status_code == 403
    assert admin.get("/rate/next").status_code == 403
    assert admin.get("/admin").status_code == 200
    # ann's own session still works, and ann's page is untouched by bob's attempt
    assert ann.get(f"/rate/{aid}").status_code == 200


def test_posts_need_the_sessions_csrf_token(run: PreparedRun) -> None:
    app = run.app()
    ann = signed_in(app, run.tokens["ann"])
    aid = ann.get("/rate/next").url.path.rsplit("/", 1)[1]
    bob_csrf = csrf_of(signed_in(app, run.tokens["bob"]))
    for token in ("", "wrong", bob_csrf):
        assert _probe(ann, "POST", f"/rate/{aid}", token) == 403
        assert _probe(ann, "POST", "/logout", token) == 403
    assert _probe(ann, "POST", f"/rate/{aid}", csrf_of(ann)) == 303


def test_login_needs_the_forms_own_token(run: PreparedRun) -> None:
    client = TestClient(run.app(), base_url="http://127.0.0.1")
    response = client.post("/login", data={"token": run.tokens["ann"], "csrf_token": "forged"})
    assert response.status_code == 403


def test_failed_logins_are_rate_limited(run: PreparedRun) -> None:
    client = TestClient(run.app(attempts=5), base_url="http://127.0.0.1")
    client.get("/login")
    form = {"csrf_token": client.cookies["onpar_login"]}
    codes = [
        client.post("/login", data={**form, "token": f"guess{i}"}).status_code for i in range(5)
    ]
    assert codes == [401] * 5
    right = client.post("/login", data={**form, "token": run.tokens["ann"]})
    assert right.status_code == 429  # even the right key waits out the window


def test_only_hashes_of_keys_are_stored(run: PreparedRun) -> None:
    app = run.app()
    signed_in(app, run.tokens["ann"])
    dump = "\n".join(sqlite3.connect(run.run_dir / "run.sqlite").iterdump())
    for token in run.tokens.values():
        assert token not in dump


def _walk_pages(client: TestClient) -> list[str]:
    """Every page a rater sees, rating each item in turn (4 on pairs, 5 on safety)."""
    pages = []
    response = client.get("/rate/next")
    csrf = csrf_of(client)
    while "/rate/" in str(response.url) and "rate-form" in response.text:
        pages.append(response.text)
        score = "5" if 'data-max="5"' in response.text else "4"
        response = client.post(str(response.url.path), data={"csrf_token": csrf, "score": score})
    return pages


def test_pages_never_name_the_contestants(run: PreparedRun) -> None:
    client = signed_in(run.app(), run.tokens["ann"])
    pages = _walk_pages(client)
    assert len(pages) == 10
    for page in pages:
        assert X not in page and Y not in page
        assert "alpha" not in page and "beta" not in page
    assert sum('data-max="5"' in p for p in pages) == 4  # the safety page, once per answer
    multi = [p for p in pages if "turn 2" in p and "Model B" in p]
    assert multi and "about the final turn" in multi[0]


def test_hostile_answers_are_escaped_and_links_dropped(run: PreparedRun) -> None:
    client = signed_in(run.app(), run.tokens["ann"])
    [page] = [p for p in _walk_pages(client) if "kept as code" in p]
    answers = page[page.index('<section class="conversation') : page.index("</section>")]
    assert "<script" not in answers
    assert not re.search(r"<img\b", answers)
    assert not re.search(r'href="\s*javascript:', answers, re.IGNORECASE)
    assert "&lt;script&gt;" in answers
    assert '<pre><code class="language-python">' in answers


def test_security_headers_and_host_check(run: PreparedRun) -> None:
    app = run.app()
    client = TestClient(app, base_url="http://127.0.0.1")
    headers = client.get("/login").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert "samesite=strict" in headers["set-cookie"].lower()
    assert "httponly" in headers["set-cookie"].lower()
    rebound = TestClient(app, base_url="http://attacker.example")
    assert rebound.get("/login").status_code == 400


@pytest.mark.parametrize("score", ["0", "8", "x", ""])
def test_bad_scores_are_refused(run: PreparedRun, score: str) -> None:
    client = signed_in(run.app(), run.tokens["ann"])
    response = client.get("/rate/next")
    aid = response.url.path
    status = client.post(aid, data={"csrf_token": csrf_of(client), "score": score}).status_code
    assert status in (409, 422)
