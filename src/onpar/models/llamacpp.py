"""Local GGUF models through llama.cpp (`llama-cpp-python`): generation and option log-probs.

The prompt is always tokenized here and handed to llama.cpp as token ids, so the chat format
is ours, token for token: Meta's Llama 2 segments (BOS … EOS per exchange), the string
formats of `chat_formats.py` (special tokens parsed, BOS by the vocabulary's own rule), or the
GGUF's embedded chat template rendered with Jinja2 as transformers renders it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from onpar.config.schema import LlamaCppModelSpec
from onpar.models.chat_formats import CHAT_FORMATS, cut_at_stop, llama2_segments
from onpar.models.hf_loading import file_sha256, resolve_model
from onpar.records import ChatRequest, ChatResult, GenerationParams, Message, Usage


class LlamaCppChatModel:
    """A GGUF model in llama.cpp answering chats one at a time (CPU, or GPU layers offloaded)."""

    def __init__(self, spec: LlamaCppModelSpec) -> None:
        """Load the GGUF file; fail early if `chat_format: template` has no template to use."""
        from llama_cpp import Llama

        self.spec = spec
        self.path, self.sha256 = resolve_gguf(spec.model)
        self.llm = Llama(
            model_path=self.path,
            n_ctx=spec.n_ctx,
            n_threads=spec.n_threads,
            n_gpu_layers=spec.n_gpu_layers,
            n_batch=spec.n_batch,
            logits_all=False,
            verbose=False,
        )
        self.template = self.llm.metadata.get("tokenizer.chat_template")
        if spec.chat_format == "template" and not self.template:
            raise ValueError(
                f"{spec.model} has no chat template; set chat_format: llama2 (or another format)"
            )
        fmt = CHAT_FORMATS.get(spec.chat_format)
        self.stop_ids, self.stop_texts = self._stop_tokens(fmt.stop if fmt else ())

    @property
    def preferred_batch_size(self) -> int:
        return self.spec.batch_size

    def identity(self) -> dict[str, object]:
        return {
            "provider": "llamacpp",
            "model": self.spec.model,
            "sha256": self.sha256,
            "chat_format": self.spec.chat_format,
            "n_ctx": self.spec.n_ctx,
        }

    def encode(self, messages: Sequence[Message]) -> list[int]:
        """Token ids of the conversation followed by the assistant's generation prompt."""
        if self.spec.chat_format == "llama2":
            ids: list[int] = []
            for segment in llama2_segments(messages):
                ids.append(self.llm.token_bos())
                ids.extend(self.llm.tokenize(segment.text.encode(), add_bos=False, special=False))
                if segment.add_eos:
                    ids.append(self.llm.token_eos())
            return ids
        fmt = CHAT_FORMATS.get(self.spec.chat_format)
        if fmt is not None and fmt.render_text is not None:
            text = fmt.render_text(messages)
            return self.llm.tokenize(text.encode(), add_bos=True, special=True)
        text = render_template(
            str(self.template),
            messages,
            self._token_text(self.llm.token_bos()),
            self._token_text(self.llm.token_eos()),
        )
        return self.llm.tokenize(text.encode(), add_bos=False, special=True)

    def render(self, messages: Sequence[Message]) -> str:
        return self.llm.detokenize(self.encode(messages), special=True).decode(errors="replace")

    def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResult]:
        results: list[ChatResult] = []
        for request in requests:
            try:
                results.append(self._generate_one(request))
            except (RuntimeError, ValueError) as exc:  # e.g. context overflow: record, go on
                results.append(ChatResult(error=f"{type(exc).__name__}: {exc}"))
        return results

    def _generate_one(self, request: ChatRequest) -> ChatResult:
        params = request.params
        prompt = self._truncate(self.encode(request.messages), params)
        output = self.llm.create_completion(
            prompt=prompt,
            max_tokens=params.max_new_tokens,
            temperature=params.temperature,
            top_p=params.top_p if params.temperature > 0 else 1.0,
            top_k=0,
            min_p=0.0,
            typical_p=1.0,
            repeat_penalty=1.0,
            seed=_request_seed(params, request),
            stop=list(self.stop_texts),
            stopping_criteria=self._stopping_criteria(),
        )
        choice = output["choices"][0]
        text, stopped = cut_at_stop(choice["text"], self.stop_texts)
        finish = "stop" if stopped or choice["finish_reason"] == "stop" else "length"
        usage = output.get("usage") or {}
        return ChatResult(
            text=text.strip(),
            finish_reason=finish,
            usage=Usage(
                prompt_tokens=int(usage.get("prompt_tokens", len(prompt))),
                completion_tokens=int(usage.get("completion_tokens", 0)),
            ),
        )

    def score_options(
        self, conversations: Sequence[Sequence[Message]], options: Sequence[str]
    ) -> list[list[float]]:
        """Sum of log-probs of each option's tokens after the generation prompt."""
        option_ids = [self.llm.tokenize(o.encode(), add_bos=False, special=False) for o in options]
        if any(not ids for ids in option_ids):
            raise ValueError("options must not be empty")
        scores: list[list[float]] = []
        for conversation in conversations:
            prompt = self.encode(conversation)
            first = self._eval_reusing_prefix(prompt)
            row = []
            for ids in option_ids:
                total, logprobs = 0.0, first
                for position, token in enumerate(ids):
                    if position > 0:
                        self.llm.n_tokens = len(prompt) + position - 1  # drop the KV beyond
                        logprobs = self._eval_last([ids[position - 1]])
                    total += logprobs[token]
                row.append(total)
            scores.append(row)
        return scores

    def _eval_reusing_prefix(self, ids: list[int]) -> list[float]:
        """Log-probs of the next token after `ids`, re-using the KV cache of a shared prefix.

        Judge prompts share their instructions, so only the differing tail is evaluated.
        """
        cached = list(self.llm.input_ids[: self.llm.n_tokens])
        keep = 0
        while keep < min(len(cached), len(ids) - 1) and cached[keep] == ids[keep]:
            keep += 1
        self.llm.n_tokens = keep  # `eval` removes the KV cache from n_tokens on
        return self._eval_last(ids[keep:])

    def _eval_last(self, ids: list[int]) -> list[float]:
        import numpy as np

        self.llm.eval(ids)
        # With logits_all=False llama-cpp-python keeps no logits itself; read the context's.
        pointer = self.llm._ctx.get_logits_ith(-1)
        logits = np.ctypeslib.as_array(pointer, shape=(self.llm.n_vocab(),)).astype(np.float64)
        shifted = logits - logits.max()
        return (shifted - math.log(float(np.exp(shifted).sum()))).tolist()

    def _stop_tokens(self, stops: Sequence[str]) -> tuple[set[int], tuple[str, ...]]:
        """Stops that are one special token become ids (llama.cpp renders those as ''); the
        rest are matched on text."""
        ids: set[int] = set()
        texts: list[str] = []
        for stop in stops:
            special = self.llm.tokenize(stop.encode(), add_bos=False, special=True)
            plain = self.llm.tokenize(stop.encode(), add_bos=False, special=False)
            if len(special) == 1 and special != plain:
                ids.add(special[0])
            else:
                texts.append(stop)
        return ids, tuple(texts)

    def _stopping_criteria(self) -> Any:
        if not self.stop_ids:
            return None
        from llama_cpp import StoppingCriteriaList

        stop_ids = self.stop_ids
        return StoppingCriteriaList([lambda ids, _logits: int(ids[-1]) in stop_ids])

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self.llm.detokenize([token], special=True).decode(errors="replace")

    def _truncate(self, ids: list[int], params: GenerationParams) -> list[int]:
        budget = max(1, self.spec.n_ctx - params.max_new_tokens)
        return ids[-budget:]

    def close(self) -> None:
        self.llm.close()


def resolve_gguf(model: str) -> tuple[str, str]:
    """The GGUF file's path and SHA-256 (its identity in cache keys)."""
    if model.startswith("bundled:"):
        resolved = resolve_model(model, None)
        assert resolved.gguf_file is not None and resolved.file_sha256 is not None
        return str(Path(resolved.location) / resolved.gguf_file), resolved.file_sha256
    path = Path(model).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"GGUF file not found: {path}")
    return str(path), file_sha256(path)


def render_template(template: str, messages: Sequence[Message], bos: str, eos: str) -> str:
    """A GGUF's chat template rendered as transformers' `apply_chat_template` renders it."""
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise ValueError(f"chat template: {message}")

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]
    )
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(
        messages=[m.model_dump() for m in messages],
        add_generation_prompt=True,
        bos_token=bos,
        eos_token=eos,
    )


def _request_seed(params: GenerationParams, request: ChatRequest) -> int:
    """A seed fixed by the request's content, so sampled answers repeat exactly run to run."""
    digest = hashlib.sha256(str(params.seed).encode())
    digest.update(request.model_dump_json().encode())
    return int.from_bytes(digest.digest()[:4], "little") & 0x7FFFFFFF
