"""The run configuration: one YAML file, validated field by field.

Each field has one meaning (no guessing whether a string is a path or a template);
providers form a discriminated union on ``provider`` so errors point at the exact field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from onpar.config.benchmarks import BenchmarkSpec
from onpar.config.executor import ExecutorConfig
from onpar.config.pricing import Price
from onpar.records import GenerationParams

ChatFormatChoice = Literal["template", "llama2", "vicuna_v1.1", "falcon_instruct", "mpt_chat"]
LOCAL_PROVIDERS = ("hf", "llamacpp")  # backends that can score options (log-probs)


class Spec(BaseModel):
    """Base for config sections: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class HFModelSpec(Spec):
    """A local model run with transformers (CPU or GPU), including GGUF files."""

    provider: Literal["hf"]
    model: str = Field(
        description="Hugging Face repo id, a local directory, or 'bundled:smollm2-135m-instruct'."
    )
    gguf_file: str | None = Field(default=None, description="GGUF file name inside `model`.")
    chat_format: ChatFormatChoice = Field(
        default="template",
        description="'template': the tokenizer's chat template; else a format of "
        "models/chat_formats.py ('llama2': Meta's [INST] format; vicuna_v1.1, falcon_instruct, "
        "mpt_chat: FastChat's).",
    )
    device: str = Field(default="auto", description="'auto', 'cpu', 'cuda', 'cuda:1', 'mps'.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    batch_size: int = Field(default=8, ge=1, le=1024)
    max_context_tokens: int | None = Field(
        default=None,
        ge=16,
        description="Truncate the prompt from the left beyond this many tokens.",
    )
    price: Price | None = Field(default=None, description="Cost per 1M tokens; default 0 (local).")


class HostedApiSpec(Spec):
    """Fields shared by the API providers built on ``models/api_common.py``."""

    model: str
    base_url: str | None = Field(
        default=None, description="Endpoint root; default: the provider's public API."
    )
    concurrency: int = Field(default=8, ge=1, le=1024)
    batch_size: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="Requests per batch (each batch is one commit); default 16 × concurrency.",
    )
    max_retries: int = Field(default=6, ge=0, le=50)
    timeout_s: float = Field(default=120.0, gt=0)
    backoff_initial_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=60.0, ge=0)
    price: Price | None = Field(
        default=None, description="USD per 1M tokens; default: the price table (docs/config.md)."
    )
    requests_per_minute: float | None = Field(default=None, gt=0, description="Client-side limit.")
    tokens_per_minute: float | None = Field(
        default=None, gt=0, description="Client-side limit on prompt + completion tokens."
    )


class OpenAIModelSpec(HostedApiSpec):
    """Any OpenAI-compatible Chat Completions endpoint (OpenAI, vLLM, TGI, llama.cpp, Ollama)."""

    provider: Literal["openai"]
    base_url: str | None = Field(
        default=None, description="Endpoint root, e.g. http://localhost:8000/v1."
    )
    api_key_env: str = Field(
        default="OPENAI_API_KEY", description="NAME of the environment variable holding the key."
    )


class AnthropicModelSpec(HostedApiSpec):
    """Anthropic's Messages API through the official ``anthropic`` SDK."""

    provider: Literal["anthropic"]
    api_key_env: str = Field(
        default="ANTHROPIC_API_KEY", description="NAME of the environment variable holding the key."
    )


class GoogleModelSpec(HostedApiSpec):
    """Google's Gemini API through the official ``google-genai`` SDK."""

    provider: Literal["google"]
    api_key_env: str = Field(
        default="GEMINI_API_KEY",
        description="NAME of the key's variable; the default also accepts GOOGLE_API_KEY.",
    )


class LlamaCppModelSpec(Spec):
    """A local GGUF model run with llama.cpp (`pip install 'onpar[llamacpp]'`, compiles)."""

    provider: Literal["llamacpp"]
    model: str = Field(description="Path of a .gguf file, or 'bundled:smollm2-135m-instruct'.")
    chat_format: ChatFormatChoice = Field(
        default="template",
        description="'template': the GGUF's own chat template; else a format of chat_formats.py.",
    )
    n_ctx: int = Field(default=4096, ge=16, description="Context window in tokens.")
    n_threads: int | None = Field(default=None, ge=1, description="CPU threads; None: llama.cpp's.")
    n_gpu_layers: int = Field(default=0, ge=-1, description="Layers offloaded to GPU; -1: all.")
    n_batch: int = Field(default=512, ge=1, description="Prompt tokens evaluated per step.")
    batch_size: int = Field(
        default=8, ge=1, le=1024, description="Requests handed over (and committed) at once."
    )
    price: Price | None = Field(default=None, description="Cost per 1M tokens; default 0 (local).")


