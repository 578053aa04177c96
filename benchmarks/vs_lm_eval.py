"""onpar vs lm-evaluation-harness on MMLU 5-shot and GSM8K 8-shot greedy, same model and data.

Both sides run the bundled SmolLM2-135M-Instruct GGUF on the same questions, each in its own
subprocess, and the script prints wall-clock and peak-RSS ratios and per-item agreement:

- lm-evaluation-harness (its `lm_eval run` CLI, HF backend, float32) in its own virtualenv,
  on task YAMLs written from benchmarks/lm_eval_tasks/ that reproduce its `mmlu` and `gsm8k`
  prompts but read the local files (nothing is downloaded; HF_*_OFFLINE=1);
- onpar (`hf_scoring.loglikelihoods`, `hf_continuation.generate_until`) in this interpreter.

Wall time and peak RSS (`ru_maxrss` of the child, from wait4) cover the whole child process:
interpreter start, imports, model load, data, evaluation. Both load the same float32 weights:
the GGUF file dequantized once by transformers into onpar's converted-weights cache (tokenizer
included). The conversion happens before any timing; `--lm-eval-weights gguf` instead makes
lm-eval load the GGUF file itself, dequantizing inside its timed run (~30-60 s more).

Setup (a separate venv, so lm-eval's dependencies cannot disturb onpar's):
    python3 -m venv /tmp/lmeval-venv
    /tmp/lmeval-venv/bin/pip install torch==2.13.0 "lm_eval[hf]==0.4.13" transformers==5.24.0 gguf
Run (from the repository root; about 10 minutes on 2 CPU cores with the defaults):
    .venv/bin/python benchmarks/vs_lm_eval.py [--subjects S ...] [--per-subject 40] [--gsm8k 50]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "lm_eval_tasks"
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
DEFAULT_SUBJECTS = (
    "abstract_algebra",
    "anatomy",
    "astronomy",
    "business_ethics",
    "clinical_knowledge",
)
BUNDLED = "bundled:smollm2-135m-instruct"
GSM8K_STOPS = ("Question:", "</s>", "<|im_end|>")
LETTERS = "ABCD"


# -- parent --------------------------------------------------------------------------------------
@dataclass
class Child:
    """What one measured subprocess cost, and the JSON it wrote (if any)."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    load_average: tuple[float, float]  # 1-minute load average when it started and ended
    log: Path

    def numbers(self) -> dict[str, Any]:
        return {
            "wall_s": self.wall_s,
            "cpu_s": self.cpu_s,
            "peak_rss_mb": self.peak_rss_mb,
            "load_average": self.load_average,
        }


def run_child(name: str, command: Sequence[str], env: dict[str, str], work: Path) -> Child:
    """Run `command` to completion; wall time and this child's own peak RSS (wait4)."""
    log = work / f"{name}.log"
    print(f"  running {name} …", end="", flush=True)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-25:])
        raise SystemExit(f"\n{name} failed (exit {process.returncode}); log {log}:\n{tail}")
    print(f" {wall:.1f} s", flush=True)
    cpu = usage.ru_utime + usage.ru_stime
    load = (load_before, os.getloadavg()[0])
    return Child(wall, cpu, usage.ru_maxrss / 1024, load, log)  # Linux: ru_maxrss in KiB


def own_child(role: str, config: dict[str, Any], work: Path) -> tuple[Child, dict[str, Any]]:
    """This script in this interpreter (onpar's venv) as a measured child."""
    config_path, out_path = work / f"{role}.config.json", work / f"{role}.out.json"
    config_path.write_text(json.dumps({**config, "out": str(out_path)}))
    command = [sys.executable, str(Path(__file__).resolve()), "--role", role, str(config_path)]
    child = run_child(role, command, dict(os.environ), work)
    return child, json.loads(out_path.read_text())


