"""Main results figure: test score per task, one horizontal bar per method, at one column's width.

Bars are the mean over seeds (error bars = SD only where a bar has several seeds). A bar that is
exactly 0 is drawn as a black tick at 0 labelled ``0``; a planned bar without a score (no record, or a
failed run) is labelled ``n/a`` in grey with no bar, so a zero and a missing result never look alike.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ftagent.report.collect import DOMAIN_ORDER, agent_titles, metric_label, row_label
from ftagent.report.plotting import COLUMN_IN, empty_axes, pyplot, save_figure, scale_suffix, scale_tag
from ftagent.report.spec import ArtifactSpec, runs_frame


def main_scores_frame(df: pd.DataFrame, titles: dict[str, str]) -> pd.DataFrame:
    """One row per (task, method): mean, sd, n over seeds, and ``planned`` runs (a mean NaN = no score)."""
    if df.empty:
        return pd.DataFrame(columns=["task", "task_title", "domain", "agent", "method", "mean", "sd", "n", "planned", "runs"])
    df = df.assign(method=[row_label(a, b, titles) for a, b in zip(df["agent"], df["backbone_label"], strict=True)])
    out = []
    for (task, title, domain, agent, method), g in df.groupby(["task", "task_title", "domain", "agent", "method"]):
        vals = pd.to_numeric(g.loc[g["status"] == "ok", "test"], errors="coerce").dropna()
        out.append(
            {
                "task": task,
                "task_title": title,
                "domain": domain,
                "agent": agent,
                "method": method,
                "mean": vals.mean() if len(vals) else np.nan,
                "sd": vals.std(ddof=1) if len(vals) > 1 else np.nan,
                "n": len(vals),
                "planned": len(g),
                "runs": ";".join(g.loc[vals.index, "run_id"]),
            }
        )
    return pd.DataFrame(out)


def build_main_scores(spec: ArtifactSpec, out_dir: Path) -> list[Path]:
    """``<stem>.pdf|png|csv|runs.json|caption.tex``: test score per task, one bar per method."""
    plt = pyplot()
    titles = agent_titles(spec.agent_titles)
    pts = main_scores_frame(runs_frame(spec), titles)
    rank = {d: i for i, d in enumerate(DOMAIN_ORDER)}
    tasks = (
        pts[["task", "task_title", "domain"]].drop_duplicates().assign(r=lambda x: x["domain"].map(rank))
        .sort_values(["r", "task"]) if len(pts) else pts
    )
    agent_rank = {a: i for i, a in enumerate(titles)}
    methods = (
        pts[["method", "agent"]].drop_duplicates().assign(r=lambda x: x["agent"].map(lambda a: agent_rank.get(a, 99)))
        .sort_values(["r", "method"])["method"].tolist() if len(pts) else []
    )
    nt, nm = max(1, len(tasks)), max(1, len(methods))
    bar_h = 0.8 / nm
    fig, ax = plt.subplots(figsize=(COLUMN_IN, 0.9 + nt * (0.1 + 0.09 * nm)), layout="constrained")
    if pts.empty:
        empty_axes(ax)
    else:
        import seaborn as sns

        colors = dict(zip(methods, sns.color_palette("colorblind", len(methods)), strict=False))
        xmax = max(10.0, float(np.nanmax((pts["mean"] + pts["sd"].fillna(0)).to_numpy(dtype=float), initial=0)) * 1.12)
        for i, (task, _title) in enumerate(zip(tasks["task"], tasks["task_title"], strict=True)):
            for j, m in enumerate(methods):
                row = pts[(pts["task"] == task) & (pts["method"] == m)]
                if row.empty:
                    continue
                y = i + (j - (nm - 1) / 2) * bar_h
                mean, sd = row["mean"].iloc[0], row["sd"].iloc[0]
                if np.isnan(mean):
                    ax.text(xmax * 0.01, y, "n/a", va="center", ha="left", fontsize=5.5, color="0.45", style="italic")
                elif mean == 0:
                    ax.plot([0, 0], [y - bar_h * 0.45, y + bar_h * 0.45], color=colors[m], lw=1.6)
                    ax.text(xmax * 0.012, y, "0", va="center", ha="left", fontsize=5.5, color="0.2")
                else:
                    ax.barh(y, mean, height=bar_h * 0.92, color=colors[m], xerr=None if np.isnan(sd) else sd,
                            error_kw={"elinewidth": 0.6, "capsize": 1.2})
        ax.set_yticks(range(nt))
        ax.set_yticklabels([f"{t} · {metric_label(k).split(',')[0]}" for k, t in zip(tasks["task"], tasks["task_title"], strict=True)])
        ax.invert_yaxis()
        ax.set_xlim(0, xmax)
        ax.set_xlabel("test score (task metric, %)")
        ax.grid(axis="y", visible=False)
        handles = [plt.Rectangle((0, 0), 1, 1, color=colors[m]) for m in methods]
        fig.legend(handles, methods, loc="outside lower center", ncol=1 if max(map(len, methods)) > 24 else 2,
                   frameon=False)
        scale_tag(fig, spec.scale)
    seeds = int(pts["n"].max()) if len(pts) else 0
    caption = (
        f"{spec.title()}: test score per task on the held-out test split (each task's metric, in %, named "
        "beside the task), one bar per method"
        + (f", mean over up to {seeds} seeds with SD error bars" if seeds > 1 else ", one run per bar")
        + ". A bar of exactly 0 is a tick labelled 0; n/a = planned but no score (no record or a failed run)."
        + (f" {scale_suffix(spec.scale).capitalize()}." if scale_suffix(spec.scale) else "")
    )
    cells = [{"task": r["task"], "method": r["method"], "runs": [x for x in r["runs"].split(";") if x]}
             for r in pts.to_dict("records")]
    paths = save_figure(fig, out_dir, spec.stem, pts, caption, cells)
    plt.close(fig)
    return paths
