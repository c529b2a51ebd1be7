"""Shared fixtures: tasks, generated mini data, a raw-data repository and a tiny model, all offline.

The tiny model is built once per test session with few pretraining steps (seconds, not minutes).
Tests that need the real benchmark files use ``mirror_dir`` and are marked ``mirror_data``; they skip
with a reason when ``../shared/data`` (or ``$FTAGENT_MIRROR_DIR``) is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Tasks runnable in the walking skeleton; grow as benchmark families are added.
CORE_TASKS = ["aime2025", "financeiq", "tablebench_fact_checking", "chemcotbench_mol_und", "chemcotbench_mol_edit",
              "chemcotbench_mol_opt", "chemcotbench_reaction"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def all_tasks():
    """Every task spec in ``tasks/``, by id."""
    from ftagent.dojo.taskspec import load_tasks

    return load_tasks()


@pytest.fixture(scope="session")
def runnable_tasks(all_tasks):
    """Specs of the tasks whose benchmark family is implemented."""
    from ftagent.dojo.benchmarks import get_benchmark
    from ftagent.errors import TaskError

    out = []
    for spec in all_tasks.values():
        try:
            if get_benchmark(spec).unsupported_reason() is None:
                out.append(spec)
        except TaskError:
            continue
    return out


@pytest.fixture(scope="session")
def mini_data(tmp_path_factory, runnable_tasks):
    """A generated mini data directory for every runnable task."""
    from ftagent.dojo.repository import generate_mini_data

    d = tmp_path_factory.mktemp("mini_data")
    generate_mini_data(runnable_tasks, d, seed=0)
    return d


@pytest.fixture(scope="session")
def mini_repository(tmp_path_factory, runnable_tasks, mini_data):
    """The raw-data repository prepared from ``mini_data`` (no tokenizer statistics)."""
    from ftagent.dojo.repository import prepare_repository

    d = tmp_path_factory.mktemp("mini_repo")
    prepare_repository(runnable_tasks, mini_data, d)
    return d


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, runnable_tasks, mini_repository):
    """A tiny model built from the mini repository with 20 pretraining steps."""
    from ftagent.models.tiny import TinyModelConfig, build_tiny_model, mini_corpus

    d = tmp_path_factory.mktemp("tiny_model") / "tiny-qwen2"
    build_tiny_model(mini_corpus(mini_repository, runnable_tasks), d, TinyModelConfig(pretrain_steps=20), threads=2)
    return d


@pytest.fixture(scope="session")
def mirror_dir():
    """The real benchmark files (``../shared/data`` or ``$FTAGENT_MIRROR_DIR``); skips when absent."""
    d = Path(os.environ.get("FTAGENT_MIRROR_DIR", ROOT.parent / "shared" / "data"))
    if not d.is_dir():
        pytest.skip(f"real benchmark mirror not found at {d} (set FTAGENT_MIRROR_DIR)")
    return d
