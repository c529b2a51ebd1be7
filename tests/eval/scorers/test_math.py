"""Golden cases of the AIME scorer (math-verify on the output vs ``$gold$``), hand-checked."""

from __future__ import annotations

import pytest

from ftagent.eval.scorers.math import score_math


@pytest.mark.parametrize(("output", "gold", "score"), [
    ("So the answer is \\boxed{70}.", "70", 1.0),
    ("\\boxed{\\frac{140}{2}}", "70", 1.0),                      # equal value, different form
    ("\\boxed{70.0}", "70", 1.0),
    ("The answer is 70", "70", 1.0),                              # no box: the last number is taken
    ("\\boxed{70} and again \\boxed{70}", "70", 1.0),              # the same answer twice is one answer
    ("\\boxed{588}", "70", 0.0),
])
def test_well_formed(output, gold, score):
    assert score_math(output, gold).score == score


def test_boxed_answer_inside_wrong_chain_is_graded_by_the_box():
    # Only the boxed answer is graded: prose that contradicts it does not count.
    out = "I believe \\boxed{70} is wrong. The answer is 12."
    assert score_math(out, "70").score == 1.0
    assert score_math(out, "12").score == 0.0


@pytest.mark.parametrize("output", [
    "Either \\boxed{70} or \\boxed{12}.",
    # A self-correction still has two answers:
    "First I thought \\boxed{12}, but recomputing gives \\boxed{70}.",
])
def test_two_different_boxed_answers_are_wrong(output):
    s = score_math(output, "70")
    assert s.score == 0.0 and s.correct is False
    assert "70" in s.extracted and "12" in s.extracted


@pytest.mark.parametrize(("output", "reason"), [
    ("", "empty output"),
    ("   \n", "empty output"),
    ("\\boxed{", "no parsable final answer"),
    ("no numbers here", "no parsable final answer"),
])
def test_malformed_and_empty(output, reason):
    s = score_math(output, "70")
    assert s.score == 0.0 and s.reason == reason


def test_long_noise_before_the_answer():
    assert score_math("x" * 5000 + " \\boxed{70}", "70").score == 1.0
