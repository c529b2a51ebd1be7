"""Per-task answer extraction and scoring, built on the field's libraries (math-verify, RDKit,
scikit-learn, rouge-score). Every scorer takes the raw model output and the gold answer and returns
an :class:`~ftagent.eval.scoring.ItemScore`; none raises on malformed output."""

from ftagent.eval.scorers.choice import last_capital_letter, score_choice
from ftagent.eval.scorers.math import score_math
from ftagent.eval.scorers.panorama import score_noc4pc, score_par4pc, score_pi4pc
from ftagent.eval.scorers.tablebench import extract_final_answer, score_exact_match

__all__ = [
    "extract_final_answer", "last_capital_letter", "score_choice", "score_exact_match", "score_math",
    "score_noc4pc", "score_par4pc", "score_pi4pc",
]
