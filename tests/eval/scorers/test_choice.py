"""Golden cases of the FinanceIQ scorer: the last ASCII capital letter of the output vs the gold letter."""

from __future__ import annotations

import pytest

from ftagent.eval.scorers.choice import last_capital_letter, score_choice


@pytest.mark.parametrize(("output", "gold", "score"), [
    ("B", "B", 1.0),
    ("答案是：B", "B", 1.0),            # Chinese characters are not capitals
    ("答案：B。", "B", 1.0),
    ("**B**", "B", 1.0),
    (" B ", " b ", 1.0),                # the gold is stripped and upper-cased
    ("C", "B", 0.0),
])
def test_letters(output, gold, score):
    assert score_choice(output, gold).score == score


def test_last_letter_wins_over_an_earlier_answer():
    s = score_choice("The answer is B. Actually, C.", "B")
    assert (s.score, s.extracted, s.reason) == (0.0, "C", "chose C, gold B")


def test_trailing_capital_in_chatter_is_taken():
    # OpenCompass's rule, kept as is: a capital after the answer (here the pronoun I) is the answer.
    s = score_choice("Answer: B\n(I hope)", "B")
    assert (s.score, s.extracted) == (0.0, "I")


def test_listing_every_option_is_graded_by_the_last():
    assert score_choice("A B C D", "B").score == 0.0


@pytest.mark.parametrize(("output", "reason"), [
    ("", "empty output"),
    ("   ", "empty output"),
    ("b", "no capital letter in output"),
    ("选项二", "no capital letter in output"),
])
def test_malformed_and_empty(output, reason):
    s = score_choice(output, "B")
    assert s.score == 0.0 and s.reason == reason and s.extracted is None


def test_last_capital_letter():
    assert last_capital_letter("abc") is None
    assert last_capital_letter("xAyBz") == "B"
