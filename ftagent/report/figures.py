"""Main results figure: test scores per task, one bar per agent (mean over seeds, error bars = SD)."""

from __future__ import annotations

from pathlib import Path

from ftagent.report.collect import DOMAIN_ORDER, agent_titles, row_label
from ftagent.report.plotting import empty_axes, pyplot, save_figure, scale_suffix
from ftagent.report.spec import ArtifactSpec, runs_frame


def build_main_scores(spec: ArtifactSpec, out_dir: Path) -> list[Path]:
    """``<stem>.pdf|png|csv``: bar chart of test scores per task, one colour per agent."""
    import seaborn as sns

    plt = pyplot()
    titles = agent_titles(spec.agent_titles)
    df = runs_frame(spec)
    df = df[(df["status"] == "ok") & df["test"].notna()].copy()
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * max(1, df["task"].nunique()) + 2), 3.4))
    if df.empty:
        empty_axes(ax)
    else:
        rank = {d: i for i, d in enumerate(DOMAIN_ORDER)}
        order = (
            df[["task", "task_title", "domain"]]
            .drop_duplicates()
            .assign(r=lambda x: x["domain"].map(rank))
            .sort_values(["r", "task"])["task_title"]
            .tolist()
        )
        df["method"] = [
            row_label(a, b, titles) for a, b in zip(df["agent"], df["backbone_label"], strict=True)
        ]
        agent_rank = {a: i for i, a in enumerate(titles)}
        hue_order = (
            df[["method", "agent"]]
            .drop_duplicates()
            .assign(r=lambda x: x["agent"].map(lambda a: agent_rank.get(a, 99)))
            .sort_values(["r", "method"])["method"]
            .tolist()
        )
        sns.barplot(
            data=df,
            x="task_title",
            y="test",
            hue="method",
            order=order,
            hue_order=hue_order,
            errorbar="sd",
            ax=ax,
            palette="colorblind",
        )
        ax.set_xlabel("")
        ax.set_ylabel("test score")
        ax.tick_params(axis="x", rotation=30)
        for lbl in ax.get_xticklabels():
            lbl.set_ha("right")
        ax.legend(title="", fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(f"{spec.title()} ({spec.scale} scale){scale_suffix(spec.scale)}", fontsize=9)
    data = df.reindex(columns=["experiment", "run_id", "task", "agent", "backbone", "seed", "test"])
    paths = save_figure(fig, out_dir, spec.stem, data)
    plt.close(fig)
    return paths
