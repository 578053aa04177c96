"""How much the shared-prefix KV cache speeds up log-prob judging on the bundled model.

Scores the same judge prompts (built from the bundled demo prompts with synthetic answers)
two ways on the real SmolLM2-135M-Instruct and prints both times and their ratio:

- onpar: `HFChatModel.score_options` — the judge instructions, shared by every request, are
  encoded once; each request runs only its own suffix and only the last position's logits.
- plain: one left-padded forward pass per batch over each whole prompt, logits at every
  position, the last one read (what onpar did before the prefix cache).

Run: .venv/bin/python benchmarks/judge_prefix_cache.py [--n 48] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import time

from onpar.config.schema import HFModelSpec, PromptSetConfig
from onpar.data import load_prompt_set
from onpar.judges.pairwise import OPTIONS, Transcript, judge_messages
from onpar.models.hf_local import HFChatModel


def judge_conversations(n: int) -> list:
    prompts = load_prompt_set(PromptSetConfig(path="bundled:demo_prompts.jsonl"))
    conversations = []
    for i in range(n):
        prompt = prompts[i % len(prompts)]
        answers = tuple(
            f"Answer {k} to '{t}': " + "details " * (20 + i % 30)
            for k, t in enumerate(prompt.turns)
        )
        other = tuple(a.replace("details", "facts") for a in answers)
        conversations.append(
            judge_messages(
                prompt,
                Transcript(prompt.turns, answers),
                Transcript(prompt.turns, other),
                wants_digit=True,
            )
        )
    return conversations


def plain_next_token_logprobs(
    model: HFChatModel, prompts: list[list[int]], token_ids: list[int]
) -> list[list[float]]:
    """The baseline: full forward over left-padded prompts, every position's logits."""
    import torch

    input_ids, attention = model._left_pad(prompts)
    with torch.inference_mode():
        logits = model.model(input_ids=input_ids, attention_mask=attention).logits[:, -1, :]
    return torch.log_softmax(logits.float(), dim=-1)[:, token_ids].tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    model = HFChatModel(
        HFModelSpec(
            provider="hf", model="bundled:smollm2-135m-instruct", batch_size=args.batch_size
        )
    )
    conversations = judge_conversations(args.n)
    tokens = sum(len(model.encode(c)) for c in conversations)
    option_ids = [model.tokenizer.encode(o, add_special_tokens=False) for o in OPTIONS]
    model.score_options(conversations[:2], OPTIONS)  # warm-up

    started = time.perf_counter()
    fast = model.score_options(conversations, OPTIONS)
    onpar_s = time.perf_counter() - started

    started = time.perf_counter()
    slow: list[list[float]] = []
    token_ids = [ids[0] for ids in option_ids]
    for start in range(0, len(conversations), args.batch_size):
        chunk = [model.encode(c) for c in conversations[start : start + args.batch_size]]
        slow.extend(plain_next_token_logprobs(model, chunk, token_ids))
    naive_s = time.perf_counter() - started

    worst = max(
        abs(a - b)
        for row_a, row_b in zip(fast, slow, strict=True)
        for a, b in zip(row_a, row_b, strict=True)
    )
    print(
        f"judge prompts: {args.n}, prompt tokens: {tokens} (mean {tokens / args.n:.0f}), "
        f"batch size {args.batch_size}"
    )
    print(f"plain full forward : {naive_s:7.2f} s")
    print(f"onpar prefix cache : {onpar_s:7.2f} s")
    print(
        f"speed-up (plain / onpar): {naive_s / onpar_s:.2f}x; max |log-prob difference| {worst:.2e}"
    )


if __name__ == "__main__":
    main()
