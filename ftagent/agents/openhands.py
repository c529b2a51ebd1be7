"""``openhands``: the OpenHands CLI in headless mode, the framework the paper's general-purpose row used (FT-Dojo §5).

OpenHands (PyPI ``openhands``, the V1 CLI on the OpenHands Software Agent SDK) needs Python 3.12, so it
lives in its own environment, declared like the vLLM one: ``workflow/envs/openhands.yaml``
(``conda env create -f workflow/envs/openhands.yaml``). The adapter finds its executable through the
agent option ``executable``, else ``$FTDOJO_OPENHANDS``, else ``openhands`` on PATH; without one the run
ends ``agent_failed`` with a one-line "unavailable" message naming the env file.

The session (:class:`~ftagent.agents.external.session.ExternalAgent`) runs, inside the Dojo sandbox with
the workspace as working directory::

    openhands --headless --json --override-with-envs -f TASK.md

with ``LLM_MODEL=openai/<model>``, ``LLM_BASE_URL=<proxy>/v1`` and ``LLM_API_KEY=<per-run token>`` (the
variables ``--override-with-envs`` applies; never persisted), and OpenHands' settings and conversations
kept in the workspace's private home (``OPENHANDS_PERSISTENCE_DIR``, ``OPENHANDS_CONVERSATIONS_DIR``).
Its JSONL event stream on stdout is the transcript (``transcript.jsonl``). With bubblewrap the env's
prefix is mounted read-only so its interpreter runs inside.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import ClassVar

from ftagent.agents.base import register_agent
from ftagent.agents.external.session import ExternalAgent, SessionContext
from ftagent.errors import AgentError

#: Environment variable naming the OpenHands executable.
EXECUTABLE_ENV = "FTDOJO_OPENHANDS"
#: The env file of OpenHands (relative to the repository root).
ENV_FILE = "workflow/envs/openhands.yaml"


@register_agent
class OpenHandsAgent(ExternalAgent):
    """OpenHands headless against the run's LLM proxy, with the Dojo tools as shell commands.

    Args:
        executable: The ``openhands`` executable (default ``$FTDOJO_OPENHANDS`` or ``openhands`` on PATH).
        timeout_s: Limit of the session (default: the run's remaining budget).
        memory_mb: Memory cap of the OpenHands process tree in the sandbox (0: none).
    """

    name: ClassVar[str] = "openhands"
    transcript_ext: ClassVar[str] = "jsonl"

    def __init__(self, executable: str | None = None, timeout_s: float | None = None, memory_mb: int = 0):
        super().__init__(timeout_s=timeout_s, memory_mb=memory_mb)
        self.executable = executable

    def _resolve(self) -> str | None:
        exe = self.executable or os.environ.get(EXECUTABLE_ENV) or "openhands"
        found = shutil.which(exe)
        return str(Path(found).resolve()) if found else None

    def check_available(self) -> None:
        """The OpenHands CLI must be installed (its own Python 3.12 env)."""
        if self._resolve() is None:
            raise AgentError(f"agent 'openhands' unavailable: the OpenHands CLI was not found (it needs Python "
                             f"3.12: conda env create -f {ENV_FILE}, then set ${EXECUTABLE_ENV} to its "
                             f"bin/openhands or the agent option 'executable')")

    def command(self, ctx: SessionContext) -> list[str]:
        """``openhands --headless --json --override-with-envs -f TASK.md``."""
        return [self._resolve() or "openhands", "--headless", "--json", "--override-with-envs", "-f", "TASK.md"]

    def extra_env(self, ctx: SessionContext) -> dict[str, str]:
        """The LLM settings OpenHands reads with ``--override-with-envs`` (the token, never a key)."""
        home = ".ftdojo/home/.openhands"
        return {"LLM_MODEL": f"openai/{ctx.model}", "LLM_BASE_URL": ctx.proxy.base_url,
                "LLM_API_KEY": ctx.proxy.token, "OPENHANDS_PERSISTENCE_DIR": home,
                "OPENHANDS_CONVERSATIONS_DIR": f"{home}/conversations", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}

    def sandbox_ro_paths(self, ctx: SessionContext) -> list[str]:
        """The OpenHands env (its executable's prefix), mounted read-only under bubblewrap."""
        exe = self._resolve()
        return [str(Path(exe).parent.parent)] if exe else []

    def transcript_file(self, ctx: SessionContext) -> Path | None:
        """OpenHands' JSONL event stream (its stdout)."""
        return ctx.workspace.path / ".ftdojo" / "agent_stdout.log"
