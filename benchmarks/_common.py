"""Shared set-up of the benchmark scripts: a tiny model and arithmetic data, built locally and offline."""

from __future__ import annotations

import json
import random
from pathlib import Path


def arithmetic_records(n: int, seed: int = 0) -> list[dict[str, str]]:
    """``n`` Alpaca records ``What is a plus b?`` -> ``a + b`` with varied prompt lengths."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.randint(0, 999), rng.randint(0, 999)
        pad = " Show the sum only." * rng.randint(0, 4)
        out.append({"instruction": f"What is {a} plus {b}?{pad}", "output": str(a + b)})
    return out


def tiny_model(root: Path, steps: int = 60) -> Path:
    """Build (once) a tiny Qwen2 model in ``root/tiny`` pretrained on arithmetic text."""
    from ftagent.models.tiny import TinyModelConfig, build_tiny_model

    out = root / "tiny"
    if not (out / "config.json").exists():
        corpus = [f"{r['instruction']} {r['output']}" for r in arithmetic_records(2000, seed=1)]
        build_tiny_model(corpus, out, TinyModelConfig(pretrain_steps=steps), threads=2)
    return out


def data_file(root: Path, n: int) -> Path:
    """``root/data.json`` with ``n`` arithmetic records."""
    path = root / "data.json"
    path.write_text(json.dumps(arithmetic_records(n)), encoding="utf-8")
    return path
