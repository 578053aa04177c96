"""A fake Anthropic Messages API: POST /v1/messages, ``x-api-key``, Anthropic's error bodies.

Like the real API it requires ``anthropic-version`` and ``max_tokens``, takes the system
prompt as the top-level ``system`` field, rejects roles that do not alternate, and answers
errors as ``{"type": "error", "error": {"type": ..., "message": ...}}`` (529 for overload).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

from tests.models.api_server_base import FakeApiServer, Fault, cap_words, echo_text

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def overloaded() -> Fault:
    return Fault.status_error(529, "overloaded_error", "Overloaded")


def rate_limited(retry_after: float | None = None) -> Fault:
    return Fault.status_error(429, "rate_limit_error", "Rate limited.", retry_after)


def server_error() -> Fault:
    return Fault.status_error(500, "api_error", "Internal server error")


class FakeAnthropicServer(FakeApiServer):
    """Speaks enough of the Messages API for the official SDK to treat it as the real thing."""

    @property
    def base_url(self) -> str:
        return self.root_url  # the SDK appends /v1/messages

    def route_error(self, path: str, body: Any) -> tuple[int, str, str] | None:
        if path.rstrip("/") != "/v1/messages":
            return 404, "not_found_error", f"Unknown path {path}"
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return 400, "invalid_request_error", "messages: Field required"
        if not isinstance(body.get("max_tokens"), int):
            return 400, "invalid_request_error", "max_tokens: Field required"
        roles = [m.get("role") for m in body["messages"] if isinstance(m, dict)]
        if any(role not in ("user", "assistant") for role in roles):
            return 400, "invalid_request_error", "messages: roles must be user or assistant"
        if any(a == b for a, b in itertools.pairwise(roles)):
            return 400, "invalid_request_error", "messages: roles must alternate"
        return None

    def sent_key(self, headers: dict[str, str]) -> str:
        """``x-api-key`` (the documented header) or a Bearer token (what SDK 2.x sends)."""
        return headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")

    def last_message(self, body: Any) -> str:
        messages = body.get("messages") if isinstance(body, dict) else None
        if not messages or not isinstance(messages[-1], dict):
            return ""
        return str(messages[-1].get("content", ""))

    def answer(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
        users = [str(m.get("content")) for m in messages if m.get("role") == "user"]
        system = body.get("system")
        system_chars = len(system) if isinstance(system, str) else 0
        scripted = self.responder(body) if self.responder else None
        text, cut = cap_words(
            echo_text(users[-1] if users else "", system_chars, scripted), body["max_tokens"]
        )
        words_in = sum(len(str(m.get("content")).split()) for m in messages)
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        return {
            "id": f"msg_{digest[:24]}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "fake-claude"),
            "content": [{"type": "text", "text": text}],
            "stop_reason": "max_tokens" if cut else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": words_in, "output_tokens": len(text.split(" "))},
        }

    def error_body(self, status: int, error_type: str, message: str) -> dict[str, Any]:
        kind = error_type or ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
