"""Numbers FT-Agent computes itself before asking its backbone: loss-curve and validation summaries.

The paper's feedback stage analyses the training loss trajectory (for hyper-parameter advice) and up to
10 wrong validation answers (for error patterns, never question-specific fixes) — FT-Agent §4
"multi-level feedback analysis". A raw list of losses and ten raw answers is hard to read for a model
and easy to over-fit to, so the loop gives the backbone a compact, computed summary next to them:
first/min/last loss, a trend, plateau and divergence flags, and counts of wrong answers by subset and
by the scorer's reason.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

#: Relative change between the first and last third of the curve under which it counts as flat.
FLAT = 0.02
#: The last loss above this multiple of the minimum (or of the first loss) flags divergence.
DIVERGE = 1.5


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def loss_summary(losses: list[float]) -> dict[str, Any]:
    """A compact description of a training-loss curve.

    Args:
        losses: Training loss at each logged step, in order.

    Returns:
        ``points``, ``first``, ``min``, ``last`` (rounded to 4 digits), ``trend`` (``decreasing``,
        ``flat``, ``increasing`` or ``unknown`` with fewer than 2 points), ``relative_change`` (last third
        against first third), ``plateau`` (the last third moved by less than :data:`FLAT`) and
        ``diverged`` (a non-finite loss, or the last loss above :data:`DIVERGE` times the minimum and the
        first loss).
    """
    if not losses:
        return {"points": 0, "trend": "unknown", "plateau": False, "diverged": False}
    finite = [x for x in losses if math.isfinite(x)]
    out: dict[str, Any] = {"points": len(losses), "first": round(losses[0], 4), "min": round(min(finite), 4)
                           if finite else None, "last": round(losses[-1], 4)}
    if len(finite) < len(losses):
        return {**out, "trend": "unknown", "relative_change": None, "plateau": False, "diverged": True}
    if len(losses) < 2:
        return {**out, "trend": "unknown", "relative_change": None, "plateau": False, "diverged": False}
    k = max(1, len(losses) // 3)
    head, tail = _mean(losses[:k]), _mean(losses[-k:])
    rel = (tail - head) / max(abs(head), 1e-8)
    trend = "flat" if abs(rel) < FLAT else ("decreasing" if rel < 0 else "increasing")
    last_third = losses[-max(2, k):]
    plateau = len(losses) >= 3 and abs(last_third[-1] - last_third[0]) / max(abs(last_third[0]), 1e-8) < FLAT
    diverged = losses[-1] > DIVERGE * min(finite) and losses[-1] > losses[0]
    return {**out, "trend": trend, "relative_change": round(rel, 4), "plateau": plateau, "diverged": diverged}


def wrong_patterns(wrong_samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts that describe a set of wrong validation answers without repeating any question.

    Returns:
        ``count``, ``by_subset``, ``by_reason`` (the scorer's reason), ``empty_outputs`` and the mean
        output length in characters.
    """
    if not wrong_samples:
        return {"count": 0}
    outputs = [str(w.get("output", "")) for w in wrong_samples]
    return {"count": len(wrong_samples),
            "by_subset": dict(Counter(str(w.get("subset")) for w in wrong_samples).most_common()),
            "by_reason": dict(Counter(str(w.get("reason") or "wrong") for w in wrong_samples).most_common()),
            "empty_outputs": sum(not o.strip() for o in outputs),
            "mean_output_chars": round(_mean([len(o) for o in outputs]), 1)}


def validation_summary(validation: Any) -> dict[str, Any] | None:
    """Score, per-subset scores, item count and wrong-answer patterns of a validation result."""
    if validation is None:
        return None
    v = validation if isinstance(validation, dict) else validation.model_dump()
    return {"score": v["score"], "subsets": v["subsets"], "n_items": v["n_items"],
            "wrong_patterns": wrong_patterns(v.get("wrong_samples") or [])}


def clip(text: Any, limit: int = 4000) -> str:
    """``text`` (any value, as a string) cut to about ``limit`` characters: head and tail, omission marked.

    A data script's head (imports, constants) and tail (filtering and writing) say most about it, so
    both ends are kept: two thirds of the budget for the head, one third for the tail.
    """
    text = "" if text is None else str(text)
    if len(text) <= limit:
        return text
    head, tail = text[: limit * 2 // 3], text[-(limit // 3):]
    return f"{head}\n... [{len(text) - len(head) - len(tail)} characters omitted] ...\n{tail}"