class ResponsesFileSpec(Spec):
    """Answers generated elsewhere, read from a file (MT-Bench, AlpacaEval or onpar JSONL)."""

    provider: Literal["responses"]
    path: Path
    format: Literal["auto", "onpar", "mt_bench", "alpaca_eval"] = "auto"
    model: str | None = Field(
        default=None, description="Which model's answers to take when the file holds several."
    )


ModelSpec = Annotated[
    HFModelSpec
    | LlamaCppModelSpec
    | OpenAIModelSpec
    | AnthropicModelSpec
    | GoogleModelSpec
    | ResponsesFileSpec,
    Field(discriminator="provider"),
]


class ContestantConfig(Spec):
    """A model plus the way it is asked: its own system prompt and sampling settings."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=64)
    model: ModelSpec
    system_prompt: str | None = Field(default=None, description="None: the model's own default.")
    system_prompt_preset: Literal["llama2_paper"] | None = Field(
        default=None,
        description="'llama2_paper': the system prompt the Llama 2 paper used for this model's "
        "chat format (Table 31); fills system_prompt.",
    )
    generation: GenerationParams = GenerationParams()

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: object) -> object:
        """Fill system_prompt from the preset, so everything downstream sees one plain text."""
        if not isinstance(data, dict) or data.get("system_prompt_preset") != "llama2_paper":
            return data
        from onpar.models.chat_formats import paper_system_prompt  # light; avoids an import cycle

        model = data.get("model")
        fmt = model.get("chat_format") if isinstance(model, dict) else None
        fmt = getattr(model, "chat_format", fmt)
        preset = paper_system_prompt(fmt if isinstance(fmt, str) else None)
        if data.get("system_prompt") not in (None, preset):  # a stored config repeats it
            raise ValueError("give system_prompt or system_prompt_preset, not both")
        return {**data, "system_prompt": preset}


class ModelJudgeSpec(Spec):
    """What every model judge has: a callable model and how its verdict is read."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=64)
    model: ModelSpec
    verdict: Literal["auto", "logprobs", "text"] = Field(
        default="auto", description="'auto': log-probs where the backend has them, else parse text."
    )
    generation: GenerationParams = GenerationParams(max_new_tokens=512)

    @field_validator("model")
    @classmethod
    def _judge_needs_a_model(cls, spec: object) -> object:
        if isinstance(spec, ResponsesFileSpec):
            raise ValueError("a judge must be a model that can be called, not a 'responses' file")
        return spec

    @model_validator(mode="after")
    def _logprobs_need_a_local_model(self) -> ModelJudgeSpec:
        if self.verdict == "logprobs" and self.model.provider not in LOCAL_PROVIDERS:
            raise ValueError(
                "verdict: logprobs needs a local model (provider: hf or llamacpp); "
                "use verdict: text for APIs"
            )
        return self

    @property
    def uses_logprobs(self) -> bool:
        """'auto' reads log-probs from local models and parses text from APIs."""
        if self.verdict == "auto":
            return self.model.provider in LOCAL_PROVIDERS
        return self.verdict == "logprobs"


class JudgeConfig(ModelJudgeSpec):
    """A pairwise judge asking Llama 2's 7-point question; every pair is judged in both orders."""

    combine: Literal["agree", "mean"] = Field(
        default="agree", description="How the two orders' verdicts become one; see docs/judging.md."
    )


class PromptSetConfig(Spec):
    """A prompt file and how to read it."""

    path: Path
    format: Literal["auto", "onpar", "mt_bench", "messages", "csv"] = "auto"
    prompt_column: str | None = Field(
        default=None, description="CSV only: the column with the prompt."
    )
    id_column: str | None = Field(
        default=None, description="CSV only: the id column (default: row number)."
    )
    category_column: str | None = Field(default=None, description="CSV only.")
    limit: int | None = Field(default=None, ge=1, description="Use only the first N prompts.")


