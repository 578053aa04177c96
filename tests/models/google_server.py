"""A fake Gemini API: POST /v1beta/models/{model}:generateContent, ``x-goog-api-key``.

Answers in the REST shape (``candidates``, ``finishReason``, ``usageMetadata``), errors as
``{"error": {"code": ..., "message": ..., "status": ...}}``, and can be scripted to block a
prompt (``prompt_blocked``) or an answer (``answer_blocked``) the way Gemini's filters do.
"""

from __future__ import annotations

import re
from typing import Any

from tests.models.api_server_base import FakeApiServer, Fault, cap_words, echo_text

_PATH = re.compile(r"^/v1beta/models/(?P<model>[^/:]+):generateContent$")
STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def rate_limited(retry_after: float | None = None) -> Fault:
    return Fault.status_error(
        429, "RESOURCE_EXHAUSTED", "Resource has been exhausted.", retry_after
    )


def server_error() -> Fault:
    return Fault.status_error(500, "INTERNAL", "An internal error has occurred.")


def overloaded() -> Fault:
    return Fault.status_error(503, "UNAVAILABLE", "The model is overloaded. Please try later.")


def prompt_blocked(reason: str = "SAFETY") -> Fault:
    """No candidates at all: the prompt itself was refused."""
    return Fault.reply(
        {
            "promptFeedback": {
                "blockReason": reason,
                "safetyRatings": [
                    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}
                ],
            },
            "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
        }
    )


def answer_blocked(reason: str = "SAFETY") -> Fault:
    """A candidate stopped by a filter, with no text."""
    return Fault.reply(
        {
            "candidates": [
                {
                    "finishReason": reason,
                    "index": 0,
                    "safetyRatings": [
                        {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH"}
                    ],
                }
            ],
            "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5},
        }
    )


class FakeGoogleServer(FakeApiServer):
    """Speaks enough of generateContent for the official SDK to treat it as the real thing."""

    @property
    def base_url(self) -> str:
        return self.root_url  # the SDK appends /v1beta/models/...

    def route_error(self, path: str, body: Any) -> tuple[int, str, str] | None:
        if _PATH.match(path) is None:
            return 404, "NOT_FOUND", f"Unknown path {path}"
        if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
            return (
                400,
                "INVALID_ARGUMENT",
                "* GenerateContentRequest.contents: contents is not specified",
            )
        roles = [c.get("role") for c in body["contents"] if isinstance(c, dict)]
        if any(role not in ("user", "model") for role in roles):
            return 400, "INVALID_ARGUMENT", "Please use a valid role: user, model."
        return None

    def sent_key(self, headers: dict[str, str]) -> str:
        return headers.get("x-goog-api-key", "")

    def last_message(self, body: Any) -> str:
        contents = body.get("contents") if isinstance(body, dict) else None
        if not contents or not isinstance(contents[-1], dict):
            return ""
        return _text(contents[-1])

    def answer(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        contents = [c for c in body.get("contents", []) if isinstance(c, dict)]
        users = [_text(c) for c in contents if c.get("role") == "user"]
        system = body.get("systemInstruction")
        system_chars = len(_text(system)) if isinstance(system, dict) else 0
        config = body.get("generationConfig") or {}
        scripted = self.responder(body) if self.responder else None
        text, cut = cap_words(
            echo_text(users[-1] if users else "", system_chars, scripted),
            config.get("maxOutputTokens"),
        )
        prompt_tokens = sum(len(_text(c).split()) for c in contents)
        completion_tokens = len(text.split(" "))
        match = _PATH.match(path)
        return {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": text}]},
                    "finishReason": "MAX_TOKENS" if cut else "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": prompt_tokens,
                "candidatesTokenCount": completion_tokens,
                "totalTokenCount": prompt_tokens + completion_tokens,
            },
            "modelVersion": match.group("model") if match else "fake-gemini",
        }

    def error_body(self, status: int, error_type: str, message: str) -> dict[str, Any]:
        """Google's shape; ``error_type`` is the gRPC status name (the base's generic 401 too)."""
        generic = error_type in ("", "authentication_error")
        kind = STATUSES.get(status, "UNKNOWN") if generic else error_type
        return {"error": {"code": status, "message": message, "status": kind}}


def _text(content: dict[str, Any]) -> str:
    parts = content.get("parts") or []
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
