"""Run records -> one pandas row per run (the only input of every table and figure)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ftagent.dojo.taskspec import TaskSpec, load_tasks
from ftagent.records import EvalRecord, RunRecord, TraceEntry
from ftagent.utils.io import read_json

#: Display names of agents (rows of the paper's tables).
AGENT_TITLES = {
    "base-model": "Base Model",
    "manual-sft": "Manual SFT (original)",
    "manual-sft-cot": "Manual SFT (w/ LLM synthesis)",
    "coding-agent": "Coding agent",
    "ft-agent": "FT-Agent",
}


def agent_titles(registry: dict[str, str] | None = None) -> dict[str, str]:
    """Agent id -> title in row order: the registry's (config/agents.yaml) first, then the built-in ones."""
    registry = registry or {}
    return {**registry, **{a: t for a, t in AGENT_TITLES.items() if a not in registry}}


DOMAIN_TITLES = {
    "math": "Math",
    "patent": "Patent Exam.",
    "chemistry": "Chemistry",
    "finance": "Finance",
    "table_qa": "Table QA",
}
DOMAIN_ORDER = list(DOMAIN_TITLES)

COLUMNS = [
    "run_id",
    "task",
    "task_title",
    "domain",
    "agent",
    "backbone",
    "backbone_label",
    "base_model",
    "sample_cap",
    "seed",
    "scale",
    "status",
    "validation",
    "test",
    "best_of_test",
    "selected_experiment",
    "iterations",
    "wall_s",
    "gpu_hours",
    "llm_tokens",
    "llm_cost_usd",
    "metric",
    "scoring_profile",
    "run_dir",
    "integrity_flags",
]


def row_label(agent: str, backbone_label: str | None, titles: dict[str, str] | None = None) -> str:
    """Row name: the agent's title, with its backbone in parentheses (``FT-Agent (scripted)``).

    Args:
        agent: Agent id.
        backbone_label: The backbone's table label (``none`` for agents without one).
        titles: Agent id -> title (config/agents.yaml); falls back to :data:`AGENT_TITLES`.
    """
    title = (titles or {}).get(agent) or AGENT_TITLES.get(agent, agent)
    return title if backbone_label in ("none", "", None) else f"{title} ({backbone_label})"


