"""Tables and figures from run records (``results/<scale>/runs``); nothing here trains or evaluates.

Every artifact is built by a builder of :data:`ftagent.report.registry.BUILDERS` from an
:class:`~ftagent.report.spec.ArtifactSpec` (the planned runs of one or more experiments, and the
agents those experiments could not run). Imports are lazy so that the workflow can read the registry
at parse time without loading pandas or matplotlib.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftagent.report.registry import BUILDERS, builder_sources, get_builder, load_builder


def build(spec: Any, out_dir: Path) -> list[Path]:
    """Build the artifact ``spec`` describes (an ArtifactSpec, its JSON text or a dict) into ``out_dir``."""
    from ftagent.report.spec import load_spec

    s = load_spec(spec)
    return load_builder(s.builder)(s, Path(out_dir))


def build_table(name: str, runs_dir: Path | list[Path], out_dir: Path, scale: str = "mini") -> list[Path]:
    """Build table ``name`` from the runs under ``runs_dir``.

    When config/config.yaml declares the artifact (``main`` -> ``table_main``), only the runs of its
    experiments at ``scale`` are used and its unavailable agents get their "not run" rows
    (:func:`ftagent.report.spec.spec_from_config`); otherwise an agent x task table of every run found.
    """
    from ftagent.report.spec import spec_from_config, spec_from_runs

    spec = spec_from_config(name, runs_dir, scale) or spec_from_runs(name, "agent_task", runs_dir, scale)
    return build(spec, out_dir)


def build_figure(name: str, runs_dir: Path | list[Path], out_dir: Path, scale: str = "mini") -> list[Path]:
    """Build figure ``name`` (a figure builder id) from every run found under ``runs_dir``."""
    from ftagent.report.spec import spec_from_runs

    if name not in BUILDERS or BUILDERS[name].kind != "figure":
        from ftagent.errors import ConfigError

        raise ConfigError(
            f"unknown figure '{name}' (known: "
            f"{', '.join(k for k, b in BUILDERS.items() if b.kind == 'figure')})"
        )
    return build(spec_from_runs(name, name, runs_dir, scale), out_dir)


def collect_runs(runs: Path | list[Path]):
    """See :func:`ftagent.report.collect.collect_runs`."""
    from ftagent.report.collect import collect_runs as _collect

    return _collect(runs)


__all__ = [
    "BUILDERS",
    "build",
    "build_figure",
    "build_table",
    "builder_sources",
    "collect_runs",
    "get_builder",
]
