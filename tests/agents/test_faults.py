"""FT-Agent under faults: a bad backbone endpoint, bad data scripts, and the stopping rules.

The endpoint answers 429, 500, malformed JSON or too slowly; data scripts crash, hang or blow the memory
cap. Each run is cut short (``max_stages``) so no test trains a full model.

Client-level behaviour (retries, backoff, schema repair) is tested in tests/llm; here the question is
whether the *agent* survives: the experiment is recorded as failed with a class, and the run goes on or
ends as ``agent_failed`` with nothing lost.
"""

from __future__ import annotations

import json
import time

import pytest

from ftagent.dojo.env import DojoSettings
from ftagent.llm.scripted import scripted_policy
from ftagent.llm.server import ServerFault
from tests.agents.conftest import SETTINGS, run, state_of, trace_of

#: Steps before the first experiment: baseline and dataset selection.
RUN_LEVEL = 2


def _schema(body: dict) -> str:
    return ((body.get("response_format") or {}).get("json_schema") or {}).get("name", "")


def _ctx(messages: list[dict]) -> dict:
    from ftagent.llm.scripted import _context

    return _context(messages)


def _settings(**kw) -> DojoSettings:
    opts = kw.pop("agent_options", {})
    return SETTINGS.model_copy(update={**kw, "agent_options": {"ft-agent": opts}})


# ---------------------------------------------------------------------- the planning backbone
@pytest.mark.parametrize("fault,cls", [("429", "ENV"), ("500", "ENV"), ("malformed", "ENV"),
                                       ("slow", "TIMEOUT")])
def test_backbone_fault_fails_the_experiment_and_the_run_goes_on(fault, cls, mini, tmp_path, patched_policy):
    """Iteration 0's planning call fails for good; iteration 1 plans normally."""

    def policy(messages, body):
        if _schema(body) == "plan_reason" and _ctx(messages).get("iteration") == 0:
            if fault == "429":
                raise ServerFault(429, "rate limited", {"retry-after-ms": "10"})
            if fault == "500":
                raise ServerFault(500, "internal error", {"retry-after-ms": "10"})
            if fault == "malformed":
                return "I think the reason is {not json"
            time.sleep(1.5)
        return scripted_policy(messages, body)

    patched_policy(policy, max_retries=1, timeout_s=1.0)
    out = tmp_path / "run"
    # stop after iteration 1's plan: run-level stages, exp000 (plan, feedback), exp001's plan
    rec = run(out, mini, settings=_settings(agent_options={"max_stages": RUN_LEVEL + 3}))
    assert rec.status == "ok" and rec.stop_reason == "max_stages"
    (entry,) = trace_of(out)
    assert entry["status"] == "failed" and entry["stage_reached"] == "plan" and entry["failure_class"] == cls
    assert entry["error"].startswith("planning backbone:") and entry["diagnosis"]["backbone_failure"]
    assert list(entry["timings"]) == ["plan", "feedback"]
    state = state_of(out)
    assert state["current"]["experiment_id"] == "exp001" and state["current"]["done"] == ["plan"]
    assert "exp000 failed" in state["current"]["plan"]["reason"]  # the failure was fed into the next plan


def test_backbone_down_for_good_ends_as_agent_failed(mini, tmp_path, patched_policy):
    def policy(messages, body):
        if _schema(body) == "dataset_selection":
            return scripted_policy(messages, body)
        raise ServerFault(500, "down", {"retry-after-ms": "10"})

    patched_policy(policy, max_retries=0, timeout_s=5.0)
    out = tmp_path / "run"
    rec = run(out, mini)
    assert rec.status == "agent_failed" and "failed 2 experiments in a row" in rec.error
    assert [e["status"] for e in trace_of(out)] == ["failed", "failed"]  # both recorded, nothing lost
    assert rec.experiments == ["exp000", "exp001"]
    assert state_of(out)["stop_reason"] == "backbone"


def test_dataset_selection_falls_back_to_every_source(mini, tmp_path, patched_policy):
    def policy(messages, body):
        if _schema(body) == "dataset_selection":
            return json.dumps({"datasets": ["no_such_source"], "reason": "guess"})
        return scripted_policy(messages, body)

    patched_policy(policy)
    out = tmp_path / "run"
    run(out, mini, settings=_settings(agent_options={"max_stages": RUN_LEVEL}))
    sel = state_of(out)["selection"]
    assert sel["mode"] == "fallback" and sel["dropped"] == ["no_such_source"]
    assert "tableinstruct" in sel["datasets"]


