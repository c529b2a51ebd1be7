"""``sandbox: auto``: the strongest backend that works here, and a recorded warning when none isolates."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest
import yaml

from ftagent.dojo.env import DojoSettings
from ftagent.dojo.sandbox import UNSAFE_NOTE, get_sandbox
from ftagent.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]


def test_auto_is_the_default_everywhere():
    assert DojoSettings().sandbox == "auto"
    scales = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["scales"]
    configured = {name: s["dojo"].get("sandbox", "auto") for name, s in scales.items()}
    assert configured == dict.fromkeys(scales, "auto")


def test_auto_prefers_bubblewrap():
    """Where bubblewrap works, ``auto`` is bubblewrap. CI sets ``FTDOJO_REQUIRE_SANDBOX=bubblewrap``
    (``.ci/run``), so there a broken bubblewrap fails this test instead of skipping it."""
    try:
        get_sandbox("bubblewrap")
    except ConfigError as e:
        if os.environ.get("FTDOJO_REQUIRE_SANDBOX") == "bubblewrap":
            raise
        pytest.skip(str(e))
    sb = get_sandbox("auto")
    assert sb.name == "bubblewrap" and sb.selection.as_dict() == {
        "requested": "auto", "backend": "bubblewrap", "isolated": True, "note": ""}


def test_auto_falls_back_with_a_recorded_warning(monkeypatch):
    monkeypatch.delenv("FTDOJO_APPTAINER_IMAGE", raising=False)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        sb = get_sandbox("auto", bwrap="/nonexistent/bwrap")
    sel = sb.selection
    assert sb.name == "subprocess" and not sel.isolated and sel.requested == "auto"
    assert sel.note.startswith(UNSAFE_NOTE) and "'/nonexistent/bwrap' not found" in sel.note
    assert "apptainer" in sel.note and any("no isolation" in str(x.message) for x in w)
    if shutil.which("apptainer") is None:
        assert "'apptainer' not found" in sel.note
