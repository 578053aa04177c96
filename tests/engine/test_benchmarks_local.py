"""`onpar bench` end to end on the real bundled SmolLM2-135M and the real shared data sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from onpar.bench.gsm8k import load_gsm8k
from onpar.bench.mmlu import load_mmlu
from onpar.config import load_config
from onpar.engine import execute_run
from onpar.store.run_store import RunStore
from tests.conftest import SHARED_DATA, needs_bundled_model

MMLU = SHARED_DATA / "mmlu"
GSM8K = SHARED_DATA / "gsm8k"

pytestmark = [
    needs_bundled_model,
    pytest.mark.skipif(not (MMLU / "test").is_dir(), reason=f"{MMLU} absent"),
    pytest.mark.skipif(not (GSM8K / "test.jsonl").is_file(), reason=f"{GSM8K} absent"),
]

MODEL = {"provider": "hf", "model": "bundled:smollm2-135m-instruct", "device": "cpu"}
SUBJECTS = ["astronomy", "virology"]


def write_config(tmp_path: Path) -> Path:
    config = {
        "name": "bench-local",
        "output_dir": str(tmp_path / "out"),
        "contestants": [{"name": "smol", "model": MODEL}],
        "benchmarks": [
            {"task": "mmlu", "path": str(MMLU), "subjects": SUBJECTS, "limit": 3},
            {"task": "gsm8k", "path": str(GSM8K), "limit": 2, "max_new_tokens": 24},
            {"task": "humaneval", "limit": 2, "max_new_tokens": 40, "timeout_s": 5},
        ],
        "stats": {"bootstrap_samples": 200},
        "cache": {"enabled": False},
    }
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_bench_on_the_bundled_model_and_resume(
    tmp_path: Path, onpar_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path)
    outputs = execute_run(load_config(path), path, show_progress=False, benchmarks_only=True)
    results = json.loads(outputs.results_json.read_text())
    scores = {(s["task"], s["metric"]): s for s in results["benchmarks"]}
    assert scores[("mmlu", "acc")]["n_scored"] == 6
    assert scores[("mmlu", "acc")]["mode"] == "loglikelihood"
    assert [g["group"] for g in scores[("mmlu", "acc")]["by_group"]] == SUBJECTS
    assert scores[("gsm8k", "exact_match")]["n_scored"] == 2
    assert scores[("humaneval", "pass@1")]["n_scored"] == 2
    assert scores[("humaneval", "pass@1")]["mode"] == "code"

    with RunStore(outputs.store) as store:
        outcomes = {(o.task, o.item_id): o for _, o in store.bench_outcomes()}
    # The stored log-likelihoods are the scorer's, and the prediction is their argmax.
    from onpar.models.hf_local import HFChatModel
    from onpar.models.hf_scoring import loglikelihoods
    from onpar.models.registry import build_model

    model = build_model(load_config(path).contestants[0].model)
    assert isinstance(model, HFChatModel)
    items = [i for s in SUBJECTS for i in load_mmlu(MMLU, [s])[:3]]
    direct = loglikelihoods(model, [(i.context, c) for i in items for c in i.choices])
    for index, item in enumerate(items):
        stored = outcomes[("mmlu", item.id)]
        expected = [s for s, _ in direct[4 * index : 4 * index + 4]]
        assert stored.scores == pytest.approx(expected, abs=1e-4)
        assert stored.prediction == str(max(range(4), key=lambda k: (expected[k], -k)))
    # GSM8K: the stored answer is what greedy continuation of the 8-shot prompt gives.
    from onpar.models.hf_continuation import ContinuationRequest, generate_until

    question = load_gsm8k(GSM8K / "test.jsonl", GSM8K / "train.jsonl")[0]
    (continuation,) = generate_until(
        model,
        [
            ContinuationRequest(
                context=question.prompt,
                until=("Question:", "</s>", "<|im_end|>"),
                max_new_tokens=24,
            )
        ],
    )
    assert outcomes[("gsm8k", question.id)].raw == continuation.text
    model.close()

    # A re-run finds everything done: no model call at all.
    def no_call(*_: Any, **__: Any) -> Any:
        raise AssertionError("a finished benchmark item was computed again")

    monkeypatch.setattr("onpar.models.hf_scoring.loglikelihoods", no_call)
    monkeypatch.setattr("onpar.models.hf_continuation.generate_until", no_call)
    again = execute_run(load_config(path), path, show_progress=False, benchmarks_only=True)
    assert json.loads(again.results_json.read_text())["benchmarks"] == results["benchmarks"]