def test_forced_dataset_selection(mini, tmp_path):
    out = tmp_path / "run"
    run(out, mini, settings=_settings(agent_options={"max_stages": RUN_LEVEL, "datasets": ["deepscaler"]}))
    sel = state_of(out)["selection"]
    assert sel == {**sel, "datasets": ["deepscaler"], "mode": "forced", "call": None}
    bad = run(tmp_path / "bad", mini, settings=_settings(agent_options={"datasets": ["nope"]}))
    assert bad.status == "agent_failed" and "option 'datasets': nope not available" in bad.error


# ---------------------------------------------------------------------- data scripts
BAD_SCRIPTS = {
    "crash": ("raise RuntimeError('the data script crashed on purpose')\n", "ENV"),
    "hang": ("import time\ntime.sleep(120)\n", "TIMEOUT"),
    "memory": ("blob = bytearray(2 * 1024 ** 3)\n", "OOM"),
}


def _bad_first_script(kind: str, rounds: int = 1):
    def policy(messages, body):
        if _schema(body) == "data_script" and _ctx(messages).get("repair_round", 0) < rounds:
            return json.dumps({"script": BAD_SCRIPTS[kind][0]})
        return scripted_policy(messages, body)

    return policy


@pytest.mark.parametrize("kind", list(BAD_SCRIPTS))
def test_bad_data_script_is_classified_and_repaired(kind, mini, tmp_path, patched_policy):
    patched_policy(_bad_first_script(kind))
    out = tmp_path / "run"
    settings = _settings(data_debug_timeout_s=5, data_memory_mb=512,
                         agent_options={"max_stages": RUN_LEVEL + 2})  # stop after exp000's data_debug
    rec = run(out, mini, settings=settings)
    assert rec.stop_reason == "max_stages"
    exp = state_of(out)["current"]
    assert exp["done"] == ["plan", "data_debug"] and exp["repairs"] == 1 and exp["failure"] is None
    first, second = exp["attempts"]
    assert (first["ok"], first["failure_class"], second["ok"]) == (False, BAD_SCRIPTS[kind][1], True)
    repair_prompt = [c for c in exp["llm_calls"] if c["stage"] == "data_script"][1]["messages"][-1]["content"]
    assert f"The previous script failed ({BAD_SCRIPTS[kind][1]})" in repair_prompt
    assert exp["data_stats"]["debug"]["samples"] > 0


def test_data_script_failing_every_round_is_diagnosed(mini, tmp_path, patched_policy):
    patched_policy(_bad_first_script("crash", rounds=99))
    out = tmp_path / "run"
    run(out, mini, settings=_settings(agent_options={"max_stages": RUN_LEVEL + 3, "max_repairs": 1}))
    (entry,) = trace_of(out)
    assert entry["status"] == "failed" and entry["stage_reached"] == "data_debug" and entry["repairs"] == 1
    assert [a["ok"] for a in entry["attempts"]] == [False, False]
    assert entry["diagnosis"]["by"] == "llm" and "crashed on purpose" in entry["error"]
    assert entry["feedback"].startswith("[ENV]")


# ---------------------------------------------------------------------- stopping rules
def test_wall_clock_budget_stops_before_any_stage(mini, tmp_path):
    rec = run(tmp_path / "run", mini, settings=_settings(wall_clock_h=1e-7))
    assert rec.status == "ok" and rec.stop_reason == "budget" and rec.iterations == 0
    assert rec.final.experiment_id is None


def test_gpu_hour_budget(mini, tmp_path, all_tasks):
    from ftagent.dojo.env import Dojo
    from ftagent.models.registry import get_base_model

    model, data, repo = mini
    dojo = Dojo(all_tasks["aime2025"], data, repo, get_base_model("tiny-qwen2"), model, tmp_path,
                _settings(gpu_hours=1.0, wall_clock_h=12.0))
    dojo._gpus = 0
    assert dojo.budget_left_s() > 11 * 3600  # no GPU: GPU-hours never bind
    dojo._gpus = 4  # 1 GPU-hour on 4 GPUs = 15 minutes of wall clock
    assert 14 * 60 < dojo.budget_left_s() <= 15 * 60
    dojo.spent_before_s = 15 * 60  # a resumed run continues its budget
    assert dojo.budget_left_s() <= 0
