"""The three walking-skeleton tasks: mini data in the real layout, loaders, split sizes, gold scores."""

from __future__ import annotations

import pytest

from ftagent.dojo.benchmarks import get_benchmark
from ftagent.dojo.heldout import half_size, heldout, split_groups
from ftagent.dojo.taskspec import get_task

CORE = ["aime2025", "financeiq", "tablebench_fact_checking"]


@pytest.mark.parametrize("task", CORE)
def test_mini_split_and_gold_outputs(task, mini_data):
    bench = get_benchmark(get_task(task))
    subsets = split_groups(bench, bench.load_subsets(mini_data))
    val, test = heldout(bench, mini_data, "validation"), heldout(bench, mini_data, "test")
    for name, items in subsets.items():
        k = half_size(len(items))
        assert len(val.subsets[name]) == len(test.subsets[name]) == k > 0
    assert not {i.id for i in val.items} & {i.id for i in test.items}
    for item in val.items[:10]:
        assert bench.score(bench.reference_output(item), item).score == 1.0
        assert bench.score("", item).score == 0.0


def test_mini_data_is_deterministic(tmp_path, all_tasks):
    from ftagent.dojo.repository import generate_mini_data

    specs = [all_tasks[t] for t in CORE]
    generate_mini_data(specs, tmp_path / "a", seed=0)
    generate_mini_data(specs, tmp_path / "b", seed=0)
    for f in (tmp_path / "a").rglob("*"):
        if f.is_file():
            assert f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes()


@pytest.mark.mirror_data
@pytest.mark.parametrize(("task", "n_val"), [("aime2025", 15), ("financeiq", 472), ("tablebench_fact_checking", 48)])
def test_real_items_split_by_the_rule(task, n_val, mirror_dir):
    bench = get_benchmark(get_task(task))
    subsets = split_groups(bench, bench.load_subsets(mirror_dir))
    val, test = heldout(bench, mirror_dir, "validation"), heldout(bench, mirror_dir, "test")
    assert len(val.items) == len(test.items) == n_val
    for name, items in subsets.items():
        assert len(val.subsets[name]) == half_size(len(items))
    assert not {i.id for i in val.items} & {i.id for i in test.items}
    for item in val.items[:20]:
        assert bench.score(bench.reference_output(item), item).score == 1.0


@pytest.mark.mirror_data
def test_financeiq_benchmark_copy_is_the_tail_of_each_subject(mirror_dir):
    """RD-Agent's split: training copy = first N - m rows, benchmark copy = last m = min(ceil(N/2), 100)."""
    from ftagent.dojo.benchmarks import get_reader

    bench = get_benchmark(get_task("financeiq"))
    subsets = bench.load_subsets(mirror_dir)
    train = get_reader("financeiq_train").read(mirror_dir)
    assert len(train) == 6179  # RD-Agent's card: 596+772+333+1211+195+388+44+420+1076+1144
    assert sum(len(v) for v in subsets.values()) == 944
    assert subsets["精算师-金融数学"][0].id == "精算师-金融数学/44"
