"""Data-scaling figure (paper §6): FT-Agent's test score against the training-sample cap.

One line per task (mean over seeds, error bars = SD where there are several), the cap on a log axis,
and the mean over tasks in black when every task has every cap.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ftagent.report.plotting import empty_axes, pyplot, save_figure, scale_suffix
from ftagent.report.spec import ArtifactSpec, runs_frame


def scaling_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Tidy points: one row per (agent, backbone, task, cap) with mean, sd and n over seeds."""
    ok = df[(df["status"] == "ok") & df["test"].notna()] if len(df) else df
    if ok.empty:
        return pd.DataFrame(
            columns=["agent", "backbone", "task", "task_title", "sample_cap", "mean", "sd", "n"]
        )
    g = ok.groupby(["agent", "backbone", "task", "task_title", "sample_cap"])["test"]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    return out.sort_values(["agent", "backbone", "task", "sample_cap"]).reset_index(drop=True)


def build_data_scaling(spec: ArtifactSpec, out_dir: Path) -> list[Path]:
    """``<stem>.pdf|png|csv``: test score vs sample cap."""
    plt = pyplot()
    pts = scaling_frame(runs_frame(spec))
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    if pts.empty:
        empty_axes(ax)
    else:
        for (task_title,), g in pts.groupby(["task_title"]):
            ax.errorbar(
                g["sample_cap"],
                g["mean"],
                yerr=g["sd"].fillna(0),
                marker="o",
                ms=3,
                capsize=2,
                lw=1,
                label=task_title,
            )
        caps = sorted(pts["sample_cap"].unique())
        full = pts.pivot_table(index="task", columns="sample_cap", values="mean")
        if len(full) > 1 and full.notna().all().all():
            ax.plot(
                caps, full.mean(axis=0).reindex(caps), color="black", lw=2, marker="s", ms=4, label="mean"
            )
        ax.set_xscale("log", base=2)
        ax.set_xticks(caps)
        ax.set_xticklabels([str(c) for c in caps])
        ax.set_xlabel("training-sample cap per experiment")
        ax.set_ylabel("test score")
        ax.legend(fontsize=6, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(f"{spec.title()} ({spec.scale} scale){scale_suffix(spec.scale)}", fontsize=9)
    paths = save_figure(fig, out_dir, spec.stem, pts)
    plt.close(fig)
    return paths
