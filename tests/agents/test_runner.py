"""End to end on the tiny model: ``run_agent`` + ``evaluate_run`` write records that follow their schemas."""

from __future__ import annotations

import json

import jsonschema
import pytest

from ftagent.agents.runner import run_agent
from ftagent.dojo.env import DojoSettings
from ftagent.dojo.evaluate_run import evaluate_run
from ftagent.errors import AgentError, FtagentError
from ftagent.records import json_schemas
from ftagent.utils.io import read_jsonl

SETTINGS = DojoSettings(scale="mini", prompt_style="compact", max_iterations=2, threads=2,
                        train_overrides={"max_steps": 6}, data_debug_timeout_s=60, data_full_timeout_s=60)


def _run(tmp_path, tiny_model, mini_data, mini_repository, agent, backbone="scripted", task="aime2025"):
    return run_agent(task=task, agent=agent, backbone=backbone, base_model="tiny-qwen2", base_model_dir=tiny_model,
                     data_dir=mini_data, repository=mini_repository, out_dir=tmp_path / agent, seed=0,
                     settings=SETTINGS, cache_dir=tmp_path / "cache")


@pytest.fixture(scope="module")
def ft_run(tmp_path_factory, tiny_model, mini_data, mini_repository):
    d = tmp_path_factory.mktemp("ft_run")
    rec = _run(d, tiny_model, mini_data, mini_repository, "ft-agent")
    ev = evaluate_run(d / "ft-agent")
    return d / "ft-agent", rec, ev


def test_ft_agent_records_follow_schemas(ft_run):
    run_dir, rec, ev = ft_run
    schemas = json_schemas()
    jsonschema.validate(json.loads((run_dir / "run.json").read_text()), schemas["run"])
    trace = read_jsonl(run_dir / "trace.jsonl")
    assert len(trace) == 2 == rec.iterations
    for line in trace:
        jsonschema.validate(line, schemas["trace"])
    jsonschema.validate(json.loads((run_dir / "eval.json").read_text()), schemas["eval"])
    assert rec.status == "ok" and rec.llm.backbone_label == "scripted" and rec.llm.calls > 0


def test_ft_agent_loop_ran_every_stage(ft_run):
    run_dir, rec, ev = ft_run
    trace = read_jsonl(run_dir / "trace.jsonl")
    first, second = trace
    assert first["stage_reached"] == "feedback" and first["validation"] is not None
    assert first["decision"] in ("accept", "reject")
    # the scripted backbone's deliberate fault in iteration 1 is caught by fail-fast validation and repaired
    assert second["repairs"] >= 1
    stages = {c["stage"] for c in first["llm_calls"]}
    assert {"plan_reason", "plan_hypothesis", "plan_task", "data_script", "data_judge", "train_config",
            "feedback"} <= stages
    assert (run_dir / "experiments" / "exp000" / "train" / "trainer_log.jsonl").exists()


def test_eval_is_harness_side_and_selects_by_validation(ft_run):
    run_dir, rec, ev = ft_run
    assert ev.experiments[0].experiment_id is None  # the base model is always evaluated
    best = max(ev.experiments, key=lambda e: e.validation.score)
    assert ev.validation == best.validation.score and ev.test == best.test.score
    assert ev.best_of_test >= ev.test
    assert ev.decoding["temperature"] == 0.0
    items = read_jsonl(run_dir / "eval_items.jsonl")
    val_ids = {r["id"] for r in items if r["part"] == "validation"}
    test_ids = {r["id"] for r in items if r["part"] == "test"}
    assert val_ids and test_ids and not val_ids & test_ids


def test_agent_never_sees_test_items(ft_run, mini_data):
    """Nothing the agent received (prompts of every backbone call) contains a test question."""
    from ftagent.dojo.benchmarks import get_benchmark
    from ftagent.dojo.heldout import heldout
    from ftagent.dojo.taskspec import get_task

    run_dir, _, _ = ft_run
    bench = get_benchmark(get_task("aime2025"))
    test_qs = {it.fields["question"] for it in heldout(bench, mini_data, "test").items}
    val_qs = {it.fields["question"] for it in heldout(bench, mini_data, "validation").items}
    prompts = " ".join(m["content"] for line in read_jsonl(run_dir / "trace.jsonl")
                       for c in line["llm_calls"] for m in c["messages"])
    leaked = {q for q in test_qs - val_qs if f"{q}\n" in prompts}
    assert not leaked


def test_base_model_run(tmp_path, tiny_model, mini_data, mini_repository):
    rec = _run(tmp_path, tiny_model, mini_data, mini_repository, "base-model", backbone="none")
    assert rec.status == "ok" and rec.final.experiment_id is None and rec.spec.backbone == "none"
    ev = evaluate_run(tmp_path / "base-model")
    assert ev.selected_experiment is None and len(ev.experiments) == 1


def test_bad_inputs_fail_before_running(tmp_path, tiny_model, mini_data, mini_repository):
    with pytest.raises(AgentError, match="unknown agent 'nobody'"):
        _run(tmp_path, tiny_model, mini_data, mini_repository, "nobody")
    with pytest.raises(FtagentError, match="data directory not found"):
        run_agent(task="aime2025", agent="base-model", backbone="none", base_model="tiny-qwen2",
                  base_model_dir=tiny_model, data_dir=tmp_path / "nowhere", repository=mini_repository,
                  out_dir=tmp_path / "x", seed=0, settings=SETTINGS)
    assert not (tmp_path / "x" / "run.json").exists()