def lm_eval_child(
    name: str, args: argparse.Namespace, tasks: Sequence[str], limit: int, work: Path
) -> tuple[Child, dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """lm-eval's CLI as a measured child: (cost, samples per task, results JSON)."""
    output = work / f"{name}-output"
    model_args = f"pretrained={args.lm_eval_model},dtype=float32"
    if args.lm_eval_gguf_file:
        model_args += f",gguf_file={args.lm_eval_gguf_file}"
    command = [
        args.lm_eval_python,
        "-m",
        "lm_eval",
        "run",
        "--model",
        "hf",
        "--model_args",
        model_args,
        "--tasks",
        ",".join(tasks),
        "--include_path",
        str(work / "tasks"),
        "--limit",
        str(limit),
        "--batch_size",
        str(args.batch_size),
        "--device",
        "cpu",
        "--log_samples",
        "--output_path",
        str(output),
    ]
    env = {
        **os.environ,
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HOME": str(work / f"{name}-hf-home"),  # a fresh datasets cache: nothing reused
    }
    child = run_child(name, command, env, work)
    samples: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        (path,) = output.glob(f"*/samples_{task}_*.jsonl")
        samples[task] = [json.loads(line) for line in path.read_text().splitlines() if line]
    (results_path,) = output.glob("*/results_*.json")
    return child, samples, json.loads(results_path.read_text())


def write_tasks(args: argparse.Namespace, work: Path) -> None:
    """Fill the YAML templates with this run's absolute data paths."""
    folder = work / "tasks"
    folder.mkdir()
    mmlu = TEMPLATES / "mmlu_subject.yaml.in"
    for subject in args.subjects:
        fill(
            mmlu,
            folder / f"onpar_mmlu_{subject}.yaml",
            {
                "task": f"onpar_mmlu_{subject}",
                "test_file": json.dumps(str(args.data / "mmlu" / "test" / f"{subject}_test.csv")),
                "dev_file": json.dumps(str(args.data / "mmlu" / "dev" / f"{subject}_dev.csv")),
                "description": json.dumps(mmlu_description(subject)),
            },
        )
    fill(
        TEMPLATES / "gsm8k.yaml.in",
        folder / "onpar_gsm8k.yaml",
        {
            "task": "onpar_gsm8k",
            "train_file": json.dumps(str(args.data / "gsm8k" / "train.jsonl")),
            "test_file": json.dumps(str(args.data / "gsm8k" / "test.jsonl")),
            "max_new_tokens": str(args.max_new_tokens),
        },
    )


def fill(template: Path, target: Path, values: dict[str, str]) -> None:
    text = template.read_text()
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    if "@@" in text:
        raise ValueError(f"{template}: unfilled field left")
    target.write_text(text)


def mmlu_description(subject: str) -> str:
    """lm-eval's per-subject MMLU description (the same text onpar's prompt starts with)."""
    topic = subject.replace("_", " ")
    return f"The following are multiple choice questions (with answers) about {topic}.\n\n"


def prepare_weights(args: argparse.Namespace) -> None:
    """Convert the GGUF file once (outside every timing) and point lm-eval at the result."""
    from onpar.models.hf_loading import _converted_gguf, resolve_model

    resolved = resolve_model(BUNDLED, None)
    assert resolved.gguf_file is not None
    if args.lm_eval_weights == "gguf":
        args.lm_eval_model, args.lm_eval_gguf_file = resolved.location, resolved.gguf_file
    else:
        args.lm_eval_model, args.lm_eval_gguf_file = str(_converted_gguf(resolved)), None
    converted = _converted_gguf(resolved)
    for path in converted.iterdir():  # warm the page cache, so neither side pays the disk
        path.read_bytes()


def compare_mmlu(args: argparse.Namespace, work: Path, report: dict[str, Any]) -> dict[str, Any]:
    tasks = [f"onpar_mmlu_{s}" for s in args.subjects]
    config = {
        "data": str(args.data),
        "subjects": list(args.subjects),
        "per_subject": args.per_subject,
        "batch_size": args.onpar_batch_size,
    }
    lm_cost, samples, lm_results = lm_eval_child(
        "lm-eval-mmlu", args, tasks, args.per_subject, work
    )
    onpar_cost, onpar = own_child("onpar-mmlu", config, work)

    same_prompt = same_pick = 0
    max_diff, lm_correct = 0.0, 0
    for item in onpar["items"]:
        subject, index = item["id"].rsplit("/", 1)
        sample = next(s for s in samples[f"onpar_mmlu_{subject}"] if s["doc_id"] == int(index))
        lm_scores = [float(r[0]) for r in sample["filtered_resps"]]
        lm_pick = max(range(4), key=lambda c, s=lm_scores: s[c])  # first maximum, as np.argmax
        lm_correct += lm_pick == int(sample["target"])
        same_pick += lm_pick == item["pick"]
        arguments = [(a["arg_0"], a["arg_1"]) for a in sample["arguments"].values()]
        same_prompt += arguments == [(item["context"], f" {letter}") for letter in LETTERS]
        max_diff = max(
            max_diff, *(abs(a - b) for a, b in zip(lm_scores, item["scores"], strict=True))
        )
    n = len(onpar["items"])
    result = {
        "questions": n,
        "lm_eval": {
            **lm_cost.numbers(),
            "accuracy": lm_correct / n,
            "evaluation_s": float(lm_results.get("total_evaluation_time_seconds", "nan")),
        },
        "onpar": {
            **onpar_cost.numbers(),
            "accuracy": onpar["accuracy"],
            "load_s": onpar["load_s"],
            "score_s": onpar["score_s"],
            "fed_tokens": onpar["fed_tokens"],
            "torch_threads": onpar["torch_threads"],
        },
        "identical_predictions": same_pick,
        "identical_prompts": same_prompt,
        "max_abs_logprob_diff": max_diff,
        "batch_size": {"lm_eval": args.batch_size, "onpar": args.onpar_batch_size},
    }
    report["mmlu"] = result
    return onpar


def compare_gsm8k(args: argparse.Namespace, work: Path, report: dict[str, Any]) -> None:
    config = {
        "data": str(args.data),
        "n": args.gsm8k,
        "max_new_tokens": args.max_new_tokens,
        "batch_size": args.onpar_gen_batch_size,
    }
    lm_cost, samples, lm_results = lm_eval_child(
        "lm-eval-gsm8k", args, ["onpar_gsm8k"], args.gsm8k, work
    )
    onpar_cost, onpar = own_child("onpar-gsm8k", config, work)
    by_doc: dict[int, dict[str, Any]] = {}
    for sample in samples["onpar_gsm8k"]:
        by_doc.setdefault(sample["doc_id"], sample)  # one line per filter; same generation
    same_text = same_prompt = 0
    for index, item in enumerate(onpar["items"]):
        sample = by_doc[index]
        same_text += sample["resps"][0][0] == item["text"]
        arguments = next(iter(sample["arguments"].values()))
        same_prompt += arguments["arg_0"] == item["prompt"]
    lm_texts = [by_doc[i]["resps"][0][0] for i in range(len(onpar["items"]))]
    lm_acc = gsm8k_accuracy(lm_texts, [item["reference"] for item in onpar["items"]])
    metrics = lm_results["results"]["onpar_gsm8k"]
    report["gsm8k"] = {
        "questions": len(onpar["items"]),
        "lm_eval": {
            **lm_cost.numbers(),
            **lm_acc,
            "own_exact_match_strict": metrics.get("exact_match,strict-match"),
            "own_exact_match_flexible": metrics.get("exact_match,flexible-extract"),
        },
        "onpar": {
            **onpar_cost.numbers(),
            "strict": onpar["strict"],
            "flexible": onpar["flexible"],
            "load_s": onpar["load_s"],
            "generate_s": onpar["generate_s"],
            "generated_tokens": onpar["generated_tokens"],
        },
        "identical_generations": same_text,
        "identical_prompts": same_prompt,
        "batch_size": {"lm_eval": args.batch_size, "onpar": args.onpar_gen_batch_size},
    }


def gsm8k_accuracy(texts: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Strict and flexible exact match, scored by onpar's extraction (same for both sides)."""
    from onpar.bench.gsm8k import extract_final_number, is_correct

    return {
        mode: sum(
            is_correct(extract_final_number(t, mode), r)
            for t, r in zip(texts, references, strict=True)  # type: ignore[arg-type]
        )
        / len(texts)
        for mode in ("strict", "flexible")
    }


COST_HEADER = f"{'wall s':>9}{'CPU s':>9}{'peak RSS MB':>13}{'load avg':>12}"


def cost_cells(side: dict[str, Any]) -> str:
    """Wall, CPU, peak RSS, and the load average around the run (other work skews walls)."""
    load = "{:.1f}→{:.1f}".format(*side["load_average"])
    return f"{side['wall_s']:>9.1f}{side['cpu_s']:>9.1f}{side['peak_rss_mb']:>13.0f}{load:>12}"


def print_report(report: dict[str, Any]) -> None:
    print()
    if "mmlu" in report:
        m = report["mmlu"]
        lm, op = m["lm_eval"], m["onpar"]
        print(
            f"MMLU 5-shot, {m['questions']} questions ({report['subjects_text']}); "
            f"batch size lm-eval {m['batch_size']['lm_eval']}, onpar {m['batch_size']['onpar']}"
        )
        print(f"  {'side':<16}{COST_HEADER}{'accuracy':>10}")
        for name, side in (("lm-eval " + report["lm_eval_version"], lm), ("onpar", op)):
            print(f"  {name:<16}{cost_cells(side)}{side['accuracy']:>10.3f}")
        print(
            f"  speed-up (lm-eval wall / onpar wall): {lm['wall_s'] / op['wall_s']:.2f}x   "
            f"peak RSS onpar / lm-eval: {op['peak_rss_mb'] / lm['peak_rss_mb']:.2f}"
        )
        n = m["questions"]
        print(
            f"  identical predictions: {m['identical_predictions']}/{n} "
            f"({100 * m['identical_predictions'] / n:.1f} %); identical prompts: "
            f"{m['identical_prompts']}/{n}; "
            f"max |log-prob difference| {m['max_abs_logprob_diff']:.1e}"
        )
        print(
            f"  onpar inside its {op['wall_s']:.1f} s: model load {op['load_s']:.1f} s, "
            f"scoring {op['score_s']:.1f} s ({op['torch_threads']} torch threads); "
            f"lm-eval's own evaluation timer: {lm['evaluation_s']:.1f} s"
        )
        t = report["tokens"]
        print(
            f"  tokens: lm-eval runs {t['lm_eval_input_tokens']:,} (one forward per question, "
            f"padding not counted); onpar runs {op['fed_tokens']:,}; unique {t['unique_tokens']:,}"
        )
        print(
            f"  throughput: raw forward {t['raw_full_tok_s']:.0f} tok/s with the LM head at "
            f"every position (lm-eval's work), {t['raw_body_tok_s']:.0f} tok/s without; "
            f"onpar effective {t['unique_tokens'] / op['score_s']:.0f} unique tok/s while "
            f"scoring, {t['unique_tokens'] / op['wall_s']:.0f} over its whole run"
        )
    if "gsm8k" in report:
        g = report["gsm8k"]
        lm, op = g["lm_eval"], g["onpar"]
        print(
            f"\nGSM8K 8-shot greedy, {g['questions']} questions, ≤ {report['max_new_tokens']} "
            f"new tokens; batch size lm-eval {g['batch_size']['lm_eval']}, "
            f"onpar {g['batch_size']['onpar']}"
        )
        print(f"  {'side':<16}{COST_HEADER}{'strict':>8}{'flexible':>10}")
        for name, side in (("lm-eval " + report["lm_eval_version"], lm), ("onpar", op)):
            print(f"  {name:<16}{cost_cells(side)}{side['strict']:>8.3f}{side['flexible']:>10.3f}")
        print(
            f"  speed-up: {lm['wall_s'] / op['wall_s']:.2f}x   peak RSS onpar / lm-eval: "
            f"{op['peak_rss_mb'] / lm['peak_rss_mb']:.2f}   identical generations: "
            f"{g['identical_generations']}/{g['questions']}; identical prompts: "
            f"{g['identical_prompts']}/{g['questions']}"
        )
        print(
            f"  lm-eval's own exact_match: strict {lm['own_exact_match_strict']}, flexible "
            f"{lm['own_exact_match_flexible']}; onpar: model load {op['load_s']:.1f} s, "
            f"generation {op['generate_s']:.1f} s, {op['generated_tokens']} tokens"
        )


def lm_eval_version(python: str) -> str:
    code = "from importlib.metadata import version; print(version('lm_eval'))"
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", help=argparse.SUPPRESS)
    parser.add_argument("config", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--subjects", nargs="+", default=list(DEFAULT_SUBJECTS))
    parser.add_argument("--per-subject", type=int, default=40, help="first N test questions")
    parser.add_argument("--gsm8k", type=int, default=50, help="first N test questions; 0 skips")
    parser.add_argument("--skip-mmlu", action="store_true")
    parser.add_argument("--batch-size", type=int, default=8, help="lm-eval's --batch_size")
    parser.add_argument("--onpar-batch-size", type=int, default=64, help="rows per forward")
    parser.add_argument("--onpar-gen-batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=256, help="GSM8K (lm-eval's default)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--lm-eval-python",
        default=os.environ.get("LM_EVAL_PYTHON", "/tmp/lmeval-venv/bin/python"),
        help="interpreter of the venv with lm_eval (default: $LM_EVAL_PYTHON or that path)",
    )
    parser.add_argument("--lm-eval-weights", choices=("converted", "gguf"), default="converted")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    if args.role:
        CHILDREN[args.role](json.loads(Path(args.config).read_text()))
        return
    if not (args.data / "mmlu" / "test").is_dir():
        args.data = Path("/work/shared/data")
    prepare_weights(args)
    report: dict[str, Any] = {
        "lm_eval_version": lm_eval_version(args.lm_eval_python),
        "subjects_text": f"{len(args.subjects)} subjects × {args.per_subject}",
        "max_new_tokens": args.max_new_tokens,
        "lm_eval_weights": args.lm_eval_weights,
    }
    with tempfile.TemporaryDirectory(prefix="onpar-vs-lm-eval-") as folder:
        work = Path(folder)
        write_tasks(args, work)
        if not args.skip_mmlu:
            print(f"MMLU: {report['subjects_text']} questions")
            onpar_mmlu = compare_mmlu(args, work, report)
            _, report["tokens"] = own_child(
                "throughput", {"contexts": [i["context"] for i in onpar_mmlu["items"]]}, work
            )
        if args.gsm8k:
            print(f"GSM8K: {args.gsm8k} questions")
            compare_gsm8k(args, work, report)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


# -- children (run in onpar's venv) ---------------------------------------------------------------
def load_bundled() -> tuple[Any, float]:
    from onpar.config.schema import HFModelSpec
    from onpar.models.hf_local import HFChatModel

    started = time.perf_counter()
    model = HFChatModel(HFModelSpec(provider="hf", model=BUNDLED))
    return model, time.perf_counter() - started


def onpar_mmlu(config: dict[str, Any]) -> None:
    """Score every choice of the first N questions per subject; the pick is the argmax."""
    model, load_s = load_bundled()  # first: its time includes importing torch and transformers
    import torch

    from onpar.bench.mmlu import load_mmlu_subject
    from onpar.models.hf_scoring import loglikelihoods

    root = Path(config["data"]) / "mmlu"
    items = [
        item
        for subject in config["subjects"]
        for item in load_mmlu_subject(root, subject)[: config["per_subject"]]
    ]
    fed = [0]
    embed = model.model.get_input_embeddings()
    embed.register_forward_hook(lambda _m, args, _o: fed.__setitem__(0, fed[0] + args[0].numel()))
    started = time.perf_counter()
    requests = [(item.context, choice) for item in items for choice in item.choices]
    scored = loglikelihoods(model, requests, batch_size=config["batch_size"])
    score_s = time.perf_counter() - started
    out_items, correct = [], 0
    for index, item in enumerate(items):
        scores = [s for s, _ in scored[4 * index : 4 * index + 4]]
        pick = max(range(4), key=lambda c, s=scores: s[c])  # first maximum, as lm-eval
        correct += pick == item.answer
        out_items.append({"id": item.id, "context": item.context, "scores": scores, "pick": pick})
    Path(config["out"]).write_text(
        json.dumps(
            {
                "items": out_items,
                "accuracy": correct / len(items),
                "load_s": load_s,
                "score_s": score_s,
                "fed_tokens": fed[0],
                "torch_threads": torch.get_num_threads(),
            }
        )
    )


def onpar_gsm8k(config: dict[str, Any]) -> None:
    """Greedy 8-shot generations of the first N test questions."""
    from onpar.bench.gsm8k import extract_final_number, is_correct, load_gsm8k
    from onpar.models.hf_continuation import ContinuationRequest, generate_until

    model, load_s = load_bundled()
    root = Path(config["data"]) / "gsm8k"
    items = load_gsm8k(root / "test.jsonl", root / "train.jsonl")[: config["n"]]
    requests = [
        ContinuationRequest(
            context=i.prompt, until=GSM8K_STOPS, max_new_tokens=config["max_new_tokens"]
        )
        for i in items
    ]
    started = time.perf_counter()
    done = generate_until(model, requests, batch_size=config["batch_size"])
    generate_s = time.perf_counter() - started
    texts = [c.text for c in done]
    accuracy = {
        mode: sum(
            is_correct(extract_final_number(t, mode), i.reference)
            for t, i in zip(texts, items, strict=True)
        )
        / len(items)
        for mode in ("strict", "flexible")
    }
    Path(config["out"]).write_text(
        json.dumps(
            {
                "items": [
                    {"prompt": i.prompt, "text": t, "reference": i.reference}
                    for i, t in zip(items, texts, strict=True)
                ],
                **accuracy,
                "load_s": load_s,
                "generate_s": generate_s,
                "generated_tokens": sum(c.completion_tokens for c in done),
            }
        )
    )


def throughput(config: dict[str, Any]) -> None:
    """Raw forward speed on real prompt tokens, and the token counts of the MMLU run.

    Raw speed: 4 chunks of 512 distinct tokens (after a warm-up chunk), one plain forward each,
    with the LM head at every position (what lm-eval computes) and without it (decoder only).
    Unique tokens: the distinct prefixes of all model inputs, i.e. what an evaluator must
    compute at least; lm-eval's count is one full forward per question.
    """
    import torch

    from onpar.models.hf_scoring import encode_requests

    model, _ = load_bundled()
    contexts = config["contexts"]
    pairs = encode_requests(model, [(c, " A") for c in contexts])
    inputs = sorted({(ctx + cont)[:-1] for ctx, cont in pairs})
    unique = sum(len(x) - common_length(a, x) for a, x in pairwise([(), *inputs]))
    stream = [token for tokens in inputs for token in tokens]  # real prompt text, no cache
    stream *= -(-2560 // len(stream))  # a small run repeats its text to fill the chunks
    chunks = [stream[i : i + 512] for i in range(0, 2560, 512)]
    rates = {}
    with torch.inference_mode():
        for name, run in (
            ("raw_full_tok_s", model.model),
            ("raw_body_tok_s", model.model.get_decoder()),
        ):
            run(input_ids=torch.tensor([chunks[0]]))  # warm-up
            started = time.perf_counter()
            for chunk in chunks[1:]:
                run(input_ids=torch.tensor([chunk]))
            rates[name] = 2048 / (time.perf_counter() - started)
    Path(config["out"]).write_text(
        json.dumps(
            {
                **rates,
                "unique_tokens": unique,
                "lm_eval_input_tokens": sum(len(x) for x in inputs),
            }
        )
    )


def common_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


CHILDREN = {"onpar-mmlu": onpar_mmlu, "onpar-gsm8k": onpar_gsm8k, "throughput": throughput}

if __name__ == "__main__":
    main()
