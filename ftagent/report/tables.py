"""Agent x task tables (paper §5 main results, the 3B ablation, the frontier-agent comparison).

One row per agent (and backbone); agents that iterate on validation feedback (FT-Agent, coding
agents) get a *Val* and a *Test* row. One column per task, grouped by domain, plus the average over
tasks. Cells are the mean over seeds (``mean ± sd`` with several seeds); every row tied for the best test
score of a column is bold (none when all tie or the best is 0). Every planned run has its cell: one
without a record is shown as missing, never 0, and the columns of a table without records remain. Agents the experiment lists but could not run get a labelled row (``†``, with the
reason in a footnote), never silently dropped. Rows of the offline scripted backbone say
``scripted``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ftagent.dojo.taskspec import load_tasks
from ftagent.report.collect import (
    DOMAIN_ORDER,
    DOMAIN_TITLES,
    agent_titles,
    collect_runs,
    metric_label,
    profile_note,
    row_label,
)
from ftagent.report.formats import FLAG_MARK, MISSING, NOT_RUN_MARK, best_rows, cell, not_run_notes, write_table
from ftagent.report.spec import ArtifactSpec, runs_frame, spec_from_runs

#: LaTeX column type of a task column: centred, wrapping header (needs the array package).
TASK_COLUMN_TEX = r">{\centering\arraybackslash}p{1.45cm}"

#: Agents whose validation scores are shown as a separate row (they iterate on validation feedback).
ITERATING_AGENTS = {"ft-agent", "coding-agent", "claude-code", "codex-cli", "gemini-cli", "qwen-code", "opencode"}

LONG_COLUMNS = [
    "row",
    "agent",
    "backbone",
    "base_model",
    "split",
    "task",
    "domain",
    "mean",
    "std",
    "n",
    "planned",
    "status",
    "runs",
    "flagged",
]


def _titles(spec: ArtifactSpec | None) -> dict[str, str]:
    return agent_titles(spec.agent_titles if spec else None)


def _split_name(agent: str, split: str) -> str:
    if agent not in ITERATING_AGENTS:
        return ""
    return " Val" if split == "validation" else " Test"


def agent_task_long(
    df: pd.DataFrame, not_run: dict[str, str] | None = None, titles: dict[str, str] | None = None
) -> pd.DataFrame:
    """Tidy cells: one row per (row label, split, task) with mean, std, n, status and the run ids behind it.

    Every planned run makes its cell exist: a cell whose runs have no record (``status`` missing) or
    no score (failed runs) keeps ``mean`` NaN and ``n`` 0, shown as missing, never as 0. ``status`` is
    ``ok`` (at least one score), ``missing`` (a planned run has no record) or ``failed``.

    Args:
        df: Runs (:func:`ftagent.report.spec.runs_frame`, or :func:`ftagent.report.collect.collect_runs`).
        not_run: Agents listed but not run, with the reason (one ``not_run`` row each).
        titles: Agent id -> title.
    """
    titles = agent_titles(titles)
    out = []
    df = df.drop_duplicates(subset=["run_dir"]) if "run_dir" in df.columns and len(df) else df
    for (agent, backbone, label, model, task, domain), g in df.groupby(
        ["agent", "backbone", "backbone_label", "base_model", "task", "domain"], dropna=False
    ):
        splits = ["validation", "test"] if agent in ITERATING_AGENTS else ["test"]
        ok = g[g["status"] == "ok"]
        for split in splits:
            vals = pd.to_numeric(ok[split], errors="coerce").dropna()
            status = "ok" if len(vals) else ("missing" if (g["status"] == "missing").any() else "failed")
            out.append(
                {
                    "row": row_label(agent, label, titles) + _split_name(agent, split),
                    "agent": agent,
                    "backbone": backbone,
                    "base_model": model,
                    "split": split,
                    "task": task,
                    "domain": domain,
                    "mean": vals.mean() if len(vals) else float("nan"),
                    "std": vals.std(ddof=1) if len(vals) > 1 else float("nan"),
                    "n": len(vals),
                    "planned": len(g),
                    "status": status,
                    "runs": ";".join(ok.loc[vals.index, "run_id"]),
                    "flagged": int((g.get("integrity_flags", pd.Series("", index=g.index)).fillna("") != "").sum()),
                }
            )
    for agent, reason in (not_run or {}).items():
        out.append(
            {
                "row": titles.get(agent, agent) + NOT_RUN_MARK,
                "agent": agent,
                "backbone": "",
                "base_model": "",
                "split": "test",
                "task": "",
                "domain": "",
                "mean": float("nan"),
                "std": float("nan"),
                "n": 0,
                "planned": 0,
                "status": "not_run",
                "runs": reason,
                "flags": "",
            }
        )
    return pd.DataFrame(out, columns=LONG_COLUMNS)


def _flags(g: pd.DataFrame) -> str:
    """Failed integrity checks of the runs behind a cell (``;``-joined names, empty when none)."""
    if "integrity_flags" not in g:
        return ""
    return ";".join(sorted({f for v in g["integrity_flags"].fillna("") for f in str(v).split(";") if f}))


def main_table_long(df: pd.DataFrame) -> pd.DataFrame:
    """Tidy cells of the main table from a run frame (kept for notebooks and older callers)."""
    return agent_task_long(df)


def _order(long: pd.DataFrame, titles: dict[str, str]) -> tuple[list[str], list[str]]:
    """Row labels (registry order, Val before Test) and task columns (domain order) of the cells."""
    tasks = load_tasks()
    present = set(long.loc[long["status"] != "not_run", "task"]) - {"avg"}
    cols = [t.id for d in DOMAIN_ORDER for t in tasks.values() if t.domain == d and t.id in present]
    cols += sorted(present - set(cols))  # tasks outside the registry keep a column
    rank = {a: i for i, a in enumerate(titles)}
    rows = (
        long[["row", "agent", "split", "status"]]
        .drop_duplicates("row")
        .assign(
            r=lambda x: x["agent"].map(lambda a: rank.get(a, 99)),
            base=lambda x: x["row"].str.replace(r" (Val|Test)$", "", regex=True),
            s=lambda x: x["split"].map({"validation": 0, "test": 1}),
        )
        .sort_values(["r", "base", "s"])["row"]
        .tolist()
    )
    return rows, cols


def _with_average(long: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Adds one ``task = avg`` cell per row: the mean over the tasks, when every task has a value."""
    extra = []
    cells = long[long["status"] != "not_run"]
    for _, g in cells.groupby(["row", "split"]):
        vals = g.set_index("task")["mean"].reindex(cols)
        first = g.iloc[0]
        complete = bool(len(cols)) and vals.notna().all()
        extra.append(
            {
                **first.to_dict(),
                "task": "avg",
                "domain": "",
                "mean": vals.mean() if complete else float("nan"),
                "std": float("nan"),
                "n": int(vals.notna().sum()),
                "planned": len(cols),
                "status": "ok" if complete else "incomplete",
                "runs": ";".join(r for r in g["runs"] if isinstance(r, str) and r),
            }
        )
    return pd.concat([long, pd.DataFrame(extra, columns=long.columns)], ignore_index=True) if extra else long


