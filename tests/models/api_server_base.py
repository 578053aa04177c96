"""The part of a fake provider server that does not depend on the provider's wire format.

Real HTTP on 127.0.0.1 in a thread, a request log (headers included), and a fault script,
so retry logic is tested over real sockets instead of a patched client. A provider's fake
(``anthropic_server.py``, ``google_server.py``) subclasses ``FakeApiServer`` and supplies
routing, authentication, the success body and the error body in that provider's format.

Scripting::

    server.fail_next(Fault.status(429, retry_after=1), times=2)  # the next 2 requests
    server.fail_when("BOOM", Fault.status(500))                  # every request naming BOOM
    server.fail_when("ONCE", Fault.hang(5), times=1)             # the first one only
    server.fail_next(Fault.reply({...}))                         # a 200 with this exact body

Marker rules are checked (in the order added) before the ``fail_next`` queue.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

FaultKind = Literal["status", "hang", "malformed", "truncated", "disconnect", "reply"]


@dataclass(frozen=True)
class Fault:
    """One way to misbehave; build with the class methods rather than by hand."""

    kind: FaultKind
    status: int = 500
    error_type: str = "api_error"
    message: str = "Internal server error."
    retry_after: float | None = None
    hang_s: float = 30.0
    payload: str = ""  # JSON text of a scripted 200 body ("reply")

    @classmethod
    def status_error(
        cls, status: int, error_type: str = "", message: str = "", retry_after: float | None = None
    ) -> Fault:
        """An HTTP error answered with the provider's own error body."""
        return cls("status", status, error_type, message or f"Scripted {status}.", retry_after)

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Fault:
        """Say nothing for ``seconds`` (cut short when the server stops), then answer."""
        return cls("hang", hang_s=seconds)

    @classmethod
    def malformed(cls) -> Fault:
        """HTTP 200 with a complete response whose body is JSON cut off mid-object."""
        return cls("malformed")

    @classmethod
    def truncated(cls) -> Fault:
        """HTTP 200 announcing a longer body than is sent, then the connection closes."""
        return cls("truncated")

    @classmethod
    def disconnect(cls) -> Fault:
        """Close the connection without sending any response."""
        return cls("disconnect")

    @classmethod
    def reply(cls, body: dict[str, Any]) -> Fault:
        """HTTP 200 with exactly this body (e.g. a safety block)."""
        return cls("reply", payload=json.dumps(body))


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    received_at: float  # time.monotonic()
    fault: Fault | None
    last_message: str


@dataclass
class _MarkerRule:
    marker: str
    fault: Fault
    remaining: int | None  # None: forever


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[RecordedRequest] = field(default_factory=list)
    queue: list[Fault] = field(default_factory=list)
    rules: list[_MarkerRule] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0


