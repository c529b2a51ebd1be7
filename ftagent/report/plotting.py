"""Shared figure helpers: a headless matplotlib sized for the paper's column, and atomic outputs.

Figures are drawn at their printed size: :data:`COLUMN_IN` (3.3 in, one column of a two-column
paper) or :data:`PAGE_IN` (6.8 in, both columns), with 6.5-7 pt text, so that ``paper/main.tex``
includes them at that width (no scaling) and every label stays legible. Each figure writes
``<stem>.pdf`` (for LaTeX), ``<stem>.png`` (300 dpi, for reading), ``<stem>.csv`` (the plotted data),
``<stem>.runs.json`` (the run ids behind every plotted point) and ``<stem>.caption.tex`` (its caption,
naming metric, unit and split, as ``\ftcaption{...}``, which ``paper/main.tex`` defines and reads).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ftagent.report.outputs import FILE_MODE, tex_escape, write_sidecar
from ftagent.utils.io import atomic_write_text

#: Width of one column of the paper (inches).
COLUMN_IN = 3.3
#: Width of the full text block (two columns, inches).
PAGE_IN = 6.8

#: Text sizes (points) at the printed size.
STYLE = {
    "font.size": 7,
    "axes.titlesize": 7,
    "axes.labelsize": 7,
    "xtick.labelsize": 6.5,
    "ytick.labelsize": 6.5,
    "legend.fontsize": 6.5,
    "legend.title_fontsize": 6.5,
    "figure.titlesize": 7,
    "lines.linewidth": 1.0,
    "lines.markersize": 3.5,
    "axes.linewidth": 0.6,
    "grid.linewidth": 0.4,
    "pdf.fonttype": 42,
}


def pyplot():
    """matplotlib.pyplot on the Agg backend, seaborn's paper theme with :data:`STYLE`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper", rc=STYLE)
    plt.rcParams.update(STYLE)
    return plt


def scale_suffix(scale: str) -> str:
    """What a figure must add at non-paper scales."""
    if scale == "mini":
        return "mini scale: generated data, tiny model, scripted backbone (not an LLM)"
    if scale == "mirror":
        return "mirror scale: real data, small local models"
    return ""


def scale_tag(fig, scale: str) -> None:
    """A one-line note at the top of a non-paper figure (the PNG read on its own says what it is)."""
    if scale_suffix(scale):
        fig.suptitle(scale_suffix(scale), fontsize=6, color="0.35")


def save_figure(
    fig,
    out_dir: Path,
    stem: str,
    data: pd.DataFrame,
    caption: str = "",
    cells: list[dict] | None = None,
) -> list[Path]:
    """Write ``<stem>.pdf|png|csv``, the sidecar ``<stem>.runs.json`` and ``<stem>.caption.tex`` atomically.

    Args:
        fig: The figure, drawn at its printed size.
        out_dir: Output folder.
        stem: File stem.
        data: The plotted data (CSV).
        caption: Caption text (plain; escaped for LaTeX).
        cells: Sidecar entries (keys of a point and ``runs``); default: one per row of ``data`` with a
            ``run_id``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("pdf", "png"):
        p = out_dir / f"{stem}.{ext}"
        tmp = p.with_name(f".{p.name}.tmp.{ext}")
        fig.savefig(tmp, dpi=300)  # at its printed size: constrained layout keeps labels inside
        tmp.chmod(FILE_MODE)
        tmp.replace(p)
        paths.append(p)
    csv = out_dir / f"{stem}.csv"
    atomic_write_text(csv, data.to_csv(index=False), mode=FILE_MODE)
    if cells is None:
        cells = []
        if "run_id" in data.columns:
            keys = [c for c in ("task", "agent", "backbone", "sample_cap", "seed", "iteration") if c in data.columns]
            for rec in data.to_dict("records"):
                cells.append({**{k: rec[k] for k in keys}, "runs": [rec["run_id"]] if rec["run_id"] else []})
    side = write_sidecar(out_dir / f"{stem}.runs.json", stem, _jsonable(cells))
    cap = atomic_write_text(out_dir / f"{stem}.caption.tex", f"\\ftcaption{{{tex_escape(caption)}}}\n", mode=FILE_MODE)
    return [*paths, csv, side, cap]


def _jsonable(cells: list[dict]) -> list[dict]:
    out = []
    for c in cells:
        out.append({k: (v.item() if hasattr(v, "item") else v) for k, v in c.items()})
    return out


def empty_axes(ax, text: str = "no finished runs") -> None:
    """Mark an axes as having nothing to show."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
