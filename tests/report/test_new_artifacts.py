"""The task, subtask, efficiency, paired-difference, reported-vs-reproduced tables and the cost frontier.

Each test recomputes the numbers from the synthetic records it wrote, independently of the builder
(the bootstrap with its documented seed and draw order), and plants a missing run that must show as
missing, never 0.
"""

from __future__ import annotations

import json
import zlib

import numpy as np
import pandas as pd
import pytest

from ftagent.report import build
from tests.report.synthetic import spec, write_run

TRACE = [("ok", 20.0, "accept"), ("failed", None, None), ("ok", 15.0, "reject"), ("ok", 30.0, "accept")]


@pytest.fixture
def records(tmp_path):
    """Two tasks x two seeds, base model and FT-Agent with per-item test scores; one FT-Agent run missing."""
    repo = tmp_path / "repository"
    repo.mkdir()
    (repo / "dataset_info.json").write_text(json.dumps({
        "deepscaler": {"available": True, "count": 4000},
        "financeiq_train": {"available": True, "count": 512},
    }))
    rng = np.random.default_rng(7)
    runs, items = [], {}
    for task in ("aime2025", "financeiq"):
        for seed in (0, 1):
            b = rng.integers(0, 2, 20).astype(float)
            f = rng.integers(0, 2, 20).astype(float)
            items[(task, seed)] = (f, b)
            runs.append(write_run(tmp_path, task, "base-model", seed=seed, test=100 * b.mean(), items=list(b),
                                  base=5.0, repository=repo, subsets={"s1": 10.0 + seed, "s2": 20.0}))
            if (task, seed) == ("financeiq", 1):
                runs.append(tmp_path / "runs/financeiq/ft-agent/scripted/tiny-qwen2/n2000/s1")  # planted missing
                continue
            runs.append(write_run(tmp_path, task, "ft-agent", "scripted", seed=seed, test=100 * f.mean(),
                                  items=list(f), base=5.0, repository=repo, gpu_hours=0.25 * (seed + 1),
                                  cost=3.0, tokens=12_000, trace=TRACE, failure_classes=["OOM"],
                                  subsets={"s1": 40.0 + 10 * seed, "s2": 50.0}))
    return tmp_path, runs, items


def _build(tmp_path, name, builder, runs, **kw):
    build(spec(name, builder, {"main": runs}, not_run={"manual-sft": "not implemented yet"}, **kw), tmp_path / "o")
    return pd.read_csv(tmp_path / "o" / f"{name.split('_', 1)[1]}.csv")


def test_task_table_sizes_from_records(records):
    tmp, runs, _ = records
    long = _build(tmp, "table_tasks", "task_table", runs)
    aime = long[long["task"] == "aime2025"].iloc[0]
    assert aime["source"] == "deepscaler" and aime["source_samples"] == 4000
    assert aime["validation_items"] == 10 and aime["test_items"] == 10  # the base model's n_items in eval.json
    assert aime["metric"] == "accuracy" and "AIME" in aime["description"]
    md = (tmp / "o/tasks.md").read_text()
    assert "4,000" in md and "Quality" in md and "dataset_info.json" in md


def test_subtask_breakdown_means_and_missing(records):
    tmp, runs, _ = records
    long = _build(tmp, "table_subtasks", "subtasks", runs)
    ft = long[(long["agent"] == "ft-agent") & (long["task"] == "aime2025") & (long["subset"] == "s1")].iloc[0]
    assert ft["mean"] == pytest.approx((40.0 + 50.0) / 2) and ft["n"] == 2
    fin = long[(long["agent"] == "ft-agent") & (long["task"] == "financeiq") & (long["subset"] == "s1")].iloc[0]
    assert fin["n"] == 1 and fin["planned"] == 2 and fin["mean"] == pytest.approx(40.0)  # seed 1 missing
    md = (tmp / "o/subtasks.md").read_text()
    assert "**45.0 ± 7.1**" in md


