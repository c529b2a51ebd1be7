"""The builders of tables and figures, by id, without importing them (the workflow reads this at parse time).

A builder turns an :class:`~ftagent.report.spec.ArtifactSpec` (the runs of one or more experiments) into
files under an output folder. The workflow makes each artifact's rule depend on
:func:`builder_sources`, so editing one builder's module re-builds only the artifacts that use it.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ftagent.errors import ConfigError


@dataclass(frozen=True)
class Builder:
    """One table or figure builder.

    Attributes:
        kind: ``table`` (writes ``<stem>.csv|md|tex|runs.json``) or ``figure``
            (``<stem>.pdf|png|csv|runs.json|caption.tex``).
        module: Module holding the builder.
        function: Function ``(spec, out_dir) -> list[Path]``.
        shared: Modules the builder's output also depends on (data collection, formatting).
    """

    kind: Literal["table", "figure"]
    module: str
    function: str
    shared: tuple[str, ...] = ()


_TABLE = ("ftagent.report.collect", "ftagent.report.spec", "ftagent.report.outputs", "ftagent.report.formats")
_FIGURE = ("ftagent.report.collect", "ftagent.report.spec", "ftagent.report.outputs", "ftagent.report.plotting")

#: Builder id -> builder (ids are what ``artifacts.<name>.builder`` in config/config.yaml names).
BUILDERS: dict[str, Builder] = {
    "agent_task": Builder("table", "ftagent.report.tables", "build_agent_task_table", _TABLE),
    "backbones": Builder("table", "ftagent.report.backbones", "build_backbones_table", _TABLE),
    "multirun": Builder("table", "ftagent.report.multirun", "build_multirun_table", _TABLE),
    "main_scores": Builder("figure", "ftagent.report.figures", "build_main_scores", _FIGURE),
    "data_scaling": Builder("figure", "ftagent.report.scaling", "build_data_scaling", _FIGURE),
    "trajectories": Builder("figure", "ftagent.report.trajectories", "build_trajectories", _FIGURE),
    "task_table": Builder("table", "ftagent.report.task_table", "build_task_table", _TABLE),
    "subtasks": Builder("table", "ftagent.report.subtasks", "build_subtasks_table", _TABLE),
    "efficiency": Builder("table", "ftagent.report.efficiency", "build_efficiency_table", _TABLE),
    "paired": Builder("table", "ftagent.report.paired", "build_paired_table", _TABLE),
    "reported": Builder(
        "table", "ftagent.report.reported", "build_reported_table", (*_TABLE, "ftagent.report.efficiency")
    ),
    "cost_frontier": Builder("figure", "ftagent.report.cost_frontier", "build_cost_frontier", _FIGURE),
}


def get_builder(builder_id: str) -> Builder:
    """A builder by id.

    Raises:
        ConfigError: unknown id (lists the known ones).
    """
    if builder_id not in BUILDERS:
        raise ConfigError(f"unknown builder '{builder_id}' (known: {', '.join(BUILDERS)})")
    return BUILDERS[builder_id]


def _module_file(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ConfigError(f"builder module {module} not found")
    return Path(spec.origin)


def builder_sources(builder_id: str) -> list[Path]:
    """Source files whose change must re-build an artifact made by ``builder_id`` (no import of them)."""
    b = get_builder(builder_id)
    return [_module_file(m) for m in (b.module, *b.shared)]


def load_builder(builder_id: str):
    """The builder function (imports its module)."""
    b = get_builder(builder_id)
    return getattr(importlib.import_module(b.module), b.function)
