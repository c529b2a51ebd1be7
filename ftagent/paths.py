"""Where the project's folders are: the repository root and the folders under it.

Every path can be overridden by an environment variable so that an installed package, a SLURM job
or a test can point elsewhere: ``FTAGENT_ROOT`` (repository root), ``FTAGENT_TASKS_DIR``,
``FTAGENT_CONFIG_DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The repository root (``$FTAGENT_ROOT``, else the folder above the ``ftagent`` package)."""
    env = os.environ.get("FTAGENT_ROOT")
    return Path(env).resolve() if env else Path(__file__).resolve().parents[1]


def config_dir() -> Path:
    """``config/`` (registries of base models, backbones, agents; experiment configs)."""
    env = os.environ.get("FTAGENT_CONFIG_DIR")
    return Path(env) if env else repo_root() / "config"


def cache_dir() -> Path:
    """A per-user cache for converted models (``$FTAGENT_CACHE``, else ``~/.cache/ftagent``)."""
    env = os.environ.get("FTAGENT_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "ftagent"
