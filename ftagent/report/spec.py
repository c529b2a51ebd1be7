"""What an artifact is built from: :class:`ArtifactSpec`, written by the workflow as JSON.

The workflow (``workflow/rules/common.smk``) expands the experiments of config/config.yaml into run
folders and hands each artifact rule one spec; the builders read only those folders' records. Agents
an experiment lists but cannot run (declared ``implemented: false``) come as ``not_run`` with the
reason, so that tables show them as labelled rows instead of dropping them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ftagent.errors import ConfigError
from ftagent.report.collect import collect_runs


class ExperimentRuns(BaseModel):
    """The runs of one experiment.

    Attributes:
        title: Experiment title (captions).
        runs: Planned run folders (records may be missing: such runs show as missing cells).
        not_run: Agents the experiment lists but cannot run, with the reason.
    """

    model_config = ConfigDict(extra="forbid")

    title: str
    runs: list[str] = Field(default_factory=list)
    not_run: dict[str, str] = Field(default_factory=dict)


class ArtifactSpec(BaseModel):
    """One table or figure to build.

    Attributes:
        name: Artifact name (``table_main``).
        builder: Builder id (:data:`ftagent.report.registry.BUILDERS`).
        stem: Output file stem (``main`` -> ``main.csv``).
        scale: ``mini``, ``mirror`` or ``paper`` (captions say when numbers are not the paper's).
        caption: Caption; None derives one from the experiments' titles.
        options: Builder options (e.g. ``{"spread": "sem"}``).
        agent_titles: Agent id -> display name (config/agents.yaml).
        backbone_kinds: Backbone id -> kind (config/backbones.yaml), to group API and served backbones.
        experiments: Experiment name -> its runs.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    builder: str
    stem: str
    scale: str = "mini"
    caption: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    agent_titles: dict[str, str] = Field(default_factory=dict)
    backbone_kinds: dict[str, str] = Field(default_factory=dict)
    experiments: dict[str, ExperimentRuns]

    def title(self) -> str:
        """The experiments' titles joined (default caption start)."""
        return "; ".join(e.title for e in self.experiments.values())

    def not_run(self) -> dict[str, str]:
        """Agents not run in any of the experiments, with the reason."""
        out: dict[str, str] = {}
        for e in self.experiments.values():
            out.update(e.not_run)
        return out

    def planned(self) -> int:
        """Number of planned runs (distinct folders)."""
        return len({r for e in self.experiments.values() for r in e.runs})

    def scale_note(self) -> str:
        """What a caption must say about non-paper scales."""
        if self.scale == "mini":
            return " Mini scale: generated data, tiny model; the scripted backbone is not an LLM."
        if self.scale == "mirror":
            return " Mirror scale: real task data, small local models (not the paper's setting)."
        return ""


def load_spec(spec: ArtifactSpec | str | dict | Path) -> ArtifactSpec:
    """An :class:`ArtifactSpec` from itself, a dict, JSON text or a JSON file.

    Raises:
        ConfigError: the spec is not valid (names the field).
    """
    if isinstance(spec, ArtifactSpec):
        return spec
    try:
        if isinstance(spec, Path) or (isinstance(spec, str) and not spec.lstrip().startswith("{")):
            spec = json.loads(Path(spec).read_text(encoding="utf-8"))
        elif isinstance(spec, str):
            spec = json.loads(spec)
        return ArtifactSpec.model_validate(spec)
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"artifact spec: {e}") from None
    except ValidationError as e:
        err = e.errors()[0]
        raise ConfigError(f"artifact spec: field '{'.'.join(map(str, err['loc']))}': {err['msg']}") from None


def spec_from_runs(name: str, builder: str, runs: Path | list[Path], scale: str) -> ArtifactSpec:
    """A spec over every run record found under ``runs`` (for use without the workflow)."""
    dirs = [runs] if isinstance(runs, str | Path) else list(runs)
    found = sorted(
        {
            str(p.parent)
            for d in map(Path, dirs)
            for p in ([d / "run.json"] if (d / "run.json").exists() else d.rglob("run.json"))
        }
    )
    return ArtifactSpec(
        name=name,
        builder=builder,
        stem=name,
        scale=scale,
        experiments={"runs": ExperimentRuns(title=name.replace("_", " ").capitalize(), runs=found)},
    )


def runs_frame(spec: ArtifactSpec) -> pd.DataFrame:
    """One row per (experiment, run with a record); column ``experiment`` names the experiment."""
    frames = []
    for name, e in spec.experiments.items():
        df = collect_runs([Path(r) for r in e.runs if (Path(r) / "run.json").exists()]) if e.runs else None
        if df is not None and len(df):
            frames.append(df.assign(experiment=name))
    if not frames:
        return collect_runs([]).assign(experiment=pd.Series(dtype=str))
    return pd.concat(frames, ignore_index=True)
