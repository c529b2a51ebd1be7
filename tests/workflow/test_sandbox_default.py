"""The mini default run's agent code runs in the sandbox ``auto`` picked, and the run folder says which.

Uses the session's reduced workflow run (no extra run). Where ``FTDOJO_REQUIRE_SANDBOX=bubblewrap`` (CI,
``.ci/run``) every run must have used bubblewrap; elsewhere a fallback must be recorded with its reason.
"""

from __future__ import annotations

import json
import os


def test_mini_runs_record_their_sandbox(reduced_run):
    wd, _, out = reduced_run
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    records = sorted((wd / "results/mini/runs").rglob("sandbox.json"))
    assert records, "no run recorded its sandbox"
    for p in records:
        sel = json.loads(p.read_text())
        assert sel["requested"] == "auto", p
        if os.environ.get("FTDOJO_REQUIRE_SANDBOX") == "bubblewrap":
            assert sel["backend"] == "bubblewrap", (p, sel["note"])
        assert sel["isolated"] == (sel["backend"] != "subprocess") and (sel["isolated"] or sel["note"]), sel
    steps = sorted((wd / "results/mini/runs").rglob("sandbox/*/step.json"))
    assert steps, "no data step was recorded"
    for p in steps:
        step = json.loads(p.read_text())
        assert step["result"]["backend"] == json.loads((p.parents[2] / "sandbox.json").read_text())["backend"]
        assert step["result"]["breach"] is None and (p.parent / "stdout.log").exists()
