"""What every hosted-API backend shares: concurrency, retries, backoff, secrets, error text.

Each provider's SDK has its own retry loop, timeout semantics and error classes. They are all
switched off or caught, so one policy that the config controls decides what is retried and
for how long, and a request that still fails comes back as ``ChatResult.error`` instead of an
exception that would sink a long run. A backend subclasses ``ApiChatModel`` and supplies only
the client and one HTTP attempt; ``_attempt_once`` is the single place to wrap (rate limits).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import os
import random
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlparse

from onpar.models.base import LogprobsUnsupportedError
from onpar.models.rate_limits import limiter_for, request_estimate, used_tokens
from onpar.records import ChatRequest, ChatResult, Message

log = logging.getLogger(__name__)

LOCAL_PLACEHOLDER_KEY = "not-needed"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
RETRYABLE_STATUSES = frozenset({408, 409, 429})
RETRY_AFTER_CEILING_S = 300.0  # a hostile or buggy header must not stall a run for hours
MAX_DETAIL_CHARS = 300

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")
ClientT = TypeVar("ClientT")


@dataclass(frozen=True)
class Failure:
    """One failed attempt, described without secrets, and whether trying again may help."""

    description: str
    retryable: bool
    retry_after_s: float | None = None


class ApiSpec(Protocol):
    """The config fields the shared retry loop reads (every API spec has them)."""

    @property
    def model(self) -> str: ...
    @property
    def concurrency(self) -> int: ...
    @property
    def max_retries(self) -> int: ...
    @property
    def timeout_s(self) -> float: ...
    @property
    def backoff_initial_s(self) -> float: ...
    @property
    def backoff_max_s(self) -> float: ...


class ApiChatModel(ABC, Generic[ClientT]):
    """A ``ChatModel`` over a hosted API; subclasses give the client and one attempt.

    ``sleep`` and ``rng`` exist so tests can observe the backoff without waiting for it.
    """

    provider: str = ""

    def __init__(
        self,
        spec: ApiSpec,
        base_url: str,
        api_key: str,
        *,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._spec = spec
        self._base_url = base_url
        self._api_key = api_key
        self._sleep: Sleep = sleep or asyncio.sleep
        self._rng = rng or random.Random()
        self._runner: LoopRunner | None = None  # started by the first ``generate``
        self._runner_lock = threading.Lock()
        self._client: ClientT | None = None
        self._client_stack = AsyncExitStack()
        # One gate per model, not per batch: batches that overlap (engine/executors.py) still
        # keep at most `concurrency` requests in flight between them.
        self._gate: asyncio.Semaphore | None = None

    #: Batches the local executor may have in flight at once: the next batch's requests take
    #: the slots the current one frees, so no slot idles while a batch is committed.
    concurrent_batches: int = 2

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self._spec.model!r}, base_url={self._base_url!r})"

    @property
    def preferred_batch_size(self) -> int:
        """Big batches: each one ends with a commit during which no request is in flight."""
        return self._spec.batch_size or 16 * self._spec.concurrency

    def identity(self) -> dict[str, object]:
        """Provider, model and endpoint: what fixes the outputs. Never the key."""
        return {"provider": self.provider, "model": self._spec.model, "base_url": self._base_url}

    def score_options(
        self, conversations: Sequence[Sequence[Message]], options: Sequence[str]
    ) -> list[list[float]]:
        raise LogprobsUnsupportedError(
            f"the {self.provider} backend cannot score given continuations"
        )

    def close(self) -> None:
        """Close the HTTP client and stop this model's event loop (a later call starts anew)."""
        with self._runner_lock:
            runner, self._runner = self._runner, None
        if runner is not None:
            try:
                runner.run(self._client_stack.aclose())
            finally:
                runner.close()
        self._client = None

    def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResult]:
        """Answer all requests concurrently; one result per request, in order, never raising."""
        if not requests:
            return []
        with self._runner_lock:  # two threads' first calls must not start two loops
            if self._runner is None:
                self._runner = LoopRunner()
            runner = self._runner
        return runner.run(self._generate_all(list(requests)))

    # what a provider supplies -------------------------------------------------------------
    @abstractmethod
    def _new_client(self) -> AbstractAsyncContextManager[ClientT]:
        """A client bound to the model's event loop, closed by ``close``."""

    @abstractmethod
    async def _attempt(self, client: ClientT, request: ChatRequest) -> ChatResult | Failure:
        """One HTTP call; every exception must come back as a described ``Failure``."""

    # the shared request path --------------------------------------------------------------
    async def _generate_all(self, requests: list[ChatRequest]) -> list[ChatResult]:
        # One client for the model's life, on its own loop: connections are reused across
        # batches instead of reopened (and a TLS context rebuilt) for every batch.
        if self._client is None:
            self._client = await self._client_stack.enter_async_context(self._new_client())
        if self._gate is None:
            self._gate = asyncio.Semaphore(self._spec.concurrency)
        tasks = [self._answer(self._client, request, self._gate) for request in requests]
        return list(await asyncio.gather(*tasks))

    async def _answer(
        self, client: ClientT, request: ChatRequest, gate: asyncio.Semaphore
    ) -> ChatResult:
        """Retry one request until it succeeds, fails for good, or runs out of retries."""
        attempts = 0
        while True:
            attempts += 1
            async with gate:  # released while backing off, so others may proceed
                outcome = await self._attempt_once(client, request)
            if isinstance(outcome, ChatResult):
                if outcome.error is None:
                    return outcome
                return outcome.model_copy(update={"error": self._redact(outcome.error)})
            if not outcome.retryable or attempts > self._spec.max_retries:
                return ChatResult(error=self._redact(final_error(outcome, attempts)))
            delay = self._backoff_s(attempts, outcome.retry_after_s)
            log.warning(
                "%s: attempt %d failed (%s); retrying in %.2fs",
                self._spec.model,
                attempts,
                self._redact(outcome.description),
                delay,
            )
            await self._sleep(delay)

    async def _attempt_once(self, client: ClientT, request: ChatRequest) -> ChatResult | Failure:
        """The one call per attempt; wrap here to add a rate limiter or metering."""
        limiter = limiter_for(self._spec, self._base_url)  # requests/tokens per minute
        if limiter is None:
            return await self._attempt(client, request)
        estimate = request_estimate(request)
        await limiter.acquire(estimate)
        outcome = await self._attempt(client, request)
        limiter.settle(estimate, used_tokens(outcome))
        return outcome

    def _backoff_s(self, retry_number: int, retry_after_s: float | None) -> float:
        """Exponential backoff with full jitter, unless the server said how long to wait."""
        if retry_after_s is not None:
            return min(retry_after_s, RETRY_AFTER_CEILING_S)
        growth = self._spec.backoff_initial_s * 2.0 ** min(retry_number - 1, 62)
        return self._rng.uniform(0.0, min(self._spec.backoff_max_s, growth))

    def _redact(self, text: str | None) -> str | None:
        return redact(text, self._api_key)


