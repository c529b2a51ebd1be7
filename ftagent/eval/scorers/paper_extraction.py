"""Answer extraction as the paper's evaluator does it (``paper`` profile; rules ``panorama.answer_extraction``
and ``chemcot.answer_extraction`` of :mod:`ftagent.eval.profiles`).

The fork's evaluators (Jensen246/opencompass ``opencompass/datasets/panorama/panorama_{par4pc,pi4pc,noc4pc}.py``
and ``opencompass/datasets/chemcotbench/chemcotbench_{mol_und,reaction}.py``, ``_extract_answer_from_response``
and ``_extract_code_from_response``) read the *whole* output, or its first fenced block, as one JSON object,
and fall back to regular expressions over the text, ending in permissive guesses: any standalone letter
A-H (case-insensitive, so the English article "a" reads as option A), the first number, the first of
ALLOW/102/103 that occurs anywhere, any "yes"/"no" word. This module re-implements that behaviour in our
own code so the ``paper`` profile scores what the paper's numbers scored; the ``benchmark`` profile keeps
the stricter extraction of :mod:`ftagent.eval.scorers.panorama` and :mod:`ftagent.eval.scorers.chem`.
"""

from __future__ import annotations

import json
import re
from typing import Any

LETTERS = "ABCDEFGH"


def _body(output: str) -> str:
    """The stripped output, or the inside of its first ```json block (else first ``` block)."""
    text = (output or "").strip()
    if "```json" in text:
        m = re.search(r"```json\s*(.*?)\s*```", text, re.S)
        if m:
            return m.group(1)
    elif "```" in text:
        m = re.search(r"```\s*(.*?)\s*```", text, re.S)
        if m:
            return m.group(1)
    return text


