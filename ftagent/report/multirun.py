"""Multi-run statistics (paper §6): each agent's test score over seeds, ``mean ± SEM`` (or SD).

Option ``spread``: ``sem`` (standard error of the mean, the default) or ``sd`` (sample standard
deviation). Cells with one seed show the mean alone; the tidy CSV keeps mean, sd, sem and n.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ftagent.dojo.taskspec import load_tasks
from ftagent.errors import ConfigError
from ftagent.report.collect import DOMAIN_ORDER, DOMAIN_TITLES, agent_titles, metric_label, row_label
from ftagent.report.formats import MISSING, NOT_RUN_MARK, best_rows, cell, not_run_notes, write_table
from ftagent.report.spec import ArtifactSpec, runs_frame

LONG_COLUMNS = ["row", "agent", "backbone", "task", "mean", "sd", "sem", "n", "seeds", "status", "runs"]


def multirun_long(df: pd.DataFrame, not_run: dict[str, str], titles: dict[str, str]) -> pd.DataFrame:
    """Tidy cells: one row per (agent row, task) with mean, sd, sem, n over seeds, plus ``avg`` rows.

    The ``avg`` row of an agent is the mean over tasks of each seed's score, then mean/sd/sem over seeds
    (only seeds with every task).
    """
    out = []
    ok = df[df["status"] == "ok"] if len(df) else df
    for (agent, backbone, label), g in ok.groupby(["agent", "backbone", "backbone_label"]):
        row = row_label(agent, label, titles)
        for task, gt in g.groupby("task"):
            out.append(_stats(row, agent, backbone, task, gt))
        wide = g.pivot_table(index="seed", columns="task", values="test", aggfunc="mean")
        per_seed = wide.dropna().mean(axis=1)
        vals = per_seed.dropna()
        n = len(vals)
        sd = vals.std(ddof=1) if n > 1 else float("nan")
        out.append(
            {
                "row": row,
                "agent": agent,
                "backbone": backbone,
                "task": "avg",
                "mean": vals.mean() if n else float("nan"),
                "sd": sd,
                "sem": sd / math.sqrt(n) if n > 1 else float("nan"),
                "n": n,
                "seeds": ";".join(map(str, vals.index)),
                "status": "ok",
                "runs": "",
            }
        )
    for agent, reason in not_run.items():
        out.append(
            {
                "row": titles.get(agent, agent) + NOT_RUN_MARK,
                "agent": agent,
                "backbone": "",
                "task": "",
                "mean": float("nan"),
                "sd": float("nan"),
                "sem": float("nan"),
                "n": 0,
                "seeds": "",
                "status": "not_run",
                "runs": reason,
            }
        )
    return pd.DataFrame(out, columns=LONG_COLUMNS)


def _stats(row: str, agent: str, backbone: str, task: str, g: pd.DataFrame) -> dict:
    vals = g["test"].dropna()
    n = len(vals)
    sd = vals.std(ddof=1) if n > 1 else float("nan")
    return {
        "row": row,
        "agent": agent,
        "backbone": backbone,
        "task": task,
        "mean": vals.mean() if n else float("nan"),
        "sd": sd,
        "sem": sd / math.sqrt(n) if n > 1 else float("nan"),
        "n": n,
        "seeds": ";".join(map(str, sorted(g.loc[vals.index, "seed"]))),
        "status": "ok",
        "runs": ";".join(g.loc[vals.index, "run_id"]),
    }


def build_multirun_table(spec: ArtifactSpec, out_dir: Path) -> list[Path]:
    """``<stem>.csv|md|tex``: test scores over seeds per agent and task, ``mean ± spread``."""
    spread = spec.options.get("spread", "sem")
    if spread not in ("sem", "sd"):
        raise ConfigError(f"artifacts.{spec.name}.options.spread: '{spread}' (expected sem or sd)")
    titles = agent_titles(spec.agent_titles)
    long = multirun_long(runs_frame(spec), spec.not_run(), titles)
    seeds = sorted({int(s) for v in long["seeds"] for s in str(v).split(";") if s})
    stat = f"mean ± {spread.upper()}" if len(seeds) > 1 else "one seed, no spread"
    caption = (
        spec.caption
        or f"{spec.title()} ({spec.scale} scale): test scores (metric of each task, %) over {len(seeds)} "
        f"seed(s), {stat}; bold = every row tied for the best (none when all tie or the best is 0)."
    ) + spec.scale_note()
    notes = not_run_notes(spec.not_run(), titles)
    if long.empty:
        return write_table(out_dir, spec.stem, long, None, set(), caption, notes)
    tasks = load_tasks()
    present = set(long.loc[long["status"] == "ok", "task"]) - {"avg"}
    cols = [t.id for d in DOMAIN_ORDER for t in tasks.values() if t.domain == d and t.id in present]
    rank = {a: i for i, a in enumerate(titles)}
    rows = (
        long[["row", "agent"]]
        .drop_duplicates("row")
        .assign(r=lambda x: x["agent"].map(lambda a: rank.get(a, 99)))
        .sort_values(["r", "row"])["row"]
        .tolist()
    )
    keys = [*cols, "avg"]
    cells = {(r, c): MISSING for r in rows for c in keys}
    for rec in long[long["status"] == "ok"].itertuples():
        cells[(rec.row, rec.task)] = cell(rec.mean, getattr(rec, spread), rec.n)
    header = [(DOMAIN_TITLES.get(tasks[c].domain, ""), f"{tasks[c].title} ({metric_label(c)})") for c in cols]
    header += [("", "Avg.")]
    wide = pd.DataFrame(
        [[cells[(r, c)] for c in keys] for r in rows], index=rows, columns=pd.MultiIndex.from_tuples(header)
    )
    wide.index.name = "Method"
    bold = set()
    for i, c in enumerate(keys):
        g = long[(long["task"] == c) & (long["status"] == "ok")]
        for r in best_rows(dict(zip(g["row"], g["mean"], strict=True))):
            bold.add((r, i))
    return write_table(out_dir, spec.stem, long, wide, bold, caption, notes)
