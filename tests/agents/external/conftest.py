"""Shared pieces of the external-agent tests: small Dojo settings and a run helper."""

from __future__ import annotations

from pathlib import Path

from ftagent.dojo.env import DojoSettings

#: One short session: a 4-step training, 5 validation items per subset, 3 iterations allowed.
SETTINGS = DojoSettings(scale="mini", prompt_style="compact", max_iterations=3, threads=2, sample_cap=200,
                        max_eval_items=5, train_overrides={"max_steps": 4, "logging_steps": 2},
                        data_debug_timeout_s=60, data_full_timeout_s=60, wall_clock_h=0.5)


def all_text(folder: Path) -> str:
    """Every readable file under ``folder`` concatenated (for leak checks)."""
    parts = []
    for p in Path(folder).rglob("*"):
        if p.is_file() and not p.is_symlink():
            try:
                parts.append(p.read_bytes().decode("utf-8", "replace"))
            except OSError:
                continue
    return "\n".join(parts)
