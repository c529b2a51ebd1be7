"""PANORAMA scorers: golden cases with hand-computed values, malformed and adversarial outputs."""

from __future__ import annotations

import time

import numpy as np
import pytest

from ftagent.eval.scorers.panorama import (
    custom_score,
    find_answer,
    macro_f1_codes,
    macro_f1_letters,
    parse_code,
    parse_letters,
    parse_paragraph,
    score_noc4pc,
    score_par4pc,
    score_pi4pc,
)


# ------------------------------------------------------------------------------ extraction
@pytest.mark.parametrize(("output", "key", "value"), [
    ('{"answer": "A,G"}', "answer", "A,G"),
    ('```json\n{"answer": ["A", "C"]}\n```', "answer", ["A", "C"]),
    ('I compared the claims. {"answer": "B"} Hope this helps.', "answer", "B"),
    ('{"answer": "A"}\nOn reflection: {"answer": "B,C"}', "answer", "B,C"),     # two objects: the last
    ('{"answer": "D"} {"note": "checked"}', "answer", "D"),                     # last one *with the key*
    ("{'answer': 'E'}", "answer", "E"),                                         # single quotes
    ('{"answer": "A", "alt": {"answer": "B"}}', "answer", "A"),                 # nested: the outermost
    ('{"reason": "Smith teaches all", "code": "103"', "code", "103"),          # cut at the token budget
    ('{"reason": "all", "code": "code": "102"}', "code", "102"),                # degenerate repetition
])
def test_find_answer(output, key, value):
    assert find_answer(output, key) == (value, "")


@pytest.mark.parametrize(("output", "reason"), [
    ("", "empty output"), ("   \n", "empty output"),
    ("The answer is A", "no JSON object with key 'answer'"),
    ('{"letters": "A"}', "no JSON object with key 'answer'"),
])
def test_find_answer_missing(output, reason):
    assert find_answer(output, "answer") == (None, reason)


def test_adversarial_outputs_are_fast_and_score_zero():
    t0 = time.perf_counter()
    for out in ("{" * 30000, '{"answer": ' + "[" * 100000, "{'" * 15000, "{'a': " * 5000, "}" * 1000):
        assert score_par4pc(out, ["A"]).score == 0.0
        assert score_pi4pc(out, [9]).score == 0.0
        assert score_noc4pc(out, "102").score == 0.0
    assert time.perf_counter() - t0 < 5


# ------------------------------------------------------------------------------ PAR4PC
def test_parse_letters():
    assert parse_letters("A, g and C") == (["A", "C", "G"], [])
    assert parse_letters(["B", "B", "A"]) == (["A", "B"], [])
    assert parse_letters("A,Z,AB,3") == (["A"], ["Z", "AB", "3"])
    assert parse_letters(None) == ([], [])
    assert parse_letters(7) == ([], ["7"])


@pytest.mark.parametrize(("pred", "gold", "silver", "expected"), [
    (["A", "G"], ["A", "G"], [], 1.0),
    (["A"], ["A", "G"], [], 0.25),          # (2*1 - 0 - 1) / 4
    (["A", "B"], ["A", "G"], [], 0.0),      # (2*1 - 1 - 1) / 4
    (["A", "E", "G"], ["A", "G"], ["E"], 1.0),  # silver E is not a false positive
    (["B", "C", "D"], ["A", "G"], [], -1.25),   # (0 - 3 - 2) / 4
    ([], [], [], 1.0), (["A"], [], [], 0.0),
])
def test_custom_score(pred, gold, silver, expected):
    assert custom_score(pred, gold, silver) == pytest.approx(expected)


@pytest.mark.parametrize(("output", "score", "correct", "pred"), [
    ('{"answer": "A,G"}', 1.0, True, ["A", "G"]),
    ('{"answer": ["a", "g"]}', 1.0, True, ["A", "G"]),                          # list, lower case
    ('{"answer": "A,A,G,G"}', 1.0, True, ["A", "G"]),                           # duplicated letters
    ('{"answer": "A"}', 0.25, False, ["A"]),
    ('{"reason": "G shows it", "answer": "G", "confidence": 0.9}', 0.25, False, ["G"]),  # extra keys
    ('{"answer": "A,E,G"}', 1.0, False, ["A", "E", "G"]),                       # silver E: full custom score
    ('{"answer": "B,C,D"}', 0.0, False, ["B", "C", "D"]),                       # custom -1.25 clipped to 0
    ('{"answer": "C"}\n```json\n{"answer": "A, G"}\n```', 1.0, True, ["A", "G"]),  # two objects, prose
])
def test_score_par4pc(output, score, correct, pred):
    s = score_par4pc(output, ["A", "G"], ["E"])
    assert (s.score, s.correct, s.extracted, s.details["pred"]) == (pytest.approx(score), correct, pred, pred)


def test_score_par4pc_letters_outside_a_to_h_are_ignored_and_reported():
    s = score_par4pc('{"answer": "A,Z,G"}', ["A", "G"])
    assert s.score == 1.0 and s.correct and s.details["ignored"] == ["Z"] and "Z" in s.reason