def _higher_is_better(task: str) -> bool:
    t = load_tasks().get(task)
    return t.metric.higher_is_better if t else True


def agent_task_wide(long: pd.DataFrame, titles: dict[str, str] | None = None) -> tuple[pd.DataFrame, set]:
    """Rows x (domain, task with metric and unit) formatted cells plus ``Avg.``, and the bold cells.

    Bold: in each column, every test row tied for the best test score (:func:`best_rows`: no bold
    when all tie or the best is 0).
    """
    titles = agent_titles(titles)
    tasks = load_tasks()
    rows, cols = _order(long, titles)
    keys = [*cols, "avg"]
    cells = {(r, c): MISSING for r in rows for c in keys}
    for rec in long[long["status"] != "not_run"].itertuples():
        mark = FLAG_MARK if (getattr(rec, "flagged", 0) or 0) > 0 and rec.task != "avg" else ""
        cells[(rec.row, rec.task)] = cell(rec.mean, rec.std, rec.n) + mark
    header = [
        (
            DOMAIN_TITLES.get(tasks[c].domain, tasks[c].domain) if c in tasks else "",
            f"{tasks[c].title if c in tasks else c} ({metric_label(c)})",
        )
        for c in cols
    ] + [("", "Avg.")]
    wide = pd.DataFrame(
        [[cells[(r, c)] for c in keys] for r in rows], index=rows, columns=pd.MultiIndex.from_tuples(header)
    )
    wide.index.name = "Method"
    bold = set()
    test = long[(long["split"] == "test") & (long["status"] != "not_run")]
    for i, c in enumerate(keys):
        g = test[test["task"] == c]
        hib = all(_higher_is_better(t) for t in cols) if c == "avg" else _higher_is_better(c)
        for r in best_rows(dict(zip(g["row"], g["mean"], strict=True)), hib):
            bold.add((r, i))
    return wide, bold