def resolve_api_key(env_names: Iterable[str], base_url: str) -> str:
    """The key from the first set variable; local servers may go without one."""
    names = list(env_names)
    for name in names:
        key = os.environ.get(name, "")
        if key:
            return key
    if urlparse(base_url).hostname in LOCAL_HOSTS:
        return LOCAL_PLACEHOLDER_KEY
    shown = " or ".join(names)
    raise ValueError(
        f"environment variable {shown} is not set; it must hold the API key for {base_url} "
        "(set `api_key_env` in the model config to use another variable)"
    )


def redact(text: str | None, api_key: str) -> str | None:
    """Belt and braces: servers sometimes echo the key back in their error messages."""
    if text and api_key and api_key != LOCAL_PLACEHOLDER_KEY:
        return text.replace(api_key, "***")
    return text


class LoopRunner:
    """An event loop on a daemon thread that lives as long as the model using it.

    Blocking callers (the engine's stages, also code already inside an event loop such as
    Jupyter) hand it coroutines; HTTP pools opened on it survive from one batch to the next.
    uvloop is used when installed (``onpar[perf]``), as a cheaper loop; asyncio's otherwise.
    """

    def __init__(self) -> None:
        self._loop = _new_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="onpar-api-loop", daemon=True
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the loop and wait for its result (its exception is re-raised)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def final_error(failure: Failure, attempts: int) -> str:
    plural = "s" if attempts != 1 else ""
    if failure.retryable:
        return f"{failure.description} (gave up after {attempts} attempt{plural})"
    return f"{failure.description} ({attempts} attempt{plural}; not retryable)"


def status_is_retryable(status: int) -> bool:
    """Rate limits, timeouts, conflicts and every 5xx (Anthropic's 529 overload included)."""
    return status in RETRYABLE_STATUSES or status >= 500


def status_failure(status: int, message: str, headers: Any) -> Failure:
    """An HTTP error status as a failure, with the server's Retry-After where it may help."""
    retryable = status_is_retryable(status)
    retry_after = retry_after_s(headers) if retryable and headers is not None else None
    return Failure(f"HTTP {status}: {message}", retryable, retry_after)


def retry_after_s(headers: Any) -> float | None:
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


def malformed(reason: str, body: str) -> Failure:
    """A 2xx whose body cannot be trusted: retried, with the start of the body shown."""
    return Failure(f"malformed response body ({reason}): {clip(body, 120)!r}", retryable=True)


def cause_text(exc: BaseException) -> str:
    """The underlying network error's text, which says more than an SDK's generic wrapper."""
    cause = exc.__cause__ or exc.__context__
    detail = str(cause) if cause is not None and str(cause) else str(exc)
    return clip(detail) or type(cause or exc).__name__


def clip(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def token_count(raw: object) -> int:
    """A usage counter from a provider body; anything but a non-negative int counts as 0."""
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else 0
