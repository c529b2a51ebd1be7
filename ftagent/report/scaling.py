"""Data-scaling figure (paper §6): FT-Agent's test score against the training-sample cap.

One line per task (mean over seeds; SD error bars only where a point has several seeds), the cap on
a log axis, and the mean over tasks in black when every task has every cap. The y axis starts at 0
(a score axis zoomed onto a few points makes one evaluation item look like a collapse).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ftagent.report.plotting import COLUMN_IN, empty_axes, pyplot, save_figure, scale_suffix, scale_tag
from ftagent.report.spec import ArtifactSpec, runs_frame

COLUMNS = ["agent", "backbone", "task", "task_title", "sample_cap", "mean", "sd", "n", "runs"]


def scaling_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Tidy points: one row per (agent, backbone, task, cap) with mean, sd, n over seeds and the run ids."""
    ok = df[(df["status"] == "ok") & df["test"].notna()] if len(df) else df
    if ok.empty:
        return pd.DataFrame(columns=COLUMNS)
    ok = ok.assign(test=pd.to_numeric(ok["test"]))
    g = ok.groupby(["agent", "backbone", "task", "task_title", "sample_cap"])
    out = g["test"].agg(mean="mean", sd="std", n="count").reset_index()
    out["runs"] = g["run_id"].agg(lambda s: ";".join(s)).to_numpy()
    out["sample_cap"] = out["sample_cap"].astype(int)
    return out.sort_values(["agent", "backbone", "task", "sample_cap"]).reset_index(drop=True)[COLUMNS]


def build_data_scaling(spec: ArtifactSpec, out_dir: Path) -> list[Path]:
    """``<stem>.pdf|png|csv|runs.json|caption.tex``: test score vs sample cap."""
    plt = pyplot()
    pts = scaling_frame(runs_frame(spec))
    fig, ax = plt.subplots(figsize=(COLUMN_IN, 2.5), layout="constrained")
    several = bool(len(pts)) and int(pts["n"].max()) > 1
    if pts.empty:
        empty_axes(ax)
    else:
        for (task_title,), g in pts.groupby(["task_title"]):
            if several:
                ax.errorbar(g["sample_cap"], g["mean"], yerr=g["sd"].fillna(0), marker="o", capsize=1.5,
                            label=task_title)
            else:
                ax.plot(g["sample_cap"], g["mean"], marker="o", label=task_title)
        caps = sorted(pts["sample_cap"].unique())
        full = pts.pivot_table(index="task", columns="sample_cap", values="mean")
        if len(full) > 1 and full.notna().all().all():
            ax.plot(caps, full.mean(axis=0).reindex(caps), color="black", lw=1.6, marker="s", label="mean over tasks")
        ax.set_xscale("log", base=2)
        ax.set_xticks(caps)
        ax.set_xticklabels([str(c) for c in caps])
        ax.minorticks_off()
        ax.set_ylim(0, min(100.0, max(10.0, float(pts["mean"].max() + pts["sd"].fillna(0).max()) * 1.3)))
        ax.set_xlabel("training-sample cap per experiment")
        ax.set_ylabel("test score (task metric, %)")
        fig.legend(frameon=False, loc="outside lower center", ncol=2)
        scale_tag(fig, spec.scale)
    seeds = int(pts["n"].max()) if len(pts) else 0
    caption = (
        f"{spec.title()}: FT-Agent's test score (held-out test split; each task's metric, %) against the "
        "training-sample cap per experiment (log axis; the y axis starts at 0)"
        + (f"; mean over up to {seeds} seeds, error bars = SD." if several else "; one run per point, no error bars.")
        + (f" {scale_suffix(spec.scale).capitalize()}." if scale_suffix(spec.scale) else "")
    )
    cells = [{"task": r["task"], "sample_cap": int(r["sample_cap"]), "runs": r["runs"].split(";")}
             for r in pts.to_dict("records")]
    paths = save_figure(fig, out_dir, spec.stem, pts, caption, cells)
    plt.close(fig)
    return paths
