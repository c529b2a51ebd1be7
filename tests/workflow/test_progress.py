"""workflow/scripts/ftdojo_progress.py: one line per job with the overall count and an ETA, lines cut."""

from __future__ import annotations

import io
import logging
import sys

from tests.workflow.conftest import ROOT

sys.path.insert(0, str(ROOT / "workflow/scripts"))
import ftdojo_progress  # noqa: E402


def _rec(**extra):
    r = logging.LogRecord("snakemake.logging", logging.INFO, __file__, 1, extra.pop("msg", None), None, None)
    for k, v in extra.items():
        setattr(r, k, v)
    return r


def test_lines_count_eta_and_cut():
    now = [0.0]
    out = io.StringIO()
    h = ftdojo_progress.ProgressHandler(stream=out, clock=lambda: now[0])
    h.emit(_rec(event="run_info", msg="Job stats:\ntotal 4", stats={"run_agent": 2, "total": 4}))
    h.emit(_rec(event="job_info", jobid=1, rule_name="run_agent", wildcards={"task": "aime2025", "agent": "x" * 300}))
    now[0] = 120.0
    h.emit(_rec(event="job_finished", job_id=1))
    h.emit(_rec(event="progress", done=1, total=4))
    h.emit(_rec(event="job_error", rule_name="evaluate_run", log="results/mini/runs/a/eval.log"))
    lines = out.getvalue().splitlines()
    start, done, failed = lines  # the job stats are Snakemake's own line, not repeated
    assert start.startswith("ftdojo: [0/4   0%] start run_agent aime2025/xxx") and start.endswith("…")
    assert len(start) <= 8 + 12 + 6 + ftdojo_progress.LABEL_WIDTH
    assert all(len(ln) <= ftdojo_progress.WIDTH for ln in lines)
    assert done.startswith("ftdojo: [1/4  25%] done run_agent aime2025/") and "in 2m00s" in done
    assert "ETA ~6m00s" in done  # 120 s per job, 3 left
    assert "FAILED evaluate_run (log: results/mini/runs/a/eval.log)" in failed


def test_a_broken_record_never_raises():
    h = ftdojo_progress.ProgressHandler(stream=io.StringIO())
    h.emit(_rec(event="job_info"))  # no jobid, no rule_name
    h.emit(_rec(event="progress", done="x", total=None))


def test_mute_keeps_errors_and_drops_job_blocks():
    assert not ftdojo_progress._mute(_rec(event="job_info"))
    assert not ftdojo_progress._mute(_rec(event="shellcmd"))
    assert not ftdojo_progress._mute(_rec(msg="Select jobs to execute..."))
    assert ftdojo_progress._mute(_rec(event="job_error", msg="Error in rule run_agent"))
    assert ftdojo_progress._mute(_rec(event="run_info", msg="Job stats:"))
    assert ftdojo_progress._mute(_rec(msg="ftdojo: warning: something"))
