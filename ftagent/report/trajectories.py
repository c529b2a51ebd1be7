"""Per-iteration validation trajectories of FT-Agent runs (the paper's case-study figure).

One panel per task: every iteration's validation score from ``trace.jsonl`` (accepted = filled
circle, rejected = open circle), the agent's best accepted score so far as a step line, and the base
model's validation score as a dashed line. Failed iterations have no score: they are red crosses in a
shaded strip *below* the score axis, labelled with their failure class, never points at y = 0. Only
agents with a trace (iterating agents) appear; the builder option ``agents`` keeps only the listed agents
(config/config.yaml keeps one-experiment baselines such as Manual SFT out). Panels are laid out 3 per row
at the text width.
"""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.ticker import MaxNLocator

from ftagent.report.collect import collect_traces
from ftagent.report.plotting import PAGE_IN, empty_axes, pyplot, save_figure, scale_suffix, scale_tag
from ftagent.report.spec import ArtifactSpec

#: Why the scripted backbone's third iteration fails (ftagent/llm/scripted.py, ``restarts-fault``).
SCRIPTED_FAILURE_NOTE = (
    "With the scripted backbone, the third iteration (iteration 2, recipe restarts-fault) fails on purpose: "
    "its training config names a learning-rate schedule the engine does not support and every repair round "
    "keeps it, to exercise fail-fast validation and failure diagnosis; that failure is planted, not a finding."
)


def build_trajectories(spec: ArtifactSpec, out_dir: Path) -> list[Path]:
    """``<stem>.pdf|png|csv|runs.json|caption.tex``: validation score per iteration, one panel per task."""
    from matplotlib.lines import Line2D

    plt = pyplot()
    runs = sorted({r for e in spec.experiments.values() for r in e.runs})
    tr = collect_traces([Path(r) for r in runs])
    if spec.options.get("agents") and len(tr):
        tr = tr[tr["agent"].isin(spec.options["agents"])]
    tasks = list(dict.fromkeys(tr["task_title"])) if len(tr) else []
    ncol = min(3, max(1, len(tasks)))
    nrow = max(1, math.ceil(len(tasks) / ncol))
    width = PAGE_IN if ncol > 1 else 3.3
    fig, axes = plt.subplots(nrow, ncol, figsize=(width, 1.55 * nrow + 0.45), squeeze=False, layout="constrained")
    flat = [a for row in axes for a in row]
    if not tasks:
        empty_axes(flat[0], "no agent traces")
    for ax, title in zip(flat, tasks, strict=False):
        g = tr[tr["task_title"] == title]
        vals = [*g["validation"].dropna().tolist(), *g["base_validation"].dropna().tolist()]
        lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
        span = max(hi - lo, 5.0)
        ylo = max(-1.0, lo - 0.45 * span) if lo >= 0 else lo - 0.45 * span
        ax.set_ylim(ylo, hi + 0.15 * span)
        strip = lo - 0.22 * span  # the failure strip: below every score
        ax.axhspan(ylo, lo - 0.1 * span, color="0.93", lw=0, zorder=0)
        for (_run, _seed), gr in g.groupby(["run_id", "seed"]):
            gr = gr.sort_values("iteration")
            ax.step(gr["iteration"], gr["best_so_far"], where="post", lw=1.0, color="tab:blue", zorder=2)
            acc = gr[gr["decision"] == "accept"]
            rej = gr[gr["decision"] == "reject"]
            fail = gr[gr["status"] == "failed"]
            ax.scatter(acc["iteration"], acc["validation"], s=14, color="tab:green", zorder=3)
            ax.scatter(rej["iteration"], rej["validation"], s=14, facecolors="none", edgecolors="0.35", zorder=3)
            ax.scatter(fail["iteration"], [strip] * len(fail), marker="x", color="tab:red", s=16, zorder=3)
            for it, fc in zip(fail["iteration"], fail["failure_class"], strict=True):
                ax.annotate(str(fc or "failed"), (it, strip), fontsize=5, color="tab:red", xytext=(4, -1),
                            textcoords="offset points", ha="left", va="center")
            base = gr["base_validation"].dropna()
            if len(base):
                ax.axhline(base.iloc[0], ls="--", lw=0.7, color="black", zorder=1)
        ax.set_title(title)
        ax.set_xlabel("iteration")
        ax.set_ylabel("validation (%)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        top = hi + 0.15 * span  # score ticks only above the failure strip (no "0" beside a failure)
        floor = max(lo - 0.1 * span, 0.0) if lo >= 0 else lo - 0.1 * span  # no negative ticks for scores >= 0
        ax.set_yticks([t for t in ax.get_yticks() if floor <= t <= top])
        ax.set_ylim(ylo, top)
        its = g["iteration"]
        ax.set_xlim(its.min() - 0.4, its.max() + 0.9)
    for ax in flat[len(tasks):] if tasks else flat[1:]:
        ax.set_visible(False)
    if tasks:
        legend = [
            Line2D([], [], marker="o", ls="", color="tab:green", label="accepted"),
            Line2D([], [], marker="o", ls="", mfc="none", mec="0.35", label="rejected"),
            Line2D([], [], marker="x", ls="", color="tab:red", label="failed (grey strip; class)"),
            Line2D([], [], color="tab:blue", drawstyle="steps-post", label="best so far"),
            Line2D([], [], color="black", ls="--", lw=0.7, label="base model"),
        ]
        fig.legend(handles=legend, loc="outside lower center", ncol=5 if ncol > 1 else 2, frameon=False)
        scale_tag(fig, spec.scale)
    scripted = bool(len(tr)) and (tr["backbone"] == "scripted").any()
    caption = (
        "FT-Agent's validation score (held-out validation split; each task's metric, %) per iteration: filled = "
        "accepted, open = rejected, red cross in the grey strip = failed (no score; its failure class), step "
        "line = best accepted so far, dashed = base model."
        + (f" {SCRIPTED_FAILURE_NOTE}" if scripted else "")
        + (f" {scale_suffix(spec.scale).capitalize()}." if scale_suffix(spec.scale) else "")
    )
    paths = save_figure(fig, out_dir, spec.stem, tr, caption)
    plt.close(fig)
    return paths
