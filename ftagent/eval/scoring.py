"""The result of scoring one model output, shared by every scorer.

Scorers never raise on model output: malformed, empty or adversarial text scores 0 with a
``reason`` saying why (FT-Dojo scorers must be tolerant; a crash would lose a whole evaluation).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ItemScore:
    """Score of one output.

    Attributes:
        score: In [0, 1] for per-item metrics (1 = correct). Some metrics (macro-F1) are computed
            over a whole subset from ``extracted``; then ``score`` is the item-level share.
        correct: Whether the item counts as answered correctly (drives the wrong-answer samples
            shown to the agent); None where correctness is not binary.
        extracted: The answer parsed from the output (None when nothing could be parsed).
        reason: Short explanation when the score is 0 or partial (``"no \\boxed{} answer"``).
        details: Extra metric inputs (e.g. predicted label sets for F1).
    """

    score: float
    correct: bool | None
    extracted: Any = None
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def wrong(reason: str, extracted: Any = None, **details: Any) -> ItemScore:
    """A zero score with a reason."""
    return ItemScore(score=0.0, correct=False, extracted=extracted, reason=reason, details=details)


def right(extracted: Any, **details: Any) -> ItemScore:
    """A full score."""
    return ItemScore(score=1.0, correct=True, extracted=extracted, details=details)
