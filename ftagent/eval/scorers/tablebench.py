"""TableBench answers: ``Final Answer:`` parsing, exact match, numeric tolerance and ROUGE-L.

Source: TableBench's evaluation protocol (answers end with ``Final Answer: AnswerName1, AnswerName2...``)
as used by FT-Dojo's TableBench tasks (paper-notes §2.3):

* fact checking, numerical reasoning, DataAnalysis/ImpactAnalysis — exact match of the answer list;
* DataAnalysis CorrelationAnalysis, TrendForecasting, StatisticalAnalysis — every numeric element
  within ±10% of the gold (relative), every text element exact;
* DataAnalysis AnomalyDetection, CausalAnalysis, DescriptiveAnalysis — ROUGE-L F-measure
  (``rouge-score``) of the final answer against the gold sentence(s).

Normalisation of one answer element (checked on the real 886 items): case, surrounding spaces, quotes,
markdown emphasis and a trailing period are ignored; a number is compared as a number after removing
thousands separators, a currency sign and a percent sign (``37.64%`` = ``37.64``, ``1,510`` = ``1510``,
``69`` = ``69.0``); a comma followed by exactly three digits is a thousands separator, any other comma
separates answers (``2009,2010`` is two answers). Units are not stripped: ``10 km`` != ``10``.
Gold quirks are kept as they are (one ImpactAnalysis gold reads ``Negtive impact``).
"""

from __future__ import annotations

import functools
import re

from ftagent.eval.scoring import ItemScore, right, wrong

_FINAL = re.compile(r"Final Answer[\s*_]*:", re.IGNORECASE)
_SPLIT = re.compile(r",(?!\d{3}(?!\d))")
_STRIP = " \t\"'`*_"

#: How each DataAnalysis qsubtype is scored: ``tolerance`` (numbers within 10% relative), ``exact``, ``rouge``.
DATA_ANALYSIS_RULES: dict[str, str] = {
    "CorrelationAnalysis": "tolerance", "TrendForecasting": "tolerance", "StatisticalAnalysis": "tolerance",
    "ImpactAnalysis": "exact",
    "AnomalyDetection": "rouge", "CausalAnalysis": "rouge", "DescriptiveAnalysis": "rouge",
}
#: Relative tolerance of the numeric DataAnalysis subtypes.
REL_TOL = 0.10


def extract_final_answer(output: str, rest: bool = False) -> str | None:
    """The answer after the last ``Final Answer:`` marker.

    Args:
        output: Raw model output.
        rest: Keep everything after the marker (whitespace collapsed) instead of its first line; used
            for open-ended answers scored by ROUGE-L.

    Returns:
        The answer text (``""`` when the marker is followed by nothing), or None without a marker.
    """
    matches = list(_FINAL.finditer(output or ""))
    if not matches:
        return None
    tail = output[matches[-1].end():].strip()
    if rest:
        return " ".join(tail.split()).strip(_STRIP)
    return tail.splitlines()[0].strip().strip(_STRIP) if tail else ""


def to_number(text: str) -> float | None:
    """``text`` as a number (currency sign, ``%``, thousands commas and spaces removed), else None."""
    t = text.strip().strip(_STRIP).rstrip(".").replace("\u2212", "-")
    t = re.sub(r"^([+-]?)\s*[$€£¥]", r"\1", t).replace(",", "").replace("%", "").strip()
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", t):
        return None
    return float(t)


def _norm_one(x: str) -> str:
    num = to_number(x)
    if num is not None:
        return repr(round(num, 6))
    x = x.strip().strip(_STRIP).rstrip(".").strip().lower()
    return re.sub(r"\s+", " ", x)


def split_answer(ans: str) -> list[str]:
    """Split an answer list on commas that are not thousands separators; empty parts are dropped."""
    return [p for p in _SPLIT.split(ans) if p.strip(_STRIP + ".")]


def normalise_answer(ans: str) -> list[str]:
    """Split an answer list and normalise each element (see the module docstring)."""
    return [_norm_one(p) for p in split_answer(ans)]


