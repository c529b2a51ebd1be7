"""The evaluation harness: scores a model on the validation or test half of a task.

Used in two places, always outside the agent: by :class:`~ftagent.dojo.env.Dojo` after each
experiment (validation only; the agent sees the score and up to 10 wrong answers), and by
``ftagent eval`` after the run (validation and test of every experiment, written to ``eval.json``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ftagent.dojo.benchmarks.base import Benchmark, EvalItem, PromptStyle
from ftagent.dojo.heldout import HeldOut, heldout
from ftagent.eval.generate import Decoding, GenerationBackend
from ftagent.eval.scoring import ItemScore
from ftagent.records import SplitScore

#: Wrong validation answers shown to the agent after each experiment (paper: up to 10).
MAX_WRONG_SAMPLES = 10


@dataclass
class SplitEvaluation:
    """Everything an evaluation of one part produced.

    Attributes:
        score: Aggregate score (metric units).
        items: The items evaluated.
        outputs: Model outputs, aligned with ``items``.
        scores: Item scores, aligned with ``items``.
    """

    score: SplitScore
    items: list[EvalItem]
    outputs: list[str]
    scores: list[ItemScore]

    def per_item(self) -> list[dict[str, Any]]:
        """One JSON-ready row per item: id, subset, gold, output, score, reason.

        Plus the scorer's ``details`` where it gives any (e.g. ChemCoTBench's SMILES validity).
        """
        return [{"id": it.id, "subset": it.subset, "answer": it.answer, "output": out, "score": sc.score,
                 "extracted": sc.extracted, "reason": sc.reason,
                 **({"details": sc.details} if sc.details else {})}
                for it, out, sc in zip(self.items, self.outputs, self.scores, strict=True)]

    def wrong_samples(self, benchmark: Benchmark, style: PromptStyle, seed: int = 0,
                      k: int = MAX_WRONG_SAMPLES) -> list[dict[str, Any]]:
        """Up to ``k`` incorrect items, sampled with ``seed``: the question as prompted, gold, output."""
        wrong = [i for i, s in enumerate(self.scores) if not s.correct]
        pick = sorted(random.Random(seed).sample(wrong, min(k, len(wrong))))
        return [{"subset": self.items[i].subset, "question": benchmark.render(self.items[i], style),
                 "gold": self.items[i].answer, "output": self.outputs[i], "reason": self.scores[i].reason}
                for i in pick]


def aggregate(benchmark: Benchmark, items: list[EvalItem], scores: list[ItemScore]) -> SplitScore:
    """Per-subset and overall task metric in metric units (``metric.scale``, e.g. percent)."""
    spec = benchmark.spec
    scale = spec.metric.scale
    by_subset: dict[str, tuple[list[ItemScore], list[EvalItem]]] = {}
    for it, sc in zip(items, scores, strict=True):
        s, i = by_subset.setdefault(it.subset, ([], []))
        s.append(sc)
        i.append(it)
    subsets = {k: round(scale * benchmark.aggregate(s, i), 4) for k, (s, i) in by_subset.items()}
    if spec.metric.aggregate == "pooled":
        overall = scale * benchmark.aggregate(scores, items) if items else 0.0
    else:
        overall = sum(subsets.values()) / len(subsets) if subsets else 0.0
    return SplitScore(score=round(overall, 4), subsets=subsets, n_items=len(items),
                      excluded=benchmark.unavailable_subsets())


def evaluate(benchmark: Benchmark, data_dir: Path, backend: GenerationBackend, decoding: Decoding,
             part: Literal["validation", "test"], style: PromptStyle = "full",
             max_items: int | None = None, split: HeldOut | None = None) -> SplitEvaluation:
    """Generate and score one part of a task's held-out split.

    Args:
        benchmark: The task's benchmark.
        data_dir: Data directory.
        backend: Generation backend holding the model.
        decoding: Decoding settings (``max_new_tokens`` included).
        part: ``validation`` or ``test``.
        style: Prompt style.
        max_items: Per-subset item limit (smoke runs).
        split: Pre-loaded items of the part (skips loading).
    """
    split = (split or heldout(benchmark, data_dir, part)).limit(max_items)
    items = split.items
    use_shots = style == "full" and benchmark.spec.prompt.few_shot > 0
    shots = {s: benchmark.few_shot_items(data_dir, s) if use_shots else [] for s in split.subsets}
    convs = [benchmark.messages(it, style, shots[it.subset]) for it in items]
    outputs = backend.generate(convs, decoding) if convs else []
    scores = [benchmark.score(o, it) for o, it in zip(outputs, items, strict=True)]
    return SplitEvaluation(score=aggregate(benchmark, items, scores), items=items, outputs=outputs, scores=scores)