def _dict(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _letters_of(value: Any) -> list[str]:
    """Letters A-H of a comma/space separated string or a list (the fork's ``_parse_answer_string``)."""
    if isinstance(value, list):
        return sorted({c for v in value for c in _letters_of(v)})
    if not value:
        return []
    parts = re.split(r"[,\s]+", str(value).upper())
    return sorted({p.strip() for p in parts if p.strip() and "A" <= p.strip() <= "H"})


def par4pc_letters(output: str) -> list[str]:
    """PAR4PC option letters as the fork reads them (sorted, distinct; possibly empty)."""
    if not output:
        return []
    text = _body(output)
    data = _dict(text)
    if data is not None:
        ans = data.get("answer", [])
        if isinstance(ans, str):
            a = ans.strip().upper()
            return [a] if len(a) == 1 and "A" <= a <= "H" else _letters_of(ans)
        if isinstance(ans, list):
            return sorted({s.strip().upper() for s in ans
                           if isinstance(s, str) and len(s.strip()) == 1 and "A" <= s.strip().upper() <= "H"})
    for pat in (r'"answer"\s*:\s*\[\s*"([A-H])"\s*(?:,\s*"([A-H])"\s*)*\]', r'"answer"\s*:\s*"([A-H](?:,\s*[A-H])*)"',
                r'"answer"\s*:\s*"([A-H])"'):
        m = re.search(pat, text, re.I)
        if m:
            found = re.findall(r"[A-H]", m.group(0), re.I)
            if found:
                return sorted({c.upper() for c in found})
    return sorted({c.upper() for c in re.findall(r"\b([A-H])\b", text, re.I)})


def pi4pc_paragraph(output: str) -> int | None:
    """PI4PC paragraph number as the fork reads it (JSON ``answer``, ``answer: N`` patterns, else the
    first number in the text)."""
    if not output:
        return None
    text = _body(output)
    data = _dict(text)
    if data is not None and data.get("answer") is not None:
        try:
            return int(data["answer"])
        except (TypeError, ValueError):
            pass
    for pat in (r'"answer"\s*:\s*(\d+)', r'"answer"\s*:\s*"(\d+)"', r"answer\s*[:=]\s*(\d+)"):
        m = re.search(pat, text, re.I)
        if m:
            return int(m.group(1))
    nums = re.findall(r"\b(\d+)\b", text)
    return int(nums[0]) if nums else None


def noc4pc_code(output: str) -> str | None:
    """NOC4PC code as the fork reads it: JSON ``code``, ``code: X`` patterns, else the first of ALLOW,
    102, 103 found anywhere in the upper-cased text ("allowed" reads ALLOW); None when none occurs."""
    if not output:
        return None
    text = _body(output)
    data = _dict(text)
    if data is not None and data.get("code"):
        code = str(data["code"]).strip().upper()
        if code in ("ALLOW", "102", "103"):
            return code
    for pat in (r'"code"\s*:\s*"(ALLOW|102|103)"', r"\"code\"\s*:\s*'(ALLOW|102|103)'", r"\bcode\s*[:=]\s*(ALLOW|102|103)\b"):
        m = re.search(pat, text, re.I)
        if m:
            return m.group(1).upper()
    upper = text.upper()
    return next((c for c in ("ALLOW", "102", "103") if c in upper), None)


#: JSON keys the fork reads per ChemCoTBench subtask, in order.
CHEMCOT_KEYS: dict[str, tuple[str, ...]] = {
    "fg_count": ("count", "answer"), "ring_count": ("count", "answer"), "equivalence": ("output", "answer"),
    "Murcko_scaffold": ("Output Scaffold", "output", "answer"), "ring_system_scaffold": ("output", "answer"),
    "mechsel": ("choice", "answer"), "fs": ("Major Product", "output", "answer"),
    "retro": ("Reactants", "output", "answer"), "rcr": ("condition", "answer"), "nepp": ("output", "answer"),
}


def chemcot_answer(output: str, subtask: str) -> str | None:
    """A ChemCoTBench mol_und or reaction answer as the fork reads it (None for an empty output, or a
    reaction JSON object without the subtask's keys).

    ``<think>`` blocks are removed; the first fenced block (else the text), with newlines dropped, is
    parsed as JSON and the subtask's keys (:data:`CHEMCOT_KEYS`) are read; failing that, subtask
    patterns (counts: any number; Yes/No: any "yes" or "no" word; mechsel: any single capital letter;
    SMILES: a quoted value of the key); failing everything, the whole stripped text.
    """
    if not output:
        return None
    text = re.sub(r"<think>.*?</think>", "", output.strip(), flags=re.S)
    text = _body(text)
    data = _dict(text.replace("\n    ", "").replace("\n", ""))
    if data is not None:
        keys = CHEMCOT_KEYS.get(subtask, ("answer", "output"))
        value = next((data[k] for k in keys if k in data), None)  # dict.get chains: the first key present
        if subtask == "mechsel":
            if value:
                return str(value).strip().upper()
        elif subtask in ("fs", "retro", "rcr", "nepp"):
            return None if value is None else str(value)  # the reaction reader returns whatever it found
        elif value is not None:
            return str(value).strip()
    if subtask in ("fg_count", "ring_count"):
        for pat in (r'"count"\s*:\s*"?(\d+)"?', r'"answer"\s*:\s*"?(\d+)"?', r"\b(\d+)\b"):
            m = re.search(pat, text)
            if m:
                return m.group(1)
    elif subtask in ("equivalence", "ring_system_scaffold"):
        for pat in (r'"output"\s*:\s*"(Yes|No)"', r'"answer"\s*:\s*"(Yes|No)"'):
            m = re.search(pat, text, re.I)
            if m:
                return m.group(1)
        if re.search(r"\byes\b", text, re.I):
            return "Yes"
        if re.search(r"\bno\b", text, re.I):
            return "No"
    elif subtask == "mechsel":
        for pat in (r'"choice"\s*:\s*"([A-Z])"', r'"answer"\s*:\s*"([A-Z])"', r"\b([A-Z])\b"):
            m = re.search(pat, text)
            if m:
                return m.group(1).upper()
    elif subtask in ("Murcko_scaffold", "fs", "retro"):
        for key in CHEMCOT_KEYS[subtask]:
            m = re.search(rf'"{re.escape(key)}"\s*:\s*"([^"]*)"', text, re.I)
            if m:
                return m.group(1).strip()
    return text.strip()
