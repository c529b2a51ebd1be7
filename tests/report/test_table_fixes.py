"""Tables and figures: ties, no bold 0.0, seeds in captions, missing cells kept, file modes, sidecars."""

from __future__ import annotations

import json
import stat

import pandas as pd
import pytest

from ftagent.report import build, build_table
from ftagent.report.formats import best_rows
from tests.report.synthetic import spec, write_run


def test_best_rows_ties_zero_and_all_equal():
    assert best_rows({"a": 10.0, "b": 10.04, "c": 3.0}) == {"a", "b"}  # tie at the shown precision
    assert best_rows({"a": 0.0, "b": 0.0}) == set()  # all tie
    assert best_rows({"base": 0.0, "x": float("nan")}) == set()  # one value, and it is 0
    assert best_rows({"a": 0.0, "b": -1.0}) == set()  # best is 0 (higher is better)
    assert best_rows({"a": 2.0, "b": 5.0}, higher_is_better=False) == {"a"}


def test_tied_rows_all_bold_and_single_seed_caption(tmp_path):
    runs = [
        write_run(tmp_path, "aime2025", "base-model", test=0.0),
        write_run(tmp_path, "aime2025", "ft-agent", "scripted", test=0.0),
        write_run(tmp_path, "financeiq", "base-model", test=40.0),
        write_run(tmp_path, "financeiq", "ft-agent", "scripted", test=40.0),
        write_run(tmp_path, "tablebench_fact_checking", "base-model", test=20.0),
        write_run(tmp_path, "tablebench_fact_checking", "ft-agent", "scripted", test=30.0),
    ]
    build(spec("table_main", "agent_task", {"main": runs}), tmp_path / "t")
    md = (tmp_path / "t/main.md").read_text()
    assert "**0.0**" not in md and "**40.0**" not in md  # all-tie columns: no winner
    assert "**30.0**" in md and "over seeds" not in md and "one run per cell" in md
    assert "(Acc., %)" in md and "(EM, %)" in md  # metric and unit per column
    # two tied winners are both bold
    runs2 = [
        write_run(tmp_path / "b", "financeiq", "base-model", test=10.0),
        write_run(tmp_path / "b", "financeiq", "ft-agent", "scripted", test=50.0),
        write_run(tmp_path / "b", "financeiq", "ft-agent", "gpt-5", test=50.0),
    ]
    build(spec("table_main", "agent_task", {"main": runs2}), tmp_path / "t2")
    md2 = (tmp_path / "t2/main.md").read_text()
    assert md2.count("**50.0**") >= 4  # both Test rows, in the task column and in Avg.


def test_paper_scale_table_without_records_keeps_rows_and_columns(tmp_path):
    planned = [
        tmp_path / f"results/paper/runs/{t}/{a}/{b}/qwen2.5-7b-instruct/n2000/s0"
        for t in ("aime2025", "financeiq")
        for a, b in (("base-model", "none"), ("ft-agent", "gpt-5"))
    ]
    build(
        spec("table_main", "agent_task", {"main": planned}, not_run={"manual-sft": "not implemented"},
             scale="paper", backbone_labels={"gpt-5": "GPT-5"}),
        tmp_path / "t",
    )
    long = pd.read_csv(tmp_path / "t/main.csv")
    cells = long[(long["status"] == "missing")]
    assert set(cells["task"]) == {"aime2025", "financeiq"} and cells["mean"].isna().all()
    assert (cells["n"] == 0).all()
    md = (tmp_path / "t/main.md").read_text()
    assert "FT-Agent (GPT-5) Test" in md and "AIME 2025" in md and "FinanceIQ" in md
    assert "Manual SFT (original)†" in md and "4 planned run(s) have no records" in md
    assert "0.0" not in md  # missing, never 0


def test_planted_missing_run_is_missing_not_zero(tmp_path):
    runs = [write_run(tmp_path, "aime2025", "base-model", test=3.3)]
    missing = tmp_path / "runs/financeiq/base-model/none/tiny-qwen2/n2000/s0"
    runs.append(write_run(tmp_path, "aime2025", "ft-agent", "scripted", test=6.7))
    build(spec("table_main", "agent_task", {"main": [*runs, missing]}), tmp_path / "t")
    long = pd.read_csv(tmp_path / "t/main.csv")
    c = long[(long["row"] == "Base Model") & (long["task"] == "financeiq")].iloc[0]
    assert c["status"] == "missing" and pd.isna(c["mean"])
    avg = long[(long["row"] == "Base Model") & (long["task"] == "avg")].iloc[0]
    assert pd.isna(avg["mean"]) and avg["status"] == "incomplete"  # no average over a missing task


