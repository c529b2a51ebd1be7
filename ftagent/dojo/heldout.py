"""Held-out evaluation: the validation/test split of every evaluation subset.

Rule (FT-Dojo §3, "held-out evaluation"; RD-Agent ``get_benchmark_ranges``): for a subset of n items,
after a seeded shuffle where the source has no meaningful order,

* validation = items ``[0, k)`` and test = items ``[n - k, n)`` with ``k = min(100, n // 2)``.

AIME 2025 (30 problems) gives 15 validation and 15 test items; subsets of 200 or more items give
100 and 100. The split is a pure function of the items and the seed. Agents see validation scores
and a few wrong validation answers, never test items: only the evaluation harness calls
:func:`heldout` with ``part="test"``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from ftagent.dojo.benchmarks.base import Benchmark, EvalItem

T = TypeVar("T")

#: Upper bound on the size of each half per subset.
MAX_PER_HALF = 100


def half_size(n: int) -> int:
    """``k = min(100, n // 2)``: the size of the validation half and of the test half."""
    return min(MAX_PER_HALF, n // 2)


def split_items(items: list[T], shuffle_seed: int | None) -> tuple[list[T], list[T]]:
    """Split one subset into (validation, test).

    Args:
        items: The subset in source order.
        shuffle_seed: Seed of ``random.Random(seed).shuffle`` applied to a copy first; None keeps order.

    Returns:
        ``(validation, test)``, disjoint, each of size ``half_size(len(items))``.
    """
    items = list(items)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(items)
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


def heldout(benchmark: Benchmark, data_dir: Path, part: Literal["validation", "test"]) -> HeldOut:
    """Load a task's evaluation data and return one part of its held-out split.

    Subsets the benchmark declares unavailable (:meth:`Benchmark.unavailable_subsets`) are left out.

    Raises:
        DataError: the data is missing or malformed (names file and task).
    """
    seed = benchmark.spec.eval_source.shuffle_seed
    skip = benchmark.unavailable_subsets()
    out: dict[str, list[EvalItem]] = {}
    for subset, items in benchmark.load_subsets(Path(data_dir)).items():
        if subset in skip:
            continue
        val, test = split_items(items, seed)
        out[subset] = val if part == "validation" else test
    return HeldOut(part, out)
