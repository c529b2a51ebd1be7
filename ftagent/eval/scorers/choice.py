"""Multiple-choice letters (FinanceIQ): OpenCompass's last-capital-letter extraction + accuracy."""

from __future__ import annotations

from ftagent.eval.scoring import ItemScore, right, wrong


def last_capital_letter(text: str) -> str | None:
    """The last ASCII capital letter of ``text`` (OpenCompass ``last_capital_postprocess``), or None.

    Chinese characters are not capitals, so ``"答案是：B"`` gives ``"B"``.
    """
    for ch in reversed(text or ""):
        if "A" <= ch <= "Z":
            return ch
    return None


def score_choice(output: str, gold: str) -> ItemScore:
    """1 when the last capital letter of ``output`` equals the gold letter."""
    if not output or not output.strip():
        return wrong("empty output")
    letter = last_capital_letter(output)
    if letter is None:
        return wrong("no capital letter in output")
    return right(letter) if letter == gold.strip().upper() else wrong(f"chose {letter}, gold {gold}", letter)
