"""OpenAI-compatible Chat Completions backend with its own retry policy.

The SDK's retries are turned off so every failure mode (rate limits, overload, hangs,
garbage bodies, dropped connections) goes through one policy that the config controls,
and a request that still fails comes back as an error result rather than an exception
that would sink a long run.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlparse

import openai

from onpar.config.schema import OpenAIModelSpec
from onpar.models.base import LogprobsUnsupportedError
from onpar.records import ChatRequest, ChatResult, Message, Usage

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
LOCAL_PLACEHOLDER_KEY = "not-needed"
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_RETRYABLE_STATUSES = frozenset({408, 409, 429})
_RETRY_AFTER_CEILING_S = 300.0  # a hostile or buggy header must not stall a run for hours
_MAX_DETAIL_CHARS = 300

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


@dataclass(frozen=True)
class _Failure:
    """One failed attempt, described without secrets, and whether trying again may help."""

    description: str
    retryable: bool
    retry_after_s: float | None = None


class OpenAIChatModel:
    """Talks to any OpenAI-compatible endpoint; failures become ``ChatResult.error``.

    ``sleep`` and ``rng`` exist so tests can observe the backoff without waiting for it.
    """

    def __init__(
        self,
        spec: OpenAIModelSpec,
        *,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._spec = spec
        self._base_url = spec.base_url or DEFAULT_BASE_URL
        self._api_key = _resolve_api_key(spec.api_key_env, self._base_url)
        self._sleep: Sleep = sleep or asyncio.sleep
        self._rng = rng or random.Random()

    def __repr__(self) -> str:
        return f"OpenAIChatModel(model={self._spec.model!r}, base_url={self._base_url!r})"

    @property
    def preferred_batch_size(self) -> int:
        return 4 * self._spec.concurrency

    def identity(self) -> dict[str, object]:
        return {"provider": "openai", "model": self._spec.model, "base_url": self._base_url}

    def render(self, messages: Sequence[Message]) -> str:
        return json.dumps(_wire_messages(messages), indent=2, ensure_ascii=False)

    def score_options(
        self, conversations: Sequence[Sequence[Message]], options: Sequence[str]
    ) -> list[list[float]]:
        raise LogprobsUnsupportedError(
            "the OpenAI Chat Completions backend cannot score given continuations"
        )

    def close(self) -> None:
        """Nothing to release: each ``generate`` call opens and closes its own client."""

    def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResult]:
        """Answer all requests concurrently; one result per request, in order, never raising."""
        if not requests:
            return []
        return _run_sync(lambda: self._generate_all(list(requests)))

    async def _generate_all(self, requests: list[ChatRequest]) -> list[ChatResult]:
        # A fresh client per call: an httpx pool cannot outlive the event loop asyncio.run made.
        gate = asyncio.Semaphore(self._spec.concurrency)
        async with self._new_client() as client:
            tasks = [self._answer(client, request, gate) for request in requests]
            return list(await asyncio.gather(*tasks))

    def _new_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key=self._api_key,
            base_url=self._base_url,
            max_retries=0,
            timeout=self._spec.timeout_s,
        )

    async def _answer(
        self, client: openai.AsyncOpenAI, request: ChatRequest, gate: asyncio.Semaphore
    ) -> ChatResult:
        """Retry one request until it succeeds, fails for good, or runs out of retries."""
        attempts = 0
        while True:
            attempts += 1
            async with gate:  # released while backing off, so others may proceed
                outcome = await self._attempt(client, request)
            if isinstance(outcome, ChatResult):
                return outcome
            if not outcome.retryable or attempts > self._spec.max_retries:
                return ChatResult(error=self._redact(_final_error(outcome, attempts)))
            delay = self._backoff_s(attempts, outcome.retry_after_s)
            log.warning(
                "%s: attempt %d failed (%s); retrying in %.2fs",
                self._spec.model,
                attempts,
                self._redact(outcome.description),
                delay,
            )
            await self._sleep(delay)

    async def _attempt(
        self, client: openai.AsyncOpenAI, request: ChatRequest
    ) -> ChatResult | _Failure:
        """One HTTP call; every exception is turned into a described failure."""
        timeout = self._spec.timeout_s
        try:
            call = client.chat.completions.with_raw_response.create(**self._payload(request))
            raw = await asyncio.wait_for(call, timeout=timeout)
            return _parse_completion(raw.text)
        except (TimeoutError, openai.APITimeoutError):
            return _Failure(f"timed out after {timeout:g}s", retryable=True)
        except openai.APIStatusError as exc:
            return _status_failure(exc)
        except openai.APIConnectionError as exc:
            return _Failure(f"connection error: {_cause_text(exc)}", retryable=True)
        except openai.APIResponseValidationError as exc:
            return _Failure(f"malformed response: {_clip(str(exc))}", retryable=True)
        except Exception as exc:  # a bug or an unknown SDK error: record it, do not crash the run
            return _Failure(f"{type(exc).__name__}: {_clip(str(exc))}", retryable=False)

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

    def _backoff_s(self, retry_number: int, retry_after_s: float | None) -> float:
        """Exponential backoff with full jitter, unless the server said how long to wait."""
        if retry_after_s is not None:
            return min(retry_after_s, _RETRY_AFTER_CEILING_S)
        growth = self._spec.backoff_initial_s * 2.0 ** min(retry_number - 1, 62)
        return self._rng.uniform(0.0, min(self._spec.backoff_max_s, growth))

    def _redact(self, text: str) -> str:
        """Belt and braces: servers sometimes echo the key back in their error messages."""
        if self._api_key and self._api_key != LOCAL_PLACEHOLDER_KEY:
            return text.replace(self._api_key, "***")
        return text


def _resolve_api_key(env_name: str, base_url: str) -> str:
    """Read the key from the named variable; local servers may go without one."""
    key = os.environ.get(env_name, "")
    if key:
        return key
    if urlparse(base_url).hostname in _LOCAL_HOSTS:
        return LOCAL_PLACEHOLDER_KEY
    raise ValueError(
        f"environment variable {env_name} is not set; it must hold the API key for {base_url} "
        "(set `api_key_env` in the model config to use another variable)"
    )


def _run_sync(make_coro: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion, also when the caller already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coro())
    with ThreadPoolExecutor(max_workers=1) as pool:  # e.g. inside Jupyter
        return pool.submit(lambda: asyncio.run(make_coro())).result()


def _wire_messages(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def _final_error(failure: _Failure, attempts: int) -> str:
    plural = "s" if attempts != 1 else ""
    if failure.retryable:
        return f"{failure.description} (gave up after {attempts} attempt{plural})"
    return f"{failure.description} ({attempts} attempt{plural}; not retryable)"


def _status_failure(exc: openai.APIStatusError) -> _Failure:
    status = exc.status_code
    retryable = status in _RETRYABLE_STATUSES or status >= 500
    retry_after = _retry_after_s(exc.response.headers) if retryable else None
    return _Failure(f"HTTP {status}: {_error_message(exc)}", retryable, retry_after)


def _error_message(exc: openai.APIStatusError) -> str:
    """The server's own message from an OpenAI-shaped error body, else the SDK's summary."""
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return _clip(body["message"])
    if isinstance(body, str) and body.strip():
        return _clip(body)
    return _clip(exc.message)


def _retry_after_s(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _parse_completion(body: str) -> ChatResult | _Failure:
    """Read a Chat Completions body ourselves so garbage is retried, not half-trusted."""
    try:
        data = json.loads(body)
    except ValueError:
        return _malformed("not JSON", body)
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list):
        return _malformed("no 'choices' list", body)
    usage = _usage(data.get("usage"))
    if not choices:
        return ChatResult(error="response has no choices", usage=usage)
    choice = choices[0]
    if not isinstance(choice, dict):
        return _malformed("choice is not an object", body)
    finish = choice.get("finish_reason")
    finish = finish if isinstance(finish, str) else None
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        error = f"response has no message content (finish_reason={finish})"
        return ChatResult(error=error, finish_reason=finish, usage=usage)
    return ChatResult(text=content, finish_reason=finish, usage=usage)


def _malformed(reason: str, body: str) -> _Failure:
    return _Failure(f"malformed response body ({reason}): {_clip(body, 120)!r}", retryable=True)


def _usage(raw: object) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens")
    return Usage(
        prompt_tokens=prompt if isinstance(prompt, int) and prompt >= 0 else 0,
        completion_tokens=completion if isinstance(completion, int) and completion >= 0 else 0,
    )


def _cause_text(exc: BaseException) -> str:
    """The underlying network error's text, which says more than the SDK's generic wrapper."""
    cause = exc.__cause__ or exc.__context__
    detail = str(cause) if cause is not None and str(cause) else str(exc)
    return _clip(detail)


def _clip(text: str, limit: int = _MAX_DETAIL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
