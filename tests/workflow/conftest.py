"""Helpers of the workflow tests.

A copy of the workflow in a temporary folder, Snakemake as a subprocess, the reduced mini configuration,
and one local reduced run shared by the tests that compare with it.
"""

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

#: The reduced mini workflow: one task, two iterations, a few training steps, 4 evaluation items per subset.
REDUCED = {
    "scales.mini.tasks": ["aime2025"],
    # one agent of each kind (Manual SFT, the coding agent, FT-Agent; the CoT variant and the CLI agents have
    # their own end-to-end tests), plus gemini-cli, declared without an adapter: its labelled "not run" row
    "scales.mini.experiments": {
        "main": {"agents": ["base-model", "manual-sft", "coding-agent", "ft-agent", "gemini-cli"]}
    },
    "scales.mini.tiny_model.pretrain_steps": 30,
    "scales.mini.dojo.max_iterations": 2,
    "scales.mini.dojo.threads": 2,
    "scales.mini.dojo.max_eval_items": 4,
    "scales.mini.dojo.train_overrides": {"max_steps": 10},
}


def env(**extra: str) -> dict[str, str]:
    """The test process's environment: this interpreter's folder first on PATH, the repository importable."""
    e = dict(os.environ)
    e["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{e.get('PATH', '')}"
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [e.get("PYTHONPATH")])])
    e.pop("FTAGENT_CONFIG_DIR", None)
    e.update(extra)
    return e


def set_dotted(cfg: dict, overrides: dict) -> dict:
    """Apply ``{"a.b.c": value}`` overrides to a nested dict."""
    for dotted, value in overrides.items():
        node = cfg
        *path, last = dotted.split(".")
        for k in path:
            node = node.setdefault(k, {})
        node[last] = value
    return cfg


def workdir(
    tmp_path: Path,
    overrides: dict | None = None,
    *,
    package: bool = False,
    registries: dict[str, dict] | None = None,
) -> Path:
    """A copy of workflow/, config/, slurm/ and paper/ in ``tmp_path``.

    Args:
        tmp_path: Where the copy goes (the working directory of the runs).
        package: Also copy ftagent/ and tasks/ (edits to the copied package are what the workflow sees).
        overrides: Dotted-key overrides of config/config.yaml.
        registries: Dotted-key overrides per registry (``{"budgets": {"mini-cpu.gpus_per_run": 1}}``).
    """
    for d in ("workflow", "config", "slurm", "paper", *(("ftagent", "tasks") if package else ())):
        shutil.copytree(ROOT / d, tmp_path / d, ignore=shutil.ignore_patterns("__pycache__"))
    for name, ov in {"config": overrides or {}, **(registries or {})}.items():
        if ov:
            p = tmp_path / "config" / f"{name}.yaml"
            p.write_text(
                yaml.safe_dump(
                    set_dotted(yaml.safe_load(p.read_text()), ov), allow_unicode=True, sort_keys=False
                )
            )
    return tmp_path


def snakemake(wd: Path, *args: str, timeout: int = 900, extra_env: dict[str, str] | None = None):
    """Run Snakemake in ``wd``; a copied package in ``wd`` shadows the repository's."""
    e = env(**(extra_env or {}))
    if (wd / "ftagent").is_dir():
        e["PYTHONPATH"] = os.pathsep.join([str(wd), e["PYTHONPATH"]])
    return subprocess.run([*SNAKEMAKE, *args], cwd=wd, capture_output=True, text=True, env=e, timeout=timeout)


def job_counts(text: str) -> dict[str, int]:
    """The ``Job stats`` table of a Snakemake (dry-)run output: rule -> count."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Job stats:"))
    out = {}
    for line in lines[start + 3 :]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        out[parts[0]] = int(parts[1])
    return out


@pytest.fixture(scope="session")
def reduced_run(tmp_path_factory):
    """The reduced mini workflow run locally once: (workdir, wall seconds, completed process)."""
    wd = workdir(tmp_path_factory.mktemp("reduced_local"), REDUCED)
    t0 = time.time()
    out = snakemake(wd, "--cores", "2")
    return wd, time.time() - t0, out
