"""The held-out split rule: validation = first k, test = last k, k = min(100, n // 2)."""

from __future__ import annotations

import pytest

from ftagent.dojo.heldout import half_size, heldout, split_items


@pytest.mark.parametrize(("n", "k"), [(0, 0), (1, 0), (2, 1), (30, 15), (44, 22), (199, 99), (200, 100), (886, 100)])
def test_half_size(n, k):
    assert half_size(n) == k


def test_unshuffled_split_takes_ends():
    val, test = split_items(list(range(30)), None)
    assert val == list(range(15)) and test == list(range(15, 30))


def test_large_subset_leaves_middle_out():
    val, test = split_items(list(range(250)), None)
    assert val == list(range(100)) and test == list(range(150, 250))


def test_shuffled_split_is_pure_and_disjoint():
    items = [f"item{i}" for i in range(97)]
    a = split_items(items, 42)
    b = split_items(list(items), 42)
    assert a == b
    assert not set(a[0]) & set(a[1])
    assert len(a[0]) == len(a[1]) == 48
    assert items == [f"item{i}" for i in range(97)]  # input untouched
    assert split_items(items, 43) != a


# ------------------------------------------------------------------ the official shuffle and split groups
def test_official_permutation_is_the_datasets_shuffle():
    """``datasets.Dataset.shuffle(seed=42)`` (the official loaders' call) is numpy's default_rng permutation;
    first rows pinned for TableBench NumericalReasoning's 397 items."""
    import numpy as np

    from ftagent.dojo.heldout import official_permutation

    assert official_permutation(397, 42)[:8] == [258, 215, 150, 77, 115, 183, 26, 299]
    for n in (0, 1, 5, 60, 343):
        assert official_permutation(n, 42) == [int(i) for i in np.random.default_rng(42).permutation(n)]
    val, test = split_items(list(range(10)), 42)
    assert val == official_permutation(10, 42)[:5] and test == official_permutation(10, 42)[5:]


def _bench_with_groups(groups):
    from ftagent.dojo.benchmarks import get_benchmark
    from ftagent.dojo.taskspec import get_task

    spec = get_task("tablebench_data_analysis")
    spec = spec.model_copy(update={"eval_source": spec.eval_source.model_copy(update={"split_groups": groups})})
    return get_benchmark(spec)


def test_split_groups_merge_subsets_in_source_order():
    """Generated items of two subsets, interleaved in the source: a "*" group holds all of them in row
    order (relabelled, source subset kept), a single-subset group only its own; no groups = subsets."""
    from ftagent.dojo.benchmarks.base import EvalItem
    from ftagent.dojo.heldout import split_groups

    subsets = {s: [EvalItem(id=f"{s}{r}", subset=s, fields={}, answer="", row=r) for r in range(off, 20, 2)]
               for s, off in (("A", 0), ("B", 1))}
    groups = split_groups(_bench_with_groups({"A": ["A"], "other": ["*"]}), subsets)
    assert [it.row for it in groups["other"]] == list(range(20))
    assert {it.subset for it in groups["other"]} == {"other"}
    assert [it.fields["qsubtype"] for it in groups["other"][:3]] == ["A", "B", "A"]
    assert [it.id for it in groups["A"]] == [it.id for it in subsets["A"]]
    assert split_groups(_bench_with_groups(None), subsets) is subsets


def test_tablebench_mini_groups_follow_the_official_configs(mini_data):
    """NumericalReasoning is one dataset officially (not 8 qsubtypes), DataAnalysis five (4 qsubtypes + all)."""
    from ftagent.dojo.benchmarks import get_benchmark
    from ftagent.dojo.taskspec import get_task

    nr = heldout(get_benchmark(get_task("tablebench_numerical_reasoning")), mini_data, "validation")
    assert list(nr.subsets) == ["NumericalReasoning"]
    da_bench = get_benchmark(get_task("tablebench_data_analysis"))
    da = heldout(da_bench, mini_data, "validation")
    assert list(da.subsets) == ["CorrelationAnalysis", "TrendForecasting", "StatisticalAnalysis", "ImpactAnalysis",
                                "other"]
    n_all = sum(len(v) for v in da_bench.load_subsets(mini_data).values())
    assert len(da.subsets["other"]) == half_size(n_all)


