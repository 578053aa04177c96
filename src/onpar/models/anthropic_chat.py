"""Anthropic's Messages API through the official ``anthropic`` SDK, with our retry policy.

Wire facts (Anthropic Messages API reference): the system prompt is the top-level ``system``
field, ``messages`` alternate user/assistant, ``max_tokens`` is required, the answer is a list
of content blocks, ``stop_reason`` says why it ended and ``usage`` counts input/output tokens.
The installed SDK (anthropic 2.x) has no sampling parameters at all (no temperature, top_p or
seed), so none are sent: the answer is whatever the model's fixed sampling gives. The request
key still includes the configured parameters and sample index, so samples are kept apart, and a
warning says once per model when a config asks for sampling it cannot get.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Sequence
from typing import Any

import anthropic

from onpar.config.schema import AnthropicModelSpec
from onpar.models.api_common import (
    ApiChatModel,
    Failure,
    Sleep,
    cause_text,
    clip,
    malformed,
    resolve_api_key,
    status_failure,
    token_count,
)
from onpar.models.conversation import (
    ConversationError,
    blocked_text,
    split_system,
    unsendable,
)
from onpar.records import ChatRequest, ChatResult, Message, Usage

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.anthropic.com"

# Anthropic stop_reason -> ChatResult.finish_reason (the vocabulary the report and stats use).
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "provider_blocked",
}


class AnthropicChatModel(ApiChatModel[anthropic.AsyncAnthropic]):
    """Claude through the Messages API; failures become ``ChatResult.error``."""

    provider = "anthropic"

    def __init__(
        self,
        spec: AnthropicModelSpec,
        *,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
    ) -> None:
        base_url = spec.base_url or DEFAULT_BASE_URL
        api_key = resolve_api_key([spec.api_key_env], base_url)
        super().__init__(spec, base_url, api_key, sleep=sleep, rng=rng)
        self._spec: AnthropicModelSpec = spec
        self._warned_sampling = False

    def render(self, messages: Sequence[Message]) -> str:
        try:
            system, turns = _wire_conversation(messages)
        except ConversationError as exc:
            return f"(cannot be sent to Anthropic: {exc})"
        shown: dict[str, Any] = {"system": system} if system is not None else {}
        shown["messages"] = turns
        return json.dumps(shown, indent=2, ensure_ascii=False)

    def _new_client(self) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(
            api_key=self._api_key,
            base_url=self._base_url,
            max_retries=0,  # we retry, with the config's policy
            timeout=self._spec.timeout_s,
        )

    async def _attempt(
        self, client: anthropic.AsyncAnthropic, request: ChatRequest
    ) -> ChatResult | Failure:
        timeout = self._spec.timeout_s
        try:
            payload = self._payload(request)
        except ConversationError as exc:
            return unsendable(exc)
        try:
            call = client.messages.with_raw_response.create(**payload)
            raw = await asyncio.wait_for(call, timeout=timeout)
            body = await asyncio.wait_for(raw.text(), timeout=timeout)
            return parse_message(body)
        except (TimeoutError, anthropic.APITimeoutError):
            return Failure(f"timed out after {timeout:g}s", retryable=True)
        except anthropic.APIStatusError as exc:
            return status_failure(exc.status_code, _error_message(exc), exc.response.headers)
        except anthropic.APIConnectionError as exc:
            return Failure(f"connection error: {cause_text(exc)}", retryable=True)
        except anthropic.APIResponseValidationError as exc:
            return Failure(f"malformed response: {clip(str(exc))}", retryable=True)
        except Exception as exc:  # a bug or an unknown SDK error: record it, do not crash the run
            return Failure(f"{type(exc).__name__}: {clip(str(exc))}", retryable=False)

    def _payload(self, request: ChatRequest) -> dict[str, Any]:
        params = request.params
        system, turns = _wire_conversation(request.messages)
        payload: dict[str, Any] = {
            "model": self._spec.model,
            "messages": turns,
            "max_tokens": params.max_new_tokens,
        }
        if system is not None:
            payload["system"] = system
        if (params.temperature, params.top_p) != (0.0, 1.0) and not self._warned_sampling:
            self._warned_sampling = True
            log.warning(
                "%s: the Anthropic Messages API takes no temperature/top_p/seed; "
                "temperature=%g top_p=%g are not sent",
                self._spec.model,
                params.temperature,
                params.top_p,
            )
        return payload


def _wire_conversation(
    messages: Sequence[Message],
) -> tuple[str | None, list[dict[str, str]]]:
    system, turns = split_system(messages, assistant_role="assistant")
    return system, [{"role": role, "content": text} for role, text in turns]


def parse_message(body: str) -> ChatResult | Failure:
    """Read a Messages API body ourselves so garbage is retried, not half-trusted."""
    try:
        data = json.loads(body)
    except ValueError:
        return malformed("not JSON", body)
    if not isinstance(data, dict) or not isinstance(data.get("content"), list):
        return malformed("no 'content' list", body)
    raw_usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    usage = Usage(
        prompt_tokens=token_count(raw_usage.get("input_tokens")),
        completion_tokens=token_count(raw_usage.get("output_tokens")),
    )
    stop = data.get("stop_reason")
    stop = stop if isinstance(stop, str) else None
    finish = _FINISH.get(stop, stop) if stop is not None else None
    if finish == "provider_blocked":  # Anthropic's safety classifiers stopped the answer
        return ChatResult(text=blocked_text("refusal"), finish_reason=finish, usage=usage)
    texts = [
        block["text"]
        for block in data["content"]
        if isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
    ]
    if not texts:
        error = f"response has no text content (stop_reason={stop})"
        return ChatResult(error=error, finish_reason=finish, usage=usage)
    return ChatResult(text="".join(texts), finish_reason=finish, usage=usage)


def _error_message(exc: anthropic.APIStatusError) -> str:
    """``type: message`` from Anthropic's error body, else the SDK's summary."""
    body = exc.body
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        kind = error.get("type")
        prefix = f"{kind}: " if isinstance(kind, str) and kind else ""
        return clip(prefix + error["message"])
    if isinstance(body, str) and body.strip():
        return clip(body)
    return clip(exc.message)
