"""Overlap of our validation/test ids with the paper's evaluator's split, per task.

The official split is recomputed here the way the paper's evaluator builds it, independently of
:mod:`ftagent.dojo.heldout`: the rows of each OpenCompass dataset (TableBench: ``datasets.load_dataset``
of the JSON lines file, then ``filter`` by qtype and qsubtype as in
``opencompass/configs/datasets/tablebench/tablebench_*_gen.py``; other families: the rows of each subset
in source order as our loader reads them), ``Dataset.shuffle(seed=42)`` where the loader shuffles, then
RD-Agent's ranges ``[:min(100, n//2)]`` / ``[-min(100, n//2):]``. Also prints the overlap of the split
this project used before (``random.Random(42).shuffle`` per subset) for comparison.

Usage: ``python scripts/split_overlap.py [DATA_DIR]`` (default ``../shared/data``); prints one row per task.
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

from ftagent.dojo.benchmarks.base import get_benchmark
from ftagent.dojo.heldout import heldout
from ftagent.dojo.taskspec import get_task, load_tasks

#: The OpenCompass datasets of each TableBench task: (abbr, qsubtype filter or None).
TABLEBENCH_DATASETS = {
    "tablebench_fact_checking": ("FactChecking", [("tablebench_fact_checking", None)]),
    "tablebench_numerical_reasoning": ("NumericalReasoning", [("tablebench_numerical", None)]),
    "tablebench_visualization": ("Visualization", [("tablebench_visualization", None)]),
    "tablebench_data_analysis": ("DataAnalysis", [
        ("correlationanalysis", "CorrelationAnalysis"), ("trendforecasting", "TrendForecasting"),
        ("statisticalanalysis", "StatisticalAnalysis"), ("impactanalysis", "ImpactAnalysis"), ("other", None)]),
}


def ranges(ids: list[str]) -> tuple[list[str], list[str]]:
    """RD-Agent's ``get_benchmark_ranges`` applied to a list."""
    k = min(100, len(ids) // 2)
    return ids[:k], (ids[-k:] if k else [])


def official_tablebench(task: str, data_dir: Path) -> dict[str, tuple[list[str], list[str]]]:
    import datasets

    qtype, configs = TABLEBENCH_DATASETS[task]
    with tempfile.TemporaryDirectory() as cache:
        ds = datasets.load_dataset("json", data_files=str(data_dir / "tablebench/TableBench.jsonl"),
                                   split="train", cache_dir=cache, features=None)
        ds = ds.select_columns(["id", "qtype", "qsubtype"]).map(lambda r, i: {"uid": f"{r['id']}#{i}"},
                                                                  with_indices=True)
        out = {}
        for abbr, sub in configs:
            d = ds.filter(lambda x: x["qtype"] == qtype)
            if sub:
                d = d.filter(lambda x, s=sub: x["qsubtype"] == s)
            out[abbr] = ranges(list(d.shuffle(seed=42)["uid"]))
        return out


def official_other(task: str, data_dir: Path) -> dict[str, tuple[list[str], list[str]]]:
    import datasets

    bench = get_benchmark(get_task(task))
    seed = bench.spec.eval_source.shuffle_seed
    out = {}
    for sub, items in bench.load_subsets(data_dir).items():
        ids = [it.id for it in items]
        if seed is not None:
            ids = list(datasets.Dataset.from_dict({"uid": ids}).shuffle(seed=seed)["uid"])
        out[sub] = ranges(ids)
    return out


def legacy(task: str, data_dir: Path) -> tuple[set[str], set[str]]:
    """The split before the official shuffle: ``random.Random(seed).shuffle`` per subset."""
    bench = get_benchmark(get_task(task))
    seed = bench.spec.eval_source.shuffle_seed
    val, test = set(), set()
    skip = bench.unavailable_subsets()
    for sub, items in bench.load_subsets(data_dir).items():
        if sub in skip:
            continue
        items = list(items)
        if seed is not None:
            random.Random(seed).shuffle(items)
        v, t = ranges([it.id for it in items])
        val |= set(v)
        test |= set(t)
    return val, test


def pct(a: set[str], b: set[str]) -> str:
    return f"{100 * len(a & b) / len(b):.1f}%" if b else "n/a"


def main(data_dir: Path) -> None:
    print(f"{'task':34s} {'n_val':>5s} {'n_test':>6s} {'val=off':>8s} {'test=off':>8s} "
          f"{'legacy val':>10s} {'legacy test':>11s} {'legacy val in off test':>22s}")
    for task in sorted(load_tasks()):
        bench = get_benchmark(get_task(task))
        try:
            off = (official_tablebench if task in TABLEBENCH_DATASETS else official_other)(task, data_dir)
        except Exception as e:  # noqa: BLE001  (a task without mirror data)
            print(f"{task:34s} skipped: {e}")
            continue
        skip = bench.unavailable_subsets()
        ov = {i for k, (v, _) in off.items() if k not in skip for i in v}
        ot = {i for k, (_, t) in off.items() if k not in skip for i in t}
        ours_v = {it.id for it in heldout(bench, data_dir, "validation").items}
        ours_t = {it.id for it in heldout(bench, data_dir, "test").items}
        lv, lt = legacy(task, data_dir)
        print(f"{task:34s} {len(ours_v):5d} {len(ours_t):6d} {pct(ours_v, ov):>8s} {pct(ours_t, ot):>8s} "
              f"{pct(lv, ov):>10s} {pct(lt, ot):>11s} {pct(lv & ot, lv) if lv else 'n/a':>22s}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "../shared/data")
