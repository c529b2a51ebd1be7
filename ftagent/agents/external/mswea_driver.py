"""The coding agent's process: mini-swe-agent's ``DefaultAgent`` with its shell confined to the Dojo sandbox.

Started by :class:`ftagent.agents.coding_agent.CodingAgent` as ``python -P -m
ftagent.agents.external.mswea_driver <config.json>`` with an environment built from nothing (the LLM
proxy URL and the per-run token; no provider key ever). It builds, through mini-swe-agent's Python API
(mini-swe-agent 2.x, https://mini-swe-agent.com):

* the model: ``LitellmModel`` (tool calling with mini-swe-agent's one ``bash`` tool) on
  ``openai/<model>`` with ``api_base`` = the proxy; the key litellm sends is ``$OPENAI_API_KEY``, the
  run's token. litellm's cost map is read from its bundled copy (``LITELLM_LOCAL_MODEL_COST_MAP``), never
  fetched; the model is registered with the backbone's prices, so mini-swe-agent's own cost (and its cost
  limit) agrees with the proxy's account, the run's one record of cost (a zero price is not an error);
* the environment: :class:`DojoSandboxEnvironment`, which runs every command with ``bash`` in the Dojo's
  sandbox backend (workspace writable, raw data read-only, only the proxy port reachable), with the
  remaining run budget as its timeout;
* the agent: ``DefaultAgent`` with our own system and task templates (the task is the workspace's
  ``TASK.md``), no step limit, the run's LLM budget (if any) as its cost limit and the remaining run
  budget as its wall-time limit; it ends when a command prints ``COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT``.

No FT-Agent scaffolding is involved: no plan schema, no fail-fast stages, no feedback prompts; the
agent gets the same task card, data, tools (the ``ftdojo`` commands), budget and LLM access as FT-Agent.
The trajectory (mini-swe-agent's own JSON format) is saved after every step to ``trajectory``.
Exit status: 0 when the agent ended normally (submitted, or stopped by a limit), 1 on an error.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

#: The end-of-task line of mini-swe-agent's environments.
SUBMIT_LINE = "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
#: Names of the variables a sandboxed command gets from this process's environment.
PASSED_ENV = ("FTDOJO_TOOLS_URL", "FTDOJO_TOKEN", "FTDOJO_LLM_BASE_URL", "FTDOJO_LLM_MODEL", "OPENAI_BASE_URL",
              "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY")

SYSTEM_TEMPLATE = """You are an engineer who fine-tunes language models, working alone in a Linux shell.
You act only through the `bash` tool: one command (or a short script) per call; each runs in a fresh
shell in your workspace, so `cd` and variables do not persist. Read files, write scripts with heredocs,
run them, and inspect the results. Be concise in your reasoning; spend the budget on experiments.
When you are finished, run `echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT` on its own."""

INSTANCE_TEMPLATE = """{{task}}

## Your shell
- Working directory: your workspace (`TASK.md`, `task_card.json`, `dataset_info.json` are there); the `ftdojo`
  command is on your PATH (`ftdojo --help`).
