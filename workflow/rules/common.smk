# Helpers of the workflow: configuration validation, the experiment matrix, paths.
# Every path under results/<scale>/ is built here and nowhere else.

import json
import shlex
import sys
from pathlib import Path

import yaml
from snakemake.utils import validate

validate(config, "../schemas/config.schema.yaml")

SCALE = config["scale"]
if SCALE not in config["scales"]:
    raise ValueError(f"config: scale '{SCALE}' has no entry under 'scales'")
SC = config["scales"][SCALE]
ROOT = f"results/{SCALE}"
# The package's command line, run by the interpreter that runs Snakemake (its environment has ftagent).
FTAGENT = f"{shlex.quote(sys.executable)} -m ftagent"
FIGS = f"figures/{SCALE}"
TABLES = f"{ROOT}/tables"


def _registry(name):
    with open(f"config/{name}.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


AGENTS = _registry("agents")
BACKBONES = _registry("backbones")
BASE_MODELS = _registry("base_models")


def _known_tasks():
    from ftagent.dojo.taskspec import load_tasks

    return load_tasks()


def _runnable(task_id):
    from ftagent.dojo.benchmarks import get_benchmark
    from ftagent.errors import TaskError

    try:
        return get_benchmark(_known_tasks()[task_id]).unsupported_reason() is None
    except TaskError:
        return False


def scale_tasks():
    """Task ids of the current scale (``all`` = every runnable task), checked against tasks/."""
    known = _known_tasks()
    if SC["tasks"] == "all":
        return [t for t in known if _runnable(t)]
    for t in SC["tasks"]:
        if t not in known:
            raise ValueError(f"config: scales.{SCALE}.tasks: unknown task '{t}' (known: {', '.join(known)})")
        if not _runnable(t):
            raise ValueError(f"config: scales.{SCALE}.tasks: task '{t}' is not runnable yet (ftagent tasks list)")
    return list(SC["tasks"])


def data_dir():
    """The data directory of the scale (mini: generated under results/mini/data)."""
    d = config.get("data_dir") or SC["data"]
    return f"{ROOT}/data" if d == "generate" else d


def data_input():
    """What run rules depend on for data: the generated mini data, or an existing directory."""
    if (config.get("data_dir") or SC["data"]) == "generate":
        return f"{ROOT}/data/.complete"
    if not Path(data_dir()).is_dir():
        raise ValueError(f"config: data directory of scale '{SCALE}' not found: {data_dir()} "
                         f"(set data_dir=..., or run `ftagent data fetch --out {data_dir()}` first)")
    return []


def model_dir(model):
    return f"{ROOT}/models/{model}"


def dojo_settings():
    """The Dojo settings JSON passed to every run (a change re-runs the runs, via params)."""
    return json.dumps({"scale": SCALE, **SC.get("dojo", {})}, sort_keys=True)


def _check(kind, registry, ids, where):
    for i in ids:
        if i not in registry:
            raise ValueError(f"config: {where}: unknown {kind} '{i}' (known: {', '.join(registry)})")


def experiment_runs(name):
    """Runs of one experiment: dicts with task, agent, backbone, model, cap, seed."""
    exp = config["experiments"][name]
    tasks = exp.get("tasks") or scale_tasks()
    known = _known_tasks()
    for t in tasks:
        if t not in known:
            raise ValueError(f"config: experiments.{name}.tasks: unknown task '{t}'")
    _check("agent", AGENTS, exp["agents"], f"experiments.{name}.agents")
    for a in exp["agents"]:
        if not AGENTS[a].get("implemented", False):
            raise ValueError(f"config: experiments.{name}.agents: agent '{a}' ({AGENTS[a].get('title', a)}) "
                             f"is declared but not implemented yet; remove it from the experiment")
    backbones = exp.get("backbones", ["scripted"])
    _check("backbone", BACKBONES, backbones, f"experiments.{name}.backbones")
    models = exp.get("base_models") or [SC["base_model"]]
    _check("base model", BASE_MODELS, models, f"experiments.{name}.base_models")
    caps = exp.get("sample_caps") or [SC.get("dojo", {}).get("sample_cap", 2000)]
    runs = []
    for t in tasks:
        for a in exp["agents"]:
            for b in (backbones if AGENTS[a]["needs_backbone"] else ["none"]):
                for m in models:
                    for n in caps:
                        for s in exp.get("seeds", [0]):
                            runs.append(dict(task=t, agent=a, backbone=b, model=m, cap=n, seed=s))
    return runs


RUN_DIR = ROOT + "/runs/{task}/{agent}/{backbone}/{model}/n{cap}/s{seed}"


def run_dir(r):
    return RUN_DIR.format(**r)


def experiment_evals(name):
    return [f"{run_dir(r)}/eval.json" for r in experiment_runs(name)]


def experiment_run_dirs(name):
    return [run_dir(r) for r in experiment_runs(name)]


def all_artifacts():
    """Every table and figure of the scale (rule all)."""
    return rules.table_main.output + rules.fig_main_scores.output
