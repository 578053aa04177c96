"""How much the shared-prefix KV cache speeds up GSM8K 8-shot generation on the bundled model.

Generates greedy answers to the first N GSM8K test questions (8-shot prompts, stop at
"Question:" as lm-eval's gsm8k task does) two ways on the real SmolLM2-135M-Instruct and
prints both times, their ratio, generated tokens per second and the share of identical texts:

- onpar: `generate_until` — the ~900-token few-shot block is encoded once, each row
  prefills only its question, finished rows leave the batch.
- plain: one unbatched transformers `generate` per prompt with the same stop strings, which
  is what lm-eval's HF backend costs at batch size 1.

Needs /work/shared/data/gsm8k (or --data). Run:
.venv/bin/python benchmarks/generation_prefix_cache.py [--n 12] [--batch-size 8] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from onpar.bench.gsm8k import load_gsm8k
from onpar.config.schema import HFModelSpec
from onpar.models.hf_continuation import ContinuationRequest, cut_at_stop, generate_until
from onpar.models.hf_local import HFChatModel

UNTIL = ("Question:", "</s>", "<|im_end|>")


def plain_generate(model: HFChatModel, request: ContinuationRequest) -> tuple[str, int]:
    """Unbatched greedy `generate` stopping at the stop strings; (cut text, generated tokens)."""
    import torch

    ids = torch.tensor([model.tokenizer.encode(request.context, add_special_tokens=False)])
    with torch.inference_mode():
        output = model.model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            do_sample=False,
            max_new_tokens=request.max_new_tokens,
            stop_strings=list(request.until),
            tokenizer=model.tokenizer,
            pad_token_id=model.pad_id,
        )
    new = output[0, ids.shape[1] :]
    text = model.tokenizer.decode(new, skip_special_tokens=True)
    return cut_at_stop(text, request.until)[0], len(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--threads", type=int, default=0, help="torch threads; 0 keeps default")
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/gsm8k"))
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    items = load_gsm8k(args.data / "test.jsonl", args.data / "train.jsonl")[: args.n]
    requests = [
        ContinuationRequest(context=i.prompt, until=UNTIL, max_new_tokens=args.max_new_tokens)
        for i in items
    ]
    model = HFChatModel(HFModelSpec(provider="hf", model="bundled:smollm2-135m-instruct"))
    generate_until(model, [ContinuationRequest(context="Warm-up", max_new_tokens=2)])

    started = time.perf_counter()
    fast = generate_until(model, requests, batch_size=args.batch_size)
    onpar_s = time.perf_counter() - started
    started = time.perf_counter()
    plain = [plain_generate(model, r) for r in requests]
    plain_s = time.perf_counter() - started

    fast_tokens = sum(c.completion_tokens for c in fast)
    plain_tokens = sum(n for _, n in plain)
    same = sum(c.text == text for c, (text, _) in zip(fast, plain, strict=True))
    print(f"{len(requests)} GSM8K 8-shot prompts, {torch.get_num_threads()} torch threads")
    print(f"onpar generate_until: {onpar_s:7.1f} s  {fast_tokens / onpar_s:6.1f} tokens/s")
    print(f"plain HF generate:    {plain_s:7.1f} s  {plain_tokens / plain_s:6.1f} tokens/s")
    print(f"speed-up: {plain_s / onpar_s:.2f}x; identical texts: {same}/{len(requests)}")


if __name__ == "__main__":
    main()
