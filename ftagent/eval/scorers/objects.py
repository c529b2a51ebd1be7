"""Brace matching for the scorers that read a JSON object out of free-form model output.

Shared by :mod:`ftagent.eval.scorers.chem` (ChemCoTBench answers) and
:mod:`ftagent.eval.scorers.panorama` (PANORAMA answers); each keeps its own decoding rules.
"""

from __future__ import annotations


def balanced_end(text: str, start: int, *, quotes: str = '"', limit: int | None = None) -> int | None:
    """Index just past the ``}`` that closes the ``{`` at ``text[start]``, or None.

    Braces inside quoted strings do not count; a backslash inside a string escapes the next character.

    Args:
        text: Model output.
        start: Index of an opening ``{``.
        quotes: Characters that open and close a string (``'"'`` for JSON, ``'"\\''`` for Python literals).
        limit: Scan at most this many characters from ``start`` (None: to the end of ``text``).

    Returns:
        The end index (exclusive) of the balanced object, or None when it is not closed within the scan.
    """
    depth, quote, i = 0, "", start
    stop = len(text) if limit is None else min(len(text), start + limit)
    while i < stop:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in quotes:
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None
