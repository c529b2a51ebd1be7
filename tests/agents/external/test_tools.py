"""The ``ftdojo`` tools end to end without an agent framework: the scripted shell policy's commands run in the
sandbox one by one (a ten-line shell loop), the client calls the tool service mounted on the LLM proxy,
and the accounting lands in ``trace.jsonl``."""

from __future__ import annotations

import subprocess
import sys

from ftagent.agents.base import TraceWriter
from ftagent.agents.external.tools import TOOLS_LOG, ToolService
from ftagent.agents.external.workspace import agent_env, prepare_workspace
from ftagent.dojo.env import Dojo
from ftagent.dojo.taskspec import get_task
from ftagent.llm.backbones import get_backbone
from ftagent.llm.proxy import LLMProxy
from ftagent.llm.scripted_shell import DONE, FAILURE_MARK, next_command
from ftagent.models.registry import get_base_model
from ftagent.utils.io import read_jsonl
from tests.agents.external.conftest import SETTINGS


def _dojo(tmp_path, tiny_model, mini_data, mini_repository, settings=SETTINGS):
    return Dojo(get_task("aime2025"), mini_data, mini_repository, get_base_model("tiny-qwen2"), tiny_model,
                tmp_path / "run", settings)


def _shell(dojo, ws, proxy, cmd):
    wrapped = f'export PATH="$PWD/.ftdojo/bin:$PATH"\n{{\n{cmd}\n}} > .ftdojo/out.txt 2>&1'
    r = dojo.sandbox.run(["bash", "-c", wrapped], ws.path, dojo.repository, timeout_s=300, memory_mb=0,
                         extra_env=agent_env(proxy), llm_endpoint=proxy.base_url)
    return r.returncode, (ws.path / ".ftdojo" / "out.txt").read_text() + r.stderr_tail


def test_scripted_session_through_the_tools(tmp_path, tiny_model, mini_data, mini_repository):
    dojo = _dojo(tmp_path, tiny_model, mini_data, mini_repository)
    trace = TraceWriter(dojo.run_dir / "trace.jsonl")
    ws = prepare_workspace(dojo)
    assert "ftdojo validate" in (ws.path / "TASK.md").read_text() and (ws.path / "dataset_info.json").exists()
    with LLMProxy(get_backbone("scripted"), upstream="http://127.0.0.1:9/v1", run_dir=dojo.run_dir) as proxy:
        tools = ToolService(dojo, ws.path, trace, proxy)
        proxy.mount("/ftdojo", tools.route)
        history, codes = "", []
        for _ in range(12):
            cmd = next_command(history)
            if cmd == DONE:
                break
            rc, out = _shell(dojo, ws, proxy, cmd)
            codes.append(rc)
            history += f"\n$ {cmd}\n{out}\n"
        outcome = tools.finish()
    assert FAILURE_MARK not in history, history[-3000:]
    assert codes == [0] * 9 and tools.calls == {"card": 1, "datasets": 1, "data": 2, "train": 1, "validate": 1,
                                                 "submit": 1}
    (entry,) = trace.entries
    assert entry.status == "ok" and entry.stage_reached == "evaluation" and entry.validation is not None
    assert [a["stage"] for a in entry.attempts] == ["data_debug", "full_data", "full_training"]
    assert entry.train_config["method"] == "lora" and entry.data_stats["samples"] > 0
    assert entry.llm_usage is not None and entry.llm_usage.calls == 0  # no LLM in this loop
    assert outcome.final.experiment_id == "exp000" and outcome.final.adapter and outcome.iterations == 1
    assert (dojo.run_dir / "experiments" / "exp000" / "train" / "model").exists()
    assert (dojo.run_dir / "experiments" / "exp000" / "process_data.py").exists()
    assert len(read_jsonl(dojo.run_dir / TOOLS_LOG)) == 7


