"""Stage 3: model backends behind one small interface (`ChatModel`).

Backends are built by provider name through `build_model` / `ModelPool`; heavy SDKs
(torch, transformers, openai) are imported only when a backend is built.
"""

from onpar.models.base import ChatModel, LogprobsUnsupportedError
from onpar.models.chat_formats import LLAMA2_DEFAULT_SYSTEM_PROMPT, llama2_segments
from onpar.models.registry import PROVIDERS, ModelPool, build_model

__all__ = [
    "LLAMA2_DEFAULT_SYSTEM_PROMPT",
    "PROVIDERS",
    "ChatModel",
    "LogprobsUnsupportedError",
    "ModelPool",
    "build_model",
    "llama2_segments",
]
