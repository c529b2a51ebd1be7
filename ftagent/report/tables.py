"""Tables of the paper from run records: tidy CSV (with the run ids behind every cell), Markdown, LaTeX.

The main table (paper §5, "main results"): one row per agent (FT-Agent and agents evaluated on both
halves get a *Val* and a *Test* row), one column per task grouped by domain, cells = mean test (or
validation) score over seeds, ``mean ± std`` when there are several seeds. The best test score of each
column is bold. Rows of the offline scripted backbone say ``scripted``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ftagent.dojo.taskspec import load_tasks
from ftagent.report.collect import AGENT_TITLES, DOMAIN_ORDER, DOMAIN_TITLES, collect_runs, row_label
from ftagent.utils.io import atomic_write_text

#: Agents whose validation scores are shown as a separate row (they iterate on validation feedback).
ITERATING_AGENTS = {"ft-agent", "coding-agent"}


def _cell(mean: float, std: float, n: int) -> str:
    if n == 0 or math.isnan(mean):
        return "–"
    return f"{mean:.1f}" if n == 1 or math.isnan(std) else f"{mean:.1f} ± {std:.1f}"


def main_table_long(df: pd.DataFrame) -> pd.DataFrame:
    """Tidy cells: one row per (row label, split, task) with mean, std, n and the run ids behind it."""
    if df.empty:
        return pd.DataFrame(columns=["row", "agent", "backbone", "split", "task", "domain", "mean", "std", "n", "runs"])
    ok = df[df["status"] == "ok"]
    out = []
    for (agent, backbone, label, task, domain), g in ok.groupby(
            ["agent", "backbone", "backbone_label", "task", "domain"], dropna=False):
        splits = ["validation", "test"] if agent in ITERATING_AGENTS else ["test"]
        for split in splits:
            vals = g[split].dropna()
            name = row_label(agent, label) + (f" {'Val' if split == 'validation' else 'Test'}"
                                              if agent in ITERATING_AGENTS else "")
            out.append({"row": name, "agent": agent, "backbone": backbone, "split": split, "task": task,
                        "domain": domain, "mean": vals.mean() if len(vals) else float("nan"),
                        "std": vals.std(ddof=1) if len(vals) > 1 else float("nan"), "n": len(vals),
                        "runs": ";".join(g.loc[vals.index, "run_id"])})
    return pd.DataFrame(out)


def _ordered(long: pd.DataFrame) -> tuple[list[str], list[str]]:
    tasks = load_tasks()
    present = set(long["task"])
    cols = [t.id for d in DOMAIN_ORDER for t in tasks.values() if t.domain == d and t.id in present]
    agent_rank = {a: i for i, a in enumerate(AGENT_TITLES)}
    rows = (long[["row", "agent", "split"]].drop_duplicates()
            .assign(r=lambda x: x["agent"].map(lambda a: agent_rank.get(a, 99)),
                    s=lambda x: x["split"].map({"validation": 0, "test": 1}))
            .sort_values(["r", "row", "s"])["row"].tolist())
    return rows, cols


def main_table_wide(long: pd.DataFrame) -> pd.DataFrame:
    """Rows x tasks of formatted cells, columns a (domain, task title) MultiIndex."""
    tasks = load_tasks()
    rows, cols = _ordered(long)
    cells = {(r, c): "–" for r in rows for c in cols}
    for rec in long.itertuples():
        cells[(rec.row, rec.task)] = _cell(rec.mean, rec.std, rec.n)
    wide = pd.DataFrame([[cells[(r, c)] for c in cols] for r in rows], index=rows,
                        columns=pd.MultiIndex.from_tuples([(DOMAIN_TITLES[tasks[c].domain], tasks[c].title) for c in cols]))
    wide.index.name = "Method"
    return wide


def _best_rows(long: pd.DataFrame) -> dict[str, str]:
    test = long[long["split"] == "test"].dropna(subset=["mean"])
    return {t: g.loc[g["mean"].idxmax(), "row"] for t, g in test.groupby("task")} if len(test) else {}


def to_markdown(wide: pd.DataFrame, best: dict[str, str], cols: list[str], caption: str) -> str:
    """A GitHub-flavoured Markdown table, best test score per column in bold."""
    head = ["Method", *[f"{d}: {t}" for d, t in wide.columns]]
    lines = [f"**{caption}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r, vals in wide.iterrows():
        cells = [f"**{v}**" if best.get(c) == r else v for c, v in zip(cols, vals, strict=True)]
        lines.append("| " + " | ".join([str(r), *cells]) + " |")
    return "\n".join(lines) + "\n"


def _tex_escape(s: str) -> str:
    return (s.replace("\\", r"\textbackslash{}").replace("&", r"\&").replace("%", r"\%").replace("_", r"\_")
            .replace("#", r"\#").replace("±", r"$\pm$"))


def to_latex(wide: pd.DataFrame, best: dict[str, str], cols: list[str], caption: str, label: str) -> str:
    """A booktabs LaTeX table with domain headers, best test score per column in bold."""
    doms: list[tuple[str, int]] = []
    for d, _ in wide.columns:
        if doms and doms[-1][0] == d:
            doms[-1] = (d, doms[-1][1] + 1)
        else:
            doms.append((d, 1))
    lines = [r"\begin{table*}[t]", r"\centering", r"\small", f"\\caption{{{_tex_escape(caption)}}}",
             f"\\label{{{label}}}", r"\begin{tabular}{l" + "c" * len(cols) + "}", r"\toprule",
             " & " + " & ".join(f"\\multicolumn{{{n}}}{{c}}{{{_tex_escape(d)}}}" for d, n in doms) + r" \\"]
    start = 2
    rules = []
    for _, n in doms:
        rules.append(f"\\cmidrule(lr){{{start}-{start + n - 1}}}")
        start += n
    lines.append("".join(rules))
    lines.append("Method & " + " & ".join(_tex_escape(t) for _, t in wide.columns) + r" \\")
    lines.append(r"\midrule")
    for r, vals in wide.iterrows():
        cells = [f"\\textbf{{{_tex_escape(v)}}}" if best.get(c) == r else _tex_escape(v)
                 for c, v in zip(cols, vals, strict=True)]
        lines.append(" & ".join([_tex_escape(str(r)), *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table*}"]
    return "\n".join(lines) + "\n"


def build_main_table(runs_dir: Path | list[Path], out_dir: Path, scale: str) -> list[Path]:
    """``main.csv`` (tidy, with run ids), ``main.md`` and ``main.tex`` under ``out_dir``."""
    df = collect_runs(runs_dir)
    long = main_table_long(df)
    out_dir = Path(out_dir)
    caption = (f"Main results ({scale} scale): test scores (FT-Agent also validation) per task, "
               "mean over seeds; best test score per task in bold.")
    if scale == "mini":
        caption += " Mini scale: generated data, tiny model; the scripted backbone is not an LLM."
    paths = [out_dir / "main.csv", out_dir / "main.md", out_dir / "main.tex"]
    atomic_write_text(paths[0], long.to_csv(index=False))
    if long.empty:
        atomic_write_text(paths[1], f"**{caption}**\n\nNo finished runs.\n")
        atomic_write_text(paths[2], f"% {caption}\n% No finished runs.\n")
        return paths
    wide = main_table_wide(long)
    _, cols = _ordered(long)
    best = _best_rows(long)
    atomic_write_text(paths[1], to_markdown(wide, best, cols, caption))
    atomic_write_text(paths[2], to_latex(wide, best, cols, caption, "tab:main"))
    return paths
