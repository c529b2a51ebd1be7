"""Per-iteration validation trajectories of FT-Agent runs (the paper's case-study figure).

One panel per task: every iteration's validation score from ``trace.jsonl`` (accepted = filled
circle, rejected = open circle, failed = red cross on the axis, labelled with its failure class),
the agent's best accepted score so far as a step line, and the base model's validation score as a
dashed line. Only agents with a trace (iterating agents) appear; the builder option ``agents`` keeps only
the listed agents (config/config.yaml keeps one-experiment baselines such as Manual SFT out).
"""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.ticker import MaxNLocator

from ftagent.report.collect import collect_traces
from ftagent.report.plotting import empty_axes, pyplot, save_figure, scale_suffix
from ftagent.report.spec import ArtifactSpec


def build_trajectories(spec: ArtifactSpec, out_dir: Path) -> list[Path]:
    """``<stem>.pdf|png|csv``: validation score per iteration, one panel per task."""
    plt = pyplot()
    runs = sorted({r for e in spec.experiments.values() for r in e.runs})
    tr = collect_traces([Path(r) for r in runs])
    if spec.options.get("agents") and len(tr):
        tr = tr[tr["agent"].isin(spec.options["agents"])]
    tasks = list(dict.fromkeys(tr["task_title"])) if len(tr) else []
    ncol = min(4, max(1, len(tasks)))
    nrow = max(1, math.ceil(len(tasks) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.6 * ncol, 2.1 * nrow), squeeze=False)
    flat = [a for row in axes for a in row]
    if not tasks:
        empty_axes(flat[0], "no agent traces")
    for ax, title in zip(flat, tasks, strict=False):
        g = tr[tr["task_title"] == title]
        for (_run, seed), gr in g.groupby(["run_id", "seed"]):
            gr = gr.sort_values("iteration")
            ax.step(gr["iteration"], gr["best_so_far"], where="post", lw=1.2, label=f"best so far (s{seed})")
            acc = gr[gr["decision"] == "accept"]
            rej = gr[gr["decision"] == "reject"]
            fail = gr[gr["status"] == "failed"]
            ax.scatter(acc["iteration"], acc["validation"], s=18, color="tab:green", zorder=3)
            ax.scatter(
                rej["iteration"], rej["validation"], s=18, facecolors="none", edgecolors="tab:gray", zorder=3
            )
            ymin = min([0.0, *g["validation"].dropna().tolist()])
            ax.scatter(
                fail["iteration"],
                [ymin] * len(fail),
                marker="x",
                color="tab:red",
                s=20,
                zorder=3,
                clip_on=False,
            )
            for it, fc in zip(fail["iteration"], fail["failure_class"], strict=True):
                ax.annotate(
                    str(fc or "fail"),
                    (it, ymin),
                    fontsize=5,
                    color="tab:red",
                    xytext=(0, 4),
                    textcoords="offset points",
                    ha="center",
                )
            base = gr["base_validation"].dropna()
            if len(base):
                ax.axhline(base.iloc[0], ls="--", lw=0.8, color="black")
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("iteration", fontsize=7)
        ax.set_ylabel("validation score", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in flat[len(tasks) :] if tasks else flat[1:]:
        ax.set_visible(False)
    fig.suptitle(
        f"FT-Agent validation trajectories ({spec.scale} scale){scale_suffix(spec.scale)}\n"
        "filled = accepted, open = rejected, x = failed, dashed = base model",
        fontsize=8,
    )
    fig.tight_layout()
    paths = save_figure(fig, out_dir, spec.stem, tr)
    plt.close(fig)
    return paths