def test_efficiency_numbers_by_hand(records):
    tmp, runs, _ = records
    long = _build(tmp, "table_efficiency", "efficiency", runs)
    ft = long[long["agent"] == "ft-agent"].set_index("column")["value"]
    assert ft["iterations_per_run"] == pytest.approx(4.0)
    # base 5 -> 20 improves, failed, 15 does not, 30 improves: 2 of 4 per run
    assert ft["improvement_rate_pct"] == pytest.approx(50.0)
    assert ft["failures_OOM"] == 3 and ft["failures_CONFIG"] == 0  # one per run, 3 runs with records
    assert ft["gpu_hours_per_run"] == pytest.approx((0.25 + 0.5 + 0.25) / 3)
    assert ft["usd_per_iteration"] == pytest.approx(9.0 / 12) and ft["tokens_per_iteration"] == pytest.approx(3000)
    base = long[long["agent"] == "base-model"].set_index("column")["value"]
    assert base["iterations_per_run"] == 0 and pd.isna(base["usd_per_iteration"])
    assert "improvement rate" in (tmp / "o/efficiency.md").read_text()


def _bootstrap(pairs, n_boot, seed, key):
    """Independent re-implementation (loops) of the documented percentile bootstrap, pooled metric."""
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    s = len(pairs)
    seed_idx = rng.integers(0, s, size=(n_boot, s))
    per_seed = []
    for f, b in pairs:
        d = f - b
        idx = rng.integers(0, len(d), size=(n_boot, len(d)))
        per_seed.append([100 * np.mean(d[idx[r]]) for r in range(n_boot)])
    reps = [np.mean([per_seed[k][r] for k in seed_idx[r]]) for r in range(n_boot)]
    return np.asarray(reps)


def test_paired_differences_and_bootstrap(records):
    tmp, runs, items = records
    n_boot = 300
    long = _build(tmp, "table_paired", "paired", runs, options={"n_boot": n_boot, "seed": 0})
    key = "Base Model|aime2025"
    pairs = [items[("aime2025", 0)], items[("aime2025", 1)]]
    reps = _bootstrap(pairs, n_boot, 0, key)
    row = long[long["task"] == "aime2025"].iloc[0]
    assert row["diff"] == pytest.approx(np.mean([100 * (f.mean() - b.mean()) for f, b in pairs]))
    assert row["ci_lo"] == pytest.approx(np.percentile(reps, 2.5))
    assert row["ci_hi"] == pytest.approx(np.percentile(reps, 97.5))
    assert row["n_seeds"] == 2 and row["n_items"] == 40 and row["level"] == "seeds+items"
    fin = long[long["task"] == "financeiq"].iloc[0]
    assert fin["n_seeds"] == 1  # the planted missing seed is left out of the pairs, not scored 0
    f, b = items[("financeiq", 0)]
    assert fin["diff"] == pytest.approx(100 * (f.mean() - b.mean()))
    avg = long[long["task"] == "avg"].iloc[0]
    assert avg["diff"] == pytest.approx((row["diff"] + fin["diff"]) / 2)
    assert "bootstrap over seeds and test items" in (tmp / "o/paired.md").read_text()


def test_reported_vs_reproduced(records):
    tmp, runs, _ = records
    long = _build(tmp, "table_reported", "reported", runs)
    it = long[(long["column"] == "iterations_per_run") & (long["agent"] == "ft-agent")].iloc[0]
    assert it["reported"] == 8.77 and it["ours"] == pytest.approx(4.0) and "secondary" in it["source"]
    coding = long[(long["column"] == "iterations_per_run") & (long["agent"] == "coding-agent")].iloc[0]
    assert pd.isna(coding["ours"])  # no coding-agent record: missing, never 0
    best = long[long["column"] == "tasks_best"].iloc[0]
    assert "primary" in best["source"] and best["reported"] == 10
    md = (tmp / "o/reported.md").read_text()
    assert "24.37" in md and "arxivlens" in md and "Not comparable" in md


def test_cost_frontier_points(records):
    tmp, runs, items = records
    build(spec("fig_cost_frontier", "cost_frontier", {"main": runs}), tmp / "f")
    pts = pd.read_csv(tmp / "f/cost_frontier.csv").set_index("agent")
    exp = np.mean([
        np.mean([100 * items[("aime2025", s)][0].mean() for s in (0, 1)]),
        100 * items[("financeiq", 0)][0].mean(),
    ])
    assert pts.loc["ft-agent", "score"] == pytest.approx(exp)
    assert pts.loc["ft-agent", "usd_per_run"] == pytest.approx(3.0) and pts.loc["ft-agent", "n_runs"] == 3
    assert "Pareto" in (tmp / "f/cost_frontier.caption.tex").read_text()
    side = json.loads((tmp / "f/cost_frontier.runs.json").read_text())
    assert len(next(c for c in side["cells"] if c["method"] == "FT-Agent (scripted)")["runs"]) == 3
