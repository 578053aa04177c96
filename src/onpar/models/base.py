"""The one small interface every model backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from onpar.records import ChatRequest, ChatResult, Message


class LogprobsUnsupportedError(RuntimeError):
    """Raised by backends that cannot score given continuations (most chat APIs)."""


@runtime_checkable
class ChatModel(Protocol):
    """A backend that answers chat conversations in batches.

    ``generate`` must return exactly one ChatResult per request, in order; a request that
    fails after the backend's retries comes back with ``error`` set (never raised, never
    dropped), so one bad call cannot sink a 10,000-item run.
    """

    @property
    def preferred_batch_size(self) -> int:
        """How many requests the engine should hand over at once (commit granularity)."""
        ...

    def identity(self) -> dict[str, object]:
        """What fixes this backend's outputs (provider, model, file hash…), for cache keys."""
        ...

    def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResult]:
        """Answer each request's conversation; one result per request, in order."""
        ...

    def render(self, messages: Sequence[Message]) -> str:
        """The exact text (or JSON of the messages, for APIs) this backend would be sent."""
        ...

    def score_options(
        self, conversations: Sequence[Sequence[Message]], options: Sequence[str]
    ) -> list[list[float]]:
        """Log-probability of each option as the start of the assistant's reply, per conversation.

        Raises LogprobsUnsupportedError where the backend cannot do it.
        """
        ...

    def close(self) -> None:
        """Release connections, threads or GPU memory."""
        ...