@pytest.mark.parametrize(("output", "reason"), [
    ("", "empty output"),
    ("A and G", "no JSON object with key 'answer'"),
    ('{"answer": ""}', "no option letter A-H in answer ''"),
    ('{"answer": 3}', "no option letter A-H in answer '3'"),
    ('{"answer": "Z"}', "no option letter A-H in answer 'Z'"),
])
def test_score_par4pc_malformed(output, reason):
    s = score_par4pc(output, ["A", "G"])
    assert (s.score, s.correct, s.reason, s.details["pred"]) == (0.0, False, reason, [])
    assert s.details["custom_score"] == pytest.approx(-0.5)  # (0 - 0 - 2) / 4


def test_score_par4pc_gold_types():
    for gold in ("A,G", ["G", "A"], np.array(["A", "G"])):
        assert score_par4pc('{"answer": "A,G"}', gold).correct


def test_macro_f1_letters():
    golds = [["A", "G"], ["A"], ["G"]]
    preds = [["A"], ["A", "B"], ["G"]]
    # A: tp 2 -> F1 1; B: fp 1 -> F1 0; G: tp 1, fn 1 -> F1 2/3; C-F, H absent everywhere: left out.
    assert macro_f1_letters(golds, preds) == pytest.approx((1 + 0 + 2 / 3) / 3)
    assert macro_f1_letters(golds, golds) == 1.0
    assert macro_f1_letters([["A"]], [[]]) == 0.0
    assert macro_f1_letters([], []) == 0.0


# ------------------------------------------------------------------------------ PI4PC
@pytest.mark.parametrize(("value", "para"), [
    (9, 9), ("9", 9), (" [0009] ", 9), ("¶ 12", 12), ("paragraph 3", 3), ([9], 9), (9.0, 9),
    (9.5, None), (True, None), ([9, 39], None), ("9, 39", None), ("nine", None), (None, None),
])
def test_parse_paragraph(value, para):
    assert parse_paragraph(value) == para


@pytest.mark.parametrize(("output", "score", "extracted", "reason"), [
    ('{"answer": 9}', 1.0, 9, ""),
    ('{"answer": "9"}', 1.0, 9, ""),
    ('```json\n{"answer": "[0009]"}\n```', 1.0, 9, ""),
    ('{"answer": 3} Sorry, I meant {"answer": 9}', 1.0, 9, ""),
    ('{"answer": 66}', 0.0, 66, "paragraph 66 is a silver answer, gold [9]"),
    ('{"answer": 12}', 0.0, 12, "paragraph 12 is not among the options"),
    ('{"answer": 39, "reason": "close"}', 0.0, 39, "paragraph 39, gold [9]"),
    ('{"answer": [9, 39]}', 0.0, None, "answer '[9, 39]' is not one paragraph number"),
    ('{"answer": true}', 0.0, None, "answer 'True' is not one paragraph number"),
    ("Paragraph 9 is the one.", 0.0, None, "no JSON object with key 'answer'"),
    ("", 0.0, None, "empty output"),
])
def test_score_pi4pc(output, score, extracted, reason):
    s = score_pi4pc(output, ["9"], [66], options=["3", "9", "39", "54", "66"])
    assert (s.score, s.extracted, s.reason) == (score, extracted, reason)
    assert s.details["silver_hit"] == (extracted == 66)


# ------------------------------------------------------------------------------ NOC4PC
@pytest.mark.parametrize(("value", "code"), [
    ("102", "102"), (103, "103"), ("ALLOW", "ALLOW"), ("allowed", "ALLOW"), ("§ 103", "103"),
    ("35 U.S.C. 102(a)(1)", "102"), ("101", None), ("REJECT", None), ("102 or 103", None), (None, None),
])
def test_parse_code(value, code):
    assert parse_code(value) == code


@pytest.mark.parametrize(("output", "score", "extracted", "reason"), [
    ('{"reason": "Laroia discloses every step.", "code": "102"}', 1.0, "102", ""),
    ('{"reason": "x", "code": 102}', 1.0, "102", ""),
    ("{'reason': \"the examiner's view\", 'code': '102'}", 1.0, "102", ""),
    ('Reasoning...\n```json\n{"code": "ALLOW", "reason": "no art"}\n```', 0.0, "ALLOW",
     "code ALLOW, gold 102"),
    ('{"code": "§ 103"}', 0.0, "103", "code 103, gold 102"),
    ('{"code": "REJECT"}', 0.0, None, "code 'REJECT' is not one of ALLOW, 102, 103"),
    ('{"reason": "The claim is anticipated because', 0.0, None, "no JSON object with key 'code'"),
    ("", 0.0, None, "empty output"),
])
def test_score_noc4pc(output, score, extracted, reason):
    s = score_noc4pc(output, "102")
    assert (s.score, s.extracted, s.reason) == (score, extracted, reason)


def test_macro_f1_codes():
    golds = ["102", "102", "103", "ALLOW"]
    preds = ["102", "103", "103", None]
    # 102: tp 1, fn 1 -> 2/3; 103: tp 1, fp 1 -> 2/3; ALLOW: fn 1 -> 0; the unreadable answer is a miss.
    assert macro_f1_codes(golds, preds) == pytest.approx(4 / 9)
    assert macro_f1_codes(["102"] * 3, ["102"] * 3) == 1.0
    assert macro_f1_codes(["102", 103], [None, None]) == 0.0
    assert macro_f1_codes([], []) == 0.0
