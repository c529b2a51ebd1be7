"""The task table (paper §3): the 13 FT-Dojo tasks, what is scored, and what data the agents get.

One row per task of the artifact's planned runs: domain, task, a one-sentence description, the metric
(with unit and how subsets are aggregated), the raw training sources with their size in the raw-data
repository (``dataset_info.json`` of the repository the run records name; the leakage guard already
applied) and quality (tasks/sources.yaml, as the dataset cards rate it), and the validation / test
sizes the harness scored (``n_items`` of the base model in ``eval.json``). Sizes come from records
only: a task without a record shows them as missing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ftagent.dojo.sources import get_source
from ftagent.dojo.taskspec import load_tasks
from ftagent.records import EvalRecord
from ftagent.report.collect import DOMAIN_ORDER, DOMAIN_TITLES, METRIC_SHORT
from ftagent.report.formats import MISSING, write_table
from ftagent.report.spec import ArtifactSpec, runs_frame
from ftagent.utils.io import read_json

LONG_COLUMNS = [
    "task", "task_title", "domain", "description", "metric", "aggregate", "source", "source_title",
    "quality", "source_samples", "validation_items", "test_items", "runs",
]


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def _sizes(run_dirs: list[str]) -> tuple[dict, float, float, list[str]]:
    """dataset_info.json of the first record's repository, and the base model's validation/test n_items."""
    info, val, test, used = {}, float("nan"), float("nan"), []
    for d in run_dirs:
        d = Path(d)
        if not (d / "run.json").exists():
            continue
        run = read_json(d / "run.json")
        repo = Path(run["spec"]["repository"])
        for cand in (repo, d / repo):
            if not info and (cand / "dataset_info.json").exists():
                info = read_json(cand / "dataset_info.json")
        if (d / "eval.json").exists() and pd.isna(test):
            ev = EvalRecord.model_validate(read_json(d / "eval.json"))
            base = next((x for x in ev.experiments if x.experiment_id is None), None)
            if base is not None:
                val, test = float(base.validation.n_items), float(base.test.n_items)
        used.append(run["run_id"])
    return info, val, test, used


def task_table_long(spec: ArtifactSpec) -> pd.DataFrame:
    """Tidy rows: one per (task, raw source) with the task's fields repeated."""
    df = runs_frame(spec)
    tasks = load_tasks()
    rank = {d: i for i, d in enumerate(DOMAIN_ORDER)}
    present = sorted(set(df["task"]) if len(df) else set(), key=lambda t: (rank.get(tasks[t].domain, 9), t) if t in tasks else (9, t))
    out = []
    for tid in present:
        t = tasks.get(tid)
        if t is None:
            continue
        info, val, test, used = _sizes(df.loc[df["task"] == tid, "run_dir"].tolist())
        for sid in t.raw_sources or [""]:
            try:
                src = get_source(sid) if sid else None
            except Exception:  # an id the registry lacks: shown as is
                src = None
            entry = info.get(sid, {})
            out.append(
                {
                    "task": tid,
                    "task_title": t.title,
                    "domain": t.domain,
                    "description": _first_sentence(t.description),
                    "metric": t.metric.name,
                    "aggregate": t.metric.aggregate,
                    "source": sid,
                    "source_title": src.title if src else sid,
                    "quality": src.quality if src else "",
                    "source_samples": entry.get("count", float("nan")) if entry.get("available", True) else float("nan"),
                    "validation_items": val,
                    "test_items": test,
                    "runs": ";".join(used),
                }
            )
    return pd.DataFrame(out, columns=LONG_COLUMNS)


def _n(x) -> str:
    return MISSING if pd.isna(x) else f"{int(x):,}"


def build_task_table(spec: ArtifactSpec, out_dir: Path) -> list[Path]:
    """``<stem>.csv|md|tex|runs.json``: the task table."""
    long = task_table_long(spec)
    caption = (
        spec.caption
        or f"FT-Dojo tasks ({spec.scale} scale): metric (%; mean over subsets or pooled over items), raw "
        "training sources with their size in the raw-data repository (samples after the leakage guard, "
        "from dataset_info.json) and quality (dataset cards), and the validation / test items the harness "
        f"scored (base model, eval.json). {MISSING} = no record."
    ) + spec.scale_note()
    if long.empty:
        return write_table(out_dir, spec.stem, long.assign(row=[]), None, set(), caption, [])
    rows, index = [], []
    for tid, g in long.groupby("task", sort=False):
        f = g.iloc[0]
        sources = "; ".join(f"{r.source_title} ({_n(r.source_samples)})" for r in g.itertuples())
        quality = "; ".join(dict.fromkeys(q for q in g["quality"] if q))
        agg = "subset mean" if f["aggregate"] == "mean_over_subsets" else "pooled"
        rows.append([
            DOMAIN_TITLES.get(f["domain"], f["domain"]), f["description"],
            f"{METRIC_SHORT.get(f['metric'], f['metric'])} (%, {agg})", sources, quality,
            _n(f["validation_items"]), _n(f["test_items"]),
        ])
        index.append(f["task_title"])
    wide = pd.DataFrame(rows, index=index, columns=pd.MultiIndex.from_tuples([
        ("", "Domain"), ("", "Description"), ("", "Metric"), ("Training data", "Raw sources (samples)"),
        ("Training data", "Quality"), ("Held-out items", "Val."), ("Held-out items", "Test"),
    ]))
    wide.index.name = "Task"
    long = long.assign(row=long["task_title"], status="ok")
    colspec = {1: "p{5.5cm}", 2: "p{1.6cm}", 3: "p{3.2cm}", 4: "p{3.6cm}"}
    return write_table(out_dir, spec.stem, long, wide, set(), caption, [], colspec)
