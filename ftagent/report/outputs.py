"""What every table and figure writes besides its main files: the run-id sidecar, LaTeX escaping, file mode.

Shared by :mod:`ftagent.report.formats` (tables) and :mod:`ftagent.report.plotting` (figures), so an
edit to the table renderer does not re-build the figures.
"""

from __future__ import annotations

from pathlib import Path

from ftagent.utils.io import atomic_write_text

MISSING = "–"
NOT_RUN_MARK = "†"
#: Permission bits of every table, figure and sidecar (readable by the group and others).
FILE_MODE = 0o644


def tex_escape(s: str) -> str:
    """Escape LaTeX specials of a cell or label; characters pdflatex cannot set without CJK fonts become ``?``."""
    s = "".join(c if ord(c) < 0x2000 or c in "±–−†‡·" else "?" for c in s)
    return (
        s.replace("\\", r"\textbackslash{}")
        .replace("&", r"\&")
        .replace("%", r"\%")
        .replace("_", r"\_")
        .replace("#", r"\#")
        .replace("$", r"\$")
        .replace("±", r"$\pm$")
        .replace("–", "--")
        .replace(NOT_RUN_MARK, r"$^\dagger$")
        .replace("−", "$-$")
        .replace("‡", r"$^\ddagger$")
        .replace("·", r"$\cdot$")
    )


def write_sidecar(path: Path, artifact: str, cells: list[dict]) -> Path:
    """``<stem>.runs.json``: the run ids behind every cell (or plotted point) of an artifact.

    Args:
        path: Output file.
        artifact: Artifact name.
        cells: One dict per cell: its keys (``row``, ``column``, ...) and ``runs`` (a list of run ids).
    """
    import json

    body = {"artifact": artifact, "cells": cells}
    return atomic_write_text(path, json.dumps(body, indent=1, ensure_ascii=False) + "\n", mode=FILE_MODE)
