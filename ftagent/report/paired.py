"""Paired differences: FT-Agent − each baseline, per task and averaged, with bootstrap 95% CIs.

Pairs are the runs of the two methods on the same task with the same seed. The point estimate of a
task is the mean over paired seeds of ``test(treatment) − test(baseline)`` (``eval.json`` test scores,
metric units, e.g. percentage points). The CI is a percentile bootstrap (``n_boot`` replicates, default
2000) over **seeds and items**: each replicate resamples the paired seeds with replacement and, inside
each seed, the test items with replacement — the same items for both methods (they are scored on the
same held-out items), stratified by subset, recomputing the task's aggregate (the mean over subsets of
item means, or the pooled item mean) from ``eval_items.jsonl``. Where per-item scores are missing or the
metric is not an item mean (macro-F1), the seed's difference is kept fixed (seed-level resampling
only; the ``level`` column says which). The average over tasks uses, per replicate, the mean of the
tasks' replicates (tasks with at least one pair).

Random numbers: one ``numpy.random.default_rng([seed, crc32("<baseline row>|<task>")])`` per cell; it
first draws the seed indices ``integers(0, S, size=(n_boot, S))``, then, for each paired seed in
ascending order and each subset in sorted order (pooled metrics: one stratum), the item indices
``integers(0, n_k, size=(n_boot, n_k))`` over the paired items in the treatment's ``eval_items.jsonl`` order.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from ftagent.dojo.taskspec import load_tasks
from ftagent.errors import ConfigError
from ftagent.records import EvalRecord
from ftagent.report.collect import DOMAIN_ORDER, DOMAIN_TITLES, agent_titles, metric_label, row_label
from ftagent.report.formats import MISSING, write_table
from ftagent.report.spec import ArtifactSpec, runs_frame
from ftagent.utils.io import read_json, read_jsonl

#: Metrics whose task score is a mean of item scores (so items can be resampled).
ITEM_MEAN_METRICS = {"accuracy", "exact_match", "correct_rate", "success_rate", "gold_hit_rate",
                     "mean_subtask_score", "pass@1"}
LONG_COLUMNS = ["row", "treatment", "baseline", "task", "diff", "ci_lo", "ci_hi", "n_seeds", "n_items", "level",
                "status", "runs"]


def test_items(run_dir: str | Path) -> dict[str, tuple[str, float]] | None:
    """Item id -> (subset, score) of the run's reported experiment on the test split (None without them)."""
    d = Path(run_dir)
    if not (d / "eval.json").exists():
        return None
    ev = EvalRecord.model_validate(read_json(d / "eval.json"))
    f = d / (ev.per_item_file or "eval_items.jsonl")
    if not f.exists():
        return None
    rows = [r for r in read_jsonl(f) if r.get("part") == "test" and r.get("experiment_id") == ev.selected_experiment]
    return {str(r["id"]): (str(r.get("subset", "")), float(r["score"])) for r in rows} or None


def _replicates(rng: np.random.Generator, pairs: list[dict], n_boot: int, pooled: bool, scale: float) -> np.ndarray:
    """Bootstrap replicates of the mean paired difference over seeds (and items); see the module docstring."""
    s = len(pairs)
    seed_idx = rng.integers(0, s, size=(n_boot, s))
    per_seed = np.empty((s, n_boot))
    for k, p in enumerate(pairs):
        if p["items"] is None:
            per_seed[k] = p["diff"]
            continue
        subsets = sorted(p["items"])
        if pooled:  # one stratum for pooled metrics
            diffs = np.concatenate([p["items"][x] for x in subsets])
            idx = rng.integers(0, len(diffs), size=(n_boot, len(diffs)))
            per_seed[k] = diffs[idx].mean(axis=1) * scale
        else:
            means = []
            for x in subsets:
                dd = p["items"][x]
                idx = rng.integers(0, len(dd), size=(n_boot, len(dd)))
                means.append(dd[idx].mean(axis=1))
            per_seed[k] = np.mean(means, axis=0) * scale
    return per_seed[seed_idx, np.arange(n_boot)[:, None]].mean(axis=1)


