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
from ftagent.eval.judge import AnswerJudge, judge_failed
from ftagent.eval.profiles import ScoringProfile, applies, departure
from ftagent.eval.scoring import ItemScore
from ftagent.records import SplitScore

#: Wrong validation answers shown to the agent after each experiment (paper: up to 10).
MAX_WRONG_SAMPLES = 10


@dataclass
class SplitEvaluation:
    """Everything an evaluation of one part produced.

    Attributes:
        score: Aggregate score (metric units) under the configured profile.
        items: The items evaluated.
        outputs: Model outputs, aligned with ``items``.
        scores: Item scores under the configured profile, aligned with ``items``.
        profile: The configured scoring profile.
        by_profile: Aggregate score under every profile (the same generations scored each way).
        scores_by_profile: Item scores under every profile.
    """

    score: SplitScore
    items: list[EvalItem]
    outputs: list[str]
    scores: list[ItemScore]
    profile: ScoringProfile = "benchmark"
    by_profile: dict[str, SplitScore] | None = None
    scores_by_profile: dict[str, list[ItemScore]] | None = None

    def per_item(self) -> list[dict[str, Any]]:
        """One JSON-ready row per item: id, subset, gold, output, score, reason (configured profile).

        Plus the scorer's ``details`` where it gives any (e.g. ChemCoTBench's SMILES validity), and
        ``profiles``: ``{profile: {score, extracted, reason}}`` for every profile.
        """
        rows = []
        for n, (it, out, sc) in enumerate(zip(self.items, self.outputs, self.scores, strict=True)):
            row = {"id": it.id, "subset": it.subset, "answer": it.answer, "output": out, "score": sc.score,
                   "extracted": sc.extracted, "reason": sc.reason, **({"details": sc.details} if sc.details else {})}
            if self.scores_by_profile:
                row["profiles"] = {p: {"score": v[n].score, "extracted": v[n].extracted, "reason": v[n].reason}
                                   for p, v in self.scores_by_profile.items()}
            rows.append(row)
        return rows

    def wrong_samples(self, benchmark: Benchmark, style: PromptStyle, seed: int = 0,
                      k: int = MAX_WRONG_SAMPLES) -> list[dict[str, Any]]:
        """Up to ``k`` incorrect items, sampled with ``seed``: the question as prompted, gold, output."""
        wrong = [i for i, s in enumerate(self.scores) if not s.correct]
        pick = sorted(random.Random(seed).sample(wrong, min(k, len(wrong))))
        return [{"subset": self.items[i].subset, "question": benchmark.render(self.items[i], style),
                 "gold": self.items[i].answer, "output": self.outputs[i], "reason": self.scores[i].reason}
                for i in pick]


def aggregate(benchmark: Benchmark, items: list[EvalItem], scores: list[ItemScore],
              profile: ScoringProfile = "benchmark") -> SplitScore:
    """Per-subset (split group) and headline task metric in metric units (``metric.scale``, e.g. percent)
    under ``profile`` (:meth:`Benchmark.aggregate`, :meth:`Benchmark.headline`)."""
    scale = benchmark.spec.metric.scale
    by_subset: dict[str, tuple[list[ItemScore], list[EvalItem]]] = {}
    for it, sc in zip(items, scores, strict=True):
        s, i = by_subset.setdefault(it.subset, ([], []))
        s.append(sc)
        i.append(it)
    raw = {k: benchmark.aggregate(s, i, profile) for k, (s, i) in by_subset.items()}
    overall = scale * benchmark.headline(raw, items, scores, profile)
    return SplitScore(score=round(overall, 4), subsets={k: round(scale * v, 4) for k, v in raw.items()},
                      n_items=len(items), excluded=benchmark.unavailable_subsets())


def score_outputs(benchmark: Benchmark, items: list[EvalItem], outputs: list[str],
                  profile: ScoringProfile = "benchmark", judge: AnswerJudge | None = None) -> SplitEvaluation:
    """Score stored generations under every profile (no model needed: ``ftagent eval rescore`` uses it).

    Args:
        benchmark: The task's benchmark.
        items: The items, aligned with ``outputs``.
        outputs: Model outputs.
        profile: The configured profile (its values fill ``score`` and ``scores``).
        judge: The LLM judge of the cascade (rule ``aime.llm_judge``): asked, in the ``paper`` profile
            of the tasks the rule names, about the items the rule check fails. None (the default): no
            judge stage.
    """
    per: dict[str, list[ItemScore]] = {}
    for p in ("benchmark", "paper"):
        if p != "benchmark" and not benchmark.profiles_differ and "benchmark" in per:
            per[p] = per["benchmark"]  # no departure for this task: the same scores (charts run once)
        else:
            per[p] = [benchmark.score(o, it, p) for o, it in zip(outputs, items, strict=True)]
    cascade = applies("aime.llm_judge", "paper") and benchmark.spec.id in departure("aime.llm_judge").tasks
    if judge is not None and cascade:
        per["paper"] = judge_failed(per["paper"], [str(it.fields.get("question", "")) for it in items],
                                    [str(it.answer) for it in items], outputs, judge)
    agg = {p: aggregate(benchmark, items, per[p], p) for p in per}
    return SplitEvaluation(score=agg[profile], items=items, outputs=outputs, scores=per[profile], profile=profile,
                           by_profile=agg, scores_by_profile=per)


def evaluate(benchmark: Benchmark, data_dir: Path, backend: GenerationBackend, decoding: Decoding,
             part: Literal["validation", "test"], style: PromptStyle = "full",
             max_items: int | None = None, split: HeldOut | None = None,
             profile: ScoringProfile = "benchmark", judge: AnswerJudge | None = None) -> SplitEvaluation:
    """Generate and score one part of a task's held-out split, under every scoring profile.

    Args:
        benchmark: The task's benchmark.
        data_dir: Data directory.
        backend: Generation backend holding the model.
        decoding: Decoding settings (``max_new_tokens`` included).
        part: ``validation`` or ``test``.
        style: Prompt style.
        max_items: Per-subset item limit (smoke runs).
        split: Pre-loaded items of the part (skips loading).
        profile: The configured scoring profile (``score``/``scores`` of the result; every profile is
            in ``by_profile``).
        judge: Optional LLM judge of the ``paper`` profile's cascade (:func:`score_outputs`).
    """
    split = (split or heldout(benchmark, data_dir, part)).limit(max_items)
    items = split.items
    use_shots = style == "full" and benchmark.spec.prompt.few_shot > 0
    shots = {s: benchmark.few_shot_items(data_dir, s) if use_shots else [] for s in split.subsets}
    convs = [benchmark.messages(it, style, shots[it.subset]) for it in items]
    outputs = backend.generate(convs, decoding) if convs else []
    return score_outputs(benchmark, items, outputs, profile, judge)
