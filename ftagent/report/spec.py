"""What an artifact is built from: :class:`ArtifactSpec`, written by the workflow as JSON.

The workflow (``workflow/rules/common.smk``) expands the experiments of config/config.yaml into run
folders and hands each artifact rule one spec; the builders read only those folders' records. Agents
an experiment lists but cannot run (declared ``implemented: false``) come as ``not_run`` with the
reason, so that tables show them as labelled rows instead of dropping them.
"""

from __future__ import annotations

import json
import re
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
        backbone_labels: Backbone id -> table label (config/backbones.yaml), for planned runs that
            have no record yet (a record's own label wins).
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
    backbone_labels: dict[str, str] = Field(default_factory=dict)
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


#: A run folder of the workflow's layout: ``.../runs/<task>/<agent>/<backbone>/<model>/n<cap>/s<seed>``.
RUN_PATH = re.compile(
    r"(?:^|/)runs/(?P<task>[^/]+)/(?P<agent>[^/]+)/(?P<backbone>[^/]+)/(?P<base_model>[^/]+)"
    r"/n(?P<sample_cap>\d+)/s(?P<seed>\d+)/?$"
)


def run_coordinates(run_dir: str | Path) -> dict[str, Any] | None:
    """Task, agent, backbone, base model, sample cap and seed of a run folder (None off the layout)."""
    m = RUN_PATH.search(str(run_dir))
    if m is None:
        return None
    d: dict[str, Any] = m.groupdict()
    d["sample_cap"], d["seed"] = int(d["sample_cap"]), int(d["seed"])
    return d


def runs_frame(spec: ArtifactSpec) -> pd.DataFrame:
    """One row per (experiment, planned run): the record's columns, or ``status = missing`` without one.

    A planned run without ``run.json`` keeps its coordinates (from its folder), NaN scores and the
    status ``missing``, so that tables show its cell as missing (never 0) and keep its row and column.
    Column ``experiment`` names the experiment.
    """
    from ftagent.dojo.taskspec import load_tasks

    tasks = load_tasks()
    frames = []
    for name, e in spec.experiments.items():
        have = [Path(r) for r in e.runs if (Path(r) / "run.json").exists()]
        df = collect_runs(have) if have else collect_runs([])
        missing = []
        for r in e.runs:
            if (Path(r) / "run.json").exists():
                continue
            c = run_coordinates(r)
            if c is None:
                continue
            t = tasks.get(c["task"])
            label = "none" if c["backbone"] == "none" else spec.backbone_labels.get(c["backbone"], c["backbone"])
            missing.append(
                {
                    **c,
                    "run_id": "",
                    "run_dir": str(r),
                    "task_title": t.title if t else c["task"],
                    "domain": t.domain if t else "",
                    "backbone_label": label,
                    "scale": spec.scale,
                    "status": "missing",
                    "metric": t.metric.name if t else "",
                }
            )
        if missing:
            df = pd.concat([df, pd.DataFrame(missing).reindex(columns=df.columns)], ignore_index=True)
        if len(df):
            frames.append(df.assign(experiment=name))
    if not frames:
        return collect_runs([]).assign(experiment=pd.Series(dtype=str))
    return pd.concat(frames, ignore_index=True)


def _yaml(path: Path) -> dict:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise ConfigError(f"{path}: {e.strerror}") from None


def spec_from_config(
    name: str, runs: Path | list[Path], scale: str, config: Path | None = None
) -> ArtifactSpec | None:
    """The spec of artifact ``table_<name>`` / ``fig_<name>`` of config/config.yaml over the runs found.

    Only runs whose coordinates belong to the artifact's experiments at ``scale`` are kept (agents,
    backbones, base models, sample caps, seeds, tasks as config/config.yaml expands them), so a cell
    never averages runs of another experiment (e.g. the data-scaling caps into the main table); agents
    declared ``implemented: false`` become ``not_run`` rows. None when no such artifact exists.

    Args:
        name: ``main`` or ``table_main``.
        runs: Folders searched for ``run.json``.
        scale: The scale whose overrides apply.
        config: The config folder (default :func:`ftagent.paths.config_dir`).
    """
    from ftagent.paths import config_dir

    cdir = Path(config) if config else config_dir()
    cfg = _yaml(cdir / "config.yaml")
    arts = cfg.get("artifacts", {})
    key = next((k for k in (name, f"table_{name}", f"fig_{name}") if k in arts), None)
    if key is None:
        return None
    art = arts[key]
    agents, backbones, budgets = (_yaml(cdir / f"{r}.yaml") for r in ("agents", "backbones", "budgets"))
    sc = cfg.get("scales", {}).get(scale)
    if sc is None:
        raise ConfigError(f"scale '{scale}' has no entry under 'scales' of {cdir / 'config.yaml'}")
    found = spec_from_runs(name, "agent_task", runs, scale).experiments["runs"].runs
    exps: dict[str, ExperimentRuns] = {}
    for ename in art["experiments"]:
        if ename not in sc.get("experiments", {}):
            continue
        exp = {**cfg["experiments"][ename], **(sc["experiments"].get(ename) or {})}
        budget = exp.get("budget") or sc.get("budget")
        caps = exp.get("sample_caps") or [
            budgets.get(budget, {}).get("sample_cap") or sc.get("dojo", {}).get("sample_cap", 2000)
        ]
        bbs = [sc.get("backbone", "scripted") if b == "default" else b for b in exp.get("backbones", ["default"])]
        models = [sc["base_model"] if m == "default" else m for m in exp.get("base_models", ["default"])]
        tasks = exp.get("tasks")
        ok_agents = [a for a in exp["agents"] if agents.get(a, {}).get("implemented", True)]
        not_run = {
            a: agents[a].get("reason", "not implemented")
            for a in exp["agents"]
            if not agents.get(a, {}).get("implemented", True)
        }
        sel = []
        for r in found:
            c = run_coordinates(r)
            if c is None or c["agent"] not in ok_agents:
                continue
            needs_bb = agents.get(c["agent"], {}).get("needs_backbone", True)
            if (
                (c["backbone"] in bbs if needs_bb else c["backbone"] == "none")
                and c["base_model"] in models
                and c["sample_cap"] in caps
                and c["seed"] in exp.get("seeds", [0])
                and (tasks is None or c["task"] in tasks)
            ):
                sel.append(r)
        exps[ename] = ExperimentRuns(title=exp["title"], runs=sel, not_run=not_run)
    if not exps:
        raise ConfigError(f"{key}: its experiments ({', '.join(art['experiments'])}) are not run at scale '{scale}'")
    return ArtifactSpec(
        name=key,
        builder=art["builder"],
        stem=key.split("_", 1)[1],
        scale=scale,
        caption=art.get("caption"),
        options=art.get("options", {}),
        agent_titles={a: v["title"] for a, v in agents.items()},
        backbone_kinds={b: v.get("kind", "") for b, v in backbones.items()},
        backbone_labels={b: v.get("label", b) for b, v in backbones.items()},
        experiments=exps,
    )
