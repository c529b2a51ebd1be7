"""Resumption after ``kill -9`` at a stage boundary, and record/replay of a whole run.

Both compare against the reference run ``ft_run`` (tests/agents/conftest.py): the same trace line for
line once clock readings are removed, every stage run once, every backbone call made once.
"""

from __future__ import annotations

import json
import signal

from ftagent.agents.ft_agent.state import KILL_HOOK
from tests.agents.conftest import run, run_cli, stable, state_of, trace_of

#: Step 12 = baseline, dataset_selection, exp000's 7 stages, then exp001's plan, data_debug, micro_batch:
#: the process dies in the middle of an experiment, before its full run.
KILL_AT = 12


def test_kill_9_then_resume_continues_from_the_last_stage(ft_run, mini, tmp_path):
    ref_dir, ref, _ = ft_run
    out = tmp_path / "resumed"
    killed = run_cli(out, mini, env={KILL_HOOK: str(KILL_AT)})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not (out / "run.json").exists()
    state = state_of(out)
    assert [e["experiment_id"] for e in trace_of(out)] == ["exp000"]
    assert state["current"]["experiment_id"] == "exp001"
    assert state["current"]["done"] == ["plan", "data_debug", "micro_batch"]

    resumed = run_cli(out, mini)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "ok" and record["sessions"] == 2 and record["stop_reason"] == "max_iterations"

    trace, ref_trace = trace_of(out), trace_of(ref_dir)
    assert [e["experiment_id"] for e in trace] == ["exp000", "exp001", "exp002"]  # each experiment once
    for got, want in zip(trace, ref_trace, strict=True):
        assert list(got["timings"]) == list(want["timings"])  # every stage once, in order
        assert [c["stage"] for c in got["llm_calls"]] == [c["stage"] for c in want["llm_calls"]]
        assert stable(got) == stable(want)  # the same experiment as the uninterrupted run
    sessions = state_of(out)["sessions"]
    assert [s["stages"] for s in sessions] == [KILL_AT, 20 - KILL_AT]
    # no backbone call was made twice: the two sessions together made exactly the reference's calls
    assert sum(s["endpoint_calls"] for s in sessions) == ref.llm.calls == record["llm"]["calls"]
    assert "exp001 full_data done" in resumed.stderr and "exp001 plan done" not in resumed.stderr


def test_replay_gives_the_same_trace_with_no_endpoint(ft_run, mini, tmp_path):
    ref_dir, ref, cache = ft_run
    rec = run(tmp_path / "replayed", mini, cache_dir=cache, cache_mode="replay")
    assert rec.status == "ok"
    assert rec.llm.calls == rec.llm.replayed == ref.llm.calls > 0
    assert state_of(tmp_path / "replayed")["sessions"][0]["endpoint_calls"] == 0

    def without_replay_flag(entry):
        return stable({**entry, "llm_calls": [{k: v for k, v in c.items() if k != "replayed"}
                                              for c in entry["llm_calls"]]})

    got, want = trace_of(tmp_path / "replayed"), trace_of(ref_dir)
    assert [without_replay_flag(e) for e in got] == [without_replay_flag(e) for e in want]
    assert all(c["replayed"] for e in got for c in e["llm_calls"])
