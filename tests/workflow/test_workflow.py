"""The Snakemake workflow at the mini scale.

The DAG, bad configuration, a reduced end-to-end run, an up-to-date re-run, stored-results mode,
figure-code edits, and the default run (slow).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.report.synthetic import write_run
from tests.workflow.conftest import REDUCED, SNAKEMAKE, env, job_counts, snakemake, workdir


def test_dry_run_lists_the_dag(tmp_path):
    out = snakemake(workdir(tmp_path), "-n")
    assert out.returncode == 0, out.stderr[-2000:]
    counts = job_counts(out.stdout + out.stderr)
    for rule in (
        "mini_data",
        "tiny_model",
        "repository",
        "run_agent",
        "evaluate_run",
        "table_main",
        "table_multirun",
        "fig_main_scores",
        "fig_data_scaling",
        "fig_trajectories",
        "all",
    ):
        assert rule in counts, rule
    assert counts["run_agent"] == counts["evaluate_run"]
    # the paper scale's artifacts are declared, not built at mini
    assert "table_3b" not in counts and "table_backbones" not in counts
    # unavailable agents are named, not dropped silently
    assert "agent 'gemini-cli' is not available" in out.stderr


BAD = {
    "agent": (
        {"experiments.main.agents": ["base-model", "no-such-agent"]},
        "config: experiments.main.agents: unknown agent 'no-such-agent'",
    ),
    "task": (
        {"scales.mini.experiments.data_scaling": {"tasks": ["aime2026"]}},
        "config: experiments.data_scaling.tasks: unknown task 'aime2026'",
    ),
    "backbone": (
        {"experiments.main.backbones": ["gpt-9"]},
        "config: experiments.main.backbones: unknown backbone 'gpt-9'",
    ),
    "base_model": (
        {"experiments.main.base_models": ["llama-1"]},
        "config: experiments.main.base_models: unknown base model 'llama-1'",
    ),
    "experiment": (
        {"scales.mini.experiments.ablation_x": {}},
        "config: scales.mini.experiments: unknown experiment 'ablation_x'",
    ),
    "artifact_experiment": (
        {"artifacts.table_main.experiments": ["mian"]},
        "config: artifacts.table_main.experiments: unknown experiment 'mian'",
    ),
    "budget": ({"experiments.main.budget": "huge"}, "config: experiments.main.budget: unknown budget 'huge'"),
    "schema": ({"experiments.main.seeds": [-1]}, "config: config/config.yaml: experiments.main.seeds.0:"),
    "unavailable_stop": (
        {"unavailable_agents": "stop"},
        "config: experiments.frontier_agents.agents: agent 'gemini-cli' (Gemini CLI) is declared but not "
        "available",
    ),
}


def test_bad_config_stops_before_any_job(tmp_path):
    """Each bad key stops Snakemake with one line naming it, before the DAG has a single job."""
    procs = {}
    for name, (overrides, _) in BAD.items():
        wd = workdir(tmp_path / name, overrides)
        procs[name] = (
            wd,
            subprocess.Popen(
                [*SNAKEMAKE, "--cores", "1"],
                cwd=wd,
                env=env(),
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            ),
        )
    for name, (wd, p) in procs.items():
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode != 0, name
        assert BAD[name][1] in stderr, (name, stderr[-1500:])
        assert "Traceback" not in stderr and "Job stats" not in stdout + stderr, name
        assert not (wd / "results").exists(), name


def test_reduced_main_job_end_to_end(reduced_run):
    """Mini data -> tiny model -> repository -> runs -> evals -> tables and figures; then nothing to do."""
    wd, wall, out = reduced_run
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    print(f"reduced local run: {wall:.0f} s")
    table = (wd / "results/mini/tables/main.md").read_text()
    assert "FT-Agent (scripted)" in table and "Base Model" in table and "AIME 2025" in table
    assert "Gemini CLI†" in table  # declared in the reduced main experiment, no adapter: a labelled row
    long = pd.read_csv(wd / "results/mini/tables/main.csv")
    assert set(long.loc[long["status"] == "not_run", "agent"]) == {"gemini-cli"}
    # the Manual SFT row is filled by a real run (the CoT variant runs in tests/agents/test_manual_sft.py)
    assert "| Manual SFT (original) |" in table
    cells = long[(long["agent"] == "manual-sft") & (long["task"] == "aime2025")]
    assert len(cells) and set(cells["status"]) == {"ok"} and cells["mean"].notna().all()
    # the coding agent's row comes from a real mini-swe-agent session (scripted shell policy)
    assert "Coding agent (OpenHands-style)" in table
    coding = long.loc[long["agent"] == "coding-agent"]
    assert len(coding) and set(coding["status"]) == {"ok"}
    for stem in ("main_scores", "trajectories"):
        assert (wd / f"figures/mini/{stem}.pdf").stat().st_size > 1000
        assert (wd / f"figures/mini/{stem}.png").stat().st_size > 1000
    traj = pd.read_csv(wd / "figures/mini/trajectories.csv")
    assert len(traj) == 3 and set(traj["agent"]) == {"ft-agent", "coding-agent"}  # 2 iterations + 1
    assert "no TeX engine" in out.stderr or (wd / "paper/build/mini/ftdojo.pdf").exists()
    again = snakemake(wd, "--cores", "2")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def _placeholder_outputs(wd: Path, *args: str) -> None:
    """Create every output file of the DAG as an empty placeholder, then let Snakemake order their mtimes."""
    summ = snakemake(wd, "--summary", *args)
    assert summ.returncode == 0, summ.stderr[-2000:]
    for line in summ.stdout.splitlines()[1:]:
        f = line.split("\t")[0]
        if f and not f.startswith("output_file"):
            (wd / f).parent.mkdir(parents=True, exist_ok=True)
            (wd / f).touch()
    touch = snakemake(wd, "--touch", "--cores", "1", *args)
    assert touch.returncode == 0, touch.stderr[-2000:]


def test_editing_figure_code_schedules_only_that_figure(tmp_path):
    """Runs and evaluations never depend on report code; one figure's module re-builds that figure only."""
    wd = workdir(tmp_path, REDUCED, package=True)
    _placeholder_outputs(wd)
    quiet = snakemake(wd, "-n")
    assert "Nothing to be done" in quiet.stdout + quiet.stderr, quiet.stdout[-2000:]
    time.sleep(1.1)
    with open(wd / "ftagent/report/trajectories.py", "a") as f:  # an edit (a mere touch keeps the checksum)
        f.write("# a cosmetic edit\n")
    out = snakemake(wd, "-n")
    assert out.returncode == 0, out.stderr[-2000:]
    assert set(job_counts(out.stdout + out.stderr)) - {"paper_pdf"} == {"fig_trajectories", "all"}  # + the PDF with TeX
    time.sleep(1.1)
    with open(wd / "ftagent/report/formats.py", "a") as f:  # shared by every table, by no figure or run
        f.write("# a cosmetic edit\n")
    out = snakemake(wd, "-n")
    jobs = set(job_counts(out.stdout + out.stderr))
    assert "table_main" in jobs and "table_efficiency" in jobs  # every table renders through formats.py
    assert {j for j in jobs if not j.startswith("table_")} - {"paper_pdf"} == {"fig_trajectories", "all"}


