"""Writing tables: a tidy CSV (one row per cell, with the run ids behind it), Markdown and LaTeX.

Every table builder produces a *long* frame (the CSV, which tests and comparisons read) and a *wide*
frame of formatted cells whose columns are a (group, title) MultiIndex; this module renders the
wide frame with bold cells and footnotes.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ftagent.utils.io import atomic_write_text

MISSING = "–"
NOT_RUN_MARK = "†"
#: Marks a cell with a run flagged by the anti-reward-hacking checks (it scores as the base model).
FLAG_MARK = "‡"


def cell(mean: float, spread: float = float("nan"), n: int = 1, digits: int = 1) -> str:
    """``mean`` or ``mean ± spread`` (``–`` when there is no value)."""
    if n == 0 or mean is None or math.isnan(mean):
        return MISSING
    if spread is None or math.isnan(spread):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {spread:.{digits}f}"


def tex_escape(s: str) -> str:
    """Escape LaTeX specials of a cell or label."""
    return (
        s.replace("\\", r"\textbackslash{}")
        .replace("&", r"\&")
        .replace("%", r"\%")
        .replace("_", r"\_")
        .replace("#", r"\#")
        .replace("$", r"\$")
        .replace("±", r"$\pm$")
        .replace("–", "--")
        .replace(NOT_RUN_MARK, r"$^\dagger$")
        .replace(FLAG_MARK, r"$^\ddagger$")
    )


def to_markdown(wide: pd.DataFrame, bold: set[tuple[str, int]], caption: str, notes: list[str]) -> str:
    """A GitHub-flavoured Markdown table; ``bold`` holds (row label, column position) pairs."""
    head = [wide.index.name or "", *[f"{g}: {t}" if g else t for g, t in wide.columns]]
    lines = [f"**{caption}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r, vals in wide.iterrows():
        cells = [f"**{v}**" if (r, i) in bold and v != MISSING else str(v) for i, v in enumerate(vals)]
        lines.append("| " + " | ".join([str(r), *cells]) + " |")
    lines += ["", *notes] if notes else []
    return "\n".join(lines) + "\n"


def to_latex(
    wide: pd.DataFrame, bold: set[tuple[str, int]], caption: str, label: str, notes: list[str]
) -> str:
    """A booktabs LaTeX table with column-group headers; ``bold`` as in :func:`to_markdown`."""
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
        r"\small",
        f"\\caption{{{tex_escape(caption)}}}",
        f"\\label{{{label}}}",
        r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%",
        r"\begin{tabular}{l" + "c" * ncol + "}",
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
    lines.append(
        tex_escape(wide.index.name or "")
        + " & "
        + " & ".join(tex_escape(t) for _, t in wide.columns)
        + r" \\"
    )
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
) -> list[Path]:
    """Write ``<stem>.csv`` (``long``), ``<stem>.md`` and ``<stem>.tex`` (``wide``) atomically."""
    out_dir = Path(out_dir)
    paths = [out_dir / f"{stem}.csv", out_dir / f"{stem}.md", out_dir / f"{stem}.tex"]
    atomic_write_text(paths[0], long.to_csv(index=False))
    if wide is None or wide.empty:
        atomic_write_text(
            paths[1], f"**{caption}**\n\nNo finished runs.\n" + "".join(f"\n{n}\n" for n in notes)
        )
        atomic_write_text(
            paths[2], f"% {caption}\n% No finished runs.\n" + "".join(f"% {n}\n" for n in notes)
        )
        return paths
    atomic_write_text(paths[1], to_markdown(wide, bold, caption, notes))
    atomic_write_text(paths[2], to_latex(wide, bold, caption, f"tab:{stem}", notes))
    return paths


def not_run_notes(not_run: dict[str, str], titles: dict[str, str]) -> list[str]:
    """Footnotes for rows of agents that were not run, in the order of ``titles`` (the registry's)."""
    rank = {a: i for i, a in enumerate(titles)}
    return [
        f"{NOT_RUN_MARK} {titles.get(a, a)}: not run ({not_run[a]})."
        for a in sorted(not_run, key=lambda a: (rank.get(a, len(rank)), a))
    ]


def flag_note(flags: set[str]) -> str:
    """Footnote for cells marked :data:`FLAG_MARK` (``flags``: the failed check names)."""
    return (f"{FLAG_MARK} a run behind the cell failed an integrity check ({', '.join(sorted(flags))}; "
            "see its integrity.json) and is scored as the base model.")
