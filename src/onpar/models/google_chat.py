"""Google's Gemini API through the official ``google-genai`` SDK, with our retry policy.

Wire facts (Gemini API reference, ``models.generateContent``): the system prompt goes in
``systemInstruction``, turns are ``contents`` with roles ``user`` and ``model``, sampling is in
``generationConfig`` (``seed`` included), the answer is ``candidates[0]`` with a
``finishReason``, and a prompt refused outright has no candidates but
``promptFeedback.blockReason``. Either kind of block is recorded as an answer that refuses
(``conversation.blocked_text``, finish reason ``provider_blocked``), never as an error: the
Gemini app's user gets no answer either, and dropping blocked prompts would flatter the model.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from google import genai
from google.genai import errors, types

from onpar.config.schema import GoogleModelSpec
from onpar.models.api_common import (
    ApiChatModel,
    Failure,
    Sleep,
    cause_text,
    clip,
    resolve_api_key,
    status_failure,
    token_count,
)
from onpar.models.conversation import (
    BLOCKED_FINISH_REASON,
    ConversationError,
    blocked_text,
    split_system,
    unsendable,
)
from onpar.records import ChatRequest, ChatResult, Message, Usage

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
DEFAULT_KEY_ENV = "GEMINI_API_KEY"
FALLBACK_KEY_ENV = "GOOGLE_API_KEY"  # the other name Google's own SDK reads
API_VERSION = "v1beta"

# finishReason values meaning a filter withheld the answer (Gemini API FinishReason enum).
BLOCKING_FINISH = frozenset(
    {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY"}
)
_FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}


class GoogleChatModel(ApiChatModel[genai.client.AsyncClient]):
    """Gemini through ``generateContent``; failures become ``ChatResult.error``."""

    provider = "google"

    def __init__(
        self,
        spec: GoogleModelSpec,
        *,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
    ) -> None:
        base_url = spec.base_url or DEFAULT_BASE_URL
        names = [spec.api_key_env]
        if spec.api_key_env == DEFAULT_KEY_ENV:
            names.append(FALLBACK_KEY_ENV)
        api_key = resolve_api_key(names, base_url)
        super().__init__(spec, base_url, api_key, sleep=sleep, rng=rng)
        self._spec: GoogleModelSpec = spec

    def render(self, messages: Sequence[Message]) -> str:
        try:
            system, contents = _wire_conversation(messages)
        except ConversationError as exc:
            return f"(cannot be sent to Gemini: {exc})"
        shown: dict[str, Any] = {}
        if system is not None:
            shown["systemInstruction"] = {"parts": [{"text": system}]}
        shown["contents"] = contents
        return json.dumps(shown, indent=2, ensure_ascii=False)

    def _new_client(self) -> AbstractAsyncContextManager[genai.client.AsyncClient]:
        options = types.HttpOptions(
            base_url=self._base_url,
            api_version=API_VERSION,
            timeout=max(1, round(self._spec.timeout_s * 1000)),  # milliseconds
            retry_options=None,  # one attempt per call: we retry, with the config's policy
        )
        client = genai.Client(vertexai=False, api_key=self._api_key, http_options=options)
        return client.aio

    async def _attempt(
        self, client: genai.client.AsyncClient, request: ChatRequest
    ) -> ChatResult | Failure:
        timeout = self._spec.timeout_s
        try:
            system, contents = _wire_conversation(request.messages)
        except ConversationError as exc:
            return unsendable(exc)
        timeouts, transport = _http_exceptions()
        try:
            call = client.models.generate_content(
                model=self._spec.model, contents=contents, config=self._config(request, system)
            )
            response = await asyncio.wait_for(call, timeout=timeout)
            return read_response(response)
        except (TimeoutError, *timeouts):
            return Failure(f"timed out after {timeout:g}s", retryable=True)
        except errors.APIError as exc:
            headers = getattr(exc.response, "headers", None)
            return status_failure(exc.code, _error_message(exc), headers)
        except transport as exc:
            return Failure(f"connection error: {cause_text(exc)}", retryable=True)
        except ValueError as exc:  # the SDK could not read the body as JSON
            return Failure(f"malformed response body: {clip(str(exc))}", retryable=True)
        except Exception as exc:  # a bug or an unknown SDK error: record it, do not crash the run
            return Failure(f"{type(exc).__name__}: {clip(str(exc))}", retryable=False)

    def _config(self, request: ChatRequest, system: str | None) -> types.GenerateContentConfig:
        params = request.params
        return types.GenerateContentConfig(
            system_instruction=system,
            temperature=params.temperature,
            top_p=params.top_p,
            max_output_tokens=params.max_new_tokens,
            seed=params.seed + request.sample_index,
            candidate_count=1,
        )


def _wire_conversation(messages: Sequence[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    system, turns = split_system(messages, assistant_role="model")
    return system, [{"role": role, "parts": [{"text": text}]} for role, text in turns]


def read_response(response: types.GenerateContentResponse) -> ChatResult:
    """Text, a provider block (as a refusal) or an error; never an empty answer."""
    meta = response.usage_metadata
    usage = Usage(
        prompt_tokens=token_count(meta.prompt_token_count) if meta else 0,
        completion_tokens=token_count(meta.candidates_token_count) if meta else 0,
    )
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        reason = _enum_name(feedback.block_reason)
        return ChatResult(
            text=blocked_text(reason), finish_reason=BLOCKED_FINISH_REASON, usage=usage
        )
    if not response.candidates:
        return ChatResult(error="response has no candidates", usage=usage)
    candidate = response.candidates[0]
    finish = _enum_name(candidate.finish_reason) if candidate.finish_reason else None
    if finish in BLOCKING_FINISH:
        return ChatResult(
            text=blocked_text(finish), finish_reason=BLOCKED_FINISH_REASON, usage=usage
        )
    parts = candidate.content.parts if candidate.content and candidate.content.parts else []
    texts = [p.text for p in parts if p.text is not None and not p.thought]
    reported = _FINISH.get(finish, finish.lower()) if finish else None
    if not texts:
        error = f"response has no text (finishReason={finish})"
        return ChatResult(error=error, finish_reason=reported, usage=usage)
    return ChatResult(text="".join(texts), finish_reason=reported, usage=usage)


def _enum_name(value: object) -> str:
    """``FinishReason.SAFETY`` or ``"SAFETY"`` → ``"SAFETY"`` (unknown values stay str)."""
    return str(getattr(value, "value", value))


def _error_message(exc: errors.APIError) -> str:
    """``STATUS: message`` from Google's ``{"error": {code, message, status}}`` body."""
    status = exc.status if isinstance(exc.status, str) and exc.status else ""
    message = exc.message if isinstance(exc.message, str) and exc.message else str(exc)
    return clip(f"{status}: {message}" if status else message)


def _http_exceptions() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """(timeout, transport) exception classes of whichever HTTP library the SDK may use."""
    timeouts: list[type[Exception]] = []
    transport: list[type[Exception]] = []
    for name in ("httpx", "httpx2"):
        module = _optional_import(name)
        if module is not None:
            timeouts.append(module.TimeoutException)
            transport.append(module.TransportError)
    aiohttp = _optional_import("aiohttp")  # google-genai prefers it whenever it is installed
    if aiohttp is not None:
        transport.append(aiohttp.ClientError)  # its timeouts are TimeoutErrors, caught first
    return tuple(timeouts), tuple(transport)


def _optional_import(name: str) -> Any:
    try:
        return __import__(name)
    except ImportError:
        return None
