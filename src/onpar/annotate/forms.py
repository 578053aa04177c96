"""The rating routes' session check and form reading, without FastAPI's parameter machinery.

Rating is the hot path (every answer is a POST and a page load): FastAPI's dependency and
``Form`` resolution cost more CPU per request than the SQLite work itself, so these routes
take the bare ``Request`` and use the two helpers here. The rules are the same as with
``Depends``/``Form``: a rater session is required, each field has a length limit (422 when
exceeded), unknown fields are ignored, and both urlencoded and multipart bodies are read.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import HTTPException, Request

from onpar.annotate.security import Session, session_for

SESSION_COOKIE = "onpar_session"
#: Rating form fields and their length limits (characters).
RATING_FIELDS: dict[str, int] = {
    "csrf_token": 200,
    "score": 2,
    "skip": 5,
    "unsafe": 5,
    "comment": 5000,
}
_MAX_FIELDS = 20
_URLENCODED = "application/x-www-form-urlencoded"


def rater_of(request: Request) -> Session:
    """The request's rater session: 401 without one, 403 for the admin's."""
    store = request.app.state.annotate.store
    session = session_for(store.db, request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise HTTPException(401, "Please sign in with your personal link.")
    if session.role != "rater":
        raise HTTPException(403, "This page is for raters.")
    return session


async def rating_form(request: Request) -> dict[str, str]:
    """The rating form's fields (missing ones absent), each checked against its limit."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    try:
        if content_type == _URLENCODED:
            text = (await request.body()).decode("utf-8", errors="replace")
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FIELDS)
        else:
            form = await request.form(max_fields=_MAX_FIELDS, max_files=0)
            pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    except ValueError as exc:  # too many fields
        raise HTTPException(422, "This form has too many fields.") from exc
    values: dict[str, str] = {}
    for key, value in pairs:
        limit = RATING_FIELDS.get(key)
        if limit is None:
            continue
        if len(value) > limit:
            raise HTTPException(422, f"{key} is too long (at most {limit} characters).")
        values[key] = value
    return values
