"""What every frontier-CLI adapter shares: finding the installed binary, mounting it, re-prompting, records.

A CLI adapter is an :class:`~ftagent.agents.external.session.ExternalAgent` (same workspace, task card,
``ftdojo`` tools, budget, LLM proxy and records as the coding agent) that says three things: its npm
package and binary (:attr:`CLIAgent.package`, :attr:`CLIAgent.binary`), the argv of one non-interactive
session (:meth:`CLIAgent.cli_args`) and the environment that points it at the run's proxy
(:meth:`CLIAgent.cli_env`). :class:`CLIAgent` does the rest:

* **binary** — ``<prefix>/node_modules/.bin/<binary>`` with ``prefix`` = ``$FTDOJO_CLI_PREFIX``, else
  ``<repository>/.cache/cli-agents`` (where ``.ci/run`` installs them with ``npm install --prefix``);
  absent (or Node.js absent for a Node CLI), the agent is *unavailable*: the run ends ``agent_failed``
  with a one-line reason and the workflow goes on;
* **sandbox** — the process runs in the Dojo's sandbox (workspace writable, raw data read-only, network
  only to the proxy); under bubblewrap the npm prefix is mounted read-only at its host path (Node.js is
  under ``/usr``, mounted already); no memory cap (JavaScript runtimes reserve far more virtual memory
  than they use, which ``RLIMIT_AS`` counts);
* **re-prompts** — PostTrainBench saw agents stop early; a session that ends with budget left and no
  ``ftdojo submit`` is started again with a continuation prompt (the workspace and the tool service's
  experiments persist), at most :attr:`CLIAgent.max_reprompts` times, each recorded in
  ``cli_session.json`` (attempt, kind ``initial``/``reprompt``, exit status, wall time, budget left);
* **records** — the CLI's event stream (its stdout: JSON lines) of every attempt, concatenated, is the
  run's ``transcript.jsonl``; tokens and cost come from the proxy (a vendor's own cost field, e.g.
  Claude Code's ``total_cost_usd``, assumes vendor prices and is ignored).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, ClassVar

from ftagent.agents.base import AgentOutcome, TraceWriter
from ftagent.agents.external.session import ExternalAgent, ProcessResult, SessionContext
from ftagent.agents.external.tools import ToolService
from ftagent.agents.external.workspace import agent_env, prepare_workspace
from ftagent.dojo.env import Dojo
from ftagent.errors import AgentError
from ftagent.llm.client import ChatClient
from ftagent.paths import repo_root
from ftagent.utils.io import atomic_write_json

#: Environment variable naming the npm prefix the CLIs are installed in.
PREFIX_ENV = "FTDOJO_CLI_PREFIX"
#: The first prompt of every CLI (the task itself is in ``TASK.md``).
PROMPT = ("Read TASK.md in the current directory and do the task it describes: build training data, "
          "fine-tune the base model with the `ftdojo` commands, validate, and `ftdojo submit` the "
          "experiment to be scored. Work non-interactively until you have submitted.")
#: The continuation prompt of a re-prompt ({left} = minutes of budget left).
REPROMPT = ("You stopped before submitting, with {left:.0f} min of the budget left. Continue the task in "
            "TASK.md: `ftdojo status` lists your experiments so far; improve on them if you can, and finish "
            "with `ftdojo submit`.")
#: A session is re-prompted only with at least this many seconds of budget left.
MIN_REPROMPT_S = 60.0


def cli_prefix() -> Path:
    """The npm prefix holding the CLIs (``$FTDOJO_CLI_PREFIX``, else ``<repository>/.cache/cli-agents``)."""
    env = os.environ.get(PREFIX_ENV)
    return Path(env).expanduser().resolve() if env else repo_root() / ".cache" / "cli-agents"


class CLIAgent(ExternalAgent):
    """Base class of the frontier-CLI adapters (see the module docstring).

    Args:
        timeout_s: Limit of all sessions together (default: the run's remaining budget).
        max_reprompts: Re-prompts allowed after a session that stopped early.
        model: Model name given to the CLI (default: the backbone's model).
    """

    #: npm package (with the version tested, ``pkg@x.y.z``).
    package: ClassVar[str] = ""
    #: Executable under ``node_modules/.bin``.
    binary: ClassVar[str] = ""
    #: Whether the executable is a Node.js script (then ``node`` must be on PATH).
    needs_node: ClassVar[bool] = True
    #: The wire format it speaks (documentation; the loopback endpoint and the proxy serve all three).
    wire_api: ClassVar[str] = "chat"
    transcript_ext: ClassVar[str] = "jsonl"

    def __init__(self, timeout_s: float | None = None, max_reprompts: int = 1, model: str | None = None):
        super().__init__(timeout_s=timeout_s, memory_mb=0)
        self.max_reprompts, self.model = max_reprompts, model

    # ------------------------------------------------------------------ what adapters say
    def cli_args(self, ctx: SessionContext, exe: str, prompt: str) -> list[str]:
        """argv of one non-interactive session with ``prompt``."""
        raise NotImplementedError

    def cli_env(self, ctx: SessionContext) -> dict[str, str]:
        """Environment variables that point the CLI at the run's proxy (URLs, model, the run token)."""
        return {}

    def prepare(self, ctx: SessionContext) -> None:
        """Write config files the CLI reads from the workspace (default: none)."""

    # ------------------------------------------------------------------ the shared part
    def executable(self) -> Path:
        """The installed binary (it may not exist)."""
        return cli_prefix() / "node_modules" / ".bin" / self.binary

    def check_available(self) -> None:
        """The binary (and Node.js for a Node CLI) must be installed.

        Raises:
            AgentError: one line, ``agent '<id>' unavailable: ...`` with the install command.
        """
        exe = self.executable()
        if not exe.exists():
            raise AgentError(f"agent '{self.name}' unavailable: {self.binary} not installed at {exe} "
                             f"(npm install --prefix {cli_prefix()} {self.package})")
        if self.needs_node and shutil.which("node") is None:
            raise AgentError(f"agent '{self.name}' unavailable: node (Node.js) not found on PATH")

    def command(self, ctx: SessionContext) -> list[str]:
        return self.cli_args(ctx, str(self.executable()), PROMPT)

    def extra_env(self, ctx: SessionContext) -> dict[str, str]:
        return self.cli_env(ctx)

    def transcript_file(self, ctx: SessionContext) -> Path | None:
        """All attempts' event streams, concatenated (``.ftdojo/cli_transcript.jsonl``)."""
        return ctx.workspace.path / ".ftdojo" / "cli_transcript.jsonl"

    def _mount_prefix(self, dojo: Dojo) -> None:
        """Under bubblewrap, mount the npm prefix read-only (a host path, like the Python roots)."""
        roots = getattr(dojo.sandbox, "roots", None)
        if getattr(dojo.sandbox, "name", "") == "bubblewrap" and isinstance(roots, list):
            prefix = cli_prefix().resolve()
            if prefix not in roots:
                roots.append(prefix)

    def run(self, dojo: Dojo, llm: ChatClient | None, trace: TraceWriter) -> AgentOutcome:
        """One or more sessions of the CLI (re-prompted while it stops early), then the shared records.

        Raises:
            AgentError: the CLI is unavailable here, or there is no live LLM proxy.
        """
        self.check_available()
        proxy = getattr(llm, "proxy", None)
        if proxy is None:
            raise AgentError(f"agent '{self.name}' needs a live LLM proxy (no replay-only runs for CLI agents)")
        self._mount_prefix(dojo)
        ws = prepare_workspace(dojo)
        tools = ToolService(dojo, ws.path, trace, proxy)
        proxy.mount("/ftdojo", tools.route)
        deadline = time.time() + (self.timeout_s or max(dojo.budget_left_s() - 5.0, 1.0))
        (ws.path / ".ftdojo" / "home").mkdir(parents=True, exist_ok=True)
        model = self.model or llm.backbone.model
        ctx = SessionContext(dojo=dojo, workspace=ws, proxy=proxy, tools=tools, model=model,
                             timeout_s=deadline - time.time())
        ctx.env = {"LANG": os.environ.get("LANG", "C.UTF-8"), **agent_env(proxy, model)}
        ctx.env.update(self.cli_env(ctx))
        self.prepare(ctx)
        exe = str(self.executable())
        attempts: list[dict[str, Any]] = []
        outputs: list[str] = []
        transcript = self.transcript_file(ctx)
        transcript.unlink(missing_ok=True)
        prompt, argv, res = PROMPT, [], ProcessResult(None, False, 0.0, "")
        while True:
            ctx.timeout_s = max(deadline - time.time(), 1.0)
            argv = self.cli_args(ctx, exe, prompt)
            res = self._sandboxed(argv, ctx)
            outputs.append(res.output)
            stdout = ws.path / ".ftdojo" / "agent_stdout.log"  # the CLI's stdout is its event stream
            events = stdout.read_text(encoding="utf-8", errors="replace") if stdout.exists() else res.output
            with open(transcript, "a", encoding="utf-8") as f:
                f.write(events if events.endswith("\n") or not events else events + "\n")
            left = deadline - time.time()
            attempts.append({"attempt": len(attempts), "kind": "initial" if not attempts else "reprompt",
                             "returncode": res.returncode, "timed_out": res.timed_out, "wall_s": res.wall_s,
                             "budget_left_s": round(left, 1), "submitted": tools.submitted})
            if tools.submitted or res.timed_out or left < MIN_REPROMPT_S or len(attempts) > self.max_reprompts:
                break
            prompt = REPROMPT.format(left=left / 60)
        outcome = tools.finish()
        res = ProcessResult(res.returncode, res.timed_out, round(sum(a["wall_s"] for a in attempts), 2),
                            "\n".join(outputs))
        self._records(ctx, argv, res, tools)
        atomic_write_json(dojo.run_dir / "cli_session.json", {
            "agent": self.name, "package": self.package, "wire_api": self.wire_api, "model": model,
            "attempts": attempts, "reprompts": len(attempts) - 1,
            "note": "tokens and cost are the LLM proxy's (llm_proxy.jsonl); vendor cost fields are ignored"})
        return self._conclude(outcome, res, tools.submitted)
