"""Held-out evaluation: the validation/test split of every evaluation subset.

Rule (FT-Dojo §3, "held-out evaluation"; RD-Agent ``rdagent/scenarios/finetune/benchmark/benchmark.py``
``get_benchmark_ranges``, applied by OpenCompass as each dataset's ``reader_cfg.test_range``): for a
*split group* of n items (one OpenCompass dataset of the paper's evaluator),

* the group's rows, in source order, are shuffled with ``datasets.Dataset.shuffle(seed=42)`` where the
  official loader does so (PANORAMA, ChemCoTBench, TableBench: ``opencompass/datasets/{panorama,
  chemcotbench,tablebench}/*.py`` of the Jensen246/opencompass fork: load, filter, map, then shuffle);
* validation = items ``[0, k)`` and test = items ``[n - k, n)`` with ``k = min(100, n // 2)``.

A split group is a subset (subtask, subject) unless the task's ``eval_source.split_groups`` says how the
official configs group items: TableBench's NumericalReasoning, FactChecking and Visualization configs
load a whole qtype as one dataset (397 NumericalReasoning items give 100 + 100, not 8 qsubtypes of
~25 + 25), and DataAnalysis has five datasets, four single qsubtypes and ``other`` = every DataAnalysis
item (``opencompass/configs/datasets/tablebench/tablebench_*_gen.py``). An item of a group keeps its
source subset in ``fields["qsubtype"]``.

AIME 2025 (30 problems) gives 15 validation and 15 test items; groups of 200 or more items give
100 and 100. The split is a pure function of the items and the seed, and equals the paper's split
when the source rows are the hub's, in the hub's order. Agents see validation scores and a few wrong
validation answers, never test items: only the evaluation harness calls :func:`heldout` with
``part="test"``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, TypeVar

from ftagent.dojo.benchmarks.base import Benchmark, EvalItem

T = TypeVar("T")

#: Upper bound on the size of each half per subset.
MAX_PER_HALF = 100


def half_size(n: int) -> int:
    """``k = min(100, n // 2)``: the size of the validation half and of the test half."""
    return min(MAX_PER_HALF, n // 2)


def official_permutation(n: int, seed: int) -> list[int]:
    """The row order ``datasets.Dataset.shuffle(seed=seed)`` gives a dataset of ``n`` rows.

    The same library call as the official loaders (``processed_ds.shuffle(seed=seed)``); with
    ``datasets`` >= 2 it is ``numpy.random.default_rng(seed).permutation(n)``.

    Returns:
        Source row positions in shuffled order (position i of the shuffled dataset is row ``perm[i]``).
    """
    if n == 0:
        return []
    import datasets

    return list(datasets.Dataset.from_dict({"row": list(range(n))}).shuffle(seed=seed)["row"])


def split_items(items: list[T], shuffle_seed: int | None) -> tuple[list[T], list[T]]:
    """Split one split group into (validation, test).

    Args:
        items: The group in source order.
        shuffle_seed: Seed of the official shuffle (:func:`official_permutation`) applied to a copy
            first; None keeps source order.

    Returns:
        ``(validation, test)``, disjoint, each of size ``half_size(len(items))``.
    """
    items = list(items)
    if shuffle_seed is not None:
        items = [items[i] for i in official_permutation(len(items), shuffle_seed)]
    k = half_size(len(items))
    return items[:k], items[len(items) - k:] if k else []


@dataclass(frozen=True)
class HeldOut:
    """The items of one part (validation or test) of a task, by subset."""

    part: Literal["validation", "test"]
    subsets: dict[str, list[EvalItem]]

    @property
    def items(self) -> list[EvalItem]:
        """All items, subset by subset."""
        return [it for items in self.subsets.values() for it in items]

    def limit(self, max_items: int | None) -> HeldOut:
        """At most ``max_items`` per subset (smoke runs; recorded in ``eval.json`` when used)."""
        if not max_items:
            return self
        return HeldOut(self.part, {s: v[:max_items] for s, v in self.subsets.items()})


def split_groups(benchmark: Benchmark, subsets: dict[str, list[EvalItem]]) -> dict[str, list[EvalItem]]:
    """The items of each split group (see the module docstring), in source order.

    Without ``eval_source.split_groups`` every subset is its own group. Otherwise each group holds the
    items of its listed subsets (``"*"``: all subsets), merged back into source order by
    :attr:`EvalItem.row`, relabelled ``subset=<group>`` with the source subset kept in
    ``fields["qsubtype"]``. An item can be in two groups (TableBench DataAnalysis ``other``).
    """
    groups = benchmark.spec.eval_source.split_groups
    if not groups:
        return subsets
    out: dict[str, list[EvalItem]] = {}
    for name, members in groups.items():
        take = list(subsets) if "*" in members else [m for m in members if m in subsets]
        items = [it for s in take for it in subsets[s]]
        if any(it.row is None for it in items):
            raise ValueError(f"task {benchmark.spec.id}: split groups need EvalItem.row (source row)")
        items.sort(key=lambda it: it.row)
        if items:
            out[name] = [replace(it, subset=name, fields={**it.fields, "qsubtype": it.subset}) for it in items]
    return out


def heldout(benchmark: Benchmark, data_dir: Path, part: Literal["validation", "test"]) -> HeldOut:
    """Load a task's evaluation data and return one part of its held-out split.

    Subsets the benchmark declares unavailable (:meth:`Benchmark.unavailable_subsets`) are left out
    before grouping (:func:`split_groups`); the split is applied per group.

    Raises:
        DataError: the data is missing or malformed (names file and task).
    """
    seed = benchmark.spec.eval_source.shuffle_seed
    skip = benchmark.unavailable_subsets()
    loaded = {s: v for s, v in benchmark.load_subsets(Path(data_dir)).items() if s not in skip}
    out: dict[str, list[EvalItem]] = {}
    for group, items in split_groups(benchmark, loaded).items():
        val, test = split_items(items, seed)
        out[group] = val if part == "validation" else test
    return HeldOut(part, out)
