"""Planning-backbone table (backbone sensitivity and open-source backbones, paper §6).

One row per backbone of FT-Agent (grouped by experiment: API backbones, vLLM-served open-source
backbones), one column per task with the test score (mean over seeds), the average over tasks, and
the backbone's cost per run (USD) and tokens per run (millions) from ``run.json``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ftagent.dojo.taskspec import load_tasks
from ftagent.report.collect import DOMAIN_ORDER, metric_label
from ftagent.report.formats import MISSING, best_rows, cell, not_run_notes, write_table
from ftagent.report.spec import ArtifactSpec, runs_frame

LONG_COLUMNS = [
    "experiment",
    "backbone",
    "backbone_label",
    "backbone_kind",
    "task",
    "mean",
    "std",
    "n",
    "cost_usd",
    "tokens",
    "runs",
]


def backbones_long(df: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """Tidy cells: one row per (experiment, backbone, task), plus ``task = avg`` rows with cost and tokens."""
    out = []
    ok = df[df["status"] == "ok"] if len(df) else df
    for (exp, backbone, label), g in ok.groupby(["experiment", "backbone", "backbone_label"]):
        tasks = sorted(set(g["task"]))
        for task, gt in g.groupby("task"):
            vals = gt["test"].dropna()
            out.append(
                {
                    "experiment": exp,
                    "backbone": backbone,
                    "backbone_label": label,
                    "backbone_kind": kinds.get(backbone, ""),
                    "task": task,
                    "mean": vals.mean() if len(vals) else float("nan"),
                    "std": vals.std(ddof=1) if len(vals) > 1 else float("nan"),
                    "n": len(vals),
                    "cost_usd": gt["llm_cost_usd"].mean(),
                    "tokens": gt["llm_tokens"].mean(),
                    "runs": ";".join(gt.loc[vals.index, "run_id"]),
                }
            )
        per_task = g.groupby("task")["test"].mean().reindex(tasks)
        out.append(
            {
                "experiment": exp,
                "backbone": backbone,
                "backbone_label": label,
                "backbone_kind": kinds.get(backbone, ""),
                "task": "avg",
                "mean": per_task.mean() if per_task.notna().all() else float("nan"),
                "std": float("nan"),
                "n": int(per_task.notna().sum()),
                "cost_usd": g["llm_cost_usd"].mean(),
                "tokens": g["llm_tokens"].mean(),
                "runs": "",
            }
        )
    return pd.DataFrame(out, columns=LONG_COLUMNS)


def build_backbones_table(spec: ArtifactSpec, out_dir: Path) -> list[Path]:
    """``<stem>.csv|md|tex``: FT-Agent's test scores per planning backbone."""
    df = runs_frame(spec)
    long = backbones_long(df, spec.backbone_kinds)
    caption = (
        spec.caption
        or f"{spec.title()} ({spec.scale} scale): FT-Agent test scores per planning backbone (metric of "
        "each task, %), mean over the seeds of a cell; backbone cost (USD) and tokens (millions) per run."
    ) + spec.scale_note()
    notes = not_run_notes(spec.not_run(), spec.agent_titles)
    if long.empty:
        return write_table(out_dir, spec.stem, long, None, set(), caption, notes)
    tasks = load_tasks()
    present = set(long["task"]) - {"avg"}
    cols = [t.id for d in DOMAIN_ORDER for t in tasks.values() if t.domain == d and t.id in present]
    exp_rank = {e: i for i, e in enumerate(spec.experiments)}
    rows = (
        long[["experiment", "backbone_label"]]
        .drop_duplicates()
        .assign(r=lambda x: x["experiment"].map(exp_rank))
        .sort_values(["r", "backbone_label"])
    )
    header = [("Task", f"{tasks[c].title} ({metric_label(c)})") for c in cols] + [
        ("", "Avg."),
        ("", "Cost/run ($)"),
        ("", "Tokens/run (M)"),
    ]
    data, index = [], []
    for exp, label in rows[["experiment", "backbone_label"]].itertuples(index=False):
        g = long[(long["experiment"] == exp) & (long["backbone_label"] == label)].set_index("task")
        avg = g.loc["avg"]
        data.append(
            [
                cell(g.loc[c, "mean"], g.loc[c, "std"], g.loc[c, "n"]) if c in g.index else MISSING
                for c in cols
            ]
            + [cell(avg["mean"]), f"{avg['cost_usd']:.2f}", f"{avg['tokens'] / 1e6:.2f}"]
        )
        index.append(f"{spec.experiments[exp].title}: {label}" if len(spec.experiments) > 1 else label)
    wide = pd.DataFrame(data, index=index, columns=pd.MultiIndex.from_tuples(header))
    wide.index.name = "Backbone"
    bold = set()
    for i, c in enumerate([*cols, "avg"]):
        g = long[long["task"] == c]
        labels = [
            f"{spec.experiments[e].title}: {b}" if len(spec.experiments) > 1 else b
            for e, b in zip(g["experiment"], g["backbone_label"], strict=True)
        ]
        for r in best_rows(dict(zip(labels, g["mean"], strict=True))):
            bold.add((r, i))
    return write_table(out_dir, spec.stem, long, wide, bold, caption, notes)
