"""``coding-agent``: a general-purpose coding agent on mini-swe-agent (the paper's OpenHands row).

The paper's general-purpose baseline is OpenHands "given the same fine-tuning tools and environment as
FT-Agent" (FT-Dojo §5). Our default framework is mini-swe-agent (PyPI ``mini-swe-agent``, Python >= 3.10,
the ``agents`` extra), driven through its Python API in a child process
(:mod:`ftagent.agents.external.mswea_driver`): its model talks to the run's LLM proxy, its shell
commands run one by one in the Dojo sandbox, it gets ``TASK.md`` (the task card, the data and training
contracts, the ``ftdojo`` tools) and the run's budget as its per-command timeout, wall-time limit and
cost limit, and nothing of FT-Agent's scaffolding. The OpenHands adapter itself is
:mod:`ftagent.agents.openhands`.

At the mini scale the scripted backbone serves :func:`ftagent.llm.scripted_shell.shell_chat_policy`
(labelled ``scripted``): a real mini-swe-agent session whose model is a fixed offline policy.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import ClassVar

from ftagent.agents.base import register_agent
from ftagent.agents.external.session import ExternalAgent, SessionContext
from ftagent.errors import AgentError
from ftagent.utils.io import atomic_write_json


@register_agent
class CodingAgent(ExternalAgent):
    """mini-swe-agent's ``DefaultAgent`` with the Dojo's tools, sandbox, budget and LLM proxy.

    Args:
        timeout_s: Limit of the session (default: the run's remaining budget).
        memory_mb: Memory cap of each shell command (default: the Dojo's data-script cap).
        step_limit: Model calls allowed (0: no limit but the budget).
        max_output_chars: Characters of a command's output shown to the model.
    """

    name: ClassVar[str] = "coding-agent"
    sandboxed: ClassVar[bool] = False  # the driver sends each command into the sandbox itself

    def __init__(self, timeout_s: float | None = None, memory_mb: int | None = None, step_limit: int = 0,
                 max_output_chars: int = 20000):
        super().__init__(timeout_s=timeout_s, memory_mb=memory_mb or 0)
        self._memory_mb, self.step_limit, self.max_output_chars = memory_mb, step_limit, max_output_chars

    def check_available(self) -> None:
        """mini-swe-agent must be installed (the ``agents`` extra)."""
        if importlib.util.find_spec("minisweagent") is None:
            raise AgentError("agent 'coding-agent' unavailable: mini-swe-agent is not installed "
                             "(pip install 'ftagent[agents]')")

    def _trajectory(self, ctx: SessionContext) -> Path:
        return ctx.workspace.path / ".ftdojo" / "trajectory.json"

    def command(self, ctx: SessionContext) -> list[str]:
        """``python -P -m ftagent.agents.external.mswea_driver <run>/coding_agent.json``."""
        s = ctx.dojo.settings
        cfg = {"model": ctx.model, "api_base": ctx.proxy.base_url, "workspace": str(ctx.workspace.path),
               "raw_dir": str(ctx.dojo.repository), "sandbox": s.sandbox, "sandbox_options": s.sandbox_options,
               "timeout_s": round(ctx.timeout_s, 1), "cost_limit": s.llm_budget_usd or 0,
               "step_limit": self.step_limit, "memory_mb": self._memory_mb or s.data_memory_mb,
               "max_output_chars": self.max_output_chars, "temperature": ctx.proxy.backbone.temperature,
               "trajectory": str(self._trajectory(ctx)),
               "price_per_mtok_prompt": ctx.proxy.backbone.price_per_mtok_prompt,
               "price_per_mtok_completion": ctx.proxy.backbone.price_per_mtok_completion}
        path = ctx.run_dir / "coding_agent.json"
        atomic_write_json(path, cfg)
        return [sys.executable, "-P", "-m", "ftagent.agents.external.mswea_driver", str(path)]

    def extra_env(self, ctx: SessionContext) -> dict[str, str]:
        """The driver imports ftagent: keep the harness's PYTHONPATH (a path, never a secret)."""
        return {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}

    def transcript_file(self, ctx: SessionContext) -> Path | None:
        """mini-swe-agent's trajectory JSON."""
        return self._trajectory(ctx)
