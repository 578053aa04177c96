"""The annotation web app: FastAPI routes over the store, pages rendered on the server.

Handlers are async: reads are sub-millisecond SQLite queries on the event loop, writes are
awaited from the group-committing writer; only the admin page (statistics) uses threads.
Every route but /login (and the two assets the login page needs) requires a session; a
rater reaches only their own assignments (others' are 404, as if absent); every POST must
echo the session's CSRF token; answers are rendered as inert HTML under a strict CSP.
The rating routes, the hot path, check session and form through ``forms.py`` instead of
FastAPI's ``Depends``/``Form`` (same rules, less CPU per request; docs/annotate.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from onpar.annotate import assignments as work
from onpar.annotate.admin import StatsCache, admin_view
from onpar.annotate.forms import SESSION_COOKIE, rater_of, rating_form
from onpar.annotate.items import RunContent, load_run_content
from onpar.annotate.pages import rate_page, template_environment
from onpar.annotate.security import (
    SESSION_SECONDS,
    RateLimit,
    Session,
    is_rate_limited,
    login,
    logout,
    new_secret,
    same_secret,
    session_for,
)
from onpar.annotate.slots import SlotClock
from onpar.annotate.store import AnnotationStore
from onpar.store.run_store import RunStore

LOGIN_COOKIE = "onpar_login"
_PUBLIC_ASSETS = frozenset({"app.css", "login.js"})
_ASSETS = {"app.css": "text/css", "login.js": "text/javascript", "rate.js": "text/javascript"}
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


@dataclass(frozen=True)
class AppSettings:
    """How the app runs; the CLI fills it from its options."""

    run_dir: Path
    per_item: int = 3
    slots: SlotClock = field(default_factory=SlotClock)  # --slot-timeout and the clock
    rate_limit: RateLimit = field(default_factory=RateLimit)
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
    secure_cookies: bool = False


@dataclass
class AppState:
    settings: AppSettings
    store: AnnotationStore
    content: RunContent
    templates: Any = field(default_factory=template_environment)
    stats_cache: StatsCache = field(default_factory=StatsCache)

    def html(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        body = self.templates.get_template(name).render(**context)
        return HTMLResponse(body, status_code=status)


class SecurityHeaders:
    """Pure ASGI middleware adding SECURITY_HEADERS to every response (cheaper than http)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + self.headers
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


def create_app(settings: AppSettings) -> FastAPI:
    """The app for one run directory (its run.sqlite must exist)."""
    path = settings.run_dir / "run.sqlite"
    if not path.is_file():
        raise FileNotFoundError(f"{settings.run_dir}: no run.sqlite here")
    with RunStore(path) as run_store:
        content = load_run_content(run_store)
    state = AppState(settings, AnnotationStore(path), content)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.annotate = state
    app.add_middleware(SecurityHeaders)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    app.add_exception_handler(StarletteHTTPException, _error_page)
    _add_login_routes(app)
    _add_rating_routes(app)
    _add_admin_and_assets(app)
    return app


def _state(request: Request) -> AppState:
    return request.app.state.annotate


def _error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return _state(request).html("message.html.j2", exc.status_code, message=exc.detail)