def collect_runs(runs: Path | list[Path]) -> pd.DataFrame:
    """Every run with a ``run.json`` in ``runs``, with the scores of its ``eval.json``.

    ``runs`` are run folders, or folders searched at any depth. Runs without ``eval.json`` keep NaN
    scores and their status, so a table can show what is missing. ``run_dir`` is the folder as found.
    """
    tasks = load_tasks()
    rows = []
    found: set[Path] = set()
    for d in [runs] if isinstance(runs, str | Path) else runs:
        d = Path(d)
        found |= {d / "run.json"} if (d / "run.json").exists() else set(d.rglob("run.json"))
    for run_json in sorted(found):
        run = RunRecord.model_validate(read_json(run_json))
        ev_path = run_json.with_name("eval.json")
        ev = EvalRecord.model_validate(read_json(ev_path)) if ev_path.exists() else None
        t = tasks.get(run.spec.task)
        rows.append(
            {
                **_run_columns(run, t),
                "backbone_label": run.llm.backbone_label if run.spec.backbone != "none" else "none",
                "base_model": run.spec.base_model,
                "sample_cap": run.spec.sample_cap,
                "scale": run.spec.scale,
                "status": run.status,
                "validation": ev.validation if ev else float("nan"),
                "test": ev.test if ev else float("nan"),
                "best_of_test": ev.best_of_test if ev else float("nan"),
                "selected_experiment": ev.selected_experiment if ev else None,
                "iterations": run.iterations,
                "wall_s": run.wall_s,
                "gpu_hours": run.gpu_hours,
                "llm_tokens": run.llm.prompt_tokens + run.llm.completion_tokens,
                "llm_cost_usd": run.llm.cost_usd,
                "metric": ev.metric if ev else (t.metric.name if t else ""),
                "scoring_profile": ev.scoring_profile if ev else None,
                "run_dir": str(run_json.parent),
                # failed anti-reward-hacking checks (ftagent.dojo.integrity); such a run scores as the base model
                "integrity_flags": ";".join(sorted(set(run.integrity_flags) | set(ev.integrity_flags if ev else []))),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def profile_note(df: pd.DataFrame) -> str:
    """Caption sentence naming the scoring profile(s) of the runs' ``eval.json`` (docs/scoring.md)."""
    names = sorted({p for p in df.get("scoring_profile", pd.Series(dtype=object)).dropna()})
    return f" Scoring profile: {', '.join(names)} (docs/scoring.md)." if names else ""


def _run_columns(run: RunRecord, task: TaskSpec | None) -> dict[str, object]:
    """The columns that identify a run, shared by :func:`collect_runs` and :func:`collect_traces`."""
    return {
        "run_id": run.run_id,
        "task": run.spec.task,
        "task_title": task.title if task else run.spec.task,
        "domain": task.domain if task else "",
        "agent": run.spec.agent,
        "backbone": run.spec.backbone,
        "seed": run.spec.seed,
    }


#: The columns of :func:`_run_columns`, in order.
RUN_ID_COLUMNS = ["run_id", "task", "task_title", "domain", "agent", "backbone", "seed"]

TRACE_COLUMNS = [
    *RUN_ID_COLUMNS,
    "iteration",
    "experiment_id",
    "parent_id",
    "status",
    "stage_reached",
    "failure_class",
    "decision",
    "validation",
    "best_so_far",
    "base_validation",
]


def collect_traces(runs: list[Path]) -> pd.DataFrame:
    """One row per iteration (``trace.jsonl`` line) of every run in ``runs`` that has a ``run.json``.

    ``best_so_far`` is the best validation score among accepted experiments up to that iteration (the
    agent's current best); ``base_validation`` the base model's validation score from ``eval.json``
    (NaN without one). Failed iterations keep a NaN validation score.
    """
    tasks = load_tasks()
    rows = []
    for d in map(Path, runs):
        if not (d / "run.json").exists():
            continue
        run = RunRecord.model_validate(read_json(d / "run.json"))
        base = float("nan")
        if (d / "eval.json").exists():
            ev = EvalRecord.model_validate(read_json(d / "eval.json"))
            base = next((x.validation.score for x in ev.experiments if x.experiment_id is None), float("nan"))
        t = tasks.get(run.spec.task)
        best = float("nan")
        trace = d / "trace.jsonl"
        lines = trace.read_text(encoding="utf-8").splitlines() if trace.exists() else []
        for line in filter(str.strip, lines):
            e = TraceEntry.model_validate_json(line)
            score = e.validation.score if e.validation else float("nan")
            if e.decision == "accept" and not pd.isna(score):
                best = score if pd.isna(best) else max(best, score)
            rows.append(
                {
                    **_run_columns(run, t),
                    "iteration": e.iteration,
                    "experiment_id": e.experiment_id,
                    "parent_id": e.parent_id,
                    "status": e.status,
                    "stage_reached": e.stage_reached,
                    "failure_class": e.failure_class,
                    "decision": e.decision,
                    "validation": score,
                    "best_so_far": best,
                    "base_validation": base,
                }
            )
    return pd.DataFrame(rows, columns=TRACE_COLUMNS)


#: Short metric names for column headers (task metric ids of ftagent.dojo.taskspec.METRICS).
METRIC_SHORT = {
    "accuracy": "Acc.",
    "exact_match": "EM",
    "macro_f1": "Macro-F1",
    "gold_hit_rate": "Hit rate",
    "correct_rate": "Correct",
    "success_rate": "Success",
    "mean_subtask_score": "Score",
    "pass@1": "Pass@1",
}


def metric_label(task_id: str, metric: str | None = None) -> str:
    """``Acc., %``: the task's metric (or ``metric``, e.g. from eval.json) and its unit, for headers."""
    t = load_tasks().get(task_id)
    name = metric or (t.metric.name if t else "")
    unit = "%" if (t is None or t.metric.scale == 100.0) else ""
    short = METRIC_SHORT.get(name, name)
    return f"{short}, {unit}" if unit else short
