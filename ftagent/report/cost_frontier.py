"""Cost frontier: each method's mean test score against its GPU-hours and its backbone dollars per run.

Two panels at one column's width (3.3 in), one point per method: x = GPU-hours per run (``run.json``
``gpu_hours``, mean over the method's runs) or backbone USD per run (``llm.cost_usd``, mean); y = the
mean over tasks of the method's per-task test score (mean over seeds), over the tasks *every* method has
a score on, so points compare like with like. The Pareto frontier (no other point is cheaper and at
least as good) is a dashed step line.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ftagent.report.collect import agent_titles, row_label
from ftagent.report.plotting import COLUMN_IN, empty_axes, pyplot, save_figure, scale_suffix, scale_tag
from ftagent.report.spec import ArtifactSpec, runs_frame

COLUMNS = ["method", "agent", "score", "gpu_hours_per_run", "usd_per_run", "n_runs", "n_tasks", "runs"]


def frontier_frame(spec: ArtifactSpec) -> pd.DataFrame:
    """One row per method: mean test score over the common tasks, GPU-hours and USD per run, run ids."""
    titles = agent_titles(spec.agent_titles)
    df = runs_frame(spec)
    df = df[(df["status"] == "ok") & df["test"].notna()].drop_duplicates(subset=["run_dir"]) if len(df) else df
    if df.empty:
        return pd.DataFrame(columns=COLUMNS)
    df = df.assign(method=[row_label(a, b, titles) for a, b in zip(df["agent"], df["backbone_label"], strict=True)],
                   test=pd.to_numeric(df["test"]))
    common = set.intersection(*(set(g["task"]) for _, g in df.groupby("method")))
    out = []
    for (method, agent), g in df.groupby(["method", "agent"]):
        per_task = g[g["task"].isin(common)].groupby("task")["test"].mean()
        out.append({
            "method": method, "agent": agent, "score": per_task.mean() if len(per_task) else float("nan"),
            "gpu_hours_per_run": pd.to_numeric(g["gpu_hours"]).mean(),
            "usd_per_run": pd.to_numeric(g["llm_cost_usd"]).mean(), "n_runs": len(g), "n_tasks": len(common),
            "runs": ";".join(g["run_id"]),
        })
    return pd.DataFrame(out, columns=COLUMNS)


def pareto(points: pd.DataFrame, x: str) -> pd.DataFrame:
    """The points no other point dominates (cost <= and score >=, one of them strictly), by cost."""
    pts = points.dropna(subset=[x, "score"]).sort_values([x, "score"], ascending=[True, False])
    keep, best = [], float("-inf")
    for i, r in pts.iterrows():
        if r["score"] > best:
            keep.append(i)
            best = r["score"]
    return pts.loc[keep]


def build_cost_frontier(spec: ArtifactSpec, out_dir: Path) -> list[Path]:
    """``<stem>.pdf|png|csv|runs.json|caption.tex``: score vs GPU-hours and vs dollars per run."""
    import seaborn as sns

    plt = pyplot()
    pts = frontier_frame(spec)
    fig, axes = plt.subplots(2, 1, figsize=(COLUMN_IN, 3.6), layout="constrained")
    if pts.empty:
        for ax in axes:
            empty_axes(ax)
    else:
        colors = dict(zip(pts["method"], sns.color_palette("colorblind", len(pts)), strict=False))
        for ax, x, label in ((axes[0], "gpu_hours_per_run", "GPU-hours per run"),
                             (axes[1], "usd_per_run", "backbone cost per run (USD)")):
            for r in pts.itertuples():
                ax.scatter(getattr(r, x), r.score, color=colors[r.method], s=22, zorder=3, label=r.method)
            front = pareto(pts, x)
            if len(front) > 1:
                ax.step(front[x], front["score"], where="post", ls="--", lw=0.8, color="0.3", zorder=2)
            ax.set_xlabel(label)
            ax.set_ylabel("mean test score (%)")
            xmax = float(pts[x].max())
            ax.set_xlim(-0.05 * max(xmax, 1e-9) if xmax > 0 else -0.5, xmax * 1.15 if xmax > 0 else 0.5)
            ax.set_ylim(0, max(10.0, float(pts["score"].max()) * 1.25))
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=2, frameon=False)
        scale_tag(fig, spec.scale)
    n_tasks = int(pts["n_tasks"].max()) if len(pts) else 0
    caption = (
        f"Cost frontier ({spec.title()}): each method's mean test score (held-out test split, each task's "
        f"metric in %, mean over the {n_tasks} tasks every method has a score on) against GPU-hours per run "
        "(top) and planning-backbone cost per run in USD (bottom), means over runs; dashed = Pareto frontier."
        + (f" {scale_suffix(spec.scale).capitalize()}: no GPU and no paid backbone, so both costs are 0."
           if spec.scale == "mini" else (f" {scale_suffix(spec.scale).capitalize()}." if scale_suffix(spec.scale) else ""))
    )
    cells = [{"method": r["method"], "runs": r["runs"].split(";")} for r in pts.to_dict("records")]
    paths = save_figure(fig, out_dir, spec.stem, pts, caption, cells)
    plt.close(fig)
    return paths
