"""Per-subtask breakdowns (paper appendix): each task's test score per subset, per method.

ChemCoTBench subtasks, TableBench sub-types, FinanceIQ subjects, PANORAMA parts: whatever subsets the
harness scored, read from ``eval.json`` (``test.subsets`` of the reported experiment: the selected one,
or the base model when none was selected). One table row per (method, task); columns are the task's
subsets (a task's subsets differ from another's, so each task gets its own column group). Cells are
the mean over seeds; a planned run without a record is missing, never 0.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ftagent.dojo.taskspec import load_tasks
from ftagent.records import EvalRecord
from ftagent.report.collect import DOMAIN_ORDER, agent_titles, metric_label, row_label
from ftagent.report.formats import MISSING, best_rows, cell, not_run_notes, write_table
from ftagent.report.spec import ArtifactSpec, runs_frame
from ftagent.utils.io import read_json

#: Display names of subsets whose ids are not Latin text (FinanceIQ's exam subjects; tasks/financeiq.yaml).
SUBSET_TITLES = {
    "保险从业资格CICE": "Insurance (CICE)",
    "基金从业资格": "Funds",
    "期货从业资格": "Futures",
    "注册会计师（CPA）": "CPA",
    "理财规划师": "Financial planner",
    "税务师": "Tax adviser",
    "精算师-金融数学": "Actuary (fin. math.)",
    "经济师": "Economist",
    "证券从业资格": "Securities",
    "银行从业资格": "Banking",
}

LONG_COLUMNS = ["row", "agent", "backbone", "task", "subset", "mean", "std", "n", "planned", "status", "runs"]


def reported_subsets(run_dir: str | Path) -> dict[str, float] | None:
    """Test score per subset of the run's reported experiment (None without eval.json)."""
    p = Path(run_dir) / "eval.json"
    if not p.exists():
        return None
    ev = EvalRecord.model_validate(read_json(p))
    exp = next((x for x in ev.experiments if x.experiment_id == ev.selected_experiment), None)
    return dict(exp.test.subsets) if exp else None


def subtasks_long(df: pd.DataFrame, titles: dict[str, str], not_run: dict[str, str]) -> pd.DataFrame:
    """Tidy cells: one per (method row, task, subset) with mean, std, n over seeds and the run ids."""
    tasks = load_tasks()
    out = []
    for (agent, backbone, label, task), g in df.groupby(["agent", "backbone", "backbone_label", "task"]):
        subs = {rid: reported_subsets(d) for rid, d, st in zip(g["run_id"], g["run_dir"], g["status"], strict=True)
                if st == "ok"}
        subs = {k: v for k, v in subs.items() if v is not None}
        declared = list(tasks[task].eval_source.subsets) if task in tasks else []
        recorded = list(dict.fromkeys(x for v in subs.values() for x in v))
        names = [x for x in declared if x in recorded] + [x for x in recorded if x not in declared] if recorded else declared
        for sub in names:
            vals = pd.Series({rid: v[sub] for rid, v in subs.items() if sub in v}, dtype=float)
            out.append({
                "row": row_label(agent, label, titles), "agent": agent, "backbone": backbone, "task": task,
                "subset": sub, "mean": vals.mean() if len(vals) else float("nan"),
                "std": vals.std(ddof=1) if len(vals) > 1 else float("nan"), "n": len(vals), "planned": len(g),
                "status": "ok" if len(vals) else ("missing" if (g["status"] == "missing").any() else "failed"),
                "runs": ";".join(vals.index),
            })
    for agent, reason in not_run.items():
        out.append({"row": titles.get(agent, agent), "agent": agent, "backbone": "", "task": "", "subset": "",
                    "mean": float("nan"), "std": float("nan"), "n": 0, "planned": 0, "status": "not_run",
                    "runs": reason})
    return pd.DataFrame(out, columns=LONG_COLUMNS)


def build_subtasks_table(spec: ArtifactSpec, out_dir: Path) -> list[Path]:
    """``<stem>.csv|md|tex|runs.json``: test score per subset, one row per (method, task)."""
    titles = agent_titles(spec.agent_titles)
    long = subtasks_long(runs_frame(spec), titles, spec.not_run())
    caption = (
        spec.caption
        or f"Per-subtask test scores ({spec.scale} scale; held-out test split, each task's metric in %, per "
        "subset as the harness scored it): ChemCoTBench subtasks, TableBench sub-types, FinanceIQ subjects, "
        f"PANORAMA parts. Mean over the seeds of a cell; bold = best of a subset column; {MISSING} = no score."
    ) + spec.scale_note()
    notes = not_run_notes(spec.not_run(), titles)
    cells = long[long["status"] != "not_run"]
    if cells.empty:
        return write_table(out_dir, spec.stem, long, None, set(), caption, notes)
    tasks = load_tasks()
    rank = {d: i for i, d in enumerate(DOMAIN_ORDER)}
    order = sorted(set(cells["task"]), key=lambda t: (rank.get(tasks[t].domain, 9) if t in tasks else 9, t))
    # one block of rows per task (subset columns differ between tasks): the column header is "subset k"
    width = int(cells.groupby("task")["subset"].nunique().max())
    header = [("", "Task"), ("", "Metric")] + [("Subsets", f"{k + 1}") for k in range(width)]
    rows, index, bold = [], [], set()
    agent_rank = {a: i for i, a in enumerate(titles)}
    for task in order:
        g = cells[cells["task"] == task]
        subs = list(dict.fromkeys(g["subset"]))
        title = tasks[task].title if task in tasks else task
        rows.append([title, metric_label(task), *[SUBSET_TITLES.get(x, x) for x in subs], *[""] * (width - len(subs))])
        index.append(f"{title}: subsets")
        methods = sorted(dict.fromkeys(g["row"]), key=lambda r: (agent_rank.get(g.loc[g["row"] == r, "agent"].iloc[0], 99), r))
        for k, sub in enumerate(subs):
            gs = g[g["subset"] == sub]
            for r in best_rows(dict(zip(gs["row"], gs["mean"], strict=True))):
                bold.add((f"{title}: {r}", k + 2))
        for m in methods:
            gm = g[g["row"] == m].set_index("subset")
            rows.append(["", "", *[cell(gm.loc[s, "mean"], gm.loc[s, "std"], gm.loc[s, "n"]) if s in gm.index else MISSING
                                  for s in subs],
                         *[""] * (width - len(subs))])
            index.append(f"{title}: {m}")
    wide = pd.DataFrame(rows, index=index, columns=pd.MultiIndex.from_tuples(header))
    wide.index.name = "Task: method"
    return write_table(out_dir, spec.stem, long.assign(column=long["task"] + "/" + long["subset"]).drop(columns=[]),
                       wide, bold, caption, notes)