class FakeApiServer(ABC):
    """Owns the HTTP server thread, the fault script and the request log."""

    def __init__(self) -> None:
        self._state = _State()
        self._release = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.latency_s: float | Callable[[str], float] = 0.0
        self.require_key: str | None = None
        # When set, maps a request body to the answer text (e.g. a scripted judge); None = echo.
        self.responder: Callable[[dict[str, Any]], str | None] | None = None

    # the provider's wire format ------------------------------------------------------------
    @abstractmethod
    def route_error(self, path: str, body: Any) -> tuple[int, str, str] | None:
        """(status, error type, message) when the path or body is not a valid call."""

    @abstractmethod
    def sent_key(self, headers: dict[str, str]) -> str:
        """The API key the request carried."""

    @abstractmethod
    def last_message(self, body: Any) -> str:
        """The text of the last message, which fault markers are matched against."""

    @abstractmethod
    def answer(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """The successful response body."""

    @abstractmethod
    def error_body(self, status: int, error_type: str, message: str) -> dict[str, Any]:
        """The provider's error body."""

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeApiServer:
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()  # wake hanging handlers
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def root_url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # scripting ---------------------------------------------------------------------------
    def fail_next(self, fault: Fault, times: int = 1) -> None:
        """Answer the next ``times`` requests (not matched by a marker rule) with ``fault``."""
        with self._state.lock:
            self._state.queue.extend([fault] * times)

    def fail_when(self, marker: str, fault: Fault, times: int | None = None) -> None:
        """Answer requests whose last message contains ``marker`` with ``fault``."""
        with self._state.lock:
            self._state.rules.append(_MarkerRule(marker, fault, times))

    def clear_faults(self) -> None:
        with self._state.lock:
            self._state.rules.clear()
            self._state.queue.clear()

    # inspection --------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    def requests_containing(self, marker: str) -> list[RecordedRequest]:
        return [r for r in self.requests if marker in r.last_message]

    @property
    def max_in_flight(self) -> int:
        return self._state.max_in_flight

    # used by the handler -----------------------------------------------------------------
    def _admit(self, path: str, headers: dict[str, str], body: Any) -> RecordedRequest:
        """Pick this request's fault, log it and count it as in flight, atomically."""
        last = self.last_message(body)
        with self._state.lock:
            fault = self._pick_fault(last)
            entry = RecordedRequest("POST", path, headers, body, time.monotonic(), fault, last)
            self._state.requests.append(entry)
            self._state.in_flight += 1
            self._state.max_in_flight = max(self._state.max_in_flight, self._state.in_flight)
            return entry

    def _pick_fault(self, last_message: str) -> Fault | None:
        for rule in self._state.rules:
            if rule.marker in last_message and rule.remaining != 0:
                if rule.remaining is not None:
                    rule.remaining -= 1
                return rule.fault
        return self._state.queue.pop(0) if self._state.queue else None

    def _done(self) -> None:
        with self._state.lock:
            self._state.in_flight -= 1

    def _latency(self, last_message: str) -> float:
        latency = self.latency_s
        return latency(last_message) if callable(latency) else latency


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops bursts of concurrent connects
    fake: FakeApiServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that time out and hang up are expected here; stay quiet about them."""


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers do

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request access log."""

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in self.headers.items()}
        entry = fake._admit(self.path, headers, body)
        try:
            self._serve(fake, entry)
        except OSError:
            pass  # the client gave up on us (timeout): nothing to answer
        finally:
            fake._done()

    def _serve(self, fake: FakeApiServer, entry: RecordedRequest) -> None:
        problem = fake.route_error(entry.path, entry.body)
        if problem is not None:
            return self._error(fake, *problem)
        token = fake.sent_key(entry.headers)
        if fake.require_key is not None and token != fake.require_key:
            # Echo the key like a careless provider would, so clients must redact it.
            return self._error(fake, 401, "authentication_error", f"Invalid API key: {token}")
        fault = entry.fault
        if fault is not None and fault.kind != "hang":
            return self._fault(fake, fault, entry)
        if fault is not None:
            fake._release.wait(fault.hang_s)
        time.sleep(fake._latency(entry.last_message))
        self._json(200, fake.answer(entry.path, entry.body))

    def _fault(self, fake: FakeApiServer, fault: Fault, entry: RecordedRequest) -> None:
        if fault.kind == "status":
            after = fault.retry_after
            extra = {"Retry-After": f"{after:g}"} if after is not None else {}
            return self._error(fake, fault.status, fault.error_type, fault.message, extra)
        if fault.kind == "disconnect":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if fault.kind == "reply":
            return self._send(200, fault.payload.encode())
        whole = json.dumps(fake.answer(entry.path, entry.body)).encode()
        if fault.kind == "malformed":
            return self._send(200, whole[: len(whole) // 2])
        # truncated: promise the whole body, send half, hang up
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(whole)))
        self.end_headers()
        self.wfile.write(whole[: len(whole) // 2])
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        return None

    def _error(
        self,
        fake: FakeApiServer,
        status: int,
        kind: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._json(status, fake.error_body(status, kind, message), headers)

    def _json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers)

    def _send(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def echo_text(user_text: str, system_chars: int, scripted: str | None) -> str:
    """The deterministic answer both fakes give, unless a responder scripts it."""
    return scripted if scripted is not None else f"echo: {user_text} (system: {system_chars} chars)"


def cap_words(text: str, limit: object) -> tuple[str, bool]:
    """``limit`` whitespace-separated words at most; True when the text was cut."""
    words = text.split(" ")
    if isinstance(limit, int) and len(words) > limit:
        return " ".join(words[:limit]), True
    return text, False
