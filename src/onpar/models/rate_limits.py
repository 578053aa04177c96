"""Client-side requests/min and tokens/min limits, so a run stays under a provider's quota.

Two token buckets: one for requests, one for tokens. Each refills continuously at its
per-minute rate and holds at most one second's worth (so no minute ever sees much more
than the limit, unlike a bucket that starts with a whole minute's burst). A request takes
its *estimated* tokens up front (characters / 4 of the prompt plus ``max_new_tokens``) and
the difference to the usage the provider reports is settled afterwards; a request larger
than the bucket goes when the bucket is full and leaves it in debt, which later requests
wait out. Hitting the provider's own 429 is still handled by the retry loop.

State is plain numbers, not asyncio primitives, so one limiter serves the separate event
loops that successive batches run in. Limiters are shared by every backend that uses the
same endpoint, key variable and limits (contestant and judge on one account share a quota).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

from onpar.config.pricing import estimate_tokens
from onpar.records import ChatRequest, ChatResult

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class _Bucket:
    """Capacity ``rate`` per minute, refilled continuously, holding one second's worth."""

    def __init__(self, per_minute: float, now: float) -> None:
        self.rate = per_minute / 60.0  # units per second
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self._at = now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self._at) * self.rate)
        self._at = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` (capped at capacity) is available; 0 when it is now."""
        need = min(amount, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate


class RateLimiter:
    """``await acquire(tokens)`` before a request, ``settle(estimate, used)`` after it."""

    def __init__(
        self,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        now = clock()
        self._requests = None if requests_per_minute is None else _Bucket(requests_per_minute, now)
        self._tokens = None if tokens_per_minute is None else _Bucket(tokens_per_minute, now)
        self._clock = clock
        self._sleep = sleep

    async def acquire(self, estimated_tokens: int = 0) -> None:
        """Wait until one request and ``estimated_tokens`` fit under both limits, then take them."""
        while True:
            now = self._clock()
            waits = [0.0]
            if self._requests is not None:
                self._requests.refill(now)
                waits.append(self._requests.wait_for(1.0))
            if self._tokens is not None:
                self._tokens.refill(now)
                waits.append(self._tokens.wait_for(estimated_tokens))
            wait = max(waits)
            if wait <= 0.0:
                if self._requests is not None:
                    self._requests.level -= 1.0
                if self._tokens is not None:
                    self._tokens.level -= estimated_tokens
                return
            await self._sleep(wait)

    def settle(self, estimated_tokens: int, used_tokens: int | None) -> None:
        """Correct the token bucket by what the request really used (None: keep the estimate)."""
        if self._tokens is not None and used_tokens is not None:
            self._tokens.level -= used_tokens - estimated_tokens


def request_estimate(request: ChatRequest) -> int:
    """Tokens a request may count against a tokens/min limit: prompt estimate + max output."""
    return estimate_tokens(request.messages) + request.params.max_new_tokens


def used_tokens(outcome: object) -> int | None:
    """Reported prompt + completion tokens of a result; None when the call did not return one."""
    if not isinstance(outcome, ChatResult):
        return None
    total = outcome.usage.prompt_tokens + outcome.usage.completion_tokens
    return total if total > 0 else None


_shared: dict[tuple[object, ...], RateLimiter] = {}
_shared_lock = threading.Lock()


def limiter_for(spec: object, base_url: str) -> RateLimiter | None:
    """The limiter shared by every backend on this endpoint, key and limits; None if unlimited."""
    rpm = getattr(spec, "requests_per_minute", None)
    tpm = getattr(spec, "tokens_per_minute", None)
    if rpm is None and tpm is None:
        return None
    key = (getattr(spec, "provider", ""), base_url, getattr(spec, "api_key_env", ""), rpm, tpm)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = RateLimiter(rpm, tpm)
        return _shared[key]
