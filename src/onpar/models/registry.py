"""Build backends by provider name; heavy SDKs are imported only by the factory that needs them."""

from __future__ import annotations

from collections.abc import Callable
from difflib import get_close_matches
from pathlib import Path

from onpar.config.schema import HFModelSpec, OpenAIModelSpec, ResponsesFileSpec
from onpar.models.base import ChatModel

ModelSpec = HFModelSpec | OpenAIModelSpec | ResponsesFileSpec


def _build_hf(spec: ModelSpec, base_dir: Path | None) -> ChatModel:
    try:
        from onpar.models.hf_local import HFChatModel
    except ModuleNotFoundError as exc:  # torch / transformers missing
        raise ModuleNotFoundError(
            f"the 'hf' provider needs {exc.name}: pip install 'onpar[hf]' "
            "(on a machine without a GPU: pip install torch==2.13.0 first, for the CPU build)"
        ) from exc
    assert isinstance(spec, HFModelSpec)
    return HFChatModel(spec)


def _build_llamacpp(spec: ModelSpec, base_dir: Path | None) -> ChatModel:
    from onpar.config.schema import LlamaCppModelSpec

    try:
        import llama_cpp  # noqa: F401  (only to give the install hint)
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "the 'llamacpp' provider needs llama-cpp-python: pip install 'onpar[llamacpp]' "
            "(it compiles llama.cpp on install: a C++ compiler and CMake, several minutes)"
        ) from exc
    from onpar.models.llamacpp import LlamaCppChatModel

    assert isinstance(spec, LlamaCppModelSpec)
    return LlamaCppChatModel(spec)


def _build_anthropic(spec: ModelSpec, base_dir: Path | None) -> ChatModel:
    from onpar.config.schema import AnthropicModelSpec

    try:
        from onpar.models.anthropic_chat import AnthropicChatModel
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"the 'anthropic' provider needs {exc.name}: pip install 'onpar[anthropic]'"
        ) from exc
    assert isinstance(spec, AnthropicModelSpec)
    return AnthropicChatModel(spec)


def _build_google(spec: ModelSpec, base_dir: Path | None) -> ChatModel:
    from onpar.config.schema import GoogleModelSpec

    try:
        from onpar.models.google_chat import GoogleChatModel
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"the 'google' provider needs {exc.name}: pip install 'onpar[google]'"
        ) from exc
    assert isinstance(spec, GoogleModelSpec)
    return GoogleChatModel(spec)


def _build_openai(spec: ModelSpec, base_dir: Path | None) -> ChatModel:
    from onpar.models.openai_chat import OpenAIChatModel

    assert isinstance(spec, OpenAIModelSpec)
    return OpenAIChatModel(spec)


def _build_responses(spec: ModelSpec, base_dir: Path | None) -> ChatModel:
    from onpar.models.responses_file import ResponsesFileModel

    assert isinstance(spec, ResponsesFileSpec)
    return ResponsesFileModel(spec, base_dir=base_dir)


PROVIDERS: dict[str, Callable[[ModelSpec, Path | None], ChatModel]] = {
    "hf": _build_hf,
    "llamacpp": _build_llamacpp,
    "openai": _build_openai,
    "anthropic": _build_anthropic,
    "google": _build_google,
    "responses": _build_responses,
}


def build_model(spec: ModelSpec, base_dir: Path | None = None) -> ChatModel:
    """A backend for `spec`; an unknown provider name gets a 'did you mean' hint."""
    factory = PROVIDERS.get(spec.provider)
    if factory is None:
        hint = get_close_matches(spec.provider, PROVIDERS, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(
            f"unknown provider {spec.provider!r}{suggestion}; known: {', '.join(PROVIDERS)}"
        )
    return factory(spec, base_dir)


class ModelPool:
    """Backends for one run, shared between contestants and judges with identical specs.

    The demo's two contestants and its judge are one 135M model: loading it once saves time
    and memory. Not global: one pool per run, closed at the end.
    """

    def __init__(self, base_dir: Path | None = None) -> None:
        self._base_dir = base_dir
        self._models: dict[ModelSpec, ChatModel] = {}

    def get(self, spec: ModelSpec) -> ChatModel:
        if spec not in self._models:
            twin = self._loaded_twin(spec)
            if twin is not None:  # same weights, other batch size or chat format
                from onpar.models.hf_local import HFChatModel

                assert isinstance(spec, HFModelSpec) and isinstance(twin, HFChatModel)
                self._models[spec] = HFChatModel(spec, shares_weights_with=twin)
            else:
                self._models[spec] = build_model(spec, self._base_dir)
        return self._models[spec]

    def _loaded_twin(self, spec: ModelSpec) -> ChatModel | None:
        if not isinstance(spec, HFModelSpec):
            return None
        from onpar.models.hf_local import weights_key

        for other, model in self._models.items():
            if isinstance(other, HFModelSpec) and weights_key(other) == weights_key(spec):
                return model
        return None

    def close(self) -> None:
        for model in self._models.values():
            model.close()
        self._models.clear()