async def current_session(request: Request) -> Session:
    session = session_for(_state(request).store.db, request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise HTTPException(401, "Please sign in with your personal link.")
    return session


async def admin_session(session: Annotated[Session, Depends(current_session)]) -> Session:
    if session.role != "admin":
        raise HTTPException(403, "This page is for the admin.")
    return session


def check_csrf(session: Session, token: str) -> None:
    if not same_secret(token, session.csrf_token):
        raise HTTPException(403, "This form has expired; reload the page and try again.")


def _set_cookie(response: Response, settings: AppSettings, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/",
    )


def _add_login_routes(app: FastAPI) -> None:
    @app.get("/login")
    async def login_page(request: Request) -> Response:
        state = _state(request)
        token = request.cookies.get(LOGIN_COOKIE) or new_secret()
        response = state.html("login.html.j2", csrf_token=token)
        _set_cookie(response, state.settings, LOGIN_COOKIE, token, 3600)
        return response

    @app.post("/login")
    async def login_submit(
        request: Request,
        token: Annotated[str, Form(max_length=200)] = "",
        csrf_token: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        state = _state(request)
        if not same_secret(request.cookies.get(LOGIN_COOKIE), csrf_token):
            raise HTTPException(403, "This sign-in form has expired; open your link again.")
        client = request.client.host if request.client else "unknown"
        if is_rate_limited(state.store.db, client, state.settings.rate_limit):
            raise HTTPException(429, "Too many failed sign-ins; wait a minute and try again.")
        session_id = await state.store.write_async(lambda db: login(db, token.strip(), client))
        if session_id is None:
            raise HTTPException(401, "This link is not valid. Ask for a new one.")
        response = RedirectResponse("/", status_code=303)
        _set_cookie(response, state.settings, SESSION_COOKIE, session_id, SESSION_SECONDS)
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @app.post("/logout")
    async def logout_submit(
        request: Request,
        session: Annotated[Session, Depends(current_session)],
        csrf_token: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        check_csrf(session, csrf_token)
        session_id = request.cookies.get(SESSION_COOKIE, "")
        await _state(request).store.write_async(lambda db: logout(db, session_id))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/")
    async def home(session: Annotated[Session, Depends(current_session)]) -> Response:
        return RedirectResponse("/admin" if session.role == "admin" else "/rate/next", 303)


def _add_rating_routes(app: FastAPI) -> None:
    @app.get("/rate/next")
    async def rate_next(request: Request) -> Response:
        session = rater_of(request)
        state = _state(request)
        rater_id, per_item = session.rater_id, state.settings.per_item
        clock = state.settings.slots
        found = await state.store.write_async(
            lambda db: work.open_or_claim(db, rater_id, per_item, clock)
        )
        if found is None:
            done = work.progress(state.store.db, session.rater_id, state.settings.per_item)
            return state.html("done.html.j2", session=session, progress=done)
        return RedirectResponse(f"/rate/{found}", status_code=303)

    @app.get("/rate/{assignment_id}")
    async def rate_show(request: Request, assignment_id: str) -> Response:
        session = rater_of(request)
        state = _state(request)
        db = state.store.db
        found = work.get_assignment(db, assignment_id, session.rater_id)
        if found is None or found.status == "skipped":
            raise HTTPException(404, "No such item.")
        page = rate_page(
            found,
            state.content,
            work.progress(db, session.rater_id, state.settings.per_item),
            work.previous_assignment(db, session.rater_id, found.seq),
        )
        return state.html("rate.html.j2", page=page, session=session)

    @app.post("/rate/{assignment_id}")
    async def rate_submit(request: Request, assignment_id: str) -> Response:
        session = rater_of(request)
        form = await rating_form(request)
        check_csrf(session, form.get("csrf_token", ""))
        submission = _submission(
            form.get("score", ""),
            form.get("skip") == "1",
            form.get("unsafe", ""),
            form.get("comment", ""),
        )
        state = _state(request)
        try:
            next_id = await state.store.write_async(
                partial(
                    work.record_and_claim,
                    assignment_id=assignment_id,
                    rater_id=session.rater_id,
                    submission=submission,
                    per_item=state.settings.per_item,
                    clock=state.settings.slots,
                )
            )
        except work.AssignmentError as exc:
            status = 404 if str(exc) == "no such assignment" else 409
            raise HTTPException(status, str(exc)) from exc
        target = "/rate/next" if next_id is None else f"/rate/{next_id}"
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"saved": True, "next": target})
        return RedirectResponse(target, status_code=303)


def _submission(score: str, skip: bool, unsafe: str, comment: str) -> work.Submission:
    """Form fields → Submission; 422 for a score that is not a small integer."""
    flagged = unsafe in ("1", "on", "true")
    if skip:
        return work.Submission(None, flagged, comment.strip())
    if not score.isdigit():
        raise HTTPException(422, "Choose one of the options (keys 1 to 7, or 1 to 5).")
    return work.Submission(int(score), flagged, comment.strip())


def _add_admin_and_assets(app: FastAPI) -> None:
    @app.get("/admin")
    def admin_page(
        request: Request, session: Annotated[Session, Depends(admin_session)]
    ) -> Response:
        state = _state(request)
        view = admin_view(
            state.store.db, state.store.raters(), state.settings.per_item, state.stats_cache
        )
        return state.html("admin.html.j2", view=view, session=session)

    @app.get("/static/{name}")
    async def asset(request: Request, name: str) -> Response:
        if name not in _ASSETS:
            raise HTTPException(404, "No such file.")
        if name not in _PUBLIC_ASSETS:
            await current_session(request)
        text = resources.files("onpar.annotate").joinpath("static", name).read_text("utf-8")
        return Response(text, media_type=_ASSETS[name])
