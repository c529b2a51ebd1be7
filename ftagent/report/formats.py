"""Writing tables: a tidy CSV (one row per cell, with the run ids behind it), Markdown and LaTeX.

Every table builder produces a *long* frame (the CSV, which tests and comparisons read) and a *wide*
frame of formatted cells whose columns are a (group, title) MultiIndex; this module renders the
wide frame with bold cells and footnotes.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from ftagent.report.outputs import FILE_MODE, MISSING, NOT_RUN_MARK, tex_escape, write_sidecar
from ftagent.utils.io import atomic_write_text

#: Marks a cell with a run flagged by the anti-reward-hacking checks (it scores as the base model).
FLAG_MARK = "‡"

__all__ = ["FILE_MODE", "FLAG_MARK", "MISSING", "NOT_RUN_MARK", "best_rows", "cell", "tex_escape", "write_sidecar", "write_table"]


def best_rows(values: dict[str, float], higher_is_better: bool = True, digits: int = 1) -> set[str]:
    """The rows to bold in one column: every row tied for the best value at the shown precision.

    Nothing is bold when fewer than two rows have a value, when all shown values tie (no row is
    better than another), or when the best value is 0 with higher-is-better metrics (a 0.0 is no
    result to highlight, e.g. a base model that solves nothing).

    Args:
        values: Row label -> mean (NaN = missing, ignored).
        higher_is_better: Direction of the metric.
        digits: Decimals shown in the table (ties are judged on the rounded values).
    """
    shown = {r: round(float(v), digits) for r, v in values.items() if v is not None and not math.isnan(v)}
    if len(shown) < 2 or len(set(shown.values())) == 1:
        return set()
    best = max(shown.values()) if higher_is_better else min(shown.values())
    if higher_is_better and best == 0:
        return set()
    return {r for r, v in shown.items() if v == best}


def cells_from_long(long: pd.DataFrame, row: str = "row", column: str = "task") -> list[dict]:
    """Sidecar cells from a tidy frame with ``row``, ``column`` and ``runs`` (``;``-joined run ids)."""
    out = []
    for rec in long.to_dict("records"):
        runs = rec.get("runs")
        ids = [r for r in str(runs).split(";") if r] if isinstance(runs, str) and rec.get("status") != "not_run" else []
        out.append({"row": rec.get(row), "column": rec.get(column), "status": rec.get("status", "ok"), "runs": ids})
    return out


def cell(mean: float, spread: float = float("nan"), n: int = 1, digits: int = 1) -> str:
    """``mean`` or ``mean ± spread`` (``–`` when there is no value)."""
    if n == 0 or mean is None or math.isnan(mean):
        return MISSING
    if spread is None or math.isnan(spread):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {spread:.{digits}f}"


def to_markdown(wide: pd.DataFrame, bold: set[tuple[str, int]], caption: str, notes: list[str]) -> str:
    """A GitHub-flavoured Markdown table; ``bold`` holds (row label, column position) pairs."""
    head = [wide.index.name or "", *[f"{g}: {t}" if g else t for g, t in wide.columns]]
    lines = [f"**{caption}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r, vals in wide.iterrows():
        cells = [f"**{v}**" if (r, i) in bold and v != MISSING else str(v) for i, v in enumerate(vals)]
        lines.append("| " + " | ".join([str(r), *cells]) + " |")
    lines += ["", *notes] if notes else []
    return "\n".join(lines) + "\n"


def _split_title(t: str) -> tuple[str, str]:
    """``AIME 2025 (Acc., %)`` -> (``AIME 2025``, ``(Acc., %)``): the metric goes on its own header line."""
    m = re.match(r"^(.*\S) (\([^()]*\))$", t)
    return (m.group(1), m.group(2)) if m else (t, "")


def to_latex(
    wide: pd.DataFrame,
    bold: set[tuple[str, int]],
    caption: str,
    label: str,
    notes: list[str],
    colspec: dict[int, str] | None = None,
) -> str:
    """A booktabs LaTeX table with column-group headers; ``bold`` as in :func:`to_markdown`.

    A column title ending in a parenthesis (the metric and unit) gets it on a second header line.
    ``colspec`` overrides the column type by position (e.g. ``{1: "p{5cm}"}`` for a text column).
    """
    groups: list[tuple[str, int]] = []
    for g, _ in wide.columns:
        if groups and groups[-1][0] == g:
            groups[-1] = (g, groups[-1][1] + 1)
        else:
            groups.append((g, 1))
    ncol = len(wide.columns)
    lines = [
        r"\begin{table*}[!htbp]",
        r"\centering",
        r"\footnotesize",
        r"\setlength{\tabcolsep}{3.5pt}",
        f"\\caption{{{tex_escape(caption)}}}",
        f"\\label{{{label}}}",
        r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%",
        r"\begin{tabular}{l" + "".join((colspec or {}).get(i, "c") for i in range(ncol)) + "}",
        r"\toprule",
    ]
    if any(g for g, _ in groups):
        lines.append(
            " & " + " & ".join(f"\\multicolumn{{{n}}}{{c}}{{{tex_escape(g)}}}" for g, n in groups) + r" \\"
        )
        start, rules = 2, []
        for g, n in groups:
            if g:
                rules.append(f"\\cmidrule(lr){{{start}-{start + n - 1}}}")
            start += n
        lines.append("".join(rules))
    titles = [_split_title(t) for _, t in wide.columns]
    lines.append(tex_escape(wide.index.name or "") + " & " + " & ".join(tex_escape(a) for a, _ in titles) + r" \\")
    if any(b for _, b in titles):
        lines.append(" & " + " & ".join(tex_escape(b) for _, b in titles) + r" \\")
    lines.append(r"\midrule")
    for r, vals in wide.iterrows():
        cells = [
            f"\\textbf{{{tex_escape(str(v))}}}" if (r, i) in bold and v != MISSING else tex_escape(str(v))
            for i, v in enumerate(vals)
        ]
        lines.append(" & ".join([tex_escape(str(r)), *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}}"]
    if notes:
        lines += [r"\par\smallskip\footnotesize " + r" \\ ".join(tex_escape(n) for n in notes)]
    lines += [r"\end{table*}"]
    return "\n".join(lines) + "\n"


def write_table(
    out_dir: Path,
    stem: str,
    long: pd.DataFrame,
    wide: pd.DataFrame | None,
    bold: set[tuple[str, int]],
    caption: str,
    notes: list[str],
    colspec: dict[int, str] | None = None,
) -> list[Path]:
    """Write ``<stem>.csv`` (``long``), ``<stem>.md``, ``<stem>.tex`` (``wide``) and the sidecar atomically.

    The sidecar ``<stem>.runs.json`` lists the run ids behind every cell of ``long`` (its ``row``,
    ``task`` and ``runs`` columns; see :func:`write_sidecar`). Files are written ``0644``.
    """
    out_dir = Path(out_dir)
    paths = [out_dir / f"{stem}.csv", out_dir / f"{stem}.md", out_dir / f"{stem}.tex"]
    atomic_write_text(paths[0], long.to_csv(index=False), mode=FILE_MODE)
    column = "column" if "column" in long.columns else "task"
    row = "row" if "row" in long.columns else long.columns[0] if len(long.columns) else "row"
    write_sidecar(out_dir / f"{stem}.runs.json", stem, cells_from_long(long, row, column))
    if wide is None or wide.empty:
        atomic_write_text(
            paths[1], f"**{caption}**\n\nNo finished runs.\n" + "".join(f"\n{n}\n" for n in notes),
            mode=FILE_MODE,
        )
        atomic_write_text(
            paths[2], f"% {caption}\n% No finished runs.\n" + "".join(f"% {n}\n" for n in notes),
            mode=FILE_MODE,
        )
        return [*paths, out_dir / f"{stem}.runs.json"]
    atomic_write_text(paths[1], to_markdown(wide, bold, caption, notes), mode=FILE_MODE)
    atomic_write_text(paths[2], to_latex(wide, bold, caption, f"tab:{stem}", notes, colspec), mode=FILE_MODE)
    return [*paths, out_dir / f"{stem}.runs.json"]


def not_run_notes(not_run: dict[str, str], titles: dict[str, str]) -> list[str]:
    """Footnotes for rows of agents that were not run, in the order of ``titles`` (the registry's)."""
    rank = {a: i for i, a in enumerate(titles)}
    return [
        f"{NOT_RUN_MARK} {titles.get(a, a)}: not run ({not_run[a]})."
        for a in sorted(not_run, key=lambda a: (rank.get(a, len(rank)), a))
    ]

