# Helpers of the workflow: configuration and registry validation, the experiment matrix, resources,
# site settings read from the profile, paths. Every path under results/<scale>/ is built here.
# User errors stop the workflow before any job with one line `config: <key>: <problem>`.

import functools
import inspect
import json
import math
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


def fail(msg):
    """Stop before any job with one line ``config: <key>: <problem>`` (no traceback)."""
    print(f"config: {msg}", file=sys.stderr)
    sys.exit(1)


def _warn(msg):
    """A one-line warning, printed once by the main Snakemake process (not by SLURM job steps)."""
    if workflow.is_main_process:
        print(f"ftdojo: warning: {msg}", file=sys.stderr)


def _validate(data, schema, what, set_default=True):
    """Schema validation with a one-line message naming the offending key."""
    try:
        validate(data, schema, set_default=set_default)
    except WorkflowError as e:
        err = next((a for a in (*e.args, e.__context__, e.__cause__) if hasattr(a, "absolute_path")), None)
        if err is None:
            raise
        key = ".".join(map(str, err.absolute_path)) or "(top level)"
        fail(f"{what}: {key}: {err.message}")


_validate(config, "../schemas/config.schema.yaml", "config/config.yaml")

SCALE = config["scale"]
if SCALE not in config["scales"]:
    fail(f"scale: '{SCALE}' has no entry under 'scales'")
SC = config["scales"][SCALE]


def _flag(key):
    """A boolean config value; ``--config KEY=true`` arrives as text (Snakemake parses with YAML's BaseLoader)."""
    v = config[key]
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in ("true", "yes", "on", "1")


STORED = _flag("use_stored_results")
ROOT = f"results/{SCALE}"
RUNS_ROOT = f"{ROOT}/runs"
TABLES = f"{ROOT}/tables"
FIGS = f"figures/{SCALE}"
PAPER = f"paper/build/{SCALE}"
# The package's command line, run by the interpreter that runs Snakemake (its environment has ftagent).
PYTHON = shlex.quote(sys.executable)
FTAGENT = f"{PYTHON} -m ftagent"
GPU_SLOTS = shlex.quote(str(Path(workflow.basedir) / "scripts" / "gpu_slots.py"))
# Jobs read the same registries as the workflow (a copy of the workflow with its own config/ works).
os.environ.setdefault("FTAGENT_CONFIG_DIR", str(Path("config").resolve()))


def _registry(name):
    """A registry of config/ (``agents``, ``backbones``, ``base_models``, ``budgets``), schema-checked."""
    import jsonschema

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    path = Path("config") / f"{name}.yaml"
    try:
        reg = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
    except FileNotFoundError:
        fail(f"registry {path} not found")
    schema = yaml.load((Path(workflow.basedir) / f"schemas/{name}.schema.yaml").read_text(), Loader=loader)
    err = next(iter(jsonschema.Draft202012Validator(schema).iter_errors(reg)), None)
    if err is not None:
        fail(f"{path}: {'.'.join(map(str, err.absolute_path)) or '(top level)'}: {err.message}")
    return reg


AGENTS = _registry("agents")
BACKBONES = _registry("backbones")
BASE_MODELS = _registry("base_models")
BUDGETS = _registry("budgets")


def _check(kind, registry, ids, where, extra=()):
    for i in ids:
        if i not in registry and i not in extra:
            fail(f"{where}: unknown {kind} '{i}' (known: {', '.join([*extra, *registry])})")


# ---------------------------------------------------------------------------------------------------
# Tasks and data


def _task_sources():
    """Files whose change can change the task list or which tasks are runnable (the cache key)."""
    import ftagent
    from ftagent.paths import repo_root

    tasks_dir = Path(os.environ.get("FTAGENT_TASKS_DIR") or repo_root() / "tasks")
    pkg = Path(ftagent.__file__).parent
    return [*sorted(tasks_dir.glob("*.yaml")), pkg / "dojo/taskspec.py", *sorted((pkg / "dojo/benchmarks").glob("*.py"))]


