"""TableBench answers: ``Final Answer:`` parsing and exact match (fact checking, numerical reasoning).

Source: TableBench's evaluation (``Final Answer: AnswerName1, AnswerName2...`` must be the last line).
Exact match compares the comma-separated answer lists after normalisation (case, surrounding
spaces, a trailing period, thousands separators, numeric equality such as ``69`` = ``69.0``).
"""

from __future__ import annotations

import re

from ftagent.eval.scoring import ItemScore, right, wrong

_FINAL = re.compile(r"Final Answer\s*:\s*(.*)", re.IGNORECASE)


def extract_final_answer(output: str) -> str | None:
    """The text after the last ``Final Answer:`` (its first line), or None when absent."""
    matches = _FINAL.findall(output or "")
    if not matches:
        return None
    return matches[-1].strip().splitlines()[0].strip() if matches[-1].strip() else ""


def _norm_one(x: str) -> str:
    x = x.strip().strip("\"'").strip().rstrip(".").strip().lower()
    x = re.sub(r"\s+", " ", x)
    num = x.replace(",", "").replace("%", "")
    try:
        f = float(num)
        return repr(round(f, 6))
    except ValueError:
        return x


def normalise_answer(ans: str) -> list[str]:
    """Split an answer list on commas (not inside numbers like ``1,510``) and normalise each part."""
    parts = re.split(r",(?!\d{3}\b)", ans)
    return [_norm_one(p) for p in parts if p.strip()]


def score_exact_match(output: str, gold: str) -> ItemScore:
    """1 when the ``Final Answer:`` of ``output`` matches ``gold`` after normalisation."""
    if not output or not output.strip():
        return wrong("empty output")
    ans = extract_final_answer(output)
    if ans is None:
        return wrong("no 'Final Answer:' line")
    if not ans:
        return wrong("empty final answer", ans)
    return right(ans) if normalise_answer(ans) == normalise_answer(str(gold)) else wrong(
        f"answer {ans!r} != {gold!r}", ans)
