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
