"""The rating form is read without FastAPI's Form machinery; the same rules must hold."""

from __future__ import annotations

from onpar.annotate.assignments import rated_assignments
from tests.annotate.conftest import PreparedRun, csrf_of, signed_in


def _rated(run: PreparedRun) -> list[tuple[str, int, str]]:
    app = run.app()
    db = app.state.annotate.store.db
    return [(a.rater_id, a.current.score, a.current.comment) for a in rated_assignments(db)]


def test_urlencoded_and_multipart_bodies_are_both_read(run: PreparedRun) -> None:
    client = signed_in(run.app(), run.tokens["ann"])
    csrf = csrf_of(client)
    first = client.get("/rate/next").url.path
    response = client.post(
        first,
        data={"csrf_token": csrf, "score": "2", "comment": "fine", "extra": "ignored"},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    second = response.json()["next"]
    multipart = client.post(
        second,
        files={"csrf_token": (None, csrf), "score": (None, "3"), "comment": (None, "multi")},
        follow_redirects=False,
    )
    assert multipart.status_code == 303, multipart.text
    assert sorted(_rated(run)) == [("ann", 2, "fine"), ("ann", 3, "multi")]


def test_limits_csrf_and_sessions_still_hold(run: PreparedRun) -> None:
    client = signed_in(run.app(), run.tokens["ann"])
    csrf = csrf_of(client)
    target = client.get("/rate/next").url.path
    too_long = {"csrf_token": csrf, "score": "2", "comment": "x" * 5001}
    assert client.post(target, data=too_long).status_code == 422
    assert client.post(target, data={"csrf_token": csrf, "score": "123"}).status_code == 422
    assert client.post(target, data={"csrf_token": "forged", "score": "2"}).status_code == 403
    assert client.post(target, data={"score": "2"}).status_code == 403
    many = {"csrf_token": csrf, "score": "2", **{f"f{i}": "1" for i in range(30)}}
    assert client.post(target, data=many).status_code == 422
    admin = signed_in(run.app(), run.tokens["@admin"])
    assert admin.post(target, data={"csrf_token": csrf, "score": "2"}).status_code == 403
    client.cookies.clear()
    assert client.post(target, data={"csrf_token": csrf, "score": "2"}).status_code == 401
    assert _rated(run) == []  # nothing was saved by any refused request
