"""Shared runs of the agent tests: one recorded FT-Agent run on the tiny model, and helpers.

``ft_run`` is the reference run (aime2025, 3 iterations, scripted backbone, record/replay cache). The
runner, replay and resume tests all compare against it, so the expensive part runs once per session.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ftagent.agents.runner import run_agent
from ftagent.dojo.env import DojoSettings
from ftagent.records import RunRecord
from ftagent.utils.io import read_jsonl

ROOT = Path(__file__).resolve().parents[2]
#: Small but complete: 3 iterations (accept, repaired reject, diagnosed failure), a 6-step training,
#: 200 training samples and 5 validation items per subset.
SETTINGS = DojoSettings(scale="mini", prompt_style="compact", max_iterations=3, threads=2, sample_cap=200,
                        max_eval_items=5, train_overrides={"max_steps": 6, "logging_steps": 2},
                        data_debug_timeout_s=60, data_full_timeout_s=60)
#: Trace fields that differ between two runs of the same thing (clock readings).
VOLATILE = {"started_at", "finished_at", "timings", "latency_s", "train_runtime_s"}


def run(out: Path, mini: tuple[Path, Path, Path], *, agent: str = "ft-agent", backbone: str = "scripted",
        task: str = "aime2025", settings: DojoSettings = SETTINGS, cache_dir: Path | None = None,
        cache_mode: str = "readwrite") -> RunRecord:
    """``run_agent`` on the mini fixtures (tiny model, mini data, mini repository)."""
    model, data, repo = mini
    return run_agent(task=task, agent=agent, backbone=backbone, base_model="tiny-qwen2", base_model_dir=model,
                     data_dir=data, repository=repo, out_dir=out, seed=0, settings=settings,
                     cache_dir=cache_dir, cache_mode=cache_mode)


def run_cli(out: Path, mini: tuple[Path, Path, Path], *, settings: DojoSettings = SETTINGS,
            env: dict[str, str] | None = None, task: str = "aime2025") -> subprocess.CompletedProcess:
    """``python -m ftagent run`` in a subprocess (no backbone cache: every call reaches the endpoint)."""
    model, data, repo = mini
    cmd = [sys.executable, "-m", "ftagent", "run", "--task", task, "--agent", "ft-agent",
           "--backbone", "scripted", "--base-model", "tiny-qwen2", "--model-dir", str(model),
           "--data-dir", str(data),
           "--repository", str(repo), "--out", str(out), "--settings", settings.model_dump_json(),
           "--cache-mode", "off"]
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "FTAGENT_PROGRESS": "plain", **(env or {})}
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=600)


def stable(obj: Any) -> Any:
    """``obj`` without clock readings (:data:`VOLATILE`)."""
    if isinstance(obj, dict):
        return {k: stable(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [stable(v) for v in obj]
    return obj


def trace_of(run_dir: Path) -> list[dict[str, Any]]:
    """The run's trace lines (none before its first experiment is recorded)."""
    path = Path(run_dir) / "trace.jsonl"
    return read_jsonl(path) if path.exists() else []


def state_of(run_dir: Path) -> dict[str, Any]:
    """The run's ``agent_state.json``."""
    return json.loads((Path(run_dir) / "agent_state.json").read_text())


@pytest.fixture(scope="session")
def mini(tiny_model, mini_data, mini_repository) -> tuple[Path, Path, Path]:
    """(model, data, repository) of the mini scale."""
    return tiny_model, mini_data, mini_repository


@pytest.fixture(scope="session")
def ft_run(tmp_path_factory, mini):
    """The reference FT-Agent run, recorded into a cache: (run folder, run record, cache folder)."""
    d = tmp_path_factory.mktemp("ft_run")
    rec = run(d / "ft-agent", mini, cache_dir=d / "cache")
    return d / "ft-agent", rec, d / "cache"


@pytest.fixture
def patched_policy(monkeypatch) -> Callable[..., None]:
    """Replace the scripted policy (and optionally the backbone's retry and timeout settings) for one test."""

    def install(policy: Callable[[list[dict], dict], str], **backbone: Any) -> None:
        import ftagent.agents.runner as runner
        import ftagent.llm.scripted as scripted
        from ftagent.llm.backbones import get_backbone

        monkeypatch.setattr(scripted, "scripted_policy", policy)
        if backbone:
            spec = get_backbone("scripted").model_copy(update=backbone)
            monkeypatch.setattr(runner, "get_backbone", lambda _id: spec)

    return install


@contextlib.contextmanager
def no_env(name: str) -> Iterator[None]:
    """Run a block with ``name`` removed from the environment."""
    old = os.environ.pop(name, None)
    try:
        yield
    finally:
        if old is not None:
            os.environ[name] = old
