"""Math answers checked with ``math-verify`` (AIME; OpenCompass's MATH-Verify rule check).

The output is parsed by :func:`math_verify.parse` (which prefers ``\\boxed{}`` and LaTeX), the gold
answer as ``$<answer>$``, and compared with :func:`math_verify.verify`. An output with two different
boxed answers parses as a set and does not verify. The optional LLM-judge fallback of the paper's
CascadeEvaluator is off by default (issue "task suite"); when enabled it is recorded in ``eval.json``.
"""

from __future__ import annotations

from ftagent.eval.scoring import ItemScore, right, wrong


def score_math(output: str, gold: str) -> ItemScore:
    """Score a math answer.

    Args:
        output: Raw model output.
        gold: Gold answer (e.g. ``"70"``).

    Returns:
        1 when math-verify finds the output's final answer equal to the gold, else 0 with a reason.
    """
    if not output or not output.strip():
        return wrong("empty output")
    try:
        from math_verify import parse, verify

        pred = parse(output)
        if not pred:
            return wrong("no parsable final answer")
        extracted = str(pred[-1]) if len(pred) > 1 else str(pred[0])
        if verify(parse(f"${gold}$"), pred):
            return right(extracted)
        return wrong(f"answer {extracted!r} != {gold!r}", extracted)
    except Exception as e:  # math-verify can time out or fail on adversarial LaTeX
        return wrong(f"math-verify failed: {type(e).__name__}")
