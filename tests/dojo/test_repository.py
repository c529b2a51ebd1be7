"""The raw-data repository: leakage guard, dataset_info.json, missing sources reported."""

from __future__ import annotations

import json

from ftagent.dojo.repository import LeakageIndex, normalise_text, prepare_repository


def test_normalise_text():
    assert normalise_text("Compute $3 + 4$.\n") == "compute 3 4"


def test_leakage_index_exact_and_overlap():
    idx = LeakageIndex()
    idx.add("Compute 3 + 4.")
    long_q = ("Let ABCD be a square of side 12 and let P be a point inside it such that the distances "
              "from P to A and B are equal; find the area of triangle PCD.")
    idx.add(long_q)
    assert idx.leaks("compute 3+4")
    assert not idx.leaks("Compute 3 + 5.")
    assert idx.leaks("Problem 7. " + long_q + " Give your answer as an integer.")
    # shared boilerplate alone is not a leak
    assert not idx.leaks("Let ABCD be a square of side 7. Find its perimeter in centimetres, please, now.")


def test_repository_info(mini_repository, runnable_tasks):
    info = json.loads((mini_repository / "dataset_info.json").read_text())
    for spec in runnable_tasks:
        for sid in spec.raw_sources:
            d = info[sid]
            assert d["available"] and d["count"] > 0 and d["license"]
            assert (mini_repository / d["path"]).exists()
            assert d["first_sample"] and d["fields"]
    # the mini generators overlap with the mini evaluation items: the guard must have removed some
    assert info["deepscaler"]["dropped_by_leakage_guard"] > 0


def test_missing_source_is_reported(tmp_path, all_tasks):
    (tmp_path / "aime2025").mkdir()
    (tmp_path / "aime2025" / "test.jsonl").write_text('{"problem": "Compute 1 + 1.", "answer": "2"}\n')
    info = prepare_repository([all_tasks["aime2025"]], tmp_path, tmp_path / "repo")
    assert info["deepscaler"]["available"] is False
    assert "deepscaler" in info["deepscaler"]["reason"]


# ------------------------------------------------------------------ multiple-choice leaks
Q = "下列关于基金净值的说法中，正确的是"
OPTS = ["基金净值每日公布", "基金净值不会下跌", "基金净值由托管人决定", "基金净值与持仓无关"]


def _mc_index():
    idx = LeakageIndex()
    idx.add(" ".join([Q, *OPTS]))
    idx.add_choices(Q, OPTS)
    return idx


def test_multiple_choice_with_reordered_options_leaks():
    idx = _mc_index()
    reordered = [OPTS[2], OPTS[0], OPTS[3], OPTS[1]]
    assert not idx.exact & {normalise_text(" ".join([Q, *reordered]))}  # the whole-text check misses it
    assert idx.leaks(" ".join([Q, *reordered]), (Q, reordered))
    # the same question written inline, options reordered and relettered
    inline = f"{Q}？ A. {reordered[0]} B. {reordered[1]} C. {reordered[2]} D. {reordered[3]}"
    assert idx.leaks(inline)


def test_multiple_choice_with_reworded_options_or_stem_leaks():
    idx = _mc_index()
    reworded = ["基金的净值每个交易日公布", "基金净值永远不会下跌", "基金净值由基金托管人来决定", OPTS[3]]
    assert idx.leaks(" ".join([Q, *reworded]), (Q, reworded))
    assert idx.leaks("", ("关于基金净值，下列说法正确的是", [OPTS[1], OPTS[3], OPTS[0], OPTS[2]]))


def test_same_generic_stem_with_other_options_is_not_a_leak():
    idx = _mc_index()
    other = ["股票价格每日波动", "债券利率固定不变", "期货合约没有到期日", "期权只能在到期日行权"]
    assert not idx.leaks(" ".join([Q, *other]), (Q, other))
    assert not idx.leaks("An AMC problem. (A) 1 (B) 2 (C) 3 (D) 4")


def test_split_choices():
    from ftagent.dojo.repository import split_choices

    assert split_choices("Which is prime? A. 4 B. 6 C. 7 D. 9") == ("Which is prime?", ["4", "6", "7", "9"])
    assert split_choices("Pick (A) red (B) blue (C) green") == ("Pick", ["red", "blue", "green"])
    assert split_choices("Let ABCD be a square. Find A.") is None


def test_financeiq_training_rows_with_reordered_options_are_dropped(tmp_path, all_tasks):
    """A training row that repeats a benchmark question with its options shuffled is removed."""
    import csv
    import random

    from ftagent.dojo.benchmarks import get_benchmark
    from ftagent.dojo.repository import guarded_records

    spec = all_tasks["financeiq"]
    get_benchmark(spec).write_mini(tmp_path, random.Random(0))
    path = next((tmp_path / "financeiq" / "data" / "test").glob("*.csv"))
    rows = list(csv.reader(path.open(encoding="utf-8")))
    header, body = rows[0], rows[1:]
    last = body[-1]  # in the benchmark copy (the tail)
    opts = last[2:6]
    perm = [opts[i] for i in (3, 1, 0, 2)]
    leak = [str(len(body)), last[1], *perm, "ABCD"[perm.index(opts["ABCD".index(last[6])])]]
    # put it first (training copy); the benchmark copy's size grows with N, so keep N even
    new = [header, leak, *body] if (len(body) + 1) % 2 == 0 else [header, leak, leak, *body]
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(new)
    bench_ids = {it.fields["question"] for it in get_benchmark(spec).load_subsets(tmp_path)[path.stem]}
    assert last[1] in bench_ids  # the original is still a benchmark item
    kept, _ = guarded_records([spec], tmp_path)["financeiq_train"]
    assert not [r for r in kept if r["Question"] == last[1] and sorted(r[k] for k in "ABCD") == sorted(opts)]
