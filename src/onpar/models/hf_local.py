"""Local models through transformers: batched chat generation and option log-probs.

Prompts are tokenized here (chat template or Llama 2 segments) and left-padded by hand, so
what `render` shows is token for token what the model receives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from onpar.config.schema import HFModelSpec
from onpar.models.chat_formats import CHAT_FORMATS, cut_at_stop, llama2_segments
from onpar.models.hf_loading import load_tokenizer_and_model, resolve_model
from onpar.records import ChatRequest, ChatResult, GenerationParams, Message, Usage


def weights_key(spec: HFModelSpec) -> tuple[str, str | None, str, str]:
    """Specs with equal keys load identical weights, so one copy in memory serves them all."""
    return (spec.model, spec.gguf_file, spec.dtype, spec.device)


class HFChatModel:
    """A transformers causal LM answering chats on CPU or GPU."""

    def __init__(self, spec: HFModelSpec, shares_weights_with: HFChatModel | None = None) -> None:
        """Load the model, or reuse the weights of `shares_weights_with` (same `weights_key`)."""
        self.spec = spec
        if shares_weights_with is not None:
            if weights_key(shares_weights_with.spec) != weights_key(spec):
                raise ValueError("can only share weights between specs of the same model files")
            self.resolved = shares_weights_with.resolved
            self.tokenizer, self.model = shares_weights_with.tokenizer, shares_weights_with.model
        else:
            self.resolved = resolve_model(spec.model, spec.gguf_file)
            self.tokenizer, self.model = load_tokenizer_and_model(
                self.resolved, spec.dtype, spec.device
            )
        if spec.chat_format == "template" and not self.tokenizer.chat_template:
            raise ValueError(
                f"{spec.model} has no chat template; set chat_format: llama2 (or another format)"
            )
        self.pad_id = _pad_token_id(self.tokenizer)
        stops = CHAT_FORMATS[spec.chat_format].stop if spec.chat_format in CHAT_FORMATS else ()
        self.stop_ids, self.stop_texts = _stop_tokens(self.tokenizer, stops)
        self._prefix_memo: tuple[tuple[int, ...], Any] | None = None

    @property
    def preferred_batch_size(self) -> int:
        return self.spec.batch_size

    def identity(self) -> dict[str, object]:
        return {
            "provider": "hf",
            "model": self.spec.model,
            "gguf_file": self.spec.gguf_file,
            "sha256": self.resolved.file_sha256,
            "chat_format": self.spec.chat_format,
            "dtype": self.spec.dtype,
            "max_context_tokens": self.spec.max_context_tokens,
        }

    def encode(self, messages: Sequence[Message]) -> list[int]:
        """Token ids of the conversation followed by the assistant's generation prompt."""
        if self.spec.chat_format == "llama2":
            ids: list[int] = []
            for segment in llama2_segments(messages):
                ids.append(self.tokenizer.bos_token_id)
                ids.extend(self.tokenizer.encode(segment.text, add_special_tokens=False))
                if segment.add_eos:
                    ids.append(self.tokenizer.eos_token_id)
            return ids
        fmt = CHAT_FORMATS.get(self.spec.chat_format)
        if fmt is not None and fmt.render_text is not None:  # special tokens as text, own BOS rule
            return list(self.tokenizer.encode(fmt.render_text(messages), add_special_tokens=True))
        text = self.tokenizer.apply_chat_template(
            [m.model_dump() for m in messages], tokenize=False, add_generation_prompt=True
        )
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def render(self, messages: Sequence[Message]) -> str:
        return self.tokenizer.decode(self.encode(messages), skip_special_tokens=False)

    def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResult]:
        results: list[ChatResult] = []
        for start in range(0, len(requests), self.spec.batch_size):
            batch = requests[start : start + self.spec.batch_size]
            try:
                results.extend(self._generate_batch(batch))
            except (RuntimeError, ValueError) as exc:  # e.g. out of memory: record, don't crash
                results.extend(ChatResult(error=f"{type(exc).__name__}: {exc}") for _ in batch)
        return results

    def _generate_batch(self, batch: Sequence[ChatRequest]) -> list[ChatResult]:
        import torch

        params = batch[0].params
        if any(r.params != params for r in batch):
            raise ValueError("one batch must share generation parameters")
        prompts = [self._truncate(self.encode(r.messages), params) for r in batch]
        input_ids, attention = self._left_pad(prompts)
        torch.manual_seed(_batch_seed(params, batch))
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention,
                **_sampling_kwargs(params),
                max_new_tokens=params.max_new_tokens,
                pad_token_id=self.pad_id,
                eos_token_id=[self.tokenizer.eos_token_id, *self.stop_ids],
                **self._stop_kwargs(),
            )
        new_tokens = output[:, input_ids.shape[1] :].tolist()
        return [self._decode(tokens, len(p)) for tokens, p in zip(new_tokens, prompts, strict=True)]

    def _stop_kwargs(self) -> dict[str, Any]:
        """Text stops of the chat format (e.g. Falcon's "\\nUser") for `generate`."""
        if not self.stop_texts:
            return {}
        return {"stop_strings": self.stop_texts, "tokenizer": self.tokenizer}

    def _decode(self, tokens: list[int], prompt_length: int) -> ChatResult:
        eos = self.tokenizer.eos_token_id
        finish = "length"
        ends = [i for i, t in enumerate(tokens) if t == eos or t in self.stop_ids]
        if ends:
            tokens, finish = tokens[: ends[0]], "stop"
        tokens = [t for t in tokens if t != self.pad_id or t == eos]
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        text, stopped = cut_at_stop(text, self.stop_texts)
        finish = "stop" if stopped else finish
        text = text.strip()
        usage = Usage(prompt_tokens=prompt_length, completion_tokens=len(tokens))
        return ChatResult(text=text, finish_reason=finish, usage=usage)

    def score_options(
        self, conversations: Sequence[Sequence[Message]], options: Sequence[str]
    ) -> list[list[float]]:
        """Sum of log-probs of each option's tokens after the generation prompt."""
        option_ids = [self.tokenizer.encode(o, add_special_tokens=False) for o in options]
        if any(not ids for ids in option_ids):
            raise ValueError("options must not be empty")
        scores: list[list[float]] = []
        for start in range(0, len(conversations), self.spec.batch_size):
            chunk = conversations[start : start + self.spec.batch_size]
            prompts = [self.encode(c) for c in chunk]
            if all(len(ids) == 1 for ids in option_ids):
                scores.extend(self._next_token_logprobs(prompts, [ids[0] for ids in option_ids]))
            else:
                scores.extend(self._continuation_logprobs(prompts, option_ids))
        return scores

    def _next_token_logprobs(
        self, prompts: list[list[int]], token_ids: list[int]
    ) -> list[list[float]]:
        """Next-token log-probs, computing the prompts' shared prefix only once.

        Judge prompts start with the same instructions, so their common prefix is encoded
        once (and kept for the next batch); each row then runs only its own suffix,
        right-padded, and is read at its last real token.
        """
        import torch

        shared = common_prefix_length(prompts)
        lengths = torch.tensor([len(p) - shared for p in prompts])
        width = int(lengths.max())
        suffixes = [p[shared:] + [self.pad_id] * (width - len(p) + shared) for p in prompts]
        device = self.model.device
        ids = torch.tensor(suffixes, device=device)
        mask = torch.cat(
            [
                torch.ones(len(prompts), shared, dtype=torch.long),
                (torch.arange(width)[None, :] < lengths[:, None]).long(),
            ],
            dim=1,
        ).to(device)
        with torch.inference_mode():
            cache = self.prefix_cache(tuple(prompts[0][:shared]), len(prompts))
            decoder = self.model.get_decoder()
            hidden = decoder(
                input_ids=ids, attention_mask=mask, use_cache=True, **cache_kwarg(decoder, cache)
            ).last_hidden_state
            last = hidden[torch.arange(len(prompts)), lengths - 1]
            logits = self.model.get_output_embeddings()(last)
        return torch.log_softmax(logits.float(), dim=-1)[:, token_ids].tolist()

    def prefix_cache(self, prefix: tuple[int, ...], batch: int) -> Any:
        """KV cache of `prefix` repeated `batch` times; the last prefix's cache is memoised."""
        import copy

        from transformers import DynamicCache

        if self._prefix_memo is None or self._prefix_memo[0] != prefix:
            cache = DynamicCache()
            if prefix:
                ids = self._tensor([list(prefix)])
                decoder = self.model.get_decoder()
                decoder(input_ids=ids, use_cache=True, **cache_kwarg(decoder, cache))
            self._prefix_memo = (prefix, cache)
        cache = copy.deepcopy(self._prefix_memo[1])
        if prefix:
            cache.batch_repeat_interleave(batch)
        return cache

    def _continuation_logprobs(
        self, prompts: list[list[int]], option_ids: list[list[int]]
    ) -> list[list[float]]:
        import torch

        rows = [p + o for p in prompts for o in option_ids]
        input_ids, attention = self._left_pad(rows)
        with torch.inference_mode():
            logits = self.model(input_ids=input_ids, attention_mask=attention).logits
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        width = input_ids.shape[1]
        flat: list[float] = []
        for row, (prompt_index, option) in enumerate(
            (pi, o) for pi in range(len(prompts)) for o in option_ids
        ):
            del prompt_index
            positions = range(width - len(option), width)
            flat.append(
                sum(
                    logprobs[row, pos - 1, tok].item()
                    for pos, tok in zip(positions, option, strict=True)
                )
            )
        n = len(option_ids)
        return [flat[i * n : (i + 1) * n] for i in range(len(prompts))]

    def _left_pad(self, sequences: list[list[int]]) -> tuple[Any, Any]:
        import torch

        width = max(len(s) for s in sequences)
        ids = [[self.pad_id] * (width - len(s)) + s for s in sequences]
        mask = [[0] * (width - len(s)) + [1] * len(s) for s in sequences]
        device = self.model.device
        return torch.tensor(ids, device=device), torch.tensor(mask, device=device)

    def _tensor(self, rows: list[list[int]]) -> Any:
        import torch

        return torch.tensor(rows, device=self.model.device)

    def _truncate(self, ids: list[int], params: GenerationParams) -> list[int]:
        limit = self.spec.max_context_tokens or getattr(
            self.model.config, "max_position_embeddings", None
        )
        if limit is None:
            return ids
        budget = max(1, limit - params.max_new_tokens)
        return ids[-budget:]

    def close(self) -> None:
        self.model = None


