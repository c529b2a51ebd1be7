"""External agents: agents the harness does not write (coding agents, frontier CLI agents) run in a shell.

* :mod:`~ftagent.agents.external.session` — :class:`ExternalAgent`, the base class: a subclass says how
  to start its agent process and where its transcript is; the session does the rest;
* :mod:`~ftagent.agents.external.tools` — the Dojo tool service behind the ``ftdojo`` commands, with the
  iteration / failure / LLM-cost accounting that lands in ``trace.jsonl``;
* :mod:`~ftagent.agents.external.ftdojo_client` — the stdlib-only ``ftdojo`` client installed in the workspace;
* :mod:`~ftagent.agents.external.workspace` — ``TASK.md`` / ``AGENTS.md``, the task card, ``dataset_info.json``.

The LLM proxy they talk through is :mod:`ftagent.llm.proxy`; the scripted policy that drives them offline
is :mod:`ftagent.llm.scripted_shell`.
"""

from ftagent.agents.external.session import ExternalAgent, SessionContext
from ftagent.agents.external.tools import ToolService
from ftagent.agents.external.workspace import Workspace, agent_env, prepare_workspace

__all__ = ["ExternalAgent", "SessionContext", "ToolService", "Workspace", "agent_env", "prepare_workspace"]
