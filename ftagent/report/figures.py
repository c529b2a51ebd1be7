"""Figures of the paper from run records (seaborn), saved as PDF (for the paper) and PNG."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ftagent.report.collect import AGENT_TITLES, DOMAIN_ORDER, collect_runs, row_label


def _save(fig, out_dir: Path, stem: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("pdf", "png"):
        p = out_dir / f"{stem}.{ext}"
        tmp = p.with_name(f".{p.name}.tmp.{ext}")
        fig.savefig(tmp, dpi=200, bbox_inches="tight")
        tmp.replace(p)
        paths.append(p)
    return paths


def build_main_scores(runs_dir: Path | list[Path], out_dir: Path, scale: str) -> list[Path]:
    """Bar chart of test scores per task (mean over seeds, error bars = SD), one colour per agent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = collect_runs(runs_dir)
    df = df[(df["status"] == "ok") & df["test"].notna()].copy()
    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * max(1, df["task"].nunique()) + 2), 3.4))
    if df.empty:
        ax.text(0.5, 0.5, "no finished runs", ha="center", va="center", transform=ax.transAxes)
    else:
        rank = {d: i for i, d in enumerate(DOMAIN_ORDER)}
        order = (df[["task", "task_title", "domain"]].drop_duplicates()
                 .assign(r=lambda x: x["domain"].map(rank)).sort_values(["r", "task"])["task_title"].tolist())
        df["method"] = [row_label(a, b) for a, b in zip(df["agent"], df["backbone_label"], strict=True)]
        agent_rank = {a: i for i, a in enumerate(AGENT_TITLES)}
        hue_order = (df[["method", "agent"]].drop_duplicates().assign(r=lambda x: x["agent"].map(lambda a: agent_rank.get(a, 99)))
                     .sort_values(["r", "method"])["method"].tolist())
        sns.barplot(data=df, x="task_title", y="test", hue="method", order=order, hue_order=hue_order,
                    errorbar="sd", ax=ax, palette="colorblind")
        ax.set_xlabel("")
        ax.set_ylabel("test score")
        ax.tick_params(axis="x", rotation=30)
        for lbl in ax.get_xticklabels():
            lbl.set_ha("right")
        ax.legend(title="", fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    title = f"Main results ({scale} scale)"
    if scale == "mini":
        title += ": generated data, tiny model, scripted backbone"
    ax.set_title(title, fontsize=9)
    paths = _save(fig, Path(out_dir), "main_scores")
    plt.close(fig)
    return paths


def scores_frame(runs_dir: Path | list[Path]) -> pd.DataFrame:
    """The run table used by the figures (exposed for notebooks)."""
    return collect_runs(runs_dir)
