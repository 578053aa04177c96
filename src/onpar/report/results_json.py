"""Write results.json, the machine-readable result of a run (documented in docs/results-json.md).

Writes are atomic so a crash or a concurrent reader never sees half a file.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from onpar.records import RunResults


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder and ``os.replace``.

    Same folder so the rename stays on one filesystem and is atomic.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp_name, mode)  # mkstemp makes 0600; keep the file readable like any other
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _finite_or_none(value: Any) -> Any:
    """Map NaN/inf to None: JSON has no NaN, and None already means 'undefined' in Estimate."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(item) for item in value]
    return value


def results_to_json(results: RunResults) -> str:
    """Serialize results as pretty, strict JSON (the exact text written to results.json)."""
    data = _finite_or_none(results.model_dump(mode="json"))
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_results_json(results: RunResults, path: Path) -> None:
    """Write ``results`` to ``path`` (usually ``<run>/results.json``) atomically."""
    atomic_write_text(Path(path), results_to_json(results))
