"""The integrity checks on recorded runs: the runner's audit passes a clean run, and a run whose
training data holds test items is scored as the base model with its flag in eval.json and the tables."""

from __future__ import annotations

import json
import shutil

from ftagent.dojo import integrity
from ftagent.dojo.benchmarks import get_benchmark
from ftagent.dojo.evaluate_run import evaluate_run
from ftagent.dojo.heldout import heldout
from ftagent.dojo.taskspec import get_task
from ftagent.records import EvalRecord, IntegrityReport, RunRecord
from ftagent.report.formats import FLAG_MARK
from ftagent.report.tables import agent_task_long, agent_task_wide
from ftagent.utils.io import atomic_write_json, read_json


def test_clean_ft_agent_run_passes_every_check(ft_run):
    run_dir, rec, _ = ft_run
    report = IntegrityReport.model_validate(read_json(run_dir / integrity.INTEGRITY_FILE))
    assert [c.name for c in report.checks] == ["contamination", "weights", "grader", "network"]
    assert report.flags == [] and rec.integrity_flags == []
    by = {c.name: c for c in report.checks}
    assert by["contamination"].data["experiments"] and by["weights"].data["base_unchanged"] is True
    assert by["network"].data["commands"] > 0  # the audit saw the data-script runs


def test_contaminated_run_scores_as_the_base_model_and_is_marked(ft_run, mini_data, tmp_path):
    from ftagent.report.collect import collect_runs

    src, rec, _ = ft_run
    run_dir = tmp_path / "run"
    shutil.copytree(src, run_dir)
    exp = rec.final.experiment_id
    assert exp is not None
    data_file = run_dir / "experiments" / exp / "data.json"
    bench = get_benchmark(get_task(rec.spec.task))
    rows = json.loads(data_file.read_text()) + [
        {"instruction": bench.render(it, "compact"), "output": bench.reference_output(it)}
        for it in heldout(bench, mini_data, "test").items]
    data_file.write_text(json.dumps(rows))
    (run_dir / integrity.INTEGRITY_FILE).unlink()  # re-checked post hoc by the evaluation
    ev = evaluate_run(run_dir)
    assert ev.integrity_flags == ["contamination"] and ev.selected_experiment is None
    base = next(e for e in ev.experiments if e.experiment_id is None)
    assert ev.test == base.test.score and ev.validation == base.validation.score
    assert IntegrityReport.model_validate(read_json(run_dir / integrity.INTEGRITY_FILE)).posthoc
    assert EvalRecord.model_validate(read_json(run_dir / "eval.json")).integrity_flags == ["contamination"]

    df = collect_runs(run_dir)
    assert df["integrity_flags"].tolist() == ["contamination"]
    long = agent_task_long(df)
    wide, _ = agent_task_wide(long)
    assert all(str(v).endswith(FLAG_MARK) for v in wide.iloc[:, 0])


def test_records_without_integrity_fields_still_load(ft_run, tmp_path):
    run_dir, _, _ = ft_run
    run = read_json(run_dir / "run.json")
    run.pop("integrity_flags")
    assert RunRecord.model_validate(run).integrity_flags == []
    atomic_write_json(tmp_path / "run.json", run)
    assert RunRecord.model_validate(read_json(tmp_path / "run.json")).integrity_flags == []