@functools.cache
def _task_table():
    """Known task ids (registry order) and which of them are runnable.

    Importing the benchmark families costs about half a second (rdkit), paid by every Snakemake
    invocation and every SLURM job step; the answer is cached in .snakemake/ftdojo-tasks.json, keyed by
    the task files' and family modules' sizes and modification times.
    """
    key = [[str(p), p.stat().st_mtime_ns, p.stat().st_size] for p in _task_sources()]
    cache = Path(".snakemake/ftdojo-tasks.json")
    try:
        cached = json.loads(cache.read_text())
        if cached["key"] == key:
            return cached["known"], set(cached["runnable"])
    except (OSError, ValueError, KeyError):
        pass
    from ftagent.dojo.benchmarks import get_benchmark
    from ftagent.dojo.taskspec import load_tasks
    from ftagent.errors import TaskError

    known, runnable = list(load_tasks()), set()
    for tid, spec in load_tasks().items():
        try:
            if get_benchmark(spec).unsupported_reason() is None:
                runnable.add(tid)
        except TaskError:
            pass
    try:
        cache.parent.mkdir(exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"key": key, "known": known, "runnable": sorted(runnable)}))
        tmp.replace(cache)
    except OSError:
        pass
    return known, runnable


def _known_tasks():
    return _task_table()[0]


def _runnable(task_id):
    return task_id in _task_table()[1]


def _check_tasks(tasks, where):
    known = _known_tasks()
    for t in tasks:
        if t not in known:
            fail(f"{where}: unknown task '{t}' (known: {', '.join(known)})")
        if not _runnable(t):
            fail(f"{where}: task '{t}' is not runnable yet (ftagent tasks list)")


@functools.cache
def selected_tasks():
    """The command line's task selection (``--config tasks=[aime2025,financeiq]``), or None for all.

    Accepts a list or a comma-separated string; ``all`` (or unset) selects nothing in particular.
    """
    sel = config.get("tasks")
    if sel in (None, "", "all", ["all"]):
        return None
    if isinstance(sel, str):
        sel = [t.strip() for t in sel.strip("[]").split(",") if t.strip()]
    _check_tasks(sel, "tasks")
    return tuple(sel)


@functools.cache
def scale_tasks():
    """Task ids of the current scale (``all`` = every runnable task), checked against tasks/.

    A command-line selection (:func:`selected_tasks`) replaces them.
    """
    if selected_tasks() is not None:
        return selected_tasks()
    if SC["tasks"] == "all":
        return tuple(t for t in _known_tasks() if _runnable(t))
    _check_tasks(SC["tasks"], f"scales.{SCALE}.tasks")
    return tuple(SC["tasks"])


def data_dir():
    """The data directory of the scale (mini: generated under results/mini/data)."""
    d = config.get("data_dir") or SC["data"]
    return f"{ROOT}/data" if d == "generate" else d


def data_input():
    """What run rules depend on for data: the generated or fetched marker, or an existing directory."""
    if (config.get("data_dir") or SC["data"]) == "generate":
        return f"{ROOT}/data/.complete"
    if SC.get("fetch"):
        return f"{data_dir()}/.fetched"
    if not Path(data_dir()).is_dir():
        fail(f"data_dir: data directory of scale '{SCALE}' not found: {data_dir()} "
                          f"(set data_dir=..., or run `ftagent data fetch --out {data_dir()}` first)")
    return []


def model_dir(model):
    return f"{ROOT}/models/{model}"


# ---------------------------------------------------------------------------------------------------
# The experiment matrix


@dataclass(frozen=True)
class Run:
    """One run of the matrix: its coordinates (= its folder), settings and budget."""

    task: str
    agent: str
    backbone: str
    model: str
    cap: int
    seed: int
    budget: str
    settings: str  # JSON of ftagent.dojo.env.DojoSettings

    @property
    def dir(self):
        return RUN_DIR.format(task=self.task, agent=self.agent, backbone=self.backbone, model=self.model,
                              cap=self.cap, seed=self.seed)


