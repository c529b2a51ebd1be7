"""Table and figure builders on synthetic run records (no workflow, no training)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ftagent.errors import ConfigError
from ftagent.report import build, builder_sources, get_builder
from ftagent.report.registry import BUILDERS
from tests.report.synthetic import spec, write_run


@pytest.fixture
def main_runs(tmp_path):
    runs = []
    for task, (b, f) in {"aime2025": (3.0, 13.3), "financeiq": (40.0, 55.0)}.items():
        runs.append(write_run(tmp_path, task, "base-model", test=b))
        runs.append(
            write_run(
                tmp_path,
                task,
                "ft-agent",
                "scripted",
                test=f,
                validation=f + 1,
                trace=[
                    ("ok", 5.0, "accept"),
                    ("failed", None, None),
                    ("ok", 4.0, "reject"),
                    ("ok", f + 1, "accept"),
                ],
            )
        )
    return runs


def test_agent_task_table_rows_cells_and_not_run(tmp_path, main_runs):
    out = tmp_path / "tables"
    paths = build(
        spec(
            "table_main",
            "agent_task",
            {"main": main_runs},
            not_run={"manual-sft": "the expert SFT recipe is not implemented yet"},
        ),
        out,
    )
    assert [p.name for p in paths] == ["main.csv", "main.md", "main.tex", "main.runs.json"]
    long = pd.read_csv(out / "main.csv")
    cell = long[(long["row"] == "FT-Agent (scripted) Test") & (long["task"] == "aime2025")].iloc[0]
    assert cell["mean"] == pytest.approx(13.3) and cell["n"] == 1 and cell["status"] == "ok"
    assert cell["runs"].endswith("aime2025/ft-agent/scripted/tiny-qwen2/n2000/s0")
    avg = long[(long["row"] == "Base Model") & (long["task"] == "avg")].iloc[0]
    assert avg["mean"] == pytest.approx((3.0 + 40.0) / 2)
    nr = long[long["status"] == "not_run"].iloc[0]
    assert nr["agent"] == "manual-sft" and "not implemented" in nr["runs"]
    md = (out / "main.md").read_text()
    assert "Manual SFT (original)†" in md and "† Manual SFT (original): not run (the expert SFT" in md
    assert "**13.3**" in md and "FT-Agent (scripted) Val" in md
    tex = (out / "main.tex").read_text()
    assert r"\textbf{13.3}" in tex and r"$^\dagger$" in tex and "scripted backbone is not an LLM" in tex


def test_agent_task_table_counts_missing_runs(tmp_path, main_runs):
    missing = tmp_path / "runs/aime2025/ft-agent/scripted/tiny-qwen2/n2000/s9"
    build(spec("table_main", "agent_task", {"main": [*main_runs, missing]}), tmp_path / "t")
    assert "1 planned run(s) have no records yet" in (tmp_path / "t/main.md").read_text()


def test_agent_task_table_without_runs_still_writes_files(tmp_path):
    paths = build(spec("table_3b", "agent_task", {"model_3b": []}), tmp_path)
    assert all(p.exists() for p in paths) and "No finished runs" in paths[1].read_text()


@pytest.mark.parametrize("spread", ["sem", "sd"])
def test_multirun_table_mean_and_spread(tmp_path, spread):
    runs = [
        write_run(tmp_path, "aime2025", "ft-agent", "scripted", seed=s, test=t)
        for s, t in enumerate([10.0, 20.0, 30.0])
    ]
    build(spec("table_multirun", "multirun", {"multi_run": runs}, options={"spread": spread}), tmp_path / "t")
    long = pd.read_csv(tmp_path / "t/multirun.csv")
    row = long[long["task"] == "aime2025"].iloc[0]
    assert row["mean"] == pytest.approx(20.0) and row["n"] == 3 and row["seeds"] == "0;1;2"
    assert row["sd"] == pytest.approx(10.0) and row["sem"] == pytest.approx(10.0 / math.sqrt(3))
    expected = "20.0 ± 10.0" if spread == "sd" else "20.0 ± 5.8"
    md = (tmp_path / "t/multirun.md").read_text()
    assert expected in md and f"mean ± {spread.upper()}" in md


def test_multirun_rejects_unknown_spread(tmp_path):
    with pytest.raises(ConfigError, match="options.spread"):
        build(spec("table_multirun", "multirun", {"multi_run": []}, options={"spread": "iqr"}), tmp_path)


def test_backbones_table_groups_experiments_with_cost(tmp_path):
    api = [
        write_run(tmp_path, t, "ft-agent", "gpt-5", test=s, cost=2.5, tokens=1_500_000)
        for t, s in (("aime2025", 10.0), ("financeiq", 50.0))
    ]
    oss = [
        write_run(tmp_path, t, "ft-agent", "qwen3-32b", test=s)
        for t, s in (("aime2025", 6.7), ("financeiq", 60.0))
    ]
    build(
        spec(
            "table_backbones",
            "backbones",
            {"backbone_sensitivity": api, "open_source_backbones": oss},
            backbone_kinds={"gpt-5": "openai", "qwen3-32b": "vllm-serve"},
        ),
        tmp_path / "t",
    )
    long = pd.read_csv(tmp_path / "t/backbones.csv")
    avg = long[(long["backbone"] == "gpt-5") & (long["task"] == "avg")].iloc[0]
    assert avg["mean"] == pytest.approx(30.0) and avg["cost_usd"] == pytest.approx(2.5)
    assert set(long["backbone_kind"]) == {"openai", "vllm-serve"}
    md = (tmp_path / "t/backbones.md").read_text()
    assert "Backbone Sensitivity: gpt-5" in md and "2.50" in md and "1.50" in md and "**60.0**" in md


def test_figures_write_pdf_png_and_data(tmp_path, main_runs):
    scaling = [
        write_run(tmp_path, "aime2025", "ft-agent", "scripted", cap=c, test=t)
        for c, t in ((100, 2.0), (400, 6.0), (2000, 13.3))
    ]
    for name, builder, runs in (
        ("fig_main_scores", "main_scores", main_runs),
        ("fig_data_scaling", "data_scaling", scaling),
        ("fig_trajectories", "trajectories", main_runs),
    ):
        paths = build(spec(name, builder, {"e": runs}), tmp_path / "f")
        assert [p.name.split(".", 1)[1] for p in paths] == ["pdf", "png", "csv", "runs.json", "caption.tex"]
        assert all(p.stat().st_size > 500 for p in paths[:2])
    pts = pd.read_csv(tmp_path / "f/data_scaling.csv")
    assert pts["sample_cap"].tolist() == [100, 400, 2000] and pts["mean"].tolist() == [2.0, 6.0, 13.3]


def test_trajectory_data_best_so_far_and_failures(tmp_path, main_runs):
    build(spec("fig_trajectories", "trajectories", {"main": main_runs}), tmp_path)
    tr = pd.read_csv(tmp_path / "trajectories.csv")
    aime = tr[tr["task"] == "aime2025"].sort_values("iteration")
    assert aime["status"].tolist() == ["ok", "failed", "ok", "ok"]
    assert aime["best_so_far"].tolist() == [5.0, 5.0, 5.0, 14.3]
    assert aime["failure_class"].iloc[1] == "CONFIG" and aime["base_validation"].iloc[0] == 5.0
    assert set(tr["agent"]) == {"ft-agent"}


def test_empty_figures(tmp_path):
    for name, builder in (("fig_a", "main_scores"), ("fig_b", "data_scaling"), ("fig_c", "trajectories")):
        assert all(p.exists() for p in build(spec(name, builder, {"e": []}), tmp_path))


def test_registry_sources_are_files_without_importing():
    for b in BUILDERS:
        srcs = builder_sources(b)
        assert all(p.is_file() and p.suffix == ".py" for p in srcs)
    assert builder_sources("trajectories")[0].name == "trajectories.py"
    assert get_builder("agent_task").kind == "table"
    with pytest.raises(ConfigError, match="unknown builder 'nope'"):
        get_builder("nope")


def test_bad_spec_names_the_field(tmp_path):
    with pytest.raises(ConfigError, match="field 'experiments'"):
        build('{"name": "t", "builder": "agent_task", "stem": "t"}', tmp_path)


def test_cli_report_build(tmp_path, main_runs, capsys):
    from ftagent.cli import main

    s = tmp_path / "spec.json"
    s.write_text(spec("table_main", "agent_task", {"main": main_runs}))
    assert main(["report", "build", "--spec", str(s), "--out-dir", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o/main.md").exists()
    assert (
        main(["report", "table", "main", "--runs", str(tmp_path / "runs"), "--out-dir", str(tmp_path / "o2")])
        == 0
    )
    assert "FT-Agent (scripted) Test" in (tmp_path / "o2/main.md").read_text()


def test_run_id_columns_match_the_helper():
    """The trace table's identity columns are exactly what _run_columns fills."""
    from ftagent.records import RunRecord, RunSpec
    from ftagent.report.collect import RUN_ID_COLUMNS, _run_columns

    spec = RunSpec(task="aime2025", agent="ft-agent", backbone="scripted", base_model="tiny-qwen2", sample_cap=10,
                   seed=1, scale="mini", data_dir="d", repository="r", budget={}, settings={})
    run = RunRecord.model_construct(run_id="r1", spec=spec)  # only the identity fields are read
    assert list(_run_columns(run, None)) == RUN_ID_COLUMNS
