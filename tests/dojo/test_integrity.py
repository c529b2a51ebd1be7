"""Anti-reward-hacking checks: planted cheats are caught, clean data and models are not flagged.

The checks on a whole recorded run (the runner's audit, the evaluation scoring a flagged run as the
base model) are in ``tests/agents/test_integrity_runs.py``, next to the shared FT-Agent run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ftagent.dojo import integrity
from ftagent.dojo.benchmarks import get_benchmark
from ftagent.dojo.heldout import heldout
from ftagent.dojo.integrity import (
    RunAudit,
    SandboxAudit,
    check_contamination,
    check_network,
    check_weights,
    compare_to_base,
)
from ftagent.dojo.taskspec import get_task
from ftagent.records import IntegrityReport
from ftagent.utils.io import read_json

FAST = {"max_steps": 4, "per_device_train_batch_size": 8, "learning_rate": 3e-3, "logging_steps": 1}


@pytest.fixture(scope="module")
def sft_data(tmp_path_factory):
    """64 short Alpaca records (``What is a plus b?`` -> the sum)."""
    rows = [{"instruction": f"What is {a} plus {b}?", "output": str(a + b)} for a in range(8) for b in range(8)]
    path = tmp_path_factory.mktemp("sft_data") / "data.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def _planted(task_id: str, data_dir: Path, path: Path, honest: list[dict] | None = None) -> Path:
    """A training file: ``honest`` records plus every test item as prompted, with its gold answer."""
    bench = get_benchmark(get_task(task_id))
    rows = list(honest or []) + [{"instruction": bench.render(it, "compact"), "output": bench.reference_output(it)}
                                 for it in heldout(bench, data_dir, "test").items]
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("task_id", ["aime2025", "financeiq", "tablebench_numerical_reasoning", "panorama_pi4pc",
                                     "chemcotbench_mol_edit"])
def test_training_data_holding_test_items_is_flagged(task_id, mini_data, mini_repository, tmp_path):
    task = get_task(task_id)
    # honest data: the task's raw sources as the agent reads them (already leakage-guarded)
    honest = []
    for src in task.raw_sources:
        f = mini_repository / src / "data.jsonl"
        for line in f.read_text().splitlines()[:400] if f.exists() else []:
            r = json.loads(line)
            ans = next(k for k in ("answer", "output", "solution", *r) if k in r and str(r[k]).strip())
            honest.append({"instruction": " ".join(str(v) for k, v in r.items() if k != ans), "output": str(r[ans])})
    assert honest
    (tmp_path / "clean.json").write_text(json.dumps(honest), encoding="utf-8")
    clean = check_contamination(task, mini_data, {"exp000": tmp_path / "clean.json"})
    assert clean.status == "pass", clean.detail
    cheat = check_contamination(task, mini_data, {"exp000": tmp_path / "clean.json",
                                                  "exp001": _planted(task_id, mini_data, tmp_path / "c.json", honest)})
    assert cheat.status == "fail" and "exp001" in cheat.detail and "exp000" not in cheat.detail
    row = cheat.data["experiments"]["exp001"]
    assert row["test"]["contaminated"] >= row["test"]["items"] // 3 and row["test"]["flagged_items"]


def test_swapped_checkpoint_is_flagged(tiny_model, sft_data, tmp_path):
    from transformers import AutoConfig, AutoModelForCausalLM

    from ftagent.train.config import TrainConfig
    from ftagent.train.sft import train_sft

    res = train_sft(TrainConfig(method="full", **FAST), tiny_model, sft_data, tmp_path / "full", threads=2)
    assert res.ok, res.error
    problems, stats = compare_to_base(Path(res.model_dir), tiny_model)
    assert problems == [] and stats["min_cosine"] > integrity.MIN_WEIGHT_COSINE
    # the same architecture from another initialisation, saved where the trained model was
    swapped = tmp_path / "swapped"
    AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(tiny_model)).save_pretrained(swapped)
    check = check_weights(tiny_model, {"exp000": (Path(res.model_dir), "full"), "exp001": (swapped, "full")})
    assert check.status == "fail" and "exp001" in check.detail and "exp000" not in check.detail
    assert "cosine" in check.detail


def test_lora_adapter_must_name_and_fit_the_base(tiny_model, sft_data, tmp_path):
    from ftagent.train.config import TrainConfig
    from ftagent.train.sft import train_sft

    res = train_sft(TrainConfig(method="lora", **FAST), tiny_model, sft_data, tmp_path / "lora", threads=2)
    model = Path(res.model_dir)
    assert check_weights(tiny_model, {"exp000": (model, "lora")}).status == "pass"
    other = tmp_path / "other"
    shutil.copytree(model, other)
    cfg = json.loads((other / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = "Qwen/Qwen2.5-7B-Math"
    (other / "adapter_config.json").write_text(json.dumps(cfg))
    bad = check_weights(tiny_model, {"exp001": (other, "lora")})
    assert bad.status == "fail" and "names base 'Qwen/Qwen2.5-7B-Math'" in bad.detail
    # a full checkpoint where an adapter was trained
    assert "adapter_config.json" in check_weights(tiny_model, {"exp002": (tiny_model, "lora")}).detail


def test_tampered_grader_and_eval_file_and_base_model_are_flagged(mini_data, tiny_model, tmp_path, monkeypatch):
    task = get_task("aime2025")
    data = tmp_path / "data"
    shutil.copytree(mini_data / Path(task.eval_source.path).parts[0], data / Path(task.eval_source.path).parts[0])
    grader = tmp_path / "math_scorer.py"
    shutil.copy2(Path(integrity.__file__).parents[1] / "eval" / "scorers" / "math.py", grader)
    monkeypatch.setattr(integrity, "grader_files", lambda: [grader])
    base = tmp_path / "base"
    shutil.copytree(tiny_model, base)
    run_dir = tmp_path / "run"
    run_dir.mkdir()

    clean = RunAudit.start(task, data, base).finish(run_dir)
    assert clean.flags == []
    audit = RunAudit.start(task, data, base)
    grader.write_text(grader.read_text() + "\ndef score(*a, **k):\n    return 1.0\n")
    eval_file = next(p for p in (data / task.eval_source.path).rglob("*") if p.is_file()) \
        if (data / task.eval_source.path).is_dir() else data / task.eval_source.path
    eval_file.write_text(eval_file.read_text() + "\n")
    (base / "config.json").write_text((base / "config.json").read_text() + " ")
    report = audit.finish(run_dir)
    assert report.flags == ["weights", "grader"]
    by = {c.name: c for c in report.checks}
    assert any(str(grader) in c for c in by["grader"].data["changed"])
    assert any(c.startswith("eval:") for c in by["grader"].data["changed"])
    assert "base model folder modified" in by["weights"].detail
    assert IntegrityReport.model_validate(read_json(run_dir / integrity.INTEGRITY_FILE)).flags == report.flags


class _FakeSandbox:
    def __init__(self, name):
        self.name = name

    def run(self, argv, workspace, raw_dir, **kw):
        return "ran"


def test_network_check_records_backend_and_relayed_endpoints():
    audit = SandboxAudit(_FakeSandbox("bubblewrap"))
    assert audit.run(["python"], ".", ".", timeout_s=1, memory_mb=1, llm_endpoint="http://127.0.0.1:9/v1") == "ran"
    ok = check_network(audit)
    assert ok.status == "pass" and ok.data["relayed_endpoints"] == ["http://127.0.0.1:9/v1"]
    assert "unshared" in ok.data["net_namespace"] and audit.name == "bubblewrap"
    audit.note_endpoint("http://api.example.com/v1")
    assert check_network(audit).status == "fail"
    plain = SandboxAudit(_FakeSandbox("subprocess"))
    plain.run(["python"], ".", ".", timeout_s=1, memory_mb=1)
    assert check_network(plain).status == "unenforced"


def test_sandbox_exposure_of_grader_files(tmp_path):
    class Bwrap:
        name = "bubblewrap"
        roots = [tmp_path / "venv"]
        masks = [tmp_path / "venv" / "site-packages" / "ftagent"]

    inside = tmp_path / "venv" / "site-packages" / "ftagent" / "eval" / "scoring.py"
    leaked = tmp_path / "venv" / "grader.py"
    assert integrity.sandbox_exposure(Bwrap(), [inside, leaked, tmp_path / "data" / "test.jsonl"]) == [str(leaked)]
    assert integrity.sandbox_exposure(_FakeSandbox("subprocess"), [leaked]) is None