@dataclass
class Experiment:
    """An experiment as run at the current scale: its runs and the agents it cannot run."""

    name: str
    title: str
    runs: list = field(default_factory=list)
    not_run: dict = field(default_factory=dict)  # agent -> reason


RUN_DIR = f"{RUNS_ROOT}/{{task}}/{{agent}}/{{backbone}}/{{model}}/n{{cap}}/s{{seed}}"


def _settings(budget_id, cap):
    """The Dojo settings JSON of a run (a change re-runs the runs, via params)."""
    b = BUDGETS[budget_id]
    s = {"scale": SCALE, **SC.get("dojo", {})}
    if "wall_clock_h" in b:
        s["wall_clock_h"] = b["wall_clock_h"]
    s["sample_cap"] = cap
    return json.dumps(s, sort_keys=True)


def _default_cap(budget_id):
    return BUDGETS[budget_id].get("sample_cap") or SC.get("dojo", {}).get("sample_cap", 2000)


def _expand(name, exp, where):
    """Runs and not-run agents of experiment ``name`` (fields already merged with the scale's overrides)."""
    tasks = exp.get("tasks") or list(scale_tasks())
    if exp.get("tasks"):
        _check_tasks(tasks, f"{where}.tasks")
        if selected_tasks() is not None:  # the command line's selection narrows an experiment's own tasks
            tasks = [t for t in tasks if t in selected_tasks()]
            if not tasks:
                _warn(f"{where}: none of its tasks is selected (tasks={','.join(selected_tasks())}): no runs")
    _check("agent", AGENTS, exp["agents"], f"{where}.agents")
    backbones = [SC.get("backbone", "scripted") if b == "default" else b for b in exp.get("backbones", ["default"])]
    _check("backbone", BACKBONES, backbones, f"{where}.backbones")
    models = [SC["base_model"] if m == "default" else m for m in exp.get("base_models", ["default"])]
    _check("base model", BASE_MODELS, models, f"{where}.base_models")
    budget = exp.get("budget") or SC["budget"]
    _check("budget", BUDGETS, [budget], f"{where}.budget")
    caps = exp.get("sample_caps") or [_default_cap(budget)]
    out = Experiment(name, exp["title"])
    for a in exp["agents"]:
        spec = AGENTS[a]
        if not spec["implemented"]:
            reason = spec.get("reason", "not implemented")
            if config["unavailable_agents"] == "stop":
                fail(f"{where}.agents: agent '{a}' ({spec['title']}) is declared but not "
                                  f"available: {reason} (remove it, or set unavailable_agents=report)")
            out.not_run[a] = reason
            continue
        for t in tasks:
            for b in backbones if spec["needs_backbone"] else ["none"]:
                for m in models:
                    for n in caps:
                        for s in exp.get("seeds", [0]):
                            out.runs.append(Run(t, a, b, m, n, s, budget, _settings(budget, n)))
    return out


@functools.cache
def experiments():
    """The experiments run at this scale (``scales.<scale>.experiments``), expanded into runs."""
    active = SC["experiments"]
    _check("experiment", config["experiments"], active, f"scales.{SCALE}.experiments")
    out = {}
    for name, overrides in active.items():
        exp = {**config["experiments"][name], **(overrides or {})}
        out[name] = _expand(name, exp, f"experiments.{name}")
    unavailable = {}
    for e in out.values():
        for a in e.not_run:
            unavailable.setdefault(a, []).append(e.name)
    for a, names in unavailable.items():
        _warn(f"agent '{a}' is not available ({AGENTS[a].get('reason', 'not implemented')}): "
              f"not run in {', '.join(names)}; tables show it as 'not run'")
    return out


