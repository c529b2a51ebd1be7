"""Shared figure helpers: a headless matplotlib with the paper's style, and atomic PDF/PNG/CSV output."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ftagent.utils.io import atomic_write_text


def pyplot():
    """matplotlib.pyplot on the Agg backend with the seaborn paper theme."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    return plt


def scale_suffix(scale: str) -> str:
    """What a figure title must add at non-paper scales."""
    if scale == "mini":
        return ": generated data, tiny model, scripted backbone"
    if scale == "mirror":
        return ": real data, small local models"
    return ""


def save_figure(fig, out_dir: Path, stem: str, data: pd.DataFrame) -> list[Path]:
    """``<stem>.pdf`` (for the paper), ``<stem>.png`` and ``<stem>.csv`` (the plotted data), atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("pdf", "png"):
        p = out_dir / f"{stem}.{ext}"
        tmp = p.with_name(f".{p.name}.tmp.{ext}")
        fig.savefig(tmp, dpi=200, bbox_inches="tight")
        tmp.replace(p)
        paths.append(p)
    csv = out_dir / f"{stem}.csv"
    atomic_write_text(csv, data.to_csv(index=False))
    return [*paths, csv]


def empty_axes(ax, text: str = "no finished runs") -> None:
    """Mark an axes as having nothing to show."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
