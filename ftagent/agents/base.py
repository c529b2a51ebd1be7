"""The agent interface and registry.

An agent receives a :class:`~ftagent.dojo.env.Dojo` (the only way it touches data, training and
validation), an optional :class:`~ftagent.llm.client.ChatClient` for its planning backbone, and a
:class:`TraceWriter` for its experiment records, and returns an :class:`AgentOutcome`. Adding a
baseline is one module with a class decorated by :func:`register_agent` plus one entry in
``config/agents.yaml``; nothing in the workflow changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from ftagent.dojo.env import Dojo
from ftagent.errors import AgentError
from ftagent.llm.client import ChatClient
from ftagent.records import FinalChoice, TraceEntry
from ftagent.utils.io import read_jsonl, write_jsonl


@dataclass
class AgentOutcome:
    """What an agent ends with.

    Attributes:
        final: The experiment it chose (empty: the base model).
        experiments: Ids of all its experiments.
        iterations: Experiments started.
        error: Set when the agent produced no usable result (status ``agent_failed``).
        stop_reason: Why the agent stopped (``max_iterations``, ``budget``, ``max_stages``...), if it says.
        sessions: Processes that worked on the run (more than 1 after a resume).
        prior_wall_s: Wall-clock seconds spent by earlier sessions of a resumed run.
    """

    final: FinalChoice = field(default_factory=FinalChoice)
    experiments: list[str] = field(default_factory=list)
    iterations: int = 0
    error: str | None = None
    stop_reason: str | None = None
    sessions: int = 1
    prior_wall_s: float = 0.0


class TraceWriter:
    """``trace.jsonl`` of a run, rewritten atomically after every completed experiment.

    The file only ever holds finished experiments; an agent that resumes at a finer grain (FT-Agent's
    stages) keeps its unfinished work in its own state file.

    Args:
        path: The trace file; existing lines are loaded (a resumed run continues after them).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.entries: list[TraceEntry] = (
            [TraceEntry.model_validate(r) for r in read_jsonl(self.path)] if self.path.exists() else [])

    def append(self, entry: TraceEntry) -> None:
        """Add an experiment and rewrite the file atomically."""
        self.entries.append(entry)
        write_jsonl(self.path, [e.model_dump(mode="json") for e in self.entries])


class Agent(Protocol):
    """What every agent implements."""

    name: ClassVar[str]
    needs_backbone: ClassVar[bool]

    def run(self, dojo: Dojo, llm: ChatClient | None, trace: TraceWriter) -> AgentOutcome:
        """Fine-tune (or not) within the dojo's budget and return the chosen experiment."""
        ...


_AGENTS: dict[str, type] = {}


def register_agent(cls: type) -> type:
    """Class decorator adding an agent to the registry under ``cls.name``."""
    _AGENTS[cls.name] = cls
    return cls


def agent_names() -> list[str]:
    """Ids of the implemented agents."""
    from ftagent import agents  # noqa: F401  (registers the built-in agents)

    return sorted(_AGENTS)


def get_agent(name: str) -> Callable[[], Agent]:
    """The agent class of an id.

    Raises:
        AgentError: unknown or unimplemented agent (lists the implemented ones).
    """
    from ftagent import agents  # noqa: F401

    if name not in _AGENTS:
        raise AgentError(f"unknown agent '{name}' (implemented: {', '.join(sorted(_AGENTS))})")
    return _AGENTS[name]
