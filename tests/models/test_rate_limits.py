"""Requests/min and tokens/min limits: a fake clock, then real requests to the fake server."""

from __future__ import annotations

import asyncio
import time

import pytest

from onpar.config.schema import OpenAIModelSpec
from onpar.models.openai_chat import OpenAIChatModel
from onpar.models.rate_limits import RateLimiter, limiter_for
from onpar.records import ChatRequest, GenerationParams, Message
from tests.models.openai_server import FakeOpenAIServer


class FakeTime:
    """A clock that only moves when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def acquire_times(limiter: RateLimiter, fake: FakeTime, tokens: list[int]) -> list[float]:
    async def go() -> list[float]:
        out = []
        for n in tokens:
            await limiter.acquire(n)
            out.append(round(fake.now, 6))
        return out

    return asyncio.run(go())


def test_requests_per_minute_spaces_requests_after_one_seconds_burst() -> None:
    fake = FakeTime()
    limiter = RateLimiter(requests_per_minute=120, clock=fake.clock, sleep=fake.sleep)
    # 2 per second, bucket holds 2: two at once, then one every half second.
    assert acquire_times(limiter, fake, [0] * 6) == [0.0, 0.0, 0.5, 1.0, 1.5, 2.0]


def test_tokens_per_minute_waits_and_is_corrected_by_reported_usage() -> None:
    fake = FakeTime()
    limiter = RateLimiter(tokens_per_minute=600, clock=fake.clock, sleep=fake.sleep)  # 10/s
    assert acquire_times(limiter, fake, [5, 5, 5]) == [0.0, 0.0, 0.5]
    limiter.settle(5, 25)  # used 20 more than estimated: 2 s of debt
    assert acquire_times(limiter, fake, [5]) == [3.0]
    limiter.settle(5, None)  # no usage reported: the estimate stands
    assert acquire_times(limiter, fake, [5]) == [3.5]


def test_a_request_larger_than_the_bucket_goes_when_full_and_leaves_debt() -> None:
    fake = FakeTime()
    limiter = RateLimiter(tokens_per_minute=600, clock=fake.clock, sleep=fake.sleep)
    assert acquire_times(limiter, fake, [30, 1]) == [0.0, 2.1]


def test_backends_on_one_endpoint_and_limits_share_a_limiter() -> None:
    spec = OpenAIModelSpec(provider="openai", model="m", requests_per_minute=60)
    other_model = OpenAIModelSpec(provider="openai", model="n", requests_per_minute=60)
    assert limiter_for(spec, "http://a/v1") is limiter_for(other_model, "http://a/v1")
    assert limiter_for(spec, "http://a/v1") is not limiter_for(spec, "http://b/v1")
    assert limiter_for(OpenAIModelSpec(provider="openai", model="m"), "http://a/v1") is None


@pytest.mark.parametrize("limit", [{"requests_per_minute": 60}, {"tokens_per_minute": 600}])
def test_real_requests_are_held_to_the_limit(
    openai_server: FakeOpenAIServer, limit: dict[str, float]
) -> None:
    """5 requests at one per second (bucket of one): the last cannot arrive before 4 s.

    Only lower bounds are asserted (a loaded machine makes things slower, never faster);
    5 tiny concurrent requests taking 4 s without the limiter would take a broken machine.
    """
    spec = OpenAIModelSpec(
        provider="openai", model="m", base_url=openai_server.base_url, concurrency=5, **limit
    )
    # tokens: each request is estimated at 0 + 4 (one short message) + 6 max tokens = 10.
    params = GenerationParams(max_new_tokens=6)
    requests = [
        ChatRequest(messages=(Message(role="user", content=f"q{i}"),), params=params)
        for i in range(5)
    ]
    model = OpenAIChatModel(spec)
    started = time.monotonic()
    results = model.generate(requests)
    assert all(r.ok for r in results)
    arrivals = sorted(r.received_at - started for r in openai_server.requests)
    assert arrivals[-1] >= 3.95 and arrivals[1] >= 0.95
