"""Efficiency and cost per agent (paper §6 "efficiency"): iterations, improvement rate, failures, GPU-hours, LLM cost.

One row per method (agent and backbone), pooled over the artifact's runs with records:

* **iterations per run** — ``run.json`` ``iterations`` (experiments started), mean over runs;
* **improvement rate** — improving iterations / iterations, pooled over runs, in %. An iteration
  *improves* when its validation score is strictly higher than the best validation score before it,
  starting from the base model's validation score (``eval.json``, experiment None) — the share of
  experiments that raise the best-so-far. Failed iterations count in the denominator (they started
  and did not improve). The paper's exact definition is not available to us; this one is ours and
  is stated in every caption;
* **failures by class** — failed iterations per failure class (CONFIG, OOM, DATA, ENV, TIMEOUT), total
  over runs;
* **GPU-hours per run** — ``run.json`` ``gpu_hours``, mean;
* **tokens and USD per iteration** — backbone tokens (prompt + completion) and cost (``run.json``
  ``llm``) summed over runs, divided by the iterations summed over runs.

Agents without iterations (the base model) show ``–`` for per-iteration numbers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ftagent.report.collect import agent_titles, collect_traces, row_label
from ftagent.report.formats import MISSING, not_run_notes, write_table
from ftagent.report.spec import ArtifactSpec, runs_frame

FAILURE_CLASSES = ["CONFIG", "OOM", "DATA", "ENV", "TIMEOUT"]
LONG_COLUMNS = ["row", "agent", "backbone", "column", "value", "n_runs", "status", "runs"]


def improving_iterations(tr: pd.DataFrame) -> pd.Series:
    """Per trace row: whether its validation score beats the best before it (base model's to start)."""
    out = pd.Series(False, index=tr.index)
    for _, g in tr.groupby("run_id"):
        g = g.sort_values("iteration")
        best = g["base_validation"].iloc[0] if len(g) else float("nan")
        for i, v in zip(g.index, g["validation"], strict=True):
            if not pd.isna(v) and (pd.isna(best) or v > best):
                out[i] = True
                best = v
    return out


def efficiency_frame(spec: ArtifactSpec) -> pd.DataFrame:
    """One row per method with the numbers of the module docstring (NaN where undefined)."""
    titles = agent_titles(spec.agent_titles)
    df = runs_frame(spec)
    df = df[df["status"].isin(["ok", "agent_failed"])] if len(df) else df
    tr = collect_traces(df["run_dir"].tolist()) if len(df) else collect_traces([])
    if len(tr):
        tr = tr.assign(improves=improving_iterations(tr))
    rows = []
    for (agent, backbone, label), g in df.groupby(["agent", "backbone", "backbone_label"]):
        t = tr[tr["run_id"].isin(g["run_id"])] if len(tr) else tr
        iters = float(pd.to_numeric(g["iterations"]).sum())
        row = {
            "row": row_label(agent, label, titles), "agent": agent, "backbone": backbone, "n_runs": len(g),
            "iterations_per_run": pd.to_numeric(g["iterations"]).mean(),
            "improvement_rate_pct": 100.0 * float(t["improves"].sum()) / len(t) if len(t) else float("nan"),
            "gpu_hours_per_run": pd.to_numeric(g["gpu_hours"]).mean(),
            "tokens_per_iteration": float(pd.to_numeric(g["llm_tokens"]).sum()) / iters if iters else float("nan"),
            "usd_per_iteration": float(pd.to_numeric(g["llm_cost_usd"]).sum()) / iters if iters else float("nan"),
            "runs": ";".join(g["run_id"]),
        }
        for fc in FAILURE_CLASSES:
            row[f"failures_{fc}"] = int(((t["status"] == "failed") & (t["failure_class"] == fc)).sum()) if len(t) else 0
        rows.append(row)
    return pd.DataFrame(rows)


def build_efficiency_table(spec: ArtifactSpec, out_dir: Path) -> list[Path]:
    """``<stem>.csv|md|tex|runs.json``: efficiency and cost per method."""
    titles = agent_titles(spec.agent_titles)
    eff = efficiency_frame(spec)
    caption = (
        spec.caption
        or f"Efficiency and cost per method ({spec.scale} scale), over the runs with records: iterations per "
        "run (experiments started, mean); improvement rate (%: iterations whose validation score beats the best "
        "before it, the base model's to start, over all iterations, failed ones included); failed iterations "
        "per failure class (total); GPU-hours per run (mean); backbone tokens and USD per iteration (sums over "
        f"runs / iterations). {MISSING} = undefined (no iterations)."
    ) + spec.scale_note()
    notes = not_run_notes(spec.not_run(), titles)
    metrics = ["iterations_per_run", "improvement_rate_pct", *[f"failures_{c}" for c in FAILURE_CLASSES],
               "gpu_hours_per_run", "tokens_per_iteration", "usd_per_iteration"]
    long = pd.DataFrame(
        [{"row": r["row"], "agent": r["agent"], "backbone": r["backbone"], "column": m, "value": r[m],
          "n_runs": r["n_runs"], "status": "ok", "runs": r["runs"]} for r in eff.to_dict("records") for m in metrics],
        columns=LONG_COLUMNS,
    )
    if eff.empty:
        return write_table(out_dir, spec.stem, long, None, set(), caption, notes)

    def f(v, fmt):
        return MISSING if pd.isna(v) else format(v, fmt)

    rank = {a: i for i, a in enumerate(titles)}
    eff = eff.assign(r=eff["agent"].map(lambda a: rank.get(a, 99))).sort_values(["r", "row"])
    data = []
    for r in eff.to_dict("records"):
        fails = ", ".join(f"{c} {r[f'failures_{c}']}" for c in FAILURE_CLASSES if r[f"failures_{c}"]) or "none"
        no_iter = not r["iterations_per_run"]
        data.append([
            str(r["n_runs"]), f(r["iterations_per_run"], ".2f"),
            MISSING if no_iter else f(r["improvement_rate_pct"], ".1f"), MISSING if no_iter else fails,
            f(r["gpu_hours_per_run"], ".2f"), f(r["tokens_per_iteration"] / 1e3, ".1f"), f(r["usd_per_iteration"], ".2f"),
        ])
    wide = pd.DataFrame(data, index=eff["row"].tolist(), columns=pd.MultiIndex.from_tuples([
        ("", "Runs"), ("Iterations", "per run"), ("Iterations", "improving (%)"), ("Iterations", "failed, by class"),
        ("Cost", "GPU-h / run"), ("Cost", "k tokens / iter."), ("Cost", "USD / iter."),
    ]))
    wide.index.name = "Method"
    return write_table(out_dir, spec.stem, long, wide, set(), caption, notes)