#: First two validation ids and the last test id of each shuffled split group of the real files
#: (``../shared/data``), computed with ``datasets.Dataset.shuffle(seed=42)``; the same ids come out of
#: ``scripts/split_overlap.py``'s independent recomputation of the official split (100% overlap).
PINNED = {
    ("chemcotbench_mol_edit", "add"): ("add/bdc27756-db5e-48d3-95f4-cdc3c63b9838",
                                       "add/11388aa9-9cea-4237-b5cb-eaa1c1e77f2b",
                                       "add/3c00ead6-ce1a-425c-acda-922f9bcc0cef"),
    ("chemcotbench_mol_edit", "sub"): ("sub/60dfe3c2-be0e-405e-8ef6-f3e7a146de85",
                                       "sub/191b7081-ba07-405f-bba9-64e247be03c6",
                                       "sub/2b9fe183-1964-42f2-9df3-281dc4bb032b"),
    ("chemcotbench_mol_opt", "logp"): ("logp/2ca6eb74-a5ef-4744-ab82-ac1de7e58de7",
                                       "logp/3c020850-bd51-416b-aa9c-0843d547ae08",
                                       "logp/4f0b6ae4-0faf-402b-ae82-ba86502c5c60"),
    ("chemcotbench_mol_und", "fg_count"): ("fg_count/5da41f04-ee94-4ab9-81cc-5c86c1e59d3e",
                                           "fg_count/03ebf273-362d-4b20-a898-795076a4af71",
                                           "fg_count/1e9f5641-e00e-4e09-a968-5d67395a7870"),
    ("chemcotbench_mol_und", "equivalence"): ("equivalence/bb0bc052-7a71-4622-95ea-9a9fa287a70a",
                                              "equivalence/3238dce4-aa72-494a-8d0b-a4e08acac437",
                                              "equivalence/6938a328-dd6f-4438-8dfe-bcd83ed14566"),
    ("chemcotbench_reaction", "fs"): ("fs/b289a732-5356-4535-9779-bfbebf543279",
                                      "fs/c087abdf-e456-4bf5-9893-28849fb2f591",
                                      "fs/dcbe4c04-0c36-4ae9-b43a-f055513e69b3"),
    ("chemcotbench_reaction", "retro"): ("retro/ad5e50bb-4466-4f96-b9d0-d2a7cb1abc43",
                                         "retro/273e8008-d886-4a55-b5c1-bc9dce165742",
                                         "retro/324d2fdc-16f7-4e86-9437-aa0cd7694fb2"),
    ("panorama_par4pc", "default"): ("14704145-2#5", "14704145-3#6", "14704145-9#8"),
    ("panorama_pi4pc", "default"): ("15091542-4#5", "15091542-6#6", "15091542-8#8"),
    ("panorama_noc4pc", "default"): ("15091542-5#5", "15091542-6#6", "15091542-8#8"),
    ("tablebench_data_analysis", "CorrelationAnalysis"): ("dcfc5b80602cf6c9a4eb46d1c163fcdd#641",
                                                          "6e75b4f14491ed1cafddf71d67267d61#661",
                                                          "c7bc350bc9bde43c892968a9664344be#644"),
    ("tablebench_data_analysis", "ImpactAnalysis"): ("01f66b6eca74f5c74f00158de9c93e86#151",
                                                     "2c1aa2f249ca6fdf4a7fe2f47b3bd53c#171",
                                                     "508fe9a2f4bd075bc49909fb8e4743b6#154"),
    ("tablebench_data_analysis", "other"): ("beb4a172c71e511020b2fff91acf7b15#424",
                                            "3c41ec8ccc63a0ad8bac5638db8b4721#191",
                                            "c4a6de9e58baabab25d41f6e0767c85a#433"),
    ("tablebench_fact_checking", "FactChecking"): ("691ee4d04b744fd879670b1a0075aaf7#303",
                                                   "285c59f7f980d49b638f546b5d11d7ef#71",
                                                   "6197fb264f5bffbbaadd753cde55c2e5#58"),
    ("tablebench_numerical_reasoning", "NumericalReasoning"): ("80ec47226c5b0cbb341420c031fe2f81#597",
                                                               "56035c2708fa70250d3e771b00e74871#554",
                                                               "014370ad3782b15438323d1134044f19#377"),
    ("tablebench_visualization", "Visualization"): ("64664032a7a369ee8b22f988514f1107#101",
                                                    "498ad888af0138fb83a16a69d424fde5#121",
                                                    "b0bce3c8708c147f9d7b85cac2fb8549#104"),
}


@pytest.mark.mirror_data
@pytest.mark.parametrize(("task", "group"), sorted(PINNED))
def test_real_files_give_the_pinned_official_order(task, group, mirror_dir):
    from ftagent.dojo.benchmarks import get_benchmark
    from ftagent.dojo.taskspec import get_task

    bench = get_benchmark(get_task(task))
    val, test = heldout(bench, mirror_dir, "validation"), heldout(bench, mirror_dir, "test")
    first, second, last = PINNED[(task, group)]
    assert [it.id for it in val.subsets[group][:2]] == [first, second]
    assert test.subsets[group][-1].id == last


@pytest.mark.mirror_data
def test_tablebench_numerical_reasoning_has_100_per_half(mirror_dir):
    from ftagent.dojo.benchmarks import get_benchmark
    from ftagent.dojo.taskspec import get_task

    bench = get_benchmark(get_task("tablebench_numerical_reasoning"))
    val, test = heldout(bench, mirror_dir, "validation"), heldout(bench, mirror_dir, "test")
    assert len(val.items) == len(test.items) == 100
    assert not {i.id for i in val.items} & {i.id for i in test.items}
