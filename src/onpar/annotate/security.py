"""Login tokens, sessions, CSRF tokens and login rate limiting.

Tokens and session ids are 256-bit random strings; only their SHA-256 is stored, so a copy
of run.sqlite grants no access. (A slow password hash buys nothing for random secrets.)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Literal

Role = Literal["rater", "admin"]
ADMIN_ID = "@admin"  # '@' is not allowed in rater ids, so the admin cannot collide with one
SESSION_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class Session:
    """A logged-in rater (or the admin) and the CSRF token their forms must echo."""

    rater_id: str
    display_name: str
    role: Role
    csrf_token: str


@dataclass(frozen=True)
class RateLimit:
    """At most ``attempts`` failed logins per client within ``window_s`` seconds."""

    attempts: int = 10
    window_s: float = 60.0


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison, so response timing reveals nothing about the token."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def is_rate_limited(db: sqlite3.Connection, client: str, limit: RateLimit) -> bool:
    since = time.time() - limit.window_s
    count = db.execute(
        "SELECT COUNT(*) FROM annotate_login_failures WHERE client = ? AND at > ?",
        (client, since),
    ).fetchone()[0]
    return count >= limit.attempts


def login(db: sqlite3.Connection, token: str, client: str) -> str | None:
    """In a write transaction: a new session id for a valid token, else count a failure."""
    row = db.execute(
        "SELECT rater_id FROM annotate_raters WHERE token_hash = ?", (secret_hash(token),)
    ).fetchone()
    now = time.time()
    db.execute("DELETE FROM annotate_login_failures WHERE at < ?", (now - 24 * 3600,))
    if row is None:
        db.execute("INSERT INTO annotate_login_failures (client, at) VALUES (?, ?)", (client, now))
        return None
    session_id = new_secret()
    db.execute(
        "INSERT INTO annotate_sessions (session_hash, rater_id, csrf_token, expires_at)"
        " VALUES (?,?,?,?)",
        (secret_hash(session_id), row[0], new_secret(), now + SESSION_SECONDS),
    )
    return session_id


def session_for(db: sqlite3.Connection, session_id: str | None) -> Session | None:
    """The live session behind a cookie value, or None."""
    if not session_id:
        return None
    row = db.execute(
        "SELECT s.rater_id, r.display_name, r.role, s.csrf_token FROM annotate_sessions s"
        " JOIN annotate_raters r ON r.rater_id = s.rater_id"
        " WHERE s.session_hash = ? AND s.expires_at > ?",
        (secret_hash(session_id), time.time()),
    ).fetchone()
    return None if row is None else Session(*row)


def logout(db: sqlite3.Connection, session_id: str) -> None:
    """In a write transaction: end one session."""
    db.execute("DELETE FROM annotate_sessions WHERE session_hash = ?", (secret_hash(session_id),))