def _final(output: str, rest: bool = False) -> str | ItemScore:
    """The final answer, or the zero score saying why there is none."""
    if not output or not output.strip():
        return wrong("empty output")
    ans = extract_final_answer(output, rest)
    if ans is None:
        return wrong("no 'Final Answer:' line")
    if not ans:
        return wrong("empty final answer", ans)
    return ans


def score_exact_match(output: str, gold: str) -> ItemScore:
    """1 when the ``Final Answer:`` of ``output`` matches ``gold`` element by element after normalisation."""
    ans = _final(output)
    if isinstance(ans, ItemScore):
        return ans
    return right(ans) if normalise_answer(ans) == normalise_answer(str(gold)) else wrong(
        f"answer {ans!r} != {gold!r}", ans)


def score_within_tolerance(output: str, gold: str, rel_tol: float = REL_TOL) -> ItemScore:
    """1 when the answer list has the gold's length, each numeric gold element is matched by a number
    within ``rel_tol`` of it (relative to the gold; a gold 0 needs an exact 0) and each text element
    matches exactly after normalisation. Order matters (``forecast 2021, 2022``)."""
    ans = _final(output)
    if isinstance(ans, ItemScore):
        return ans
    pred, ref = split_answer(ans), split_answer(str(gold))
    if len(pred) != len(ref):
        return wrong(f"{len(pred)} answer(s), gold {gold!r} has {len(ref)}", ans)
    for p, g in zip(pred, ref, strict=True):
        gn = to_number(g)
        if gn is None:
            if _norm_one(p) != _norm_one(g):
                return wrong(f"{p.strip()!r} != {g.strip()!r}", ans)
            continue
        pn = to_number(p)
        if pn is None:
            return wrong(f"{p.strip()!r} is not a number (gold {g.strip()})", ans)
        if abs(pn - gn) > rel_tol * abs(gn) * (1 + 1e-9):
            return wrong(f"{pn:g} is not within {rel_tol:.0%} of {gn:g}", ans)
    return right(ans)


@functools.cache
def _rouge():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def score_rouge_l(output: str, gold: str) -> ItemScore:
    """ROUGE-L F-measure of the final answer (everything after the last marker) against ``gold``.

    ``correct`` is True for F = 1, False for F = 0 and None for partial credit (so partially right answers
    stay eligible as error samples, with their F in ``reason``).
    """
    ans = _final(output, rest=True)
    if isinstance(ans, ItemScore):
        return ans
    f = _rouge().score(str(gold), ans)["rougeL"].fmeasure
    correct = True if f >= 1.0 - 1e-9 else (False if f == 0 else None)
    return ItemScore(score=f, correct=correct, extracted=ans, reason="" if correct else f"ROUGE-L F {f:.3f}")


def score_data_analysis(output: str, gold: str, subtype: str) -> ItemScore:
    """Score a DataAnalysis answer with the rule of its qsubtype (:data:`DATA_ANALYSIS_RULES`).

    Raises:
        KeyError: ``subtype`` has no rule (a task configuration error, checked when the task loads).
    """
    rule = DATA_ANALYSIS_RULES[subtype]
    if rule == "tolerance":
        return score_within_tolerance(output, gold)
    if rule == "exact":
        return score_exact_match(output, gold)
    return score_rouge_l(output, gold)


# ------------------------------------------------------------------ the paper's evaluator (``paper`` profile)
# Source: Jensen246/opencompass, opencompass/datasets/tablebench/tablebench.py (TableBenchEvaluator with
# metric 'exact_match_with_final_answer', TableBenchNumericalWithPercenteErrorEvaluator, TableBenchRougeEvaluator).
_FIRST_FINAL = re.compile(r"Final Answer:\s*(.+?)(?:\n|$)", re.IGNORECASE | re.DOTALL)
_FIRST_NUMBER = re.compile(r"-?\d+\.?\d*")


def paper_final_answer(text: str) -> str:
    """The paper's evaluator's answer: the rest of the line after the *first* ``Final Answer:``, or the
    whole text (stripped) when there is no marker."""
    m = _FIRST_FINAL.search(text or "")
    return m.group(1).strip() if m else (text or "").strip()


