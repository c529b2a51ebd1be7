"""The session of an external agent: proxy + tool service + workspace + one agent process + its records.

:class:`ExternalAgent` is the base class of every agent the harness does not write itself (the
mini-swe-agent coding agent, the OpenHands adapter, frontier CLI agents). A subclass only says how to
start its agent process (:meth:`ExternalAgent.command`, optionally :meth:`~ExternalAgent.extra_env` and
:meth:`~ExternalAgent.check_available`) and where its transcript is (:meth:`~ExternalAgent.transcript_file`).
:meth:`ExternalAgent.run` then

1. takes the run's :class:`~ftagent.llm.proxy.LLMProxy` (started by the runner around the backbone;
   the scripted backbone serves :attr:`ExternalAgent.scripted_policy`, the scripted *shell* policy);
2. writes the workspace (:func:`~ftagent.agents.external.workspace.prepare_workspace`) and mounts the
   tool service (:class:`~ftagent.agents.external.tools.ToolService`) on the proxy under ``/ftdojo``;
3. runs the agent process with the task budget as its timeout, its working directory the workspace and
   an environment built from nothing: ``PATH`` (``ftdojo`` first), ``LANG``, a private ``HOME`` and the
   proxy URL and per-run token (:func:`~ftagent.agents.external.workspace.agent_env`) — never a provider
   key. With :attr:`ExternalAgent.sandboxed` (the default) the process runs inside the Dojo's sandbox
   (workspace writable, raw data read-only, only the proxy port reachable); otherwise it runs as a plain
   child of the harness (for drivers that send each command into the sandbox themselves);
4. copies its transcript to ``<run>/transcript.<ext>`` and its output to ``<run>/agent.log``, both with
   the token replaced by ``<run-token>`` and the provider key (which never reaches it) by ``***``, and
   writes ``agent_session.json`` (command, environment variable *names*, exit status, timing, tool calls);
5. maps the result to an :class:`~ftagent.agents.base.AgentOutcome`: the submitted experiment, else the
   best-validated one, else the base model; an agent that exits with an error having recorded no
   experiment fails the run (``agent_failed``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ftagent.agents.base import AgentOutcome, TraceWriter
from ftagent.agents.external.tools import ToolService
from ftagent.agents.external.workspace import Workspace, agent_env, prepare_workspace
from ftagent.dojo.env import Dojo
from ftagent.errors import AgentError
from ftagent.llm.client import ChatClient
from ftagent.llm.proxy import LLMProxy
from ftagent.llm.scripted_shell import shell_chat_policy
from ftagent.utils.io import atomic_write_json, atomic_write_text
from ftagent.utils.proc import stop_process_group

#: Replaces the per-run token in copied transcripts and logs.
TOKEN_MARK = "<run-token>"
#: Seconds of the budget kept back for the harness to close the session.
MARGIN_S = 5.0


@dataclass
class SessionContext:
    """What a subclass sees when it builds its command.

    Attributes:
        dojo: The run's Dojo.
        workspace: The prepared workspace.
        proxy: The run's LLM proxy (``proxy.base_url``, ``proxy.root_url``, ``proxy.token``).
        tools: The tool service.
        model: Model name to ask the proxy for (the backbone's model).
        timeout_s: Seconds the agent process may run.
        env: The environment of the agent process (subclasses may add to it in :meth:`extra_env`).
    """

    dojo: Dojo
    workspace: Workspace
    proxy: LLMProxy
    tools: ToolService
    model: str
    timeout_s: float
    env: dict[str, str] = field(default_factory=dict)

    @property
    def run_dir(self) -> Path:
        """The run folder."""
        return self.dojo.run_dir


@dataclass
class ProcessResult:
    """How the agent process ended."""

    returncode: int | None
    timed_out: bool
    wall_s: float
    output: str


class ExternalAgent:
    """Base class of external agents (see the module docstring).

    Args:
        timeout_s: Limit of the agent process (default: the run's remaining budget).
        memory_mb: Memory cap of a sandboxed agent process (0: none; JavaScript runtimes reserve far more
            virtual memory than they use, which ``RLIMIT_AS`` counts).
    """

    name: ClassVar[str] = ""
    needs_backbone: ClassVar[bool] = True
    #: What the scripted backbone serves to this agent (the scripted shell policy).
    scripted_policy: ClassVar[Any] = staticmethod(shell_chat_policy)
    #: Run the agent process inside the Dojo's sandbox.
    sandboxed: ClassVar[bool] = True
    #: Extension of the copied transcript (``transcript.<ext>`` in the run folder).
    transcript_ext: ClassVar[str] = "json"

    def __init__(self, timeout_s: float | None = None, memory_mb: int = 0):
        self.timeout_s, self.memory_mb = timeout_s, memory_mb

    # ------------------------------------------------------------------ what subclasses say
    def check_available(self) -> None:
        """Raise :class:`AgentError` with a one-line "unavailable" reason when the agent cannot run here."""

    def command(self, ctx: SessionContext) -> list[str]:
        """The agent process's argv (``argv[0]`` ``python`` means the sandbox's interpreter)."""
        raise NotImplementedError

    def extra_env(self, ctx: SessionContext) -> dict[str, str]:
        """Environment variables the agent needs besides :func:`agent_env` (never a key)."""
        return {}

    def transcript_file(self, ctx: SessionContext) -> Path | None:
        """Where the agent left its transcript (None: none)."""
        return None

    def sandbox_ro_paths(self, ctx: SessionContext) -> list[str]:
        """Host folders the agent process needs read-only inside bubblewrap (its own runtime, e.g. a Python
        3.12 env or a Node install outside ``/usr``); they must not contain evaluation data."""
        return []

    # ------------------------------------------------------------------ the session
    def run(self, dojo: Dojo, llm: ChatClient | None, trace: TraceWriter) -> AgentOutcome:
        """Run one session (see the module docstring).

        Raises:
            AgentError: the agent is unavailable here, or there is no LLM proxy (replay mode).
        """
        self.check_available()
        proxy = getattr(llm, "proxy", None)
        if proxy is None:
            raise AgentError(f"agent '{self.name}' needs a live LLM proxy (no replay-only runs for external agents)")
        ws = prepare_workspace(dojo)
        tools = ToolService(dojo, ws.path, trace, proxy)
        proxy.mount("/ftdojo", tools.route)
        timeout = self.timeout_s or max(dojo.budget_left_s() - MARGIN_S, 1.0)
        home = ws.path / ".ftdojo" / "home"
        home.mkdir(parents=True, exist_ok=True)
        ctx = SessionContext(dojo=dojo, workspace=ws, proxy=proxy, tools=tools,
                             model=llm.backbone.model, timeout_s=timeout)
        ctx.env = {"LANG": os.environ.get("LANG", "C.UTF-8"), **agent_env(proxy, llm.backbone.model)}
        ctx.env.update(self.extra_env(ctx))
        argv = self.command(ctx)
        res = self._sandboxed(argv, ctx) if self.sandboxed else self._plain(argv, ctx, home)
        outcome = tools.finish()
        self._records(ctx, argv, res, tools)
        return self._conclude(outcome, res, tools.submitted)

    def _conclude(self, outcome: AgentOutcome, res: ProcessResult, submitted: bool) -> AgentOutcome:
        """Set the stop reason (``submitted``, ``budget``, ``agent_exit[_<status>]``) and, for an agent process
        that failed before any experiment, the one-line error (status ``agent_failed``)."""
        if submitted:
            outcome.stop_reason = "submitted"
        elif res.timed_out:
            outcome.stop_reason = "budget"
        else:
            outcome.stop_reason = "agent_exit" if res.returncode == 0 else f"agent_exit_{res.returncode}"
        if res.returncode not in (0, None) and not res.timed_out and not outcome.experiments:
            last = (res.output.strip().splitlines() or [""])[-1][:300]
            outcome.error = f"agent '{self.name}' exited with status {res.returncode} before any experiment: {last}"
        return outcome

    def _plain(self, argv: list[str], ctx: SessionContext, home: Path) -> ProcessResult:
        env = {"PATH": f"{ctx.workspace.bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
               "HOME": str(home), **ctx.env}
        log_path = ctx.run_dir / ".agent_output.tmp"
        t0 = time.time()
        with open(log_path, "wb") as out:
            proc = subprocess.Popen(argv, cwd=ctx.workspace.path, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            try:
                rc, timed_out = proc.wait(timeout=ctx.timeout_s), False
            except subprocess.TimeoutExpired:
                stop_process_group(proc, grace_s=10.0)
                rc, timed_out = proc.returncode, True
        text = log_path.read_text(encoding="utf-8", errors="replace")
        log_path.unlink(missing_ok=True)
        return ProcessResult(rc, timed_out, round(time.time() - t0, 2), text)

    def _sandboxed(self, argv: list[str], ctx: SessionContext) -> ProcessResult:
        # PATH and HOME depend on where the backend mounts the workspace: set them from $PWD inside
        wrapper = ['bash', '-c', 'export PATH="$PWD/.ftdojo/bin:$PATH" HOME="$PWD/.ftdojo/home"; '
                   'exec "$@" > .ftdojo/agent_stdout.log 2> .ftdojo/agent_stderr.log', "ftdojo-agent"]
        sandbox = ctx.dojo.sandbox
        # the backend that actually runs (``sandbox: auto`` selects it); its audit wrapper forwards attributes,
        # so extra read-only mounts go onto the running sandbox, as the CLI adapters do for the npm prefix
        roots = getattr(sandbox, "roots", None)
        if getattr(sandbox, "name", "") == "bubblewrap" and isinstance(roots, list):
            for p in self.sandbox_ro_paths(ctx):
                rp = Path(p).resolve()
                if rp not in roots:
                    roots.append(rp)
        t0 = time.time()
        r = sandbox.run(wrapper + argv, ctx.workspace.path, ctx.dojo.repository, timeout_s=ctx.timeout_s,
                        memory_mb=self.memory_mb, extra_env=ctx.env, llm_endpoint=ctx.proxy.base_url)
        text = ""
        for name in ("agent_stdout.log", "agent_stderr.log"):
            f = ctx.workspace.path / ".ftdojo" / name
            text += f.read_text(encoding="utf-8", errors="replace") if f.exists() else ""
        text += r.stderr_tail
        return ProcessResult(r.returncode, r.timed_out, round(time.time() - t0, 2), text)

    def _scrub(self, text: str, proxy: LLMProxy) -> str:
        return proxy.redact(text.replace(proxy.token, TOKEN_MARK))

    def _records(self, ctx: SessionContext, argv: list[str], res: ProcessResult, tools: ToolService) -> None:
        proxy = ctx.proxy
        atomic_write_text(ctx.run_dir / "agent.log", self._scrub(res.output, proxy))
        src = self.transcript_file(ctx)
        transcript = None
        if src is not None and Path(src).exists():
            transcript = ctx.run_dir / f"transcript.{self.transcript_ext}"
            atomic_write_text(transcript, self._scrub(Path(src).read_text(encoding="utf-8", errors="replace"), proxy))
            if Path(src).resolve().is_relative_to(ctx.workspace.path):
                Path(src).write_text(self._scrub(Path(src).read_text(encoding="utf-8", errors="replace"), proxy))
        atomic_write_json(ctx.run_dir / "agent_session.json", {
            "agent": self.name, "argv": [self._scrub(a, proxy) for a in argv], "sandboxed": self.sandboxed,
            "env_names": sorted(ctx.env), "returncode": res.returncode, "timed_out": res.timed_out,
            "wall_s": res.wall_s, "timeout_s": round(ctx.timeout_s, 1), "tool_calls": tools.calls,
            "submitted": tools.submitted, "transcript": transcript.name if transcript else None,
            "llm": proxy.usage.model_dump()})
        # nothing the agent wrote keeps the token (the provider key never reached it)
        for p in (ctx.workspace.path / ".ftdojo").rglob("*"):
            if p.is_file() and p.suffix in (".log", ".json", ".jsonl", ".txt") and p.stat().st_size < 50 * 2**20:
                t = p.read_text(encoding="utf-8", errors="replace")
                if proxy.token in t:
                    p.write_text(self._scrub(t, proxy))
        shutil.rmtree(ctx.workspace.path / ".ftdojo" / "tmp", ignore_errors=True)