- Each command may run until the run's budget ends; long outputs are shortened in the middle.
- {{system}} {{machine}}; sandbox backend: {{backend}}.
"""


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head, tail = int(limit * 0.6), int(limit * 0.4)
    return f"{text[:head]}\n[... {len(text) - head - tail} characters elided ...]\n{text[-tail:]}"


class DojoSandboxEnvironment:
    """A mini-swe-agent environment that runs each command in the Dojo's sandbox.

    Args:
        backend: Sandbox backend name (``bubblewrap``, ``apptainer``, ``subprocess``).
        backend_options: Its options.
        workspace: The workspace (the command's working directory, writable).
        raw_dir: The raw-data repository (read-only, ``$FTDOJO_RAW_DIR``).
        deadline: Epoch seconds at which the run's budget ends (each command's timeout is what is left).
        llm_endpoint: The proxy URL (the one endpoint the command may reach; the tools live on it too).
        memory_mb: Memory cap of a command (0: none).
        max_output_chars: Output characters shown to the model.
    """

    def __init__(self, *, backend: str, backend_options: dict[str, Any], workspace: str, raw_dir: str,
                 deadline: float, llm_endpoint: str, memory_mb: int = 0, max_output_chars: int = 20000):
        from pydantic import BaseModel

        from ftagent.dojo.sandbox import get_sandbox

        class Config(BaseModel):
            backend: str
            workspace: str
            memory_mb: int
            max_output_chars: int

        self.config = Config(backend=backend, workspace=workspace, memory_mb=memory_mb,
                             max_output_chars=max_output_chars)
        self.sandbox = get_sandbox(backend, **backend_options)
        self.workspace, self.raw_dir = Path(workspace), Path(raw_dir)
        self.deadline, self.llm_endpoint = deadline, llm_endpoint
        self.env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
        self.commands = 0

    def execute(self, action: dict, cwd: str = "", *, timeout: int | None = None) -> dict[str, Any]:
        """Run ``action["command"]`` with bash in the sandbox; mini-swe-agent's output dict."""
        from minisweagent.exceptions import Submitted

        command = action.get("command", "")
        left = self.deadline - time.time()
        if left <= 1:
            return {"output": "", "returncode": -1, "exception_info": "the run's time budget is spent"}
        self.commands += 1
        out_file = self.workspace / ".ftdojo" / "command_output.txt"
        script = ('exec > .ftdojo/command_output.txt 2>&1\n'
                  'export PATH="$PWD/.ftdojo/bin:$PATH" HOME="$PWD/.ftdojo/home"\n' + command + "\n")
        res = self.sandbox.run(["bash", "-c", script], self.workspace, self.raw_dir,
                               timeout_s=min(left, timeout or left), memory_mb=self.config.memory_mb,
                               extra_env=self.env, llm_endpoint=self.llm_endpoint)
        text = out_file.read_text(encoding="utf-8", errors="replace") if out_file.exists() else ""
        out_file.unlink(missing_ok=True)
        if res.stderr_tail.strip() or res.stdout_tail.strip():  # the sandbox's own messages
            text += res.stdout_tail + res.stderr_tail
        output = {"output": _shorten(text, self.config.max_output_chars), "returncode": res.returncode,
                  "exception_info": f"the command timed out after {min(left, timeout or left):.0f} s"
                  if res.timed_out else ""}
        lines = text.lstrip().splitlines()
        if lines and lines[0].strip() == SUBMIT_LINE and res.returncode == 0:
            rest = "\n".join(lines[1:])
            raise Submitted({"role": "exit", "content": rest,
                             "extra": {"exit_status": "Submitted", "submission": rest}})
        return output

    def get_template_vars(self, **kwargs: Any) -> dict[str, Any]:
        """Variables for the templates (no process environment: it holds the token)."""
        return {**self.config.model_dump(), "system": platform.system(), "machine": platform.machine(), **kwargs}

    def serialize(self) -> dict[str, Any]:
        """What the trajectory records about the environment."""
        return {"info": {"config": {"environment": self.config.model_dump(mode="json"),
                                    "environment_type": f"{__name__}.{type(self).__name__}"}}}


def main(argv: list[str]) -> int:
    """Run one mini-swe-agent session from the JSON config at ``argv[0]``."""
    cfg = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("MSWEA_SILENT_STARTUP", "1")
    os.environ.setdefault("MSWEA_COST_TRACKING", "ignore_errors")
    os.environ.setdefault("MSWEA_GLOBAL_CONFIG_DIR", str(Path(os.environ.get("HOME", "/tmp")) / "mini-swe-agent"))
    import litellm
    from minisweagent.agents.default import DefaultAgent
    from minisweagent.models.litellm_model import LitellmModel

    litellm.suppress_debug_info = True
    # the backbone's prices, so mini-swe-agent's own cost (and its cost limit) agrees with the proxy's account
    litellm.register_model({f"openai/{cfg['model']}": {
        "litellm_provider": "openai", "mode": "chat",
        "input_cost_per_token": float(cfg.get("price_per_mtok_prompt") or 0) / 1e6,
        "output_cost_per_token": float(cfg.get("price_per_mtok_completion") or 0) / 1e6}})
    deadline = time.time() + float(cfg["timeout_s"])
    model = LitellmModel(model_name=f"openai/{cfg['model']}", cost_tracking="ignore_errors",
                         model_kwargs={"api_base": cfg["api_base"], "drop_params": True,
                                       **({"temperature": cfg["temperature"]} if cfg.get("temperature") is not None
                                          else {})})
    env = DojoSandboxEnvironment(backend=cfg["sandbox"], backend_options=cfg.get("sandbox_options") or {},
                                 workspace=cfg["workspace"], raw_dir=cfg["raw_dir"], deadline=deadline,
                                 llm_endpoint=cfg["api_base"], memory_mb=int(cfg.get("memory_mb") or 0),
                                 max_output_chars=int(cfg.get("max_output_chars") or 20000))
    agent = DefaultAgent(model, env, system_template=SYSTEM_TEMPLATE, instance_template=INSTANCE_TEMPLATE,
                         step_limit=int(cfg.get("step_limit") or 0), cost_limit=float(cfg.get("cost_limit") or 0),
                         wall_time_limit_seconds=int(cfg["timeout_s"]), output_path=Path(cfg["trajectory"]))
    task = Path(cfg["workspace"], "TASK.md").read_text(encoding="utf-8")
    result = agent.run(task)
    print(json.dumps({"exit_status": result.get("exit_status"), "model_calls": agent.n_calls,
                      "commands": env.commands}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