def cache_kwarg(module: Any, cache: Any) -> dict[str, Any]:
    """transformers ≥ 5.2x names the KV-cache argument `cache`; older releases `past_key_values`."""
    import inspect

    name = "cache" if "cache" in inspect.signature(module.forward).parameters else "past_key_values"
    return {name: cache}


def common_prefix_length(sequences: list[list[int]]) -> int:
    """Tokens shared by all sequences at the start, leaving each at least one of its own."""
    limit = min(len(s) for s in sequences) - 1
    length = 0
    while length < limit and all(s[length] == sequences[0][length] for s in sequences):
        length += 1
    return length


def _stop_tokens(tokenizer: Any, stops: Sequence[str]) -> tuple[list[int], list[str]]:
    """Stops that are one token (e.g. ``<|im_end|>``) become token ids; the rest stay text."""
    ids: list[int] = []
    texts: list[str] = []
    for stop in stops:
        encoded = tokenizer.encode(stop, add_special_tokens=False)
        if len(encoded) == 1 and stop in tokenizer.all_special_tokens + list(
            tokenizer.get_added_vocab()
        ):
            ids.append(int(encoded[0]))
        else:
            texts.append(stop)
    return ids, texts


def _pad_token_id(tokenizer: Any) -> int:
    if tokenizer.pad_token_id is not None:
        return int(tokenizer.pad_token_id)
    return int(tokenizer.eos_token_id)


def _sampling_kwargs(params: GenerationParams) -> dict[str, Any]:
    if params.temperature == 0:
        return {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    return {
        "do_sample": True,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "top_k": None,
    }


def _batch_seed(params: GenerationParams, batch: Sequence[ChatRequest]) -> int:
    """A seed fixed by the batch's content, so sampled answers repeat exactly run to run."""
    digest = hashlib.sha256(str(params.seed).encode())
    for request in batch:
        digest.update(request.model_dump_json().encode())
    return int.from_bytes(digest.digest()[:8], "little") & 0x7FFFFFFFFFFFFFFF
