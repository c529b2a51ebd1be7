"""End to end on the tiny model: ``run_agent`` + ``evaluate_run`` write records that follow their schemas."""

from __future__ import annotations

import json

import jsonschema
import pytest

from ftagent.agents.runner import run_agent
from ftagent.dojo.evaluate_run import evaluate_run
from ftagent.errors import AgentError, FtagentError
from ftagent.records import json_schemas
from ftagent.utils.io import read_jsonl
from tests.agents.conftest import SETTINGS, run


def _run(tmp_path, tiny_model, mini_data, mini_repository, agent, backbone="scripted", task="aime2025"):
    return run(tmp_path / agent, (tiny_model, mini_data, mini_repository), agent=agent, backbone=backbone,
               task=task, cache_dir=tmp_path / "cache")


@pytest.fixture(scope="module")
def ft_evaluated(ft_run):
    run_dir, rec, _ = ft_run
    return run_dir, rec, evaluate_run(run_dir)


def test_ft_agent_records_follow_schemas(ft_evaluated):
    run_dir, rec, ev = ft_evaluated
    schemas = json_schemas()
    jsonschema.validate(json.loads((run_dir / "run.json").read_text()), schemas["run"])
    trace = read_jsonl(run_dir / "trace.jsonl")
    assert len(trace) == 3 == rec.iterations and rec.stop_reason == "max_iterations"
    for line in trace:
        jsonschema.validate(line, schemas["trace"])
    jsonschema.validate(json.loads((run_dir / "eval.json").read_text()), schemas["eval"])
    assert rec.status == "ok" and rec.llm.backbone_label == "scripted" and rec.llm.calls > 0


def test_ft_agent_loop_ran_every_branch(ft_run):
    """Accept, a repaired validation failure ending in a reject, and a diagnosed failure, as a DAG."""
    run_dir, rec, _ = ft_run
    first, second, third = read_jsonl(run_dir / "trace.jsonl")
    assert first["stage_reached"] == "feedback" and first["validation"] is not None
    assert first["decision"] == "accept" and first["parent_id"] is None
    assert list(first["timings"]) == ["plan", "data_debug", "micro_batch", "full_data", "full_training",
                                      "evaluation", "feedback"]
    # the scripted backbone's deliberate wrong key in iteration 1: caught by fail-fast validation, repaired
    assert second["repairs"] == 1 and second["parent_id"] == "exp000" and second["status"] == "ok"
    attempts = [(a["stage"], a["ok"]) for a in second["attempts"]]
    assert attempts[:2] == [("data_debug", False), ("data_debug", True)]
    assert second["decision"] == "reject"  # ties the current best (the tiny model scores 0 on AIME)
    # iteration 2's deliberate unsupported schedule survives every repair round: a diagnosed CONFIG failure
    assert third["status"] == "failed" and third["stage_reached"] == "micro_batch"
    assert third["failure_class"] == "CONFIG" and third["decision"] is None
    assert third["diagnosis"]["failure_class"] == "CONFIG" and third["diagnosis"]["by"] == "llm"
    assert "_scripted_fault" in third["train_config"]
    assert list(third["timings"]) == ["plan", "data_debug", "micro_batch", "feedback"]
    stages = [c["stage"] for c in first["llm_calls"]]
    assert stages == ["dataset_selection", "plan_reason", "plan_hypothesis", "plan_task", "data_script",
                      "data_judge", "train_config", "feedback"]
    assert all(c["prompt"].endswith("@v2") for e in (first, second, third) for c in e["llm_calls"])
    assert third["llm_calls"][-1]["stage"] == "failure_diagnosis"
    assert rec.final.experiment_id == "exp000"
    assert (run_dir / "experiments" / "exp000" / "train" / "trainer_log.jsonl").exists()


def test_dataset_selection_restricts_prompts(ft_run):
    run_dir, _, _ = ft_run
    trace = read_jsonl(run_dir / "trace.jsonl")
    state = json.loads((run_dir / "agent_state.json").read_text())
    assert state["selection"]["datasets"] == ["deepscaler"] and state["selection"]["mode"] == "llm"
    selection_prompt = trace[0]["llm_calls"][0]["messages"][-1]["content"]
    assert "`tableinstruct`" in selection_prompt  # the whole repository is offered ...
    for e in trace:  # ... and only the selection is shown afterwards
        assert e["datasets"] == ["deepscaler"]
        for c in e["llm_calls"][1 if e["iteration"] == 0 else 0:]:
            assert "tableinstruct" not in c["messages"][-1]["content"]


def test_planning_sees_parent_and_siblings(ft_run):
    """Iteration 2's plan shows the parent's config, data script, validation summary and sibling exp001."""
    run_dir, _, _ = ft_run
    plan = read_jsonl(run_dir / "trace.jsonl")[2]["llm_calls"][0]["messages"][-1]["content"]
    assert "Current best experiment (the parent of this one): exp000" in plan
    assert "training config:" in plan and "wrong-answer patterns:" in plan
    assert "validation per subset:" in plan
    assert "Data-processing script written by the SCRIPTED backbone (recipe: direct-lora)" in plan
    assert "- exp001: ok, rejected" in plan
    feedback = read_jsonl(run_dir / "trace.jsonl")[1]["llm_calls"][-1]["messages"][-1]["content"]
    assert "Summary (computed):" in feedback and '"trend"' in feedback
    assert "Never propose fixes for individual questions" in feedback


def test_eval_is_harness_side_and_selects_by_validation(ft_evaluated):
    run_dir, rec, ev = ft_evaluated
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
    leaked = {q for q in test_qs - val_qs if f"{q}\n" in prompts or json.dumps(q)[1:-1] + "\\n" in prompts}
    assert not leaked
    assert any(json.dumps(q)[1:-1] + "\\n" in prompts for q in val_qs)  # wrong validation answers are shown


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
    with pytest.raises(AgentError, match="bad agent_options"):
        run(tmp_path / "y", (tiny_model, mini_data, mini_repository),
            settings=SETTINGS.model_copy(update={"agent_options": {"ft-agent": {"no_such": 1}}}))
    assert not (tmp_path / "y" / "run.json").exists()
