"""Provenance of a run: code version, package versions, hardware and time.

Every ``run.json`` and ``eval.json`` carries this block so that a number in a table can be traced
back to the commit, the library versions and the machine that produced it.
"""

from __future__ import annotations

import datetime as _dt
import functools
import importlib.metadata as md
import os
import platform
import socket
import subprocess
from pathlib import Path
from typing import Any

#: Packages whose versions are recorded (those that change numbers).
TRACKED_PACKAGES = (
    "ftagent", "torch", "transformers", "peft", "trl", "datasets", "accelerate", "tokenizers",
    "deepspeed", "vllm", "openai", "math-verify", "rdkit", "scikit-learn", "rouge-score", "snakemake",
)


def utcnow() -> str:
    """Current UTC time, ISO 8601 with seconds (``2026-11-29T22:15:00Z``)."""
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.cache
def git_commit(root: str | None = None) -> dict[str, Any]:
    """The git commit of the source tree and whether it had uncommitted changes.

    Returns ``{"commit": None, "dirty": None}`` outside a git checkout.
    """
    from ftagent.paths import repo_root

    root = root or str(repo_root())
    try:
        commit = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True, timeout=10).stdout.strip())
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


@functools.cache
def package_versions() -> dict[str, str | None]:
    """Installed versions of :data:`TRACKED_PACKAGES` (None where not installed)."""
    out: dict[str, str | None] = {}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def hardware() -> dict[str, Any]:
    """Host, CPU count and visible GPUs (names and memory in GiB) of this process."""
    info: dict[str, Any] = {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "gpus": [],
    }
    try:
        import torch

        if torch.cuda.is_available():
            for i in range(torch.cuda.device_count()):
                p = torch.cuda.get_device_properties(i)
                info["gpus"].append({"name": p.name, "memory_gib": round(p.total_memory / 2**30, 1)})
    except ImportError:
        pass
    return info


def provenance() -> dict[str, Any]:
    """The full provenance block written into run and eval records."""
    return {"git": git_commit(), "packages": package_versions(), "hardware": hardware(), "written_at": utcnow()}
