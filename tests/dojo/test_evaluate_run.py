"""``ftagent eval rescore``: stored generations re-scored under both profiles, no model loaded."""

from __future__ import annotations

import json

import pytest

from ftagent.dojo.benchmarks import get_benchmark
from ftagent.dojo.evaluate_run import _experiment, _results, rescore_run
from ftagent.dojo.harness import score_outputs
from ftagent.dojo.heldout import heldout
from ftagent.dojo.taskspec import get_task
from ftagent.errors import DataError
from ftagent.records import EvalRecord, RunRecord, RunSpec
from ftagent.utils.io import atomic_write_json, read_json, read_jsonl, write_jsonl

TASK = "tablebench_numerical_reasoning"


def _outputs(bench, items):
    """Generations with answers the two profiles score differently: "1,250"-style numbers and "69.0"."""
    outs = []
    for n, it in enumerate(items):
        gold = str(it.answer)
        if n % 3 == 0:
            outs.append(f"Final Answer: {gold}")
        elif n % 3 == 1 and gold.replace(".", "").isdigit():
            outs.append(f"Final Answer: {float(gold):.1f}0")  # equal as numbers, not as the fork's text
        else:
            outs.append("Final Answer: nothing")
    return outs


@pytest.fixture
def stored_run(tmp_path, mini_data):
    """A run folder as ``ftagent eval`` leaves it (base model only), scored under ``benchmark``."""
    bench = get_benchmark(get_task(TASK))
    spec = RunSpec(task=TASK, agent="base-model", backbone="none", base_model="tiny-qwen2", sample_cap=10, seed=0,
                   scale="mini", data_dir=str(mini_data), repository="")
    run = RunRecord(run_id="r1", spec=spec, status="ok", started_at="t0", finished_at="t1", wall_s=1.0,
                    provenance={})
    atomic_write_json(tmp_path / "run.json", run)
    parts, rows = {}, []
    for part in ("validation", "test"):
        items = heldout(bench, mini_data, part).items
        parts[part] = score_outputs(bench, items, _outputs(bench, items), "benchmark")
        rows += [{"experiment_id": None, "part": part, **r} for r in parts[part].per_item()]
    exp = _experiment(None, None, parts["validation"], parts["test"], "benchmark")
    res = _results([exp], True)
    write_jsonl(tmp_path / "eval_items.jsonl", rows)
    atomic_write_json(tmp_path / "eval.json", EvalRecord(
        run_id="r1", task=TASK, metric="exact_match", selected_experiment=None, validation=res["benchmark"].validation,
        test=res["benchmark"].test, best_of_test=res["benchmark"].best_of_test, experiments=[exp], decoding={},
        backend="transformers", prompt_style="compact", provenance={}, scoring_profile="benchmark", profiles=res))
    return tmp_path


def test_rescore_switches_the_profile_from_stored_generations(stored_run):
    before = EvalRecord.model_validate(read_json(stored_run / "eval.json"))
    assert before.profiles["paper"].test < before.profiles["benchmark"].test  # the "69.00" answers
    rec = rescore_run(stored_run, "paper")
    assert rec.scoring_profile == "paper" and rec.rescored_at
    assert (rec.validation, rec.test) == (before.profiles["paper"].validation, before.profiles["paper"].test)
    assert rec.profiles == before.profiles
    on_disk = EvalRecord.model_validate(read_json(stored_run / "eval.json"))
    assert on_disk == rec
    rows = read_jsonl(stored_run / "eval_items.jsonl")
    assert {"paper", "benchmark"} <= set(rows[0]["profiles"])
    assert all(r["score"] == r["profiles"]["paper"]["score"] for r in rows)
    back = rescore_run(stored_run, "benchmark")
    assert (back.validation, back.test) == (before.validation, before.test)


def test_rescore_cli_and_bad_input(stored_run, capsys):
    from ftagent.cli import main

    assert main(["eval", "rescore", "--run", str(stored_run), "--profile", "paper"]) == 0
    out = capsys.readouterr().out
    assert "[paper *]" in out and "[benchmark]" in out
    assert main(["eval", "rescore", "--run", str(stored_run / "missing")]) == 2
    rows = read_jsonl(stored_run / "eval_items.jsonl")
    rows[0]["id"] = "not-an-item"
    rows[0]["subset"] = "nowhere"
    write_jsonl(stored_run / "eval_items.jsonl", rows)
    kept = (stored_run / "eval.json").read_text()
    with pytest.raises(DataError, match="not-an-item"):
        rescore_run(stored_run)
    assert (stored_run / "eval.json").read_text() == kept  # nothing lost


def test_old_records_load_with_defaults(stored_run):
    raw = json.loads((stored_run / "eval.json").read_text())
    for key in ("scoring_profile", "profiles", "rescored_at"):
        raw.pop(key)
    for e in raw["experiments"]:
        e.pop("profiles")
    rec = EvalRecord.model_validate(raw)
    assert rec.scoring_profile == "benchmark" and rec.profiles == {} and rec.experiments[0].profiles == {}
