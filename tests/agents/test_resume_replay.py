"""Resumption after ``kill -9`` at a stage boundary, and record/replay of a whole run.

Both compare against the reference run ``ft_run`` (tests/agents/conftest.py): the same trace line for
line once clock readings are removed, every stage run once, every backbone call made once.
"""

from __future__ import annotations

import json
import signal

import pytest

from ftagent.agents.ft_agent.state import KILL_HOOK
from tests.agents.conftest import run, run_cli, stable, state_of, trace_of

#: Steps of the reference run: baseline, dataset_selection, 7 + 7 + 4 stages of exp000-exp002.
STEPS = 20


def _killed(out, mini, at: int, current: str, done: list[str], recorded: list[str]) -> None:
    """``ftagent run`` in a subprocess that SIGKILLs itself after step ``at``; check what it left."""
    killed = run_cli(out, mini, env={KILL_HOOK: str(at)})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not (out / "run.json").exists()
    state = state_of(out)
    assert [e["experiment_id"] for e in trace_of(out)] == recorded
    assert state["current"]["experiment_id"] == current and state["current"]["done"] == done


def _same_as_reference(out, ft_run, at: int) -> None:
    ref_dir, ref, _ = ft_run
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "ok" and record["sessions"] == 2 and record["stop_reason"] == "max_iterations"
    trace, ref_trace = trace_of(out), trace_of(ref_dir)
    assert [e["experiment_id"] for e in trace] == ["exp000", "exp001", "exp002"]  # each experiment once
    for got, want in zip(trace, ref_trace, strict=True):
        assert list(got["timings"]) == list(want["timings"])  # every stage once, in order
        assert [c["stage"] for c in got["llm_calls"]] == [c["stage"] for c in want["llm_calls"]]
        assert stable(got) == stable(want)  # the same experiment as the uninterrupted run
    sessions = state_of(out)["sessions"]
    assert [s["stages"] for s in sessions] == [at, STEPS - at]
    # no backbone call was made twice: the two sessions together made exactly the reference's calls
    assert sum(s["endpoint_calls"] for s in sessions) == ref.llm.calls == record["llm"]["calls"]


def test_kill_9_then_resume_continues_from_the_last_stage(ft_run, mini, tmp_path):
    """Killed after exp000's micro-batch stage (step 5), resumed (in this process, warm) at its full run."""
    out = tmp_path / "resumed"
    _killed(out, mini, 5, "exp000", ["plan", "data_debug", "micro_batch"], [])
    run(out, mini)  # the same run again on the same folder, no cache: every call reaches the endpoint
    _same_as_reference(out, ft_run, 5)


@pytest.mark.slow
def test_kill_9_then_resume_from_the_command_line(ft_run, mini, tmp_path):
    """Killed mid-exp001 (step 12, after exp000 is recorded), resumed by the same command line."""
    out = tmp_path / "resumed"
    _killed(out, mini, 12, "exp001", ["plan", "data_debug", "micro_batch"], ["exp000"])
    resumed = run_cli(out, mini)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _same_as_reference(out, ft_run, 12)
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


class _MachineCrash(BaseException):
    """Stands for a crash the harness cannot catch (it is not an ``Exception``)."""


def test_crash_inside_a_stage_keeps_the_last_completed_stage(mini, tmp_path, monkeypatch):
    """The micro-batch stage dies after its backbone call: the state file does not hold that call."""
    from ftagent.dojo.env import Dojo

    def train(self, workspace, config, micro):
        raise _MachineCrash()

    monkeypatch.setattr(Dojo, "train", train)
    out = tmp_path / "crashed"
    with pytest.raises(_MachineCrash):
        run(out, mini)
    exp = state_of(out)["current"]
    assert exp["done"] == ["plan", "data_debug"] and list(exp["timings"]) == ["plan", "data_debug"]
    assert "train_config" not in [c["stage"] for c in exp["llm_calls"]]
    assert [a["stage"] for a in exp["attempts"]] == ["data_debug"]