@functools.cache
def all_runs():
    """Every run of the scale, by folder; a folder shared by experiments must mean the same run."""
    runs, owner = {}, {}
    for e in experiments().values():
        for r in e.runs:
            if r.dir in runs and runs[r.dir] != r:
                fail(f"experiments.{e.name}: run {r.dir} is also in experiment "
                                  f"'{owner[r.dir]}' with other settings or budget (give one a different "
                                  "base model, cap or seed)")
            runs.setdefault(r.dir, r)
            owner.setdefault(r.dir, e.name)
    return runs


def run_of(wc):
    """The planned run behind a job's wildcards (a folder outside the matrix gets the scale's defaults)."""
    d = RUN_DIR.format(**{k: wc[k] for k in ("task", "agent", "backbone", "model", "cap", "seed")})
    r = all_runs().get(d)
    if r is None:
        r = Run(wc.task, wc.agent, wc.backbone, wc.model, int(wc.cap), int(wc.seed), SC["budget"],
                _settings(SC["budget"], int(wc.cap)))
    return r


def data_tasks():
    """Tasks whose data the scale needs: its own and any an experiment adds, in registry order."""
    used = set(scale_tasks()) | {r.task for r in all_runs().values()}
    return [t for t in _known_tasks() if t in used]


def run_models():
    """Base models the runs of the scale need."""
    return sorted({r.model for r in all_runs().values()})


# ---------------------------------------------------------------------------------------------------
# Resources: portable ones only (gpu, runtime, mem_mb, cpus_per_task); site settings live in profiles.


def _profile_value(name, rule=None):
    """The raw string a profile gives a resource (set-resources of ``rule``, else default-resources)."""
    rs = workflow.resource_settings
    if rule is not None:
        over = (rs.overwrite_resources or {}).get(rule)
        res = getattr(over, "_data", over) or {}
        if name in res:
            return str(getattr(res[name], "raw", res[name])).strip("'\"")
    defaults = getattr(rs.default_resources, "_data", None) or {}
    if name in defaults:
        return str(getattr(defaults[name], "raw", defaults[name])).strip("'\"")
    return None


#: Profile resources that may name a ``$VARIABLE`` of the site (slurm/config.yaml).
SITE_KEYS = ("slurm_account", "slurm_partition", "gpu_model", "qos")


def _site_defaults():
    """Profile resources that name an unset ``$VARIABLE`` are left unset (the plugin's defaults apply).

    Snakemake expands ``$VARIABLE`` when it evaluates a resource, and leaves an unset one as literal
    text, which would reach ``sbatch -A``. An unset variable is therefore set to the empty string here
    (and so for the jobs this process submits): an empty ``slurm_account`` makes the SLURM plugin guess
    the account (``sacctmgr``/``sshare``) or submit without one, an empty ``slurm_partition`` leaves
    the cluster's default partition. One line per variable says so.
    """
    for rule in [None, "run_agent", "evaluate_run"]:
        for key in SITE_KEYS:
            raw = _profile_value(key, rule)
            for var in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", raw or ""):
                if var not in os.environ:
                    where = f"set-resources.{rule}.{key}" if rule else f"default-resources.{key}"
                    _warn(f"profile {where}: ${var} is not set; the SLURM plugin's default applies "
                          f"(export {var}=... to choose)")
                    os.environ[var] = ""


_site_defaults()
# How GPU jobs ask SLURM for GPUs: `gpus` (rule resource gpu -> sbatch --gpus=N) or `gres`
# (gres=gpu:N -> --gres=gpu:N, for sites whose SelectType rejects --gpus). Set in the SLURM profile as
# default-resources `gpu_request`; local runs ignore it.
GPU_REQUEST = _profile_value("gpu_request") or "gpus"
if GPU_REQUEST not in ("gpus", "gres"):
    fail(f"profile default-resources.gpu_request: '{GPU_REQUEST}' (expected gpus or gres)")


def _fast(fn):
    """Hand Snakemake a rule callable's signature once: it inspects every callable at every evaluation,
    which is a third of the paper matrix's dry-run time otherwise."""
    try:
        from snakemake.common import overwrite_function_params

        overwrite_function_params(fn, inspect.signature(fn).parameters)
    except ImportError:  # a Snakemake without the hook: slower, same result
        pass
    return fn