def test_failures_are_classified_and_iterations_capped(tmp_path, tiny_model, mini_data, mini_repository):
    settings = SETTINGS.model_copy(update={"max_iterations": 1})
    dojo = _dojo(tmp_path, tiny_model, mini_data, mini_repository, settings)
    trace = TraceWriter(dojo.run_dir / "trace.jsonl")
    ws = prepare_workspace(dojo)
    with LLMProxy(get_backbone("scripted"), upstream="http://127.0.0.1:9/v1") as proxy:
        tools = ToolService(dojo, ws.path, trace, proxy)
        proxy.mount("/ftdojo", tools.route)
        (ws.path / "process_data.py").write_text("import sys\nsys.exit('boom: no data for you')\n")
        rc, out = _shell(dojo, ws, proxy, "ftdojo data --debug")
        assert rc == 1 and FAILURE_MARK in out and '"ok": false' in out
        (ws.path / "process_data.py").write_text(
            "import json\njson.dump([{'instruction': 'q', 'input': '', 'output': 'a'}] * 8, open('data.json', 'w'))\n")
        (ws.path / "train.yaml").write_text("method: lora\nlr_scheduler_type: cosine_with_restarts\n")
        rc, out = _shell(dojo, ws, proxy, "ftdojo data && ftdojo train")
        assert rc == 1 and "CONFIG" in out
        rc, out = _shell(dojo, ws, proxy, "ftdojo train")
        assert rc == 1 and "iterations are used up" in out
        rc, out = _shell(dojo, ws, proxy, "ftdojo submit")
        assert rc == 1 and "nothing to submit" in out
        rc, out = _shell(dojo, ws, proxy, "ftdojo frobnicate")
        assert rc == 2
        outcome = tools.finish()
    (entry,) = trace.entries
    assert entry.status == "failed" and entry.failure_class == "CONFIG" and entry.stage_reached == "full_training"
    assert entry.repairs == 1 and [a["ok"] for a in entry.attempts] == [False, True, False]
    assert outcome.final.experiment_id is None and outcome.iterations == 1


def test_client_is_stdlib_only():
    """The client runs with the isolated interpreter and nothing but the standard library."""
    from ftagent.agents.external.workspace import client_source

    src = client_source()
    imports = {line.split()[1].split(".")[0] for line in src.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= set(sys.stdlib_module_names)
    r = subprocess.run([sys.executable, "-I", "-c", src, "--help"], capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin"})
    assert r.returncode == 0 and "ftdojo validate" in r.stdout


def test_tools_reachable_from_bubblewrap_and_nothing_else(tmp_path, tiny_model, mini_data, mini_repository):
    """Inside bubblewrap the one relayed port serves the tools (and the LLM); other loopback services are absent."""
    import socket

    import pytest

    from ftagent.dojo.sandbox import get_sandbox
    from ftagent.errors import ConfigError

    try:
        get_sandbox("bubblewrap")
    except ConfigError as e:
        pytest.skip(str(e))
    dojo = _dojo(tmp_path, tiny_model, mini_data, mini_repository, SETTINGS.model_copy(update={"sandbox": "bubblewrap"}))
    ws = prepare_workspace(dojo)
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen(1)
    with LLMProxy(get_backbone("scripted"), upstream="http://127.0.0.1:9/v1") as proxy:
        tools = ToolService(dojo, ws.path, TraceWriter(dojo.run_dir / "trace.jsonl"), proxy)
        proxy.mount("/ftdojo", tools.route)
        rc, out = _shell(dojo, ws, proxy, "ftdojo card | head -c 300 && ftdojo budget")
        assert rc == 0 and '"task_id": "aime2025"' in out and '"max_iterations": 3' in out
        probe = (f"python3 -c \"import socket; s=socket.socket(); s.settimeout(2); "
                 f"print('open' if s.connect_ex(('127.0.0.1', {other.getsockname()[1]})) == 0 else 'closed')\"")
        rc, out = _shell(dojo, ws, proxy, probe)
        assert out.strip().endswith("closed"), out
    other.close()
