"""Stage 0: the run configuration (YAML validated with pydantic, errors with file:line)."""

from onpar.config.loader import ConfigError, load_config
from onpar.config.schema import (
    CacheConfig,
    ContestantConfig,
    HFModelSpec,
    JudgeConfig,
    OpenAIModelSpec,
    PromptSetConfig,
    ResponsesFileSpec,
    RunConfig,
    StatsConfig,
)

__all__ = [
    "CacheConfig",
    "ConfigError",
    "ContestantConfig",
    "HFModelSpec",
    "JudgeConfig",
    "OpenAIModelSpec",
    "PromptSetConfig",
    "ResponsesFileSpec",
    "RunConfig",
    "StatsConfig",
    "load_config",
]
