"""PANORAMA answers (patent examination): JSON answer extraction and the three tasks' scorers.

Sources: the PANORAMA benchmark (LG AI Research, arXiv 2505.12238; dataset card
``LG-AI-Research/PANORAMA``) for the tasks and answer formats, and FT-Dojo's evaluation (the OpenCompass
fork used by RD-Agent, ``opencompass/datasets/panorama``) for the metrics. Models answer with one JSON
object: PAR4PC ``{"answer": "A,G"}``, PI4PC ``{"answer": 17}``, NOC4PC ``{"reason": ..., "code": "102"}``.

Extraction (:func:`find_answer`): the *last* JSON object of the output that has the wanted key (the
one ending last; of nested ones the outermost; code fences, prose around it and extra keys are
ignored; an object with single quotes is read as a Python literal); failing that, a quoted
``"key": value`` pair of an object left unclosed (an output cut at the token budget). Nothing else is
guessed: prose such as "the answer is A" scores 0.

Metrics:

* PAR4PC: macro-F1 over the option letters A-H (scikit-learn, multilabel, over the items of a group;
  letters that occur in neither the gold nor the predicted sets of the group are left out, so a group
  that never involves H is not penalised for it), plus the per-item custom score
  ``(2 TP - FP - FN) / (2 |gold|)`` where, as in FT-Dojo's evaluator, a predicted *silver* letter is
  not a false positive; the item ``score`` is the custom score clipped to [0, 1]. Note: FT-Dojo's
  evaluator labels as "macro_f1" a pooled (micro) F1 with silver letters not counted as false
  positives; we compute the macro-F1 the task declares (silver letters count as false positives).
* PI4PC: gold-hit rate: 1 when the paragraph number is one of the gold paragraphs. Silver paragraphs
  (acceptable alternatives) do not count: FT-Dojo's core PI4PC metric is the gold-hit rate.
* NOC4PC: macro-F1 over the codes ALLOW, 102, 103 (scikit-learn, over the items of a group, codes that
  occur in neither gold nor predictions left out); the item ``score`` is 1 for the gold code. An
  unreadable answer counts as a wrong prediction (FT-Dojo's evaluator drops such items instead).

No scorer raises on model output: malformed, empty or adversarial text scores 0 with a reason.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from ftagent.eval.scorers.objects import balanced_end
from ftagent.eval.scoring import ItemScore, right, wrong

LETTERS = "ABCDEFGH"
CODES = ("102", "103", "ALLOW")
#: At most this many ``{`` positions are tried per output, and a single-quoted object is looked for
#: within this many characters of its ``{`` (bounds the work on adversarial text).
MAX_OBJECT_STARTS = 256
MAX_LITERAL_CHARS = 8000
_DECODER = json.JSONDecoder()


# ------------------------------------------------------------------------------ extraction
def _object_at(text: str, start: int) -> tuple[Any, int]:
    """(object, end) for a JSON or Python-literal object starting at ``start``; (None, start) if none."""
    try:
        return _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        pass
    if "'" not in text[start:start + MAX_LITERAL_CHARS]:
        return None, start
    end = balanced_end(text, start, quotes="\"'", limit=MAX_LITERAL_CHARS)
    if end is None:
        return None, start
    try:
        return ast.literal_eval(text[start:end]), end
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None, start


def json_objects(text: str) -> list[tuple[int, int, dict[str, Any]]]:
    """``(start, end, object)`` of the JSON (or Python-literal) objects that start at one of the last
    :data:`MAX_OBJECT_STARTS` ``{`` of ``text``, nested objects included."""
    starts = [m.start() for m in re.finditer(r"\{", text)][-MAX_OBJECT_STARTS:]
    out = []
    for start in starts:
        obj, end = _object_at(text, start)
        if isinstance(obj, dict):
            out.append((start, end, obj))
    return out


_LOOSE = r"""["']{key}["']\s*:\s*(\[[^\]]*\]|"[^"]*"|'[^']*'|-?\d+(?:\.\d+)?)"""


def find_answer(output: str, key: str) -> tuple[Any, str]:
    """The value of ``key`` in the model's answer object.

    Args:
        output: Raw model output.
        key: The answer key (``answer`` or ``code``).

    Returns:
        ``(value, "")`` when found, else ``(None, reason)``.
    """
    if not output or not output.strip():
        return None, "empty output"
    found = [(end, -start, obj) for start, end, obj in json_objects(output) if key in obj]
    if found:
        return max(found, key=lambda f: f[:2])[2][key], ""  # ends last; outermost of nested ones
    loose = re.findall(f"(?={_LOOSE.format(key=re.escape(key))})", output)  # overlapping matches
    if loose:
        raw = loose[-1]
        try:
            return (json.loads(raw) if raw[0] != "'" else raw.strip("'")), ""
        except ValueError:
            return raw.strip("\"'"), ""
    return None, f"no JSON object with key '{key}'"


# ------------------------------------------------------------------------------ PAR4PC
_TOKEN_SPLIT = re.compile(r"[\s,;/&+|]+|\band\b", re.IGNORECASE)


def parse_letters(value: Any) -> tuple[list[str], list[str]]:
    """Option letters of an answer value: a string ("A,G", "A G", "[A, G]") or a list of strings.

    Returns:
        ``(letters, ignored)``: the distinct letters A-H, sorted, and the tokens that are not one letter
        A-H (e.g. ``Z``, ``AB``, a number), kept for the reason.
    """
    if isinstance(value, list | tuple | set):
        letters: set[str] = set()
        ignored: list[str] = []
        for v in value:
            got, bad = parse_letters(v)
            letters.update(got)
            ignored += bad
        return sorted(letters), ignored
    if value is None:
        return [], []
    if not isinstance(value, str):
        return [], [str(value)]
    letters, ignored = set(), []
    for tok in _TOKEN_SPLIT.split(value):
        tok = tok.strip(" '\"[](){}.:")
        if not tok:
            continue
        if len(tok) == 1 and tok.upper() in LETTERS:
            letters.add(tok.upper())
        else:
            ignored.append(tok)
    return sorted(letters), ignored


def as_letters(gold: Any) -> list[str]:
    """Gold letters from a list, an array or a comma string, sorted and distinct."""
    if hasattr(gold, "tolist"):
        gold = gold.tolist()
    return parse_letters(gold)[0]


def custom_score(pred: Iterable[str], gold: Iterable[str], silver: Iterable[str] = ()) -> float:
    """PANORAMA's PAR4PC custom score ``(2 TP - FP - FN) / (2 |gold|)``, unclipped (in [-4, 1]).

    TP = predicted gold letters, FP = predicted letters neither gold nor silver, FN = missed gold
    letters. With no gold letter the score is 1 for an empty prediction, else 0.
    """
    p, g, s = set(pred), set(gold), set(silver)
    if not g:
        return 1.0 if not p else 0.0
    tp, fp, fn = len(p & g), len(p - g - s), len(g - p)
    return (2 * tp - fp - fn) / (2 * len(g))


def score_par4pc(output: str, gold: Sequence[str], silver: Sequence[str] = ()) -> ItemScore:
    """Score a PAR4PC answer.

    Args:
        output: Raw model output, expected ``{"answer": "A,G"}`` (a list of letters is accepted).
        gold: Gold letters (cited patents).
        silver: Silver letters (not penalised by the custom score).

    Returns:
        ``score`` = custom score clipped to [0, 1]; ``correct`` = predicted set equals the gold set;
        ``details`` holds ``pred``, ``gold``, ``silver``, ``custom_score`` (unclipped) and ``ignored``.
    """
    g, s = as_letters(gold), as_letters(silver)
    value, why = find_answer(output, "answer")
    pred, ignored = parse_letters(value) if not why else ([], [])
    raw = custom_score(pred, g, s)
    details = {"pred": pred, "gold": g, "silver": s, "custom_score": round(raw, 6), "ignored": ignored}
    note = f" (ignored: {', '.join(ignored[:5])})" if ignored else ""
    if why:
        return wrong(why, None, **details)
    if not pred:
        return wrong(f"no option letter A-H in answer {str(value)[:40]!r}", pred, **details)
    if set(pred) == set(g):
        return ItemScore(score=1.0, correct=True, extracted=pred, reason=note.strip(), details=details)
    return ItemScore(score=max(0.0, min(1.0, raw)), correct=False, extracted=pred,
                     reason=f"chose {','.join(pred)}, gold {','.join(g)}{note}", details=details)


def macro_f1_letters(golds: Sequence[Sequence[str]], preds: Sequence[Sequence[str]]) -> float:
    """Macro-F1 over the letters A-H of a group of items (multilabel), in [0, 1].

    Letters absent from every gold and every predicted set of the group are left out of the average;
    0.0 for an empty group.
    """
    import numpy as np
    from sklearn.metrics import f1_score

    if not golds:
        return 0.0
    y_true = np.array([[ch in set(g) for ch in LETTERS] for g in golds], dtype=int)
    y_pred = np.array([[ch in set(p) for ch in LETTERS] for p in preds], dtype=int)
    present = [i for i in range(len(LETTERS)) if y_true[:, i].any() or y_pred[:, i].any()]
    if not present:
        return 0.0
    return float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))


# ------------------------------------------------------------------------------ PI4PC
_PARA = re.compile(r"(?:paragraph|para\.?|¶)?\s*\[?\s*(\d+)\s*\]?", re.IGNORECASE)


def parse_paragraph(value: Any) -> int | None:
    """A paragraph number from an answer value: 17, 17.0, "17", "[0017]", "¶17", or [17]; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, list | tuple) and len(value) == 1:
        return parse_paragraph(value[0])
    if isinstance(value, str):
        m = _PARA.fullmatch(value.strip())
        return int(m.group(1)) if m else None
    return None


def as_paragraphs(gold: Any) -> list[int]:
    """Gold paragraph numbers from ints, numeric strings or a comma string, sorted and distinct."""
    if hasattr(gold, "tolist"):
        gold = gold.tolist()
    if gold is None:
        return []
    if isinstance(gold, str):
        gold = [g for g in re.split(r"[,\s]+", gold) if g]
    if not isinstance(gold, list | tuple | set):
        gold = [gold]
    return sorted({n for n in (parse_paragraph(g) for g in gold) if n is not None})


def score_pi4pc(output: str, gold: Sequence[int | str], silver: Sequence[int | str] = (),
                options: Sequence[int | str] | None = None) -> ItemScore:
    """Score a PI4PC answer (gold-hit).

    Args:
        output: Raw model output, expected ``{"answer": <paragraph number>}``.
        gold: Gold paragraph numbers (int or str).
        silver: Silver paragraph numbers: reported in ``details`` but scored as a miss.
        options: The offered paragraph numbers (an answer outside them is reported as such).

    Returns:
        1 when the answer is a gold paragraph, else 0 with a reason.
    """
    g, s = as_paragraphs(gold), as_paragraphs(silver)
    value, why = find_answer(output, "answer")
    if why:
        return wrong(why, None, silver_hit=False)
    para = parse_paragraph(value)
    if para is None:
        return wrong(f"answer {str(value)[:40]!r} is not one paragraph number", None, silver_hit=False)
    if para in g:
        return right(para, silver_hit=False)
    if para in s:
        return wrong(f"paragraph {para} is a silver answer, gold {g}", para, silver_hit=True)
    if options is not None and para not in as_paragraphs(list(options)):
        return wrong(f"paragraph {para} is not among the options", para, silver_hit=False)
    return wrong(f"paragraph {para}, gold {g}", para, silver_hit=False)


# ------------------------------------------------------------------------------ NOC4PC
_CODE = re.compile(r"(?:35\s*U\.?\s*S\.?\s*C\.?)?\s*(?:§|sec(?:tion)?\.?)?\s*(102|103)(?:\s*\([a-z0-9]+\))*",
                   re.IGNORECASE)


def parse_code(value: Any) -> str | None:
    """A NOC4PC code from an answer value ("ALLOW", "allowed", "102", 103, "§ 103", ...), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return None
    v = value.strip().strip("\"'.").strip()
    if v.upper() in ("ALLOW", "ALLOWED", "ALLOWABLE", "ALLOWANCE"):
        return "ALLOW"
    m = _CODE.fullmatch(v)
    return m.group(1) if m else None


def score_noc4pc(output: str, gold: str) -> ItemScore:
    """Score a NOC4PC answer: 1 when the ``code`` equals the gold code (the macro-F1 uses ``extracted``)."""
    value, why = find_answer(output, "code")
    if why:
        return wrong(why)
    code = parse_code(value)
    if code is None:
        return wrong(f"code {str(value)[:40]!r} is not one of ALLOW, 102, 103")
    g = parse_code(gold)
    return right(code) if code == g else wrong(f"code {code}, gold {g}", code)


def macro_f1_codes(golds: Sequence[str], preds: Sequence[str | None]) -> float:
    """Macro-F1 over the codes ALLOW/102/103 of a group, in [0, 1]; ``None`` predictions count as wrong.

    Codes absent from the gold and the (readable) predictions of the group are left out of the average.
    """
    from sklearn.metrics import f1_score

    if not golds:
        return 0.0
    y_true = [parse_code(g) or "?" for g in golds]
    y_pred = [p if p in CODES else "none" for p in preds]
    labels = sorted((set(y_true) | set(y_pred)) & set(CODES))
    if not labels:
        return 0.0
    return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


# ------------------------------------------------------------------ the paper's evaluator (``paper`` profile)
def pooled_f1_letters(golds: Sequence[Sequence[str]], preds: Sequence[Sequence[str]]) -> float:
    """What the paper's evaluator reports as PAR4PC "macro_f1", in [0, 1] (rule ``par4pc.pooled_f1_no_silver``).

    A pooled (micro) F1: TP, FP and FN summed over the items, then ``2PR / (P + R)``; silver letters are
    not passed to that evaluator, so every predicted non-gold letter is a false positive. Source:
    ``Jensen246/opencompass`` ``opencompass/datasets/panorama/panorama_par4pc.py`` (PAR4PCEvaluator.score).
    """
    tp = fp = fn = 0
    for g, p in zip(golds, preds, strict=True):
        gs, ps = set(g), set(p)
        tp, fp, fn = tp + len(ps & gs), fp + len(ps - gs), fn + len(gs - ps)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return 2 * prec * rec / (prec + rec) if prec + rec else 0.0


def macro_f1_codes_readable(golds: Sequence[str], preds: Sequence[str | None]) -> float:
    """What the paper's evaluator reports as NOC4PC "macro_f1", in [0, 1] (rule
    ``noc4pc.drop_unreadable_all_labels``): items without a readable code are dropped, then macro-F1 over
    all three labels 102, 103, ALLOW (a label absent from golds and predictions scores 0); 0 when no
    item is left. Source: ``opencompass/datasets/panorama/panorama_noc4pc.py`` (NOC4PCEvaluator.score).
    """
    from sklearn.metrics import f1_score

    pairs = [(parse_code(g), p) for g, p in zip(golds, preds, strict=True) if p in CODES and parse_code(g)]
    if not pairs:
        return 0.0
    y_true, y_pred = zip(*pairs, strict=True)
    return float(f1_score(list(y_true), list(y_pred), labels=list(CODES), average="macro", zero_division=0))


def score_par4pc_paper(output: str, gold: Sequence[str]) -> ItemScore:
    """PAR4PC with the paper's extraction (:func:`ftagent.eval.scorers.paper_extraction.par4pc_letters`)
    and custom score without silver letters; ``details["pred"]`` feeds the pooled F1."""
    from ftagent.eval.scorers.paper_extraction import par4pc_letters

    g, pred = as_letters(gold), par4pc_letters(output)
    raw = custom_score(pred, g)
    details = {"pred": pred, "gold": g, "silver": [], "custom_score": round(raw, 6), "ignored": []}
    if set(pred) == set(g):
        return ItemScore(score=1.0, correct=True, extracted=pred, details=details)
    return ItemScore(score=max(0.0, min(1.0, raw)), correct=False, extracted=pred,
                     reason=f"read {','.join(pred) or 'nothing'} (paper extraction), gold {','.join(g)}", details=details)


def score_pi4pc_paper(output: str, gold: Sequence[int | str]) -> ItemScore:
    """PI4PC gold hit with the paper's extraction (first number as the last resort)."""
    from ftagent.eval.scorers.paper_extraction import pi4pc_paragraph

    para = pi4pc_paragraph(output)
    if para is None:
        return wrong("no paragraph number (paper extraction)")
    g = as_paragraphs(gold)
    return right(para) if para in g else wrong(f"paragraph {para} (paper extraction), gold {g}", para)


def score_noc4pc_paper(output: str, gold: str) -> ItemScore:
    """NOC4PC with the paper's extraction; ``extracted`` None (dropped by the paper's F1) when no code is read."""
    from ftagent.eval.scorers.paper_extraction import noc4pc_code

    code = noc4pc_code(output)
    if code is None:
        return wrong("no code ALLOW/102/103 anywhere in the output (paper extraction)")
    g = str(gold).strip().upper()
    return right(code) if code == g else wrong(f"code {code} (paper extraction), gold {g}", code)
