"""``base-model``: the untuned base model (the first row of the paper's main table)."""

from __future__ import annotations

from typing import ClassVar

from ftagent.agents.base import AgentOutcome, TraceWriter, register_agent
from ftagent.dojo.env import Dojo
from ftagent.llm.client import ChatClient


@register_agent
class BaseModelAgent:
    """Fine-tunes nothing: the harness evaluates the base model itself."""

    name: ClassVar[str] = "base-model"
    needs_backbone: ClassVar[bool] = False

    def run(self, dojo: Dojo, llm: ChatClient | None, trace: TraceWriter) -> AgentOutcome:
        return AgentOutcome()
