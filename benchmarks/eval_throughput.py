"""Evaluation harness throughput vs bare batched greedy ``generate`` on the same prompts.

Ours is :class:`ftagent.eval.generate.TransformersBackend` (chat template, length-sorted batches, left
padding, decoding, original order restored); bare is the textbook loop: the same rendered prompts in
input order, ``batch_size`` at a time, one ``model.generate`` call per batch, decode. Both run greedy
with the same ``max_new_tokens`` on the same model object, alternating, best of ``--repeats``.

Prints ``throughput ratio ours/bare`` (goal >= 0.8). Usage::

    PYTHONPATH=. python benchmarks/eval_throughput.py [--prompts 128] [--batch-size 32] [--max-new-tokens 24]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import arithmetic_records, tiny_model


def bare_generate(backend, texts: list[str], batch_size: int, max_new_tokens: int) -> list[str]:
    """Batched greedy generate in input order, nothing else."""
    import torch

    tok, model, out = backend.tokenizer, backend.model, []
    for i in range(0, len(texts), batch_size):
        enc = tok(texts[i:i + batch_size], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
        out += tok.batch_decode(gen[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prompts", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-new-tokens", type=int, default=24)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "ftagent-bench")
    a = p.parse_args()

    from ftagent.eval.generate import Decoding, TransformersBackend

    a.workdir.mkdir(parents=True, exist_ok=True)
    backend = TransformersBackend(tiny_model(a.workdir), batch_size=a.batch_size, threads=a.threads)
    convs = [[{"role": "user", "content": r["instruction"]}] for r in arithmetic_records(a.prompts, seed=2)]
    decoding = Decoding(temperature=0.0, max_new_tokens=a.max_new_tokens)
    texts = backend.prompts(convs)
    ours_t, bare_t, ours_c, bare_c = [], [], [], []
    for _ in range(a.repeats):
        t, c = time.perf_counter(), time.process_time()
        ours = backend.generate(convs, decoding)
        ours_t.append(time.perf_counter() - t)
        ours_c.append(time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        bare = bare_generate(backend, texts, a.batch_size, a.max_new_tokens)
        bare_t.append(time.perf_counter() - t)
        bare_c.append(time.process_time() - c)
    same = sum(x == y for x, y in zip(ours, bare, strict=True))
    print(f"prompts={a.prompts} batch_size={a.batch_size} max_new_tokens={a.max_new_tokens} repeats={a.repeats}")
    print(f"ours  best {min(ours_t):.3f} s  ({a.prompts / min(ours_t):.1f} prompts/s)")
    print(f"bare  best {min(bare_t):.3f} s  ({a.prompts / min(bare_t):.1f} prompts/s)")
    print(f"identical outputs: {same}/{a.prompts}")
    print(f"[wall] throughput ratio ours/bare = {min(bare_t) / min(ours_t):.3f}  (goal >= 0.8)")
    print(f"[cpu]  throughput ratio ours/bare = {min(bare_c) / min(ours_c):.3f}")


if __name__ == "__main__":
    main()
