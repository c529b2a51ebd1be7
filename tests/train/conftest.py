"""Fixtures of the training tests: a small Alpaca training file for the tiny model."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def sft_data(tmp_path_factory):
    """64 short Alpaca records (``What is a plus b?`` -> the sum)."""
    rows = [{"instruction": f"What is {a} plus {b}?", "output": str(a + b)} for a in range(8) for b in range(8)]
    path = tmp_path_factory.mktemp("sft_data") / "data.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path