def paired_long(spec: ArtifactSpec) -> pd.DataFrame:
    """Tidy cells: one per (baseline, task) plus ``avg``, with the difference, its CI and the runs."""
    treatment = spec.options.get("treatment", "ft-agent")
    n_boot = int(spec.options.get("n_boot", 2000))
    seed = int(spec.options.get("seed", 0))
    if n_boot < 100:
        raise ConfigError(f"artifacts.{spec.name}.options.n_boot: {n_boot} (at least 100)")
    titles = agent_titles(spec.agent_titles)
    tasks = load_tasks()
    df = runs_frame(spec)
    df = df[df["status"] == "ok"].drop_duplicates(subset=["run_dir"]) if len(df) else df
    if df.empty or treatment not in set(df["agent"]):
        return pd.DataFrame(columns=LONG_COLUMNS)
    df = df.assign(method=[row_label(a, b, titles) for a, b in zip(df["agent"], df["backbone_label"], strict=True)])
    tname = sorted(set(df.loc[df["agent"] == treatment, "method"]))[0]  # one treatment row (option: backbone)
    if spec.options.get("treatment_backbone"):
        names = set(df.loc[(df["agent"] == treatment) & (df["backbone"] == spec.options["treatment_backbone"]), "method"])
        tname = sorted(names)[0] if names else tname
    treat = df[df["method"] == tname]
    out = []
    for base in sorted(set(df["method"]) - {tname}):
        b = df[df["method"] == base]
        reps_by_task = {}
        for task in sorted(set(treat["task"]) & set(b["task"])):
            t_runs = treat[treat["task"] == task].set_index("seed")
            b_runs = b[b["task"] == task].set_index("seed")
            seeds = sorted(set(t_runs.index) & set(b_runs.index))
            seeds = [s for s in seeds if pd.notna(t_runs.loc[s, "test"]) and pd.notna(b_runs.loc[s, "test"])]
            if not seeds:
                continue
            spec_t = tasks.get(task)
            item_ok = spec_t is not None and spec_t.metric.name in ITEM_MEAN_METRICS
            pairs, n_items, level = [], 0, "seeds+items"
            for s in seeds:
                diff = float(t_runs.loc[s, "test"]) - float(b_runs.loc[s, "test"])
                ti = test_items(t_runs.loc[s, "run_dir"]) if item_ok else None
                bi = test_items(b_runs.loc[s, "run_dir"]) if item_ok else None
                items = None
                if ti and bi:
                    common = [i for i in ti if i in bi]  # eval_items.jsonl order of the treatment run
                    by_sub: dict[str, list[float]] = {}
                    for i in common:
                        by_sub.setdefault(ti[i][0], []).append(ti[i][1] - bi[i][1])
                    items = {k: np.asarray(v) for k, v in by_sub.items()} or None
                    n_items += len(common)
                if items is None:
                    level = "seeds"
                pairs.append({"diff": diff, "items": items})
            rng = np.random.default_rng([seed, zlib.crc32(f"{base}|{task}".encode())])
            pooled = spec_t is None or spec_t.metric.aggregate == "pooled"
            reps = _replicates(rng, pairs, n_boot, pooled, spec_t.metric.scale if spec_t else 100.0)
            reps_by_task[task] = reps
            out.append({
                "row": f"{tname} − {base}", "treatment": tname, "baseline": base, "task": task,
                "diff": float(np.mean([p["diff"] for p in pairs])),
                "ci_lo": float(np.percentile(reps, 2.5)), "ci_hi": float(np.percentile(reps, 97.5)),
                "n_seeds": len(seeds), "n_items": n_items, "level": level, "status": "ok",
                "runs": ";".join([*t_runs.loc[seeds, "run_id"], *b_runs.loc[seeds, "run_id"]]),
            })
        if reps_by_task:
            cells = [c for c in out if c["baseline"] == base and c["task"] != "avg"]
            avg = np.mean(list(reps_by_task.values()), axis=0)
            out.append({
                "row": f"{tname} − {base}", "treatment": tname, "baseline": base, "task": "avg",
                "diff": float(np.mean([c["diff"] for c in cells])),
                "ci_lo": float(np.percentile(avg, 2.5)), "ci_hi": float(np.percentile(avg, 97.5)),
                "n_seeds": int(min(c["n_seeds"] for c in cells)), "n_items": int(sum(c["n_items"] for c in cells)),
                "level": "seeds+items" if all(c["level"] == "seeds+items" for c in cells) else "seeds",
                "status": "ok", "runs": ";".join(c["runs"] for c in cells),
            })
    return pd.DataFrame(out, columns=LONG_COLUMNS)


def build_paired_table(spec: ArtifactSpec, out_dir: Path) -> list[Path]:
    """``<stem>.csv|md|tex|runs.json``: treatment − baseline per task with bootstrap 95% CIs."""
    long = paired_long(spec)
    n_boot = int(spec.options.get("n_boot", 2000))
    caption = (
        spec.caption
        or f"Paired differences ({spec.scale} scale): test score of {spec.options.get('treatment', 'ft-agent')} "
        "minus each baseline (held-out test split, each task's metric in percentage points), paired by seed; "
        f"[95% CI]: percentile bootstrap over seeds and test items (paired items, stratified by subset; "
        f"{n_boot} replicates, seed {spec.options.get('seed', 0)}). A CI excluding 0 is marked *."
    ) + spec.scale_note()
    if long.empty:
        return write_table(out_dir, spec.stem, long, None, set(), caption, ["No pair of runs with records."])
    tasks = load_tasks()
    rank = {d: i for i, d in enumerate(DOMAIN_ORDER)}
    cols = sorted(set(long["task"]) - {"avg"}, key=lambda t: (rank.get(tasks[t].domain, 9) if t in tasks else 9, t))
    header = [(DOMAIN_TITLES.get(tasks[c].domain, "") if c in tasks else "",
               f"{tasks[c].title if c in tasks else c} ({metric_label(c).split(',')[0]}, pp)") for c in cols]
    header.append(("", "Avg. (pp)"))
    rows, index = [], []
    for r, g in long.groupby("row", sort=False):
        g = g.set_index("task")
        vals = []
        for c in [*cols, "avg"]:
            if c not in g.index:
                vals.append(MISSING)
                continue
            x = g.loc[c]
            star = "*" if x["ci_lo"] > 0 or x["ci_hi"] < 0 else ""
            vals.append(f"{x['diff']:+.1f}{star} [{x['ci_lo']:+.1f}, {x['ci_hi']:+.1f}]")
        rows.append(vals)
        index.append(r)
    wide = pd.DataFrame(rows, index=index, columns=pd.MultiIndex.from_tuples(header))
    wide.index.name = "Difference"
    notes = []
    if (long["level"] == "seeds").any():
        notes.append("Cells of level 'seeds' (CSV) resample seeds only: no per-item scores, or a metric that is "
                     "not an item mean (macro-F1).")
    if int(long["n_seeds"].max()) == 1:
        notes.append("One seed per pair: the CIs reflect test-item sampling only.")
    return write_table(out_dir, spec.stem, long, wide, set(), caption, notes)
