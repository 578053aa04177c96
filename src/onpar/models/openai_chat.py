"""OpenAI-compatible Chat Completions backend with its own retry policy.

Every failure mode (rate limits, overload, hangs, garbage bodies, dropped connections) goes
through one policy that the config controls (`api_common.ApiChatModel`), and a request that
still fails comes back as an error result rather than an exception that would sink a long run.

The wire protocol is small (one JSON POST with a bearer key), so it is spoken over one shared
`aiohttp` session rather than the `openai` SDK: the SDK's httpx pool scans every pooled
connection on each request, which cost ~5 ms of CPU per call at 64 connections and capped a
judge at ~185 requests/s on one core (docs/benchmarks.md, "API judge throughput").
"""

from __future__ import annotations

import json
import random
import urllib.request
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import aiohttp

from onpar.config.schema import OpenAIModelSpec
from onpar.models.api_common import (
    LOCAL_PLACEHOLDER_KEY,
    ApiChatModel,
    Failure,
    Sleep,
    clip,
    malformed,
    resolve_api_key,
    status_failure,
    token_count,
)
from onpar.records import ChatRequest, ChatResult, Message, Usage

__all__ = ["DEFAULT_BASE_URL", "LOCAL_PLACEHOLDER_KEY", "OpenAIChatModel"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIChatModel(ApiChatModel[aiohttp.ClientSession]):
    """Talks to any OpenAI-compatible endpoint; failures become ``ChatResult.error``."""

    provider = "openai"

    def __init__(
        self,
        spec: OpenAIModelSpec,
        *,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
    ) -> None:
        base_url = spec.base_url or DEFAULT_BASE_URL
        api_key = resolve_api_key([spec.api_key_env], base_url)
        super().__init__(spec, base_url, api_key, sleep=sleep, rng=rng)
        self._spec: OpenAIModelSpec = spec

    def render(self, messages: Sequence[Message]) -> str:
        return json.dumps(_wire_messages(messages), indent=2, ensure_ascii=False)

    def _new_client(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._spec.concurrency, ttl_dns_cache=300)
        return aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {self._api_key}"},
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self._spec.timeout_s),
            json_serialize=json.dumps,
            proxy=proxy_for(self._base_url),
        )

    async def _attempt(
        self, client: aiohttp.ClientSession, request: ChatRequest
    ) -> ChatResult | Failure:
        """One HTTP call; every exception is turned into a described failure."""
        url = f"{self._base_url.rstrip('/')}/chat/completions"
        try:
            async with client.post(url, json=self._payload(request)) as response:
                body = (await response.read()).decode("utf-8", errors="replace")
                if response.status >= 400:
                    message = _error_message(body, response.reason)
                    return status_failure(response.status, message, response.headers)
            return _parse_completion(body)
        except TimeoutError:  # aiohttp's timeouts subclass it
            return Failure(f"timed out after {self._spec.timeout_s:g}s", retryable=True)
        except aiohttp.ClientError as exc:  # refused, reset, dropped mid-body
            return Failure(f"connection error: {_connection_text(exc)}", retryable=True)
        except Exception as exc:  # a bug: record it, do not crash the run
            return Failure(f"{type(exc).__name__}: {clip(str(exc))}", retryable=False)

    def _payload(self, request: ChatRequest) -> dict[str, Any]:
        params = request.params
        return {
            "model": self._spec.model,
            "messages": _wire_messages(request.messages),
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_new_tokens,
            "seed": params.seed + request.sample_index,
        }


def _wire_messages(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def _error_message(body: str, reason: str | None) -> str:
    """The server's own message from an OpenAI-shaped error body, else the body or reason."""
    try:
        data: object = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        data = data["error"]
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return clip(data["message"])
    if body.strip():
        return clip(body)
    return clip(reason or "no error message")


def proxy_for(url: str) -> str | None:
    """The HTTP(S)_PROXY that applies to `url` (NO_PROXY honoured), as the SDK's httpx did.

    Resolved once per client: aiohttp's own `trust_env` re-reads the environment on every
    request, which cost ~0.7 ms of CPU per call (docs/benchmarks.md).
    """
    parts = urlparse(url)
    if parts.hostname is None or urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)


def _connection_text(exc: aiohttp.ClientError) -> str:
    return clip(str(exc)) or type(exc).__name__


def _parse_completion(body: str) -> ChatResult | Failure:
    """Read a Chat Completions body ourselves so garbage is retried, not half-trusted."""
    try:
        data = json.loads(body)
    except ValueError:
        return malformed("not JSON", body)
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list):
        return malformed("no 'choices' list", body)
    usage = _usage(data.get("usage"))
    if not choices:
        return ChatResult(error="response has no choices", usage=usage)
    choice = choices[0]
    if not isinstance(choice, dict):
        return malformed("choice is not an object", body)
    finish = choice.get("finish_reason")
    finish = finish if isinstance(finish, str) else None
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        error = f"response has no message content (finish_reason={finish})"
        return ChatResult(error=error, finish_reason=finish, usage=usage)
    return ChatResult(text=content, finish_reason=finish, usage=usage)


def _usage(raw: object) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    return Usage(
        prompt_tokens=token_count(raw.get("prompt_tokens")),
        completion_tokens=token_count(raw.get("completion_tokens")),
    )
