"""``openhands``: the adapter runs the OpenHands CLI headless in the sandbox against the LLM proxy (tested with a
fake CLI that behaves like it), and a missing OpenHands env is a one-line "unavailable" run."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

from ftagent.llm.proxy import LOG_NAME
from ftagent.utils.io import read_jsonl
from tests.agents.conftest import run
from tests.agents.external.conftest import PLANTED, SETTINGS, all_text, planted_provider  # noqa: F401

FAKE = Path(__file__).parent / "external" / "fake_openhands.py"


def _fake(tmp_path: Path) -> Path:
    exe = tmp_path / "openhands-env" / "bin" / "openhands"  # its env (the mounted prefix) beside the run folder
    exe.parent.mkdir(parents=True)
    shutil.copy(FAKE, exe)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


def test_openhands_adapter_against_a_fake_cli(tmp_path, mini, planted_provider):
    exe = _fake(tmp_path)
    settings = SETTINGS.model_copy(update={"agent_options": {"openhands": {"executable": str(exe)}}})
    with planted_provider() as log:
        rec = run(tmp_path / "run", mini, agent="openhands", settings=settings)
    run_dir = tmp_path / "run"
    assert rec.status == "ok", rec.error
    assert rec.stop_reason == "submitted" and rec.iterations == 1 and rec.final.experiment_id == "exp000"
    assert rec.llm.calls == len(log) == 10 and rec.llm.backbone_label == "Fake provider"
    (entry,) = read_jsonl(run_dir / "trace.jsonl")
    assert entry["status"] == "ok" and entry["validation"] is not None and entry["llm_usage"]["calls"] == 8
    events = read_jsonl(run_dir / "transcript.jsonl")
    assert [e["command"].splitlines()[-1] for e in events if e.get("action") == "run"][-3:] == [
        "ftdojo train", "ftdojo validate", "ftdojo submit"]
    assert events[-1] == {"type": "action", "action": "finish",
                          "message": "Done: the experiment was submitted (scripted session)."}
    session = json.loads((run_dir / "agent_session.json").read_text())
    assert session["argv"][1:] == ["--headless", "--json", "--override-with-envs", "-f", "TASK.md"]
    # the agent process's own environment: the proxy and the token, never the provider key
    seen = json.loads((run_dir / "workspace/.ftdojo/home/.openhands/env_seen.json").read_text())
    assert seen["LLM_BASE_URL"].endswith("/v1") and seen["LLM_MODEL"] == "openai/fake-model"
    assert seen["LLM_API_KEY"] == "<run-token>" and "OPENAI_API_KEY" in seen  # scrubbed after the session
    assert PLANTED not in json.dumps(seen) and PLANTED not in all_text(tmp_path)
    assert all(r["headers"]["authorization"] == f"Bearer {PLANTED}" for r in log)
    assert len(read_jsonl(run_dir / LOG_NAME)) == 10


def test_missing_openhands_env_is_reported_unavailable(tmp_path, mini, monkeypatch):
    monkeypatch.delenv("FTDOJO_OPENHANDS", raising=False)
    settings = SETTINGS.model_copy(update={"agent_options": {"openhands": {"executable": str(tmp_path / "nope")}}})
    rec = run(tmp_path / "run", mini, agent="openhands", settings=settings)
    assert rec.status == "agent_failed" and rec.final.experiment_id is None
    assert rec.error.startswith("agent 'openhands' unavailable:") and "workflow/envs/openhands.yaml" in rec.error
    assert "\n" not in rec.error and not (tmp_path / "run" / "trace.jsonl").exists()
