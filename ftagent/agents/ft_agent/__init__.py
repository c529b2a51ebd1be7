"""FT-Agent, the paper's method (:class:`FTAgent`)."""

from ftagent.agents.ft_agent.loop import FTAgent

__all__ = ["FTAgent"]
