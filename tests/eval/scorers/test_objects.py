"""Brace matching shared by the JSON-answer scorers."""

from __future__ import annotations

import pytest

from ftagent.eval.scorers.objects import balanced_end


@pytest.mark.parametrize("text, quotes, end", [
    ('x {"a": {"b": 1}} y', '"', 17),
    ('{"a": "}"} tail', '"', 10),            # a brace inside a string does not close
    ('{"a": "\\"}"}', '"', 12),              # an escaped quote does not end the string
    ("{'a': '}'}", "\"'", 10),               # Python-literal quotes when asked for
    ('{"a": 1', '"', None),                  # never closed
])
def test_balanced_end(text, quotes, end):
    assert balanced_end(text, text.index("{"), quotes=quotes) == end


def test_limit_stops_the_scan():
    text = "{" + " " * 100 + "}"
    assert balanced_end(text, 0, limit=50) is None
    assert balanced_end(text, 0) == len(text)
