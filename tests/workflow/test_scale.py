"""The paper scale: `snakemake -n` lists the whole matrix.

Per-rule job counts are computed here from the config and registries, independently of
workflow/rules/common.smk.
"""

from __future__ import annotations

import os
import shutil

import pytest
import yaml

from tests.workflow.conftest import ROOT, job_counts, snakemake, workdir


def _runnable_tasks() -> list[str]:
    from ftagent.dojo.benchmarks import get_benchmark
    from ftagent.dojo.taskspec import load_tasks

    return [t for t, spec in load_tasks().items() if get_benchmark(spec).unsupported_reason() is None]


def expected_counts(scale: str, implemented_all: bool = False) -> dict[str, int]:
    """Jobs per rule of `snakemake -n --config scale=<scale>`, from config/*.yaml alone."""
    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    agents = yaml.safe_load((ROOT / "config/agents.yaml").read_text())
    budgets = yaml.safe_load((ROOT / "config/budgets.yaml").read_text())
    sc = cfg["scales"][scale]
    scale_tasks = _runnable_tasks() if sc["tasks"] == "all" else sc["tasks"]
    runs = set()
    for name, override in sc["experiments"].items():
        exp = {**cfg["experiments"][name], **(override or {})}
        budget = exp.get("budget", sc["budget"])
        caps = exp.get("sample_caps") or [budgets[budget].get("sample_cap") or sc["dojo"]["sample_cap"]]
        models = [sc["base_model"] if m == "default" else m for m in exp.get("base_models", ["default"])]
        for agent in exp["agents"]:
            if not (agents[agent]["implemented"] or implemented_all):
                continue
            backbones = (
                [sc.get("backbone") if b == "default" else b for b in exp.get("backbones", ["default"])]
                if agents[agent]["needs_backbone"]
                else ["none"]
            )
            runs |= {
                (t, agent, b, m, c, s)
                for t in exp.get("tasks") or scale_tasks
                for b in backbones
                for m in models
                for c in caps
                for s in exp.get("seeds", [0])
            }
    artifacts = [n for n, a in cfg["artifacts"].items() if set(a["experiments"]) & set(sc["experiments"])]
    counts = {
        "run_agent": len(runs),
        "evaluate_run": len(runs),
        "repository": 1,
        "all": 1,
        **{a: 1 for a in artifacts},
    }
    if scale == "paper":
        counts |= {"fetch_data": 1, "prepare_model": len({r[3] for r in runs})}
    if not os.environ.get("FTDOJO_NO_TEX") and (shutil.which("latexmk") or shutil.which("pdflatex")):  # the paper PDF is part of `all` where TeX exists
        counts["paper_pdf"] = 1
    return counts


@pytest.mark.parametrize("implemented_all", [False, True], ids=["as_configured", "all_declared_agents"])
def test_paper_scale_dry_run_counts(tmp_path, implemented_all):
    """The paper matrix dry-runs without its data (fetched by a rule) and with counts as computed."""
    registries = (
        {
            "agents": {
                f"{a}.implemented": True for a in yaml.safe_load((ROOT / "config/agents.yaml").read_text())
            }
        }
        if implemented_all
        else None
    )
    wd = workdir(tmp_path, registries=registries)
    out = snakemake(wd, "-n", "--config", "scale=paper", timeout=600)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    got = job_counts(out.stdout + out.stderr)
    want = expected_counts("paper", implemented_all)
    assert got == want
    print(
        f"paper scale ({'all declared agents' if implemented_all else 'as configured'}): "
        f"{sum(got.values())} jobs, {got['run_agent']} runs"
    )
    assert sum(got.values()) > (700 if implemented_all else 400)


def test_mini_scale_dry_run_counts(tmp_path):
    out = snakemake(workdir(tmp_path), "-n")
    assert out.returncode == 0, out.stderr[-2000:]
    want = expected_counts("mini") | {"mini_data": 1, "tiny_model": 1}
    assert job_counts(out.stdout + out.stderr) == want