class StatsConfig(Spec):
    """How uncertainty is computed."""

    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    equivalence_margin: float = Field(
        default=0.05,
        gt=0.0,
        lt=1.0,
        description="'On par' when the TOST interval of win − loss rate lies inside ±margin.",
    )
    bootstrap_samples: int = Field(default=2000, ge=100, le=1_000_000)
    seed: int = Field(default=0, ge=0)


class CacheConfig(Spec):
    """The cross-run response cache (keyed on provider, model, parameters, messages, sample)."""

    enabled: bool = True
    path: Path | None = Field(
        default=None,
        description="SQLite file; default $ONPAR_CACHE_DIR or ~/.cache/onpar/cache.sqlite.",
    )


class RunConfig(Spec):
    """A whole comparison: who competes, on which prompts, judged by whom, written where."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=64)
    output_dir: Path
    contestants: list[ContestantConfig] = Field(min_length=1)
    prompts: list[PromptSetConfig] = Field(
        default_factory=list, description="Side-by-side prompt sets; may be empty with benchmarks."
    )
    comparisons: list[tuple[str, str]] | None = Field(
        default=None,
        description="Pairs (x, y) to compare; default: the first contestant against each other.",
    )
    judges: list[JudgeConfig] = Field(default_factory=list)
    stats: StatsConfig = StatsConfig()
    cache: CacheConfig = CacheConfig()
    executor: ExecutorConfig = ExecutorConfig()  # where model calls run: local | ray
    benchmarks: list[BenchmarkSpec] = Field(
        default_factory=list, description="Academic benchmarks every contestant takes."
    )
    prices: dict[str, Price] = Field(
        default_factory=dict, description="Model name → price, over the default price table."
    )
    max_cost: float | None = Field(
        default=None, gt=0, description="USD: stop (resumably) before the run would spend more."
    )
    safety: SafetyConfig | None = Field(
        default=None, description="Llama 2's safety evaluation; see docs/safety.md."
    )

    @model_validator(mode="after")
    def _names_and_pairs_are_consistent(self) -> RunConfig:
        names = [c.name for c in self.contestants]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"contestant names must be unique; repeated: {', '.join(dupes)}")
        if not self.prompts and not self.benchmarks and self.safety is None:
            raise ValueError(
                "nothing to run: give `prompts` (side by side), `benchmarks` or `safety`"
            )
        if self.prompts and len(names) < 2:
            raise ValueError("side-by-side `prompts` need at least 2 contestants")
        _check_benchmarks(self.benchmarks, names)
        if self.safety is not None:
            check_safety_contestants(self.safety, names)
        judge_names = [j.name for j in self.judges]
        if len(set(judge_names)) != len(judge_names):
            raise ValueError("judge names must be unique")
        for x, y in self.comparisons or []:
            for side in (x, y):
                if side not in names:
                    raise ValueError(
                        f"comparison names unknown contestant {side!r}; known: {', '.join(names)}"
                    )
            if x == y:
                raise ValueError(f"comparison of {x!r} with itself")
        return self

    def comparison_pairs(self) -> list[tuple[str, str]]:
        if not self.prompts:
            return []
        if self.comparisons is not None:
            return list(self.comparisons)
        first, *others = [c.name for c in self.contestants]
        return [(first, other) for other in others]

    def contestant(self, name: str) -> ContestantConfig:
        for c in self.contestants:
            if c.name == name:
                return c
        raise KeyError(name)


def _check_benchmarks(benchmarks: list[BenchmarkSpec], contestants: list[str]) -> None:
    tasks = [b.task_name for b in benchmarks]
    dupes = sorted({t for t in tasks if tasks.count(t) > 1})
    if dupes:
        raise ValueError(
            f"benchmark names must be unique; repeated: {', '.join(dupes)} (set `name`)"
        )
    for bench in benchmarks:
        for name in bench.contestants or []:
            if name not in contestants:
                raise ValueError(
                    f"benchmark {bench.task_name!r} names unknown contestant {name!r}; "
                    f"known: {', '.join(contestants)}"
                )


# The safety section needs the model specs above, so it is imported last (config/safety.py).
from onpar.config.safety import SafetyConfig, check_safety_contestants  # noqa: E402

RunConfig.model_rebuild()
