"""The Snakemake workflow: the DAG, a reduced end-to-end run, an up-to-date re-run, the default run (slow)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def _env():
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _workdir(tmp_path: Path, overrides: dict | None = None) -> Path:
    """A copy of the workflow and configs in ``tmp_path`` (the package and tasks/ stay the repository's)."""
    for d in ("workflow", "config"):
        shutil.copytree(ROOT / d, tmp_path / d)
    if overrides:
        cfg = yaml.safe_load((tmp_path / "config" / "config.yaml").read_text())
        for dotted, value in overrides.items():
            node = cfg
            *path, last = dotted.split(".")
            for k in path:
                node = node[k]
            node[last] = value
        (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True))
    return tmp_path


def _snakemake(workdir: Path, *args: str, timeout: int = 900):
    return subprocess.run([*SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True, env=_env(),
                          timeout=timeout)


def test_dry_run_lists_the_dag(tmp_path):
    out = _snakemake(_workdir(tmp_path), "-n", "--quiet", "rules")
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout + out.stderr
    for rule in ("run_agent", "evaluate_run", "table_main", "fig_main_scores"):
        assert rule in text


def test_bad_config_stops_before_any_job(tmp_path):
    wd = _workdir(tmp_path, {"experiments.main.agents": ["base-model", "no-such-agent"]})
    out = _snakemake(wd, "-n")
    assert out.returncode != 0
    assert "unknown agent 'no-such-agent'" in out.stdout + out.stderr


REDUCED = {
    "scales.mini.tasks": ["aime2025"],
    "scales.mini.tiny_model.pretrain_steps": 30,
    "scales.mini.dojo.max_iterations": 2,
    "scales.mini.dojo.threads": 2,
    "scales.mini.dojo.train_overrides": {"max_steps": 10},
}


def test_reduced_main_job_end_to_end(tmp_path):
    """mini data -> tiny model -> repository -> runs -> evals -> table and figure; then nothing to do."""
    wd = _workdir(tmp_path, REDUCED)
    out = _snakemake(wd, "--cores", "2")
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    table = (wd / "results/mini/tables/main.md").read_text()
    assert "FT-Agent (scripted)" in table and "Base Model" in table and "AIME 2025" in table
    assert (wd / "figures/mini/main_scores.pdf").stat().st_size > 1000
    assert (wd / "figures/mini/main_scores.png").stat().st_size > 1000
    again = _snakemake(wd, "--cores", "2")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_default_main_job(tmp_path):
    """The README's main job as written: `snakemake --cores 2` on the mini default, under 15 minutes."""
    wd = _workdir(tmp_path)
    t0 = time.time()
    out = _snakemake(wd, "--cores", "2", timeout=1800)
    wall = time.time() - t0
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    assert (wd / "results/mini/tables/main.tex").exists() and (wd / "figures/mini/main_scores.pdf").exists()
    print(f"default main job: {wall:.0f} s")
    assert wall < 15 * 60
