"""The LLM-judge stage after a rule check (AIME in the ``paper`` profile: math-verify, then a judge).

The paper's evaluator scores AIME with OpenCompass's cascade: the rule (math-verify) first, then an LLM
judge on the items the rule fails (``opencompass/configs/datasets/aime2025/aime2025_cascade_eval_gen_5e9f4f.py``,
``opencompass/evaluator/cascade_evaluator.py``; rule ``aime.llm_judge`` of :mod:`ftagent.eval.profiles`).
This module holds the layer-neutral part: a judge is any callable ``(question, gold, output) ->
JudgeVerdict``; :mod:`ftagent.llm.judge` builds one on the LLM client (cached, replayable), and the
harness (:func:`ftagent.dojo.harness.score_outputs`) calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ftagent.eval.scoring import ItemScore


@dataclass(frozen=True)
class JudgeVerdict:
    """A judge's answer on one item.

    Attributes:
        correct: Whether the judge accepts the output as equal to the gold answer.
        label: Who judged (the backbone's table label; ``scripted`` for the offline policy).
        reason: The judge's short reason, if any.
    """

    correct: bool
    label: str
    reason: str = ""


#: ``judge(question, gold, output) -> JudgeVerdict``.
AnswerJudge = Callable[[str, str, str], JudgeVerdict]


def judge_failed(scores: list[ItemScore], questions: list[str], golds: list[str], outputs: list[str],
                 judge: AnswerJudge) -> list[ItemScore]:
    """The cascade's second stage: ask ``judge`` about every item the rule did not accept.

    Args:
        scores: The rule's item scores.
        questions, golds, outputs: Aligned with ``scores``.
        judge: The judge.

    Returns:
        New item scores: unchanged where the rule accepted the output (or the output is empty), else
        1 when the judge accepts it, with ``details["judge"]`` (label, verdict, reason) on every judged item.
    """
    out = []
    for sc, q, g, o in zip(scores, questions, golds, outputs, strict=True):
        if sc.correct or not (o or "").strip():
            out.append(sc)
            continue
        v = judge(q, g, o)
        details = {**sc.details, "judge": {"label": v.label, "correct": v.correct, "reason": v.reason[:300]},
                   "rule_reason": sc.reason}
        if v.correct:
            out.append(ItemScore(score=1.0, correct=True, extracted=sc.extracted,
                                 reason=f"accepted by the LLM judge ({v.label}) after: {sc.reason}", details=details))
        else:
            out.append(replace(sc, details=details))
    return out