@_fast
def run_settings(wc):
    """The Dojo settings JSON of a run (params of run_agent)."""
    return run_of(wc).settings


@_fast
def _runtime_run(wc, attempt):
    r = run_of(wc)
    wall_h = json.loads(r.settings).get("wall_clock_h", 12.0)
    return int(math.ceil(wall_h * 60 + BUDGETS[r.budget]["run_margin_min"])) * attempt


def _gpu_resources(count):
    """The GPU request of a rule, as `gpu` or `gres` per the profile's gpu_request."""
    if GPU_REQUEST == "gres":
        return {"gres": _fast(lambda wc: f"gpu:{count(wc)}" if count(wc) else "")}
    return {"gpu": count}


def run_resources():
    """Resources of run_agent, from the run's budget; runtime grows with the attempt number."""
    gpus = _fast(lambda wc: BUDGETS[run_of(wc).budget]["gpus_per_run"])
    return {
        **_gpu_resources(gpus),
        "runtime": _runtime_run,
        "mem_mb": _fast(lambda wc, attempt: BUDGETS[run_of(wc).budget]["mem_mb"] * (1 if attempt == 1 else 2)),
        "cpus_per_task": _fast(lambda wc: BUDGETS[run_of(wc).budget]["cpus_per_task"]),
    }


def eval_resources():
    """Resources of evaluate_run (its own GPU job: the agent never grades itself)."""
    gpus = _fast(lambda wc: BUDGETS[run_of(wc).budget]["eval_gpus"])
    return {
        **_gpu_resources(gpus),
        "runtime": _fast(lambda wc, attempt: BUDGETS[run_of(wc).budget]["eval_runtime_min"] * attempt),
        "mem_mb": _fast(lambda wc, attempt: BUDGETS[run_of(wc).budget]["eval_mem_mb"] * (1 if attempt == 1 else 2)),
        "cpus_per_task": _fast(lambda wc: BUDGETS[run_of(wc).budget]["cpus_per_task"]),
    }


def gpu_exec(kind):
    """Shell prefix of a GPU job: gpu_slots.py gives it its own CUDA_VISIBLE_DEVICES (none at 0 GPUs)."""
    key = "gpus_per_run" if kind == "run" else "eval_gpus"

    @_fast
    def prefix(wc):
        n = BUDGETS[run_of(wc).budget][key]
        return f"{PYTHON} {GPU_SLOTS} {n} -- " if n else ""

    return prefix


# ---------------------------------------------------------------------------------------------------
# Artifacts (tables and figures)


def _builders():
    from ftagent.report.registry import BUILDERS

    return BUILDERS


def _check_artifacts():
    for name, art in config["artifacts"].items():
        _check("builder", _builders(), [art["builder"]], f"artifacts.{name}.builder")
        _check("experiment", config["experiments"], art["experiments"], f"artifacts.{name}.experiments")


_check_artifacts()


def artifact_stem(name):
    return name.split("_", 1)[1]


def artifact_outputs(name):
    """Output files of an artifact: tables as csv, md, tex; figures as pdf, png, their data csv and
    caption (LaTeX); both with the sidecar ``.runs.json`` naming the runs behind each cell or point."""
    stem = artifact_stem(name)
    if _builders()[config["artifacts"][name]["builder"]].kind == "table":
        return [f"{TABLES}/{stem}.{ext}" for ext in ("csv", "md", "tex", "runs.json")]
    return [f"{FIGS}/{stem}.{ext}" for ext in ("pdf", "png", "csv", "runs.json", "caption.tex")]


def active_artifacts():
    """Artifacts of the scale: those with at least one experiment the scale runs."""
    return [n for n, a in config["artifacts"].items() if set(a["experiments"]) & set(SC["experiments"])]


def _artifact_experiments(name):
    exps = [experiments()[e] for e in config["artifacts"][name]["experiments"] if e in experiments()]
    if not exps:
        fail(f"{name}: its experiments ({', '.join(config['artifacts'][name]['experiments'])}) "
                          f"are not run at scale '{SCALE}' (add them to scales.{SCALE}.experiments)")
    return exps


