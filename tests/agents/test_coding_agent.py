"""``coding-agent``: a real mini-swe-agent session, driven by the scripted shell policy over the LLM proxy and the
loopback endpoint, runs the data script, trains the tiny model, validates and leaves a model; its records follow
the schemas of every agent; a planted provider key reaches no file and not the agent's environment."""

from __future__ import annotations

import json

import jsonschema
import pytest

from ftagent.dojo.evaluate_run import evaluate_run
from ftagent.llm.proxy import LOG_NAME
from ftagent.records import json_schemas
from ftagent.utils.io import read_jsonl
from tests.agents.conftest import run
from tests.agents.external.conftest import PLANTED, SETTINGS, all_text, planted_provider  # noqa: F401

pytest.importorskip("minisweagent")


@pytest.fixture(scope="module")
def coding_run(tmp_path_factory, mini):
    d = tmp_path_factory.mktemp("coding_agent")
    rec = run(d / "run", mini, agent="coding-agent", settings=SETTINGS, cache_dir=d / "cache")
    return d / "run", rec


def test_mini_swe_agent_session_trains_validates_and_submits(coding_run):
    run_dir, rec = coding_run
    assert rec.status == "ok", rec.error
    assert rec.stop_reason == "submitted" and rec.iterations == 1 and rec.final.experiment_id == "exp000"
    assert rec.llm.backbone_label == "scripted" and rec.llm.calls == 10  # 9 commands + the end-of-task one
    assert rec.llm.prompt_tokens > 0 and rec.llm.completion_tokens > 0
    (entry,) = read_jsonl(run_dir / "trace.jsonl")
    schemas = json_schemas()
    jsonschema.validate(json.loads((run_dir / "run.json").read_text()), schemas["run"])
    jsonschema.validate(entry, schemas["trace"])
    assert entry["status"] == "ok" and entry["validation"] is not None
    assert [a["stage"] for a in entry["attempts"]] == ["data_debug", "full_data", "full_training"]
    assert entry["llm_usage"]["calls"] == 8  # the calls up to and including the validation
    assert (run_dir / "experiments/exp000/train/model").exists() and (run_dir / "final/train.yaml").exists()
    traj = json.loads((run_dir / "transcript.json").read_text())
    assert traj["info"]["exit_status"] == "Submitted"
    commands = [json.loads(c["function"]["arguments"])["command"] for m in traj["messages"]
                for c in m.get("tool_calls") or []]
    assert [c.splitlines()[-1] for c in commands if c.startswith("# ftdojo scripted step")][-3:] == [
        "ftdojo train", "ftdojo validate", "ftdojo submit"]
    session = json.loads((run_dir / "agent_session.json").read_text())
    assert session["returncode"] == 0 and session["tool_calls"]["train"] == 1
    assert len(read_jsonl(run_dir / LOG_NAME)) == rec.llm.calls
    ev = evaluate_run(run_dir)
    jsonschema.validate(json.loads((run_dir / "eval.json").read_text()), schemas["eval"])
    assert [e.experiment_id for e in ev.experiments] == [None, "exp000"]


def test_planted_key_reaches_no_file_and_not_the_agent(tmp_path, mini, planted_provider):
    """The provider key is used upstream and appears in no file of the run folder, log or transcript."""
    with planted_provider(first_command="env | sort > env_seen.txt") as log:
        rec = run(tmp_path / "run", mini, agent="coding-agent", settings=SETTINGS)
    assert rec.status == "ok" and rec.final.experiment_id == "exp000", rec.error
    assert log and all(r["headers"]["authorization"] == f"Bearer {PLANTED}" for r in log)
    assert rec.llm.cost_usd == pytest.approx((rec.llm.prompt_tokens * 2 + rec.llm.completion_tokens * 8) / 1e6)
    traj = json.loads((tmp_path / "run" / "transcript.json").read_text())
    assert traj["info"]["model_stats"]["instance_cost"] == pytest.approx(rec.llm.cost_usd, rel=1e-3)
    seen = (tmp_path / "run" / "workspace" / "env_seen.txt").read_text()
    assert "FTDOJO_TOKEN=" in seen and PLANTED not in seen  # the agent's shell environment
    assert PLANTED not in all_text(tmp_path)
    session = json.loads((tmp_path / "run" / "agent_session.json").read_text())
    assert "OPENAI_API_KEY" in session["env_names"]  # ... holding the per-run token, not the key
    records = ["run.json", "trace.jsonl", "transcript.json", "agent.log", "agent_session.json", LOG_NAME,
               "tools.jsonl", "coding_agent.json"]
    for name in records:  # nor the per-run token, in what the harness keeps (the agent's own files may hold it)
        assert "ftdojo-run-" not in (tmp_path / "run" / name).read_text(), name
