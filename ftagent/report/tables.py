"""Agent x task tables (paper §5 main results, the 3B ablation, the frontier-agent comparison).

One row per agent (and backbone); agents that iterate on validation feedback (FT-Agent, coding
agents) get a *Val* and a *Test* row. One column per task, grouped by domain, plus the average over
tasks. Cells are the mean over seeds (``mean ± sd`` with several seeds); the best test score of each
column is bold. Agents the experiment lists but could not run get a labelled row (``†``, with the
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
    row_label,
)
from ftagent.report.formats import FLAG_MARK, MISSING, NOT_RUN_MARK, cell, flag_note, not_run_notes, write_table
from ftagent.report.spec import ArtifactSpec, runs_frame, spec_from_runs

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
    "status",
    "runs",
    "flags",
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

    Args:
        df: Runs (:func:`ftagent.report.collect.collect_runs`).
        not_run: Agents listed but not run, with the reason (one ``not_run`` row each).
        titles: Agent id -> title.
    """
    titles = agent_titles(titles)
    out = []
    ok = df[df["status"] == "ok"] if len(df) else df
    for (agent, backbone, label, model, task, domain), g in ok.groupby(
        ["agent", "backbone", "backbone_label", "base_model", "task", "domain"], dropna=False
    ):
        splits = ["validation", "test"] if agent in ITERATING_AGENTS else ["test"]
        for split in splits:
            vals = g[split].dropna()
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
                    "status": "ok",
                    "runs": ";".join(g.loc[vals.index, "run_id"]),
                    "flags": _flags(g.loc[vals.index]),
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
    tasks = load_tasks()
    present = set(long.loc[long["status"] == "ok", "task"])
    cols = [t.id for d in DOMAIN_ORDER for t in tasks.values() if t.domain == d and t.id in present]
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
    ok = long[long["status"] == "ok"]
    for _, g in ok.groupby(["row", "split"]):
        vals = g.set_index("task")["mean"].reindex(cols)
        first = g.iloc[0]
        extra.append(
            {
                **first.to_dict(),
                "task": "avg",
                "domain": "",
                "mean": vals.mean() if len(cols) and vals.notna().all() else float("nan"),
                "std": float("nan"),
                "n": int(vals.notna().sum()),
                "runs": "",
                "flags": "",
            }
        )
    return pd.concat([long, pd.DataFrame(extra, columns=long.columns)], ignore_index=True) if extra else long


def agent_task_wide(long: pd.DataFrame, titles: dict[str, str] | None = None) -> tuple[pd.DataFrame, set]:
    """Rows x (domain, task) formatted cells plus ``Avg.``, and the bold (best test) cells."""
    titles = agent_titles(titles)
    tasks = load_tasks()
    rows, cols = _order(long, titles)
    keys = [*cols, "avg"]
    cells = {(r, c): MISSING for r in rows for c in keys}
    for rec in long[long["status"] == "ok"].itertuples():
        cells[(rec.row, rec.task)] = cell(rec.mean, rec.std, rec.n) + (FLAG_MARK if getattr(rec, "flags", "") else "")
    header = [(DOMAIN_TITLES.get(tasks[c].domain, tasks[c].domain), tasks[c].title) for c in cols] + [
        ("", "Avg.")
    ]
    wide = pd.DataFrame(
        [[cells[(r, c)] for c in keys] for r in rows], index=rows, columns=pd.MultiIndex.from_tuples(header)
    )
    wide.index.name = "Method"
    bold = set()
    test = long[(long["split"] == "test") & (long["status"] == "ok")].dropna(subset=["mean"])
    for i, c in enumerate(keys):
        g = test[test["task"] == c]
        if len(g):
            bold.add((g.loc[g["mean"].idxmax(), "row"], i))
    return wide, bold


def build_agent_task_table(spec: ArtifactSpec, out_dir: Path) -> list[Path]:
    """``<stem>.csv`` (tidy, with run ids), ``<stem>.md`` and ``<stem>.tex`` under ``out_dir``."""
    titles = _titles(spec)
    df = runs_frame(spec)
    long = agent_task_long(df, spec.not_run(), titles)
    _, cols = _order(long, titles)
    long = _with_average(long, cols)
    caption = (
        spec.caption
        or f"{spec.title()} ({spec.scale} scale): test scores (iterating agents also "
        "validation) per task, mean over seeds; best test score per column in bold."
    ) + spec.scale_note()
    missing = spec.planned() - df["run_id"].nunique() if len(df) else spec.planned()
    notes = not_run_notes(spec.not_run(), titles)
    if missing > 0:
        notes.append(f"{missing} planned run(s) have no records yet ({MISSING}).")
    flagged = {f for v in long.get("flags", pd.Series(dtype=str)).fillna("") for f in str(v).split(";") if f}
    if flagged:
        notes.append(flag_note(flagged))
    has_rows = (long["status"] == "ok").any() or (long["status"] == "not_run").any()
    wide, bold = agent_task_wide(long, titles) if has_rows else (None, set())
    return write_table(out_dir, spec.stem, long, wide, bold, caption, notes)


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
