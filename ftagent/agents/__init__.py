"""Agents: FT-Agent and the baselines, each talking only to the Dojo API.

Importing this package registers the built-in agents.
"""

from ftagent.agents import base_model, cli, coding_agent, ft_agent, openhands  # noqa: F401  (registration)
from ftagent.agents.base import Agent, AgentOutcome, TraceWriter, agent_names, get_agent, register_agent

__all__ = ["Agent", "AgentOutcome", "TraceWriter", "agent_names", "get_agent", "register_agent"]
