"""``ftagent data fetch``: units from the hub entries, layouts the loaders read, idempotence, atomic
writes and one-line errors. No network: a local fake hub serves files and in-memory ``datasets``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ftagent.dojo.benchmarks import get_benchmark
from ftagent.dojo.fetch import (
    MANIFEST_DIR,
    FetchUnit,
    HfHub,
    datasets_to_jsonl,
    fetch,
    fetch_unit,
    plan_fetch,
    units_from_hub,
)
from ftagent.dojo.taskspec import HubSource
from ftagent.errors import FetchError, TaskError
from ftagent.utils.io import read_jsonl

ROOT = Path(__file__).resolve().parents[2]
CSV = ",Question,A,B,C,D,Answer\n0,q0,1,2,3,4,A\n1,q1,1,2,3,4,B\n"


class FakeHub:
    """Repositories as local folders (file mode) and configs as in-memory datasets (dataset mode)."""

    def __init__(self, root: Path, files: dict[str, dict[str, str]], splits: dict | None = None):
        self.root, self.splits, self.calls = root, splits or {}, []
        for repo, tree in files.items():
            for rel, text in tree.items():
                p = root / repo / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(text, encoding="utf-8")

    def snapshot(self, repo, patterns):
        self.calls.append(("snapshot", repo))
        if not (self.root / repo).is_dir():
            raise RuntimeError(f"404 Client Error: Repository Not Found for {repo}\nmore detail")
        return self.root / repo

    def load_split(self, repo, config, split):
        from datasets import Dataset

        self.calls.append(("load", repo, config, split))
        return Dataset.from_list(self.splits[(repo, config)])


def _hub(tmp_path, **extra):
    files = {
        "Multilingual-Multimodal-NLP/TableBench": {"TableBench.jsonl": '{"id": "x"}\n',
                                                   "TableBench_DP.jsonl": ""},
        "Multilingual-Multimodal-NLP/TableInstruct": {
            "TableInstruct_instructions.jsonl": '{"instruction": "i", "response": "r"}\n'},
        "agentica-org/DeepScaleR-Preview-Dataset": {
            "deepscaler.json": '[{"problem": "p", "solution": "", "answer": "1"}]'},
        "Duxiaoman-DI/FinanceIQ": {"data/dev/税务师.csv": CSV, "data/test/税务师.csv": CSV,
                                   "README.md": "x"},
    }
    splits = {
        ("opencompass/AIME2025", "AIME2025-I"): [{"question": "I-1?", "answer": "70"},
                                                 {"question": "I-2?", "answer": "588"}],
        ("opencompass/AIME2025", "AIME2025-II"): [{"question": "II-1?", "answer": "468"}],
    }
    return FakeHub(tmp_path / "hub", {**files, **extra}, splits)


def test_units_from_hub():
    (u,) = units_from_hub("task t", HubSource(repo="r", files=["data/dev/*.csv"]), "financeiq/data")
    assert (u.dest, u.files, u.configs) == ("financeiq", ("data/dev/*.csv",), ())
    (u,) = units_from_hub("task t", HubSource(repo="r", configs=["a", "b"], split="test"), "x/test.jsonl")
    assert (u.dest, u.files, u.configs, u.split) == ("x/test.jsonl", (), ("a", "b"), "test")


def test_datasets_to_jsonl_keeps_order_and_fields():
    from datasets import Dataset

    parts = {"I": Dataset.from_list([{"question": "a", "answer": "1"}]),
             "II": Dataset.from_list([{"question": "b", "answer": "2"}, {"question": "c", "answer": "3"}])}
    assert datasets_to_jsonl(parts).splitlines() == ['{"question": "a", "answer": "1"}',
                                                     '{"question": "b", "answer": "2"}',
                                                     '{"question": "c", "answer": "3"}']


def test_plan_dedupes_and_covers_raw_sources(all_tasks):
    tb = [all_tasks[t] for t in all_tasks if t.startswith("tablebench_")]
    units, notes = plan_fetch(tb)
    assert [(u.repo, u.dest) for u in units] == [
        ("Multilingual-Multimodal-NLP/TableBench", "tablebench"),
        ("Multilingual-Multimodal-NLP/TableInstruct", "tableinstruct")]
    assert notes == []


def test_plan_skips_unimplemented_family_unless_strict(all_tasks):
    odd = all_tasks["aime2025"].model_copy(update={"benchmark": "nosuchfamily", "raw_sources": []})
    units, notes = plan_fetch([odd])
    assert units == [] and "nosuchfamily" in notes[0]
    with pytest.raises(TaskError, match="nosuchfamily"):
        plan_fetch([odd], strict=True)


def test_aime_configs_become_the_loader_layout(all_tasks, tmp_path):
    hub, data = _hub(tmp_path), tmp_path / "data"
    reports = fetch([all_tasks["aime2025"]], data, hub=hub)
    assert [r.status for r in reports] == ["fetched", "fetched"]              # AIME + DeepScaleR
    assert [r["question"] for r in read_jsonl(data / "aime2025" / "test.jsonl")] == ["I-1?", "I-2?", "II-1?"]
    items = get_benchmark(all_tasks["aime2025"]).load_subsets(data)["default"]
    assert [i.answer for i in items] == ["70", "588", "468"]
    assert (data / "deepscaler" / "deepscaler.json").is_file()


def test_files_keep_hub_paths_and_fetch_is_idempotent(all_tasks, tmp_path):
    hub, data = _hub(tmp_path), tmp_path / "data"
    first = fetch([all_tasks["financeiq"]], data, hub=hub)
    assert first[0].files == ["financeiq/data/dev/税务师.csv", "financeiq/data/test/税务师.csv"]
    assert not (data / "financeiq" / "README.md").exists()
    assert len(list((data / MANIFEST_DIR).glob("*.json"))) == 2               # eval unit + training-rows unit
    assert get_benchmark(all_tasks["financeiq"]).load_subsets(data)["税务师"][0].answer == "B"
    n = len(hub.calls)
    again = fetch([all_tasks["financeiq"]], data, hub=hub)
    assert [r.status for r in again] == ["exists", "exists"] and len(hub.calls) == n
    (data / "financeiq/data/test/税务师.csv").unlink()
    assert fetch([all_tasks["financeiq"]], data, hub=hub)[0].status == "fetched"   # a listed file vanished
    (data / "financeiq/data/test/税务师.csv").write_text("stale")
    forced = fetch([all_tasks["financeiq"]], data, hub=hub, force=True)
    assert [r.status for r in forced] == ["fetched", "fetched"]
    assert (data / "financeiq/data/test/税务师.csv").read_text() == CSV


def test_hub_failures_are_one_line(all_tasks, tmp_path):
    unit = FetchUnit("task x", "nobody/nothing", "x", files=("a.json",))
    with pytest.raises(FetchError) as e:
        fetch_unit(unit, tmp_path, _hub(tmp_path))
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("task x: cannot fetch nobody/nothing from the Hugging Face hub")
    missing = FetchUnit("source y", "Multilingual-Multimodal-NLP/TableBench", "tb", files=("nope/*.parquet",))
    with pytest.raises(FetchError, match="source y: .*/TableBench has no file matching 'nope/"):
        fetch_unit(missing, tmp_path, _hub(tmp_path))


def test_failed_conversion_leaves_nothing_behind(tmp_path):
    def explode(parts):
        raise ValueError("bad rows")

    unit = FetchUnit("task a", "opencompass/AIME2025", "aime2025/test.jsonl", configs=("AIME2025-I",),
                     convert=explode)
    with pytest.raises(FetchError, match=r"task a: cannot convert .* \(ValueError: bad rows\)"):
        fetch_unit(unit, tmp_path / "data", _hub(tmp_path))
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("*"))
    plain = FetchUnit("task b", "r", "somewhere/folder", configs=("c",))
    with pytest.raises(FetchError, match="no converter"):
        fetch_unit(plain, tmp_path / "data", _hub(tmp_path))


def test_offline_real_hub_fails_fast(all_tasks, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.time()
    with pytest.raises(FetchError, match="HF_HUB_OFFLINE is set"):
        fetch([all_tasks["tablebench_fact_checking"]], tmp_path, hub=HfHub())
    assert time.time() - t0 < 60


def test_cli_offline_prints_one_error_line(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "ftagent", "data", "fetch", "--out", str(tmp_path),
                        "--tasks", "tablebench_fact_checking"],
                       env=env, capture_output=True, text=True, timeout=180)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: task tablebench_fact_checking: cannot fetch")
