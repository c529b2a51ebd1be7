"""Table captions name the scoring profile of the runs' eval.json (docs/scoring.md)."""

from __future__ import annotations

import pandas as pd

from ftagent.report.collect import profile_note


def test_profile_note_names_the_profiles():
    assert profile_note(pd.DataFrame({"scoring_profile": ["paper", "paper", None]})) == \
        " Scoring profile: paper (docs/scoring.md)."
    assert "benchmark, paper" in profile_note(pd.DataFrame({"scoring_profile": ["paper", "benchmark"]}))
    assert profile_note(pd.DataFrame({"scoring_profile": [None]})) == ""
    assert profile_note(pd.DataFrame()) == ""
