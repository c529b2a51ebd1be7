"""Tables and figures from run records (``results/<scale>/runs``); nothing here trains or evaluates."""

from __future__ import annotations

from pathlib import Path

from ftagent.errors import ConfigError
from ftagent.report.collect import collect_runs
from ftagent.report.figures import build_main_scores
from ftagent.report.tables import build_main_table

TABLES = {"main": build_main_table}
FIGURES = {"main_scores": build_main_scores}


def build_table(name: str, runs_dir: Path | list[Path], out_dir: Path, scale: str = "mini") -> list[Path]:
    """Build table ``name`` (see :data:`TABLES`) from the runs under ``runs_dir``."""
    if name not in TABLES:
        raise ConfigError(f"unknown table '{name}' (known: {', '.join(TABLES)})")
    return TABLES[name](runs_dir, out_dir, scale)


def build_figure(name: str, runs_dir: Path | list[Path], out_dir: Path, scale: str = "mini") -> list[Path]:
    """Build figure ``name`` (see :data:`FIGURES`) from the runs under ``runs_dir``."""
    if name not in FIGURES:
        raise ConfigError(f"unknown figure '{name}' (known: {', '.join(FIGURES)})")
    return FIGURES[name](runs_dir, out_dir, scale)


__all__ = ["FIGURES", "TABLES", "build_figure", "build_table", "collect_runs"]