def paper_normalise(text: str) -> str:
    """Lower case, every non-word character replaced by a space, spaces collapsed (so ``1,250`` reads
    ``1 250`` and ``69.0`` reads ``69 0``: rule ``tablebench.em_normalisation``)."""
    return " ".join(re.sub(r"[^\w\s]", " ", str(text).lower()).split())


def score_exact_match_paper(output: str, gold: str) -> ItemScore:
    """Exact match as the paper's evaluator computes it (rule ``tablebench.em_normalisation``)."""
    pred, ref = paper_final_answer(output), paper_final_answer(str(gold))
    if paper_normalise(pred) == paper_normalise(ref):
        return right(pred)
    return wrong(f"answer {pred[:60]!r} != {ref!r} (paper normalisation)", pred)


def _first_number(text: str) -> float | None:
    m = _FIRST_NUMBER.search(text.strip().replace(",", "").replace("%", ""))
    return float(m.group()) if m else None


def score_within_tolerance_paper(output: str, gold: str, rel_tol: float = REL_TOL) -> ItemScore:
    """The paper's 10% rule (``tablebench.tolerance_first_number``): the first number of each side's
    final answer, relative error <= ``rel_tol`` (a gold 0 needs ``|pred| < 1e-6``); the lower-cased
    strings must be equal when either side has no number."""
    pred, ref = paper_final_answer(output), paper_final_answer(str(gold))
    pn, rn = _first_number(pred), _first_number(ref)
    if pn is None or rn is None:
        ok = pred.strip().lower() == ref.strip().lower()
        return right(pred) if ok else wrong(f"{pred[:60]!r} != {ref!r} (no number to compare)", pred)
    ok = abs(pn) < 1e-6 if rn == 0 else abs(pn - rn) / abs(rn) <= rel_tol
    return right(pred) if ok else wrong(f"{pn:g} is not within {rel_tol:.0%} of {rn:g} (first numbers)", pred)


@functools.cache
def _rouge_package():
    from rouge import Rouge

    return Rouge()


def score_rouge_l_paper(output: str, gold: str) -> ItemScore:
    """ROUGE-L F of the first ``Final Answer:`` line (lower-cased; ``"empty"`` when empty) against the
    lower-cased gold, with the ``rouge`` package the paper's evaluator uses (``tablebench.rouge_first_line``;
    its errors, e.g. on text without words, score 0 as there)."""
    pred = paper_final_answer(output).lower().strip() or "empty"
    ref = str(gold).strip().lower() or "empty"
    try:
        f = float(_rouge_package().get_scores(pred, ref)[0]["rouge-l"]["f"])
    except Exception:  # noqa: BLE001  (the evaluator scores 0 on any error of the package)
        f = 0.0
    correct = True if f >= 1.0 - 1e-6 else (False if f == 0 else None)
    return ItemScore(score=f, correct=correct, extracted=pred, reason="" if correct else f"ROUGE-L F {f:.3f}")


#: The paper's DataAnalysis groups (OpenCompass datasets of tablebench_data_analysis_gen.py) and their evaluator.
DATA_ANALYSIS_GROUP_RULES: dict[str, str] = {
    "CorrelationAnalysis": "tolerance", "TrendForecasting": "tolerance", "StatisticalAnalysis": "tolerance",
    "ImpactAnalysis": "exact", "other": "rouge",
}


def score_data_analysis_paper(output: str, gold: str, group: str) -> ItemScore:
    """Score a DataAnalysis answer with the paper's evaluator of its group (:data:`DATA_ANALYSIS_GROUP_RULES`).

    Raises:
        KeyError: ``group`` is not one of the five groups.
    """
    rule = DATA_ANALYSIS_GROUP_RULES[group]
    if rule == "tolerance":
        return score_within_tolerance_paper(output, gold)
    if rule == "exact":
        return score_exact_match_paper(output, gold)
    return score_rouge_l_paper(output, gold)
