"""A fake OpenAI Chat Completions server: real HTTP on 127.0.0.1, scriptable faults.

It speaks enough of the protocol for the official SDK to treat it as the real thing,
records every request (headers included) and can be told to misbehave the ways real
providers do, so retry logic is tested over real sockets instead of a patched client.

Scripting::

    server.fail_next(Fault.rate_limited(retry_after=1), times=2)  # the next 2 requests
    server.fail_when("BOOM", Fault.server_error())                # every request naming BOOM
    server.fail_when("ONCE", Fault.hang(5), times=1)              # the first one only
    server.latency_s = 0.05   # or a function of the last user message
    server.require_key = "sk-test"  # 401 unless `Authorization: Bearer sk-test`

Marker rules are checked (in the order added) before the ``fail_next`` queue.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

FaultKind = Literal["status", "hang", "malformed", "disconnect", "empty_choices", "no_content"]


@dataclass(frozen=True)
class Fault:
    """One way to misbehave; build with the class methods rather than by hand."""

    kind: FaultKind
    status: int = 500
    error_type: str = "server_error"
    message: str = "The server had an error while processing your request."
    retry_after: float | None = None
    hang_s: float = 30.0

    @classmethod
    def rate_limited(cls, retry_after: float | None = None) -> Fault:
        return cls("status", 429, "rate_limit_exceeded", "Rate limit reached.", retry_after)

    @classmethod
    def server_error(cls) -> Fault:
        return cls("status", 500)

    @classmethod
    def unavailable(cls, retry_after: float | None = None) -> Fault:
        return cls("status", 503, "server_error", "Service unavailable.", retry_after)

    @classmethod
    def overloaded(cls) -> Fault:
        return cls("status", 529, "overloaded_error", "Overloaded.")

    @classmethod
    def http(cls, status: int, message: str = "Scripted error.") -> Fault:
        return cls("status", status, "invalid_request_error", message)

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Fault:
        """Say nothing for ``seconds`` (cut short when the server stops), then answer."""
        return cls("hang", hang_s=seconds)

    @classmethod
    def malformed(cls) -> Fault:
        """HTTP 200 with a truncated JSON body."""
        return cls("malformed")

    @classmethod
    def disconnect(cls) -> Fault:
        """Close the connection without sending any response."""
        return cls("disconnect")

    @classmethod
    def empty_choices(cls) -> Fault:
        return cls("empty_choices")

    @classmethod
    def no_content(cls) -> Fault:
        return cls("no_content")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    received_at: float  # time.monotonic()
    fault: Fault | None

    @property
    def last_message(self) -> str:
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        if not messages or not isinstance(messages[-1], dict):
            return ""
        return str(messages[-1].get("content", ""))


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


class FakeOpenAIServer:
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

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeOpenAIServer:
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

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    # scripting ---------------------------------------------------------------------------
    def fail_next(self, fault: Fault, times: int = 1) -> None:
        """Answer the next ``times`` requests (not matched by a marker rule) with ``fault``."""
        with self._state.lock:
            self._state.queue.extend([fault] * times)

    def fail_when(self, marker: str, fault: Fault, times: int | None = None) -> None:
        """Answer requests whose last message contains ``marker`` with ``fault``."""
        with self._state.lock:
            self._state.rules.append(_MarkerRule(marker, fault, times))

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
    def _admit(self, record: Callable[[Fault | None], RecordedRequest]) -> RecordedRequest:
        """Pick this request's fault, log it and count it as in flight, atomically."""
        with self._state.lock:
            probe = record(None)
            fault = self._pick_fault(probe.last_message)
            entry = record(fault)
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
    fake: FakeOpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that time out and hang up are expected here; stay quiet about them."""


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer

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
        entry = fake._admit(
            lambda fault: RecordedRequest("POST", self.path, headers, body, time.monotonic(), fault)
        )
        try:
            self._serve(fake, entry)
        except OSError:
            pass  # the client gave up on us (timeout): nothing to answer
        finally:
            fake._done()

    def _serve(self, fake: FakeOpenAIServer, entry: RecordedRequest) -> None:
        if entry.path.rstrip("/") != "/v1/chat/completions":
            return self._error(404, "invalid_request_error", f"Unknown path {entry.path}")
        if not isinstance(entry.body, dict) or "messages" not in entry.body:
            return self._error(400, "invalid_request_error", "Body must be JSON with 'messages'.")
        token = entry.headers.get("authorization", "").removeprefix("Bearer ")
        if fake.require_key is not None and token != fake.require_key:
            # Echo the key like a careless provider would, so clients must redact it.
            return self._error(401, "invalid_api_key", f"Incorrect API key provided: {token}")
        fault = entry.fault
        if fault is not None and fault.kind != "hang":
            return self._fault(fault, entry.body)
        if fault is not None:
            fake._release.wait(fault.hang_s)
        time.sleep(fake._latency(entry.last_message))
        self._json(200, completion(entry.body, fake.responder))

    def _fault(self, fault: Fault, body: dict[str, Any]) -> None:
        if fault.kind == "status":
            after = fault.retry_after
            extra = {"Retry-After": f"{after:g}"} if after is not None else {}
            return self._error(fault.status, fault.error_type, fault.message, extra)
        if fault.kind == "disconnect":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if fault.kind == "malformed":
            return self._send(200, b'{"id": "chatcmpl-broken", "choices": [{"index": 0, "mess')
        answer = completion(body)
        if fault.kind == "empty_choices":
            answer["choices"] = []
        else:  # no_content
            answer["choices"][0]["message"]["content"] = None
        return self._json(200, answer)

    def _error(
        self, status: int, kind: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        payload = {"error": {"message": message, "type": kind, "code": kind}}
        self._json(status, payload, headers)

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


def completion(
    body: dict[str, Any], responder: Callable[[dict[str, Any]], str | None] | None = None
) -> dict[str, Any]:
    """The deterministic answer: echo the last user message and the system prompt's length.

    ``max_tokens`` caps the answer in whitespace-separated words (finish_reason "length").
    """
    messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
    users = [str(m.get("content")) for m in messages if m.get("role") == "user"]
    last_user = users[-1] if users else ""
    system_chars = sum(len(str(m.get("content"))) for m in messages if m.get("role") == "system")
    text = f"echo: {last_user} (system: {system_chars} chars)"
    scripted = responder(body) if responder else None
    words = (text if scripted is None else scripted).split(" ")
    limit = body.get("max_tokens")
    finish = "stop"
    if isinstance(limit, int) and len(words) > limit:
        words, finish = words[:limit], "length"
    prompt_tokens = sum(len(str(m.get("content")).split()) for m in messages)
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return {
        "id": f"chatcmpl-{digest[:16]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake-model"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": " ".join(words)},
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(words),
            "total_tokens": prompt_tokens + len(words),
        },
    }