def table_caption(spec: ArtifactSpec, long: pd.DataFrame, what: str) -> str:
    """Caption naming the split, metric and unit, and "mean over seeds" only when a cell has several."""
    cells = long[(long["status"] == "ok") & (long["task"] != "avg")]
    seeds = int(cells["n"].max()) if len(cells) else 0
    over = f", mean ± SD over up to {seeds} seeds" if seeds > 1 else ", one run per cell"
    return (
        f"{spec.title()} ({spec.scale} scale): {what}{over}. Each column names its task's metric and unit "
        "(%: percent of items of the held-out split); Avg. = the mean over the task columns. Bold: the best "
        f"test score of a column (every tied row; none when all tie or the best is 0); {MISSING} = no "
        "score (planned run without record, or failed)."
    )


def build_agent_task_table(spec: ArtifactSpec, out_dir: Path) -> list[Path]:
    """``<stem>.csv`` (tidy, with run ids), ``<stem>.md``, ``<stem>.tex`` and ``<stem>.runs.json``."""
    titles = _titles(spec)
    df = runs_frame(spec)
    long = agent_task_long(df, spec.not_run(), titles)
    _, cols = _order(long, titles)
    long = _with_average(long, cols)
    caption = (
        spec.caption
        or table_caption(spec, long, "test scores (iterating agents also validation scores, Val rows)")
    ) + spec.scale_note() + profile_note(df)
    missing = int((df["status"] == "missing").sum()) if len(df) else spec.planned()
    notes = not_run_notes(spec.not_run(), titles)
    if missing > 0:
        notes.append(f"{missing} planned run(s) have no records yet ({MISSING}).")
    if "flagged" in long.columns and (long["flagged"].fillna(0) > 0).any():
        notes.append(f"{FLAG_MARK} a run behind the cell failed an integrity check (run.json integrity_flags; "
                     "integrity.json has the details).")
    has_rows = len(long) > 0
    wide, bold = agent_task_wide(long, titles) if has_rows else (None, set())
    colspec = {i: TASK_COLUMN_TEX for i in range(len(wide.columns) - 1)} if wide is not None else None
    return write_table(out_dir, spec.stem, long, wide, bold, caption, notes, colspec)


def build_main_table(runs_dir: Path | list[Path], out_dir: Path, scale: str) -> list[Path]:
    """``main.csv``, ``main.md`` and ``main.tex`` from every run under ``runs_dir`` (no experiment config)."""
    spec = spec_from_runs("main", "agent_task", runs_dir, scale)
    return build_agent_task_table(spec.model_copy(update={"stem": "main"}), out_dir)


def scores_frame(runs_dir: Path | list[Path]) -> pd.DataFrame:
    """The run table (exposed for notebooks)."""
    return collect_runs(runs_dir)


__all__ = [
    "agent_task_long",
    "agent_task_wide",
    "build_agent_task_table",
    "build_main_table",
    "main_table_long",
]