def test_cli_table_keeps_to_its_experiment_and_not_run_rows(tmp_path):
    """`ftagent report table main` never averages data-scaling caps or multi-run seeds into a cell."""
    root = tmp_path / "results/mini"
    write_run(root, "aime2025", "base-model", test=3.0)
    write_run(root, "aime2025", "ft-agent", "scripted", test=10.0)
    write_run(root, "aime2025", "ft-agent", "scripted", cap=100, test=90.0)  # data scaling
    write_run(root, "aime2025", "ft-agent", "scripted", seed=1, test=70.0)  # multi-run
    build_table("main", [root / "runs"], tmp_path / "t", scale="mini")
    long = pd.read_csv(tmp_path / "t/main.csv")
    c = long[(long["row"] == "FT-Agent (scripted) Test") & (long["task"] == "aime2025")].iloc[0]
    assert c["mean"] == pytest.approx(10.0) and c["n"] == 1
    # its not-run rows are the main experiment's declared agents without an implementation (none today)
    import yaml

    from tests.workflow.conftest import ROOT

    declared = yaml.safe_load((ROOT / "config/agents.yaml").read_text())
    main_agents = yaml.safe_load((ROOT / "config/config.yaml").read_text())["experiments"]["main"]["agents"]
    want = {a for a in main_agents if not declared[a]["implemented"]}
    assert set(long.loc[long["status"] == "not_run", "agent"]) == want


def test_outputs_are_world_readable_with_sidecar(tmp_path):
    runs = [write_run(tmp_path, "aime2025", "base-model", test=3.3)]
    out = tmp_path / "t"
    paths = build(spec("table_main", "agent_task", {"main": runs}), out)
    paths += build(spec("fig_main_scores", "main_scores", {"main": runs}), out)
    for p in paths:
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, p
    side = json.loads((out / "main.runs.json").read_text())
    cell = next(c for c in side["cells"] if c["row"] == "Base Model" and c["column"] == "aime2025")
    assert cell["runs"] == [str(runs[0])]


def test_main_scores_zero_and_missing_differ(tmp_path):
    runs = [write_run(tmp_path, "aime2025", "base-model", test=0.0)]
    missing = tmp_path / "runs/aime2025/ft-agent/scripted/tiny-qwen2/n2000/s0"
    build(spec("fig_main_scores", "main_scores", {"main": [*runs, missing]}), tmp_path / "f")
    pts = pd.read_csv(tmp_path / "f/main_scores.csv")
    base = pts[pts["agent"] == "base-model"].iloc[0]
    ft = pts[pts["agent"] == "ft-agent"].iloc[0]
    assert base["mean"] == 0.0 and base["n"] == 1
    assert pd.isna(ft["mean"]) and ft["n"] == 0 and ft["planned"] == 1
    cap = (tmp_path / "f/main_scores.caption.tex").read_text()
    assert "n/a" in cap and "one run per bar" in cap


def test_trajectories_caption_explains_the_planted_failure(tmp_path):
    run = write_run(tmp_path, "aime2025", "ft-agent", "scripted",
                    trace=[("ok", 5.0, "accept"), ("ok", 4.0, "reject"), ("failed", None, None)])
    build(spec("fig_trajectories", "trajectories", {"main": [run]}), tmp_path / "f")
    cap = (tmp_path / "f/trajectories.caption.tex").read_text()
    assert "fails on purpose" in cap and "not a finding" in cap and "grey strip" in cap


def test_data_scaling_single_seed_has_no_error_bars_and_starts_at_zero(tmp_path):
    runs = [write_run(tmp_path, "aime2025", "ft-agent", "scripted", cap=c, test=t) for c, t in ((100, 6.7), (400, 0.0))]
    build(spec("fig_data_scaling", "data_scaling", {"data_scaling": runs}), tmp_path / "f")
    cap = (tmp_path / "f/data_scaling.caption.tex").read_text()
    assert "no error bars" in cap and "starts at 0" in cap and ") (" not in cap


def test_flagged_run_gets_a_marker(tmp_path):
    """A run with integrity_flags (newer run.json) marks its cell; a record without the field loads as before."""
    import json as _json

    runs = [write_run(tmp_path, "aime2025", "base-model", test=3.3),
            write_run(tmp_path, "aime2025", "ft-agent", "scripted", test=40.0)]
    from ftagent.records import RunRecord

    if "integrity_flags" not in RunRecord.model_fields:
        pytest.skip("run.json has no integrity_flags field in this tree (branch cli adds it)")
    rec = _json.loads((runs[1] / "run.json").read_text())
    rec["integrity_flags"] = ["test_overlap"]
    (runs[1] / "run.json").write_text(_json.dumps(rec))
    build(spec("table_main", "agent_task", {"main": runs}), tmp_path / "t")
    md = (tmp_path / "t/main.md").read_text()
    assert "40.0‡" in md and "‡ a run behind the cell failed an integrity check" in md
