"""Frontier CLI agents for real: the installed Codex CLI / Qwen Code / Claude Code / OpenCode binaries, driven by
the scripted shell policy through the run's LLM proxy and the loopback endpoint (each in its own wire format),
write a data script, train the tiny model, validate and submit; an early stop is re-prompted; an absent CLI
is reported unavailable. Each test skips with the install command when its binary is absent."""

from __future__ import annotations

import json

import pytest

from ftagent.agents.base import get_agent
from ftagent.agents.cli.base import PREFIX_ENV
from ftagent.errors import AgentError
from ftagent.llm.proxy import LOG_NAME
from ftagent.llm.scripted_shell import history_of_messages, shell_chat_policy
from ftagent.utils.io import read_json, read_jsonl
from tests.agents.conftest import run
from tests.agents.external.conftest import SETTINGS as EXTERNAL, all_text

#: The external agents' short session, cut further (2 training steps, 2 validation items per subset): the
#: CLI itself takes seconds, the Dojo's training and validation most of the test's time.
SETTINGS = EXTERNAL.model_copy(update={"max_eval_items": 2, "train_overrides": {"max_steps": 2, "logging_steps": 1}})

#: Codex CLI (Responses API) and Qwen Code (chat completions) run by default; the others with -m slow.
CLIS = ["codex-cli", "qwen-code", pytest.param("claude-code", marks=pytest.mark.slow),
        pytest.param("opencode", marks=pytest.mark.slow)]


def _require(agent: str) -> None:
    try:
        get_agent(agent)().check_available()
    except AgentError as e:
        pytest.skip(str(e))


def _bubblewrap() -> bool:
    from ftagent.dojo.sandbox import get_sandbox
    from ftagent.errors import ConfigError

    try:
        get_sandbox("bubblewrap")
        return True
    except ConfigError:
        return False


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory, mini):
    """One real session per CLI (run once per module): ``cli_run(agent) -> (run folder, record, sandboxed)``."""
    _RUNS: dict[str, tuple] = {}

    def get(agent: str):
        if agent not in _RUNS:
            _require(agent)
            # Codex CLI runs inside bubblewrap where it works (no network but the relayed proxy port)
            sandboxed = agent == "codex-cli" and _bubblewrap()
            settings = SETTINGS.model_copy(update={"sandbox": "bubblewrap"}) if sandboxed else SETTINGS
            d = tmp_path_factory.mktemp(agent) / "run"
            _RUNS[agent] = (d, run(d, mini, agent=agent, settings=settings), sandboxed)
        return _RUNS[agent]

    return get


@pytest.mark.parametrize("agent", CLIS)
def test_real_cli_session_trains_validates_and_submits(agent, cli_run):
    run_dir, rec, sandboxed = cli_run(agent)
    assert rec.status == "ok", rec.error
    assert rec.stop_reason == "submitted" and rec.iterations == 1 and rec.final.experiment_id == "exp000"
    assert rec.integrity_flags == []
    # tokens are the proxy's: every model call of the CLI passed it
    assert rec.llm.backbone_label == "scripted" and rec.llm.calls >= 9 and rec.llm.completion_tokens > 0
    assert len(read_jsonl(run_dir / LOG_NAME)) == rec.llm.calls
    (entry,) = read_jsonl(run_dir / "trace.jsonl")
    assert entry["status"] == "ok" and entry["validation"] is not None
    assert (run_dir / "experiments/exp000/train/model").exists()
    assert (run_dir / "experiments/exp000/process_data.py").exists()
    session = read_json(run_dir / "cli_session.json")
    assert session["reprompts"] == 0 and session["attempts"][0]["submitted"] == "exp000"
    events = [json.loads(line) for line in (run_dir / "transcript.jsonl").read_text().splitlines()
              if line.startswith("{")]
    assert events and "ftdojo scripted step 9: submit" in json.dumps(events)  # the CLI ran the commands itself
    assert "ftdojo-run-" not in (run_dir / "transcript.jsonl").read_text()  # the per-run token is scrubbed
    tools = read_json(run_dir / "agent_session.json")["tool_calls"]
    assert tools["train"] == 1 and tools["validate"] == 1 and tools["submit"] == 1
    if sandboxed:
        net = next(c for c in read_json(run_dir / "integrity.json")["checks"] if c["name"] == "network")
        assert net["status"] == "pass" and net["data"]["net_namespace"].startswith("unshared")
        assert net["data"]["relayed_endpoints"] and all(
            u.startswith("http://127.0.0.1:") for u in net["data"]["relayed_endpoints"])


# default selection: the acceptance is that CI sees the CLI rows of table_frontier (two short evaluations)
def test_cli_rows_appear_in_the_frontier_table(cli_run):
    """The harness evaluates the CLI runs like any other; the frontier table has a Val and a Test row each."""
    import yaml

    from ftagent.dojo.evaluate_run import evaluate_run
    from ftagent.paths import config_dir
    from ftagent.report.collect import collect_runs
    from ftagent.report.tables import agent_task_long, agent_task_wide

    dirs = []
    for agent in ("codex-cli", "qwen-code"):
        run_dir, rec, _ = cli_run(agent)
        ev = evaluate_run(run_dir)
        assert ev.selected_experiment in (None, "exp000") and ev.integrity_flags == []
        dirs.append(run_dir)
    titles = {a: e["title"] for a, e in yaml.safe_load((config_dir() / "agents.yaml").read_text()).items()}
    wide, _ = agent_task_wide(agent_task_long(collect_runs(dirs), titles=titles), titles)
    assert {"Codex CLI (scripted) Val", "Codex CLI (scripted) Test", "Qwen Code (scripted) Val",
            "Qwen Code (scripted) Test"} <= set(wide.index)
    assert all(v != "–" for v in wide.iloc[:, 0])


def test_early_stop_is_reprompted_and_recorded(tmp_path, mini, monkeypatch):
    """A CLI that ends its turn before submitting is started again with the continuation prompt, once."""
    _require("codex-cli")
    cls = get_agent("codex-cli")
    prompts: list[str] = []

    def stops_early(messages, request):  # reads the card, then ends its turn: every session stops early
        hist = history_of_messages(messages)
        prompts.append(hist)
        return "I am done." if "step 1:" in hist else shell_chat_policy(messages, request)

    monkeypatch.setattr(cls, "scripted_policy", staticmethod(stops_early))
    settings = SETTINGS.model_copy(update={"agent_options": {"codex-cli": {"max_reprompts": 1}}})
    rec = run(tmp_path / "run", mini, agent="codex-cli", settings=settings)
    session = read_json(tmp_path / "run" / "cli_session.json")
    assert [a["kind"] for a in session["attempts"]] == ["initial", "reprompt"] and session["reprompts"] == 1
    assert not any(a["submitted"] for a in session["attempts"]) and session["attempts"][0]["budget_left_s"] > 60
    assert any("You stopped before submitting" in p for p in prompts)  # the re-prompt reached the model
    assert rec.status == "ok" and rec.stop_reason == "agent_exit" and rec.final.experiment_id is None


def test_absent_cli_is_unavailable_with_a_reason(tmp_path, mini, monkeypatch):
    monkeypatch.setenv(PREFIX_ENV, str(tmp_path / "no-prefix"))
    rec = run(tmp_path / "run", mini, agent="qwen-code", settings=SETTINGS)
    assert rec.status == "agent_failed"
    assert rec.error.startswith("agent 'qwen-code' unavailable: qwen not installed at ")
    assert "npm install --prefix" in rec.error and "\n" not in rec.error
    assert "sk-" not in all_text(tmp_path / "run")