def artifact_input(name):
    """Input function of an artifact rule: its runs' records and the code of its builder.

    Normal mode: every run's eval.json (which pulls in the run and its evaluation). Stored-results
    mode: the records that exist (missing runs are counted in a warning and shown as missing cells).
    """

    @_fast
    def inputs(wc):
        from ftagent.report.registry import builder_sources

        files = []
        for e in _artifact_experiments(name):
            for r in e.runs:
                if not STORED:
                    files.append(f"{r.dir}/eval.json")
                else:
                    files += [f for f in (f"{r.dir}/run.json", f"{r.dir}/eval.json") if Path(f).exists()]
        if STORED:
            planned = sum(len(e.runs) for e in _artifact_experiments(name))
            have = sum(1 for f in files if f.endswith("run.json"))
            if have < planned:
                _warn(f"{name}: {planned - have} of {planned} planned runs have no stored records under "
                      f"{RUNS_ROOT} (shown as missing)")
        return {"records": files, "code": [str(p) for p in builder_sources(config["artifacts"][name]["builder"])]}

    return inputs


def artifact_spec(name):
    """The JSON spec handed to `ftagent report build` (ftagent.report.spec.ArtifactSpec)."""
    art = config["artifacts"][name]
    exps = _artifact_experiments(name)
    spec = {
        "name": name,
        "builder": art["builder"],
        "stem": artifact_stem(name),
        "scale": SCALE,
        "caption": art.get("caption"),
        "options": art.get("options", {}),
        "agent_titles": {a: s["title"] for a, s in AGENTS.items()},
        "backbone_kinds": {b: s["kind"] for b, s in BACKBONES.items()},
        "backbone_labels": {b: s.get("label", b) for b, s in BACKBONES.items()},
        "experiments": {e.name: {"title": e.title, "runs": [r.dir for r in e.runs], "not_run": e.not_run}
                        for e in exps},
    }
    return json.dumps(spec)  # insertion order: agent_titles is the row order of config/agents.yaml


def artifact_spec_param(name):
    """params function of an artifact rule: its spec (evaluated when the job is built)."""
    return _fast(lambda wc: artifact_spec(name))


def artifact_out_dir(name):
    return TABLES if _builders()[config["artifacts"][name]["builder"]].kind == "table" else FIGS


# ---------------------------------------------------------------------------------------------------
# The paper (LaTeX)

# FTDOJO_NO_TEX=1 skips the PDF even where a TeX engine exists (as on a machine without one).
TEX_ENGINE = None if os.environ.get("FTDOJO_NO_TEX") else (shutil.which("latexmk") or shutil.which("pdflatex"))
NO_TEX_MESSAGE = (f"paper: no TeX engine (latexmk or pdflatex) on PATH; tables and figures are built, "
                  f"{PAPER}/ftdojo.pdf is not")


def all_artifacts():
    """Every table and figure of the scale."""
    return [f for n in active_artifacts() for f in artifact_outputs(n)]


def paper_input():
    """The paper PDF where a TeX engine exists, else only the tables and figures."""
    return all_artifacts() + ([f"{PAPER}/ftdojo.pdf"] if TEX_ENGINE else [])


@functools.cache
def _paper_note():
    """Say once, in one line, that no PDF is built (no TeX engine)."""
    if workflow.is_main_process:
        print(NO_TEX_MESSAGE, file=sys.stderr)


def paper_target(wc=None):
    """Input function of ``all`` and ``paper``: :func:`paper_input`, with the no-TeX note.

    An input function runs while the DAG is built, also when there is "Nothing to be done" (Snakemake
    then skips onsuccess), which is exactly when a user wonders where the PDF is.
    """
    if not TEX_ENGINE:
        _paper_note()
    return paper_input()


# Expand and check the whole matrix now, so that any bad id stops the workflow before any job.
all_runs()