def test_stored_results_mode_builds_tables_without_runs(tmp_path):
    """use_stored_results: no run, evaluation, data or model rule in the DAG; tables from stored records."""
    wd = workdir(
        tmp_path,
        {
            **REDUCED,
            "use_stored_results": True,
            "scales.mini.experiments": {"main": {}, "multi_run": {"seeds": [0, 1]}},
        },
    )
    root = wd / "results/mini"
    write_run(root, "aime2025", "base-model", test=3.3)
    for seed, score in ((0, 13.3), (1, 6.7)):
        write_run(
            root,
            "aime2025",
            "ft-agent",
            "scripted",
            seed=seed,
            test=score,
            trace=[("ok", 5.0, "accept"), ("ok", 10.0, "accept")],
        )
    dry = snakemake(wd, "-n")
    assert dry.returncode == 0, dry.stderr[-2000:]
    counts = job_counts(dry.stdout + dry.stderr)
    assert not {"run_agent", "evaluate_run", "mini_data", "tiny_model", "repository"} & set(counts)
    assert (
        "table_multirun: 3 of 6 planned runs have no stored records" in dry.stderr
    )  # multi_run: base-model seed 1, coding-agent seeds 0 and 1
    out = snakemake(wd, "--cores", "1")
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    main = pd.read_csv(root / "tables/main.csv")
    cell = main[(main["row"] == "FT-Agent (scripted) Test") & (main["task"] == "aime2025")].iloc[0]
    assert cell["mean"] == pytest.approx(13.3)
    multi = pd.read_csv(root / "tables/multirun.csv")
    ft = multi[(multi["agent"] == "ft-agent") & (multi["task"] == "aime2025")].iloc[0]
    assert ft["n"] == 2 and ft["mean"] == pytest.approx(10.0)
    # the paper: built where a TeX engine exists, else a one-line note and success
    if shutil.which("latexmk") or shutil.which("pdflatex"):
        assert (wd / "paper/build/mini/ftdojo.pdf").stat().st_size > 10_000
    else:
        assert "paper: no TeX engine (latexmk or pdflatex) on PATH" in out.stderr
        assert not (wd / "paper/build").exists()


