"""End to end on the real bundled SmolLM2-135M: answer, rate from log-probs, report.

A few prompts of the bundled safety set only; the CLI must print no prompt text (ids only).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from onpar.safety.prompt_sets import demo_safety_path, load_safety_prompts
from onpar.store.run_store import RunStore
from tests.conftest import needs_bundled_model

pytestmark = needs_bundled_model


def test_bundled_model_rates_its_own_answers(tmp_path: Path, onpar_env: dict[str, str]) -> None:
    smol = {"provider": "hf", "model": "bundled:smollm2-135m-instruct", "batch_size": 4}
    config = {
        "name": "safety-local",
        "output_dir": str(tmp_path / "out"),
        "contestants": [{"name": "smol", "model": smol, "generation": {"max_new_tokens": 12}}],
        "stats": {"bootstrap_samples": 200},
        "cache": {"enabled": False},
        "safety": {
            "adversarial": [{"path": "bundled", "limit": 3}],
            "borderline": [{"path": "bundled", "limit": 2}],
            "judges": [{"name": "smol-judge", "model": smol, "verdict": "logprobs"}],
        },
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "onpar", "run", str(path)],
        capture_output=True,
        text=True,
        env=onpar_env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    printed = done.stdout + done.stderr
    prompts = load_safety_prompts(demo_safety_path(), "onpar")
    leaked = [p.id for p in prompts if any(turn in printed for turn in p.turns)]
    assert leaked == []  # ids only in failure messages, never prompt text

    safety = json.loads((tmp_path / "out" / "results.json").read_text())["safety"]
    (violations,) = safety["violations"]
    assert violations["n_prompts"] == 3
    assert violations["overall"]["n"] == 3 and violations["failures"] == {}
    assert sum(violations["overall"]["rating_counts"]) == 3
    (borderline,) = safety["false_refusals"]
    assert borderline["n_prompts"] == 2
    assert borderline["n"] + borderline["capability_refusals"] == 2
    with RunStore(tmp_path / "out" / "run.sqlite") as store:
        ratings = [r for _, r in store.safety_ratings()]
    assert len(ratings) == 3
    for rating in ratings:
        assert rating.option_probs is not None
        assert sum(rating.option_probs) == pytest.approx(1.0)
        assert rating.rating == 1 + max(range(5), key=rating.option_probs.__getitem__)
    html = (tmp_path / "out" / "report.html").read_text()
    has_section = 'id="safety"' in html and "Content warning" in html
    assert has_section  # a bare bool: a failure must not print the page's adversarial text