def test_inactive_artifact_target_names_the_experiment(tmp_path):
    out = snakemake(workdir(tmp_path), "-n", "table_3b")
    assert out.returncode != 0
    assert "config: table_3b: its experiments (model_3b) are not run at scale 'mini'" in out.stderr


def test_rule_resources_are_portable():
    """Run and evaluation rules declare only portable resources; tables, figures and the paper are local."""
    text = "\n".join(
        ln
        for ln in (Path(__file__).resolve().parents[2] / "workflow/rules/runs.smk").read_text().splitlines()
        if not ln.lstrip().startswith("#")
    )
    assert (
        "slurm_" not in text
        and "script:" not in text
        and "{FTAGENT} run" in text
        and "{FTAGENT} eval" in text
    )
    common = (Path(__file__).resolve().parents[2] / "workflow/rules/common.smk").read_text()
    for res in ('"runtime"', '"mem_mb"', '"cpus_per_task"', '{"gpu": count}'):
        assert res in common


@pytest.mark.slow
def test_default_main_job(tmp_path):
    """The README's main job as written: `snakemake --cores 2` on the mini default, under 15 minutes."""
    wd = workdir(tmp_path)
    t0 = time.time()
    out = snakemake(wd, "--cores", "2", timeout=1800)
    wall = time.time() - t0
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    for f in (
        "results/mini/tables/main.tex",
        "results/mini/tables/multirun.tex",
        "figures/mini/main_scores.pdf",
        "figures/mini/data_scaling.pdf",
        "figures/mini/trajectories.pdf",
    ):
        assert (wd / f).exists(), f
    print(f"default main job: {wall:.0f} s")
    # no timing assert: speed goals are measured by benchmarks/mini_suite.py, not by a timed test


def test_json_spec_of_a_table_lists_planned_runs(tmp_path):
    """The spec a table rule hands to `ftagent report build` names the planned runs and unavailable agents."""
    wd = workdir(tmp_path, REDUCED)
    out = snakemake(wd, "-n", "-p", "table_main")
    assert out.returncode == 0, out.stderr[-2000:]
    line = next(ln for ln in out.stdout.splitlines() if "report build --spec" in ln)
    spec = json.loads(line.split("--spec ", 1)[1].split(" --out-dir")[0].strip("'"))
    runs = spec["experiments"]["main"]["runs"]
    assert runs == [
        "results/mini/runs/aime2025/base-model/none/tiny-qwen2/n2000/s0",
        "results/mini/runs/aime2025/manual-sft/none/tiny-qwen2/n2000/s0",
        "results/mini/runs/aime2025/coding-agent/scripted/tiny-qwen2/n2000/s0",
        "results/mini/runs/aime2025/ft-agent/scripted/tiny-qwen2/n2000/s0",
    ]
    assert set(spec["experiments"]["main"]["not_run"]) == {"gemini-cli"}
