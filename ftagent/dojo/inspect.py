"""``ftagent data info``: what a data directory holds for each task, nothing silently skipped."""

from __future__ import annotations

import re
from pathlib import Path

from ftagent.dojo.benchmarks.base import get_benchmark, get_reader
from ftagent.dojo.heldout import half_size, split_groups
from ftagent.dojo.sources import get_source
from ftagent.dojo.taskspec import TaskSpec
from ftagent.errors import FtagentError


def licence_note(licence: str) -> str:
    """The licence, flagged when it restricts use (non-commercial, share-alike) or is unclear."""
    flags = []
    if re.search(r"\bNC\b|non-?commercial", licence, re.IGNORECASE):
        flags.append("NON-COMMERCIAL")
    if re.search(r"\bSA\b|share-?alike", licence, re.IGNORECASE):
        flags.append("share-alike")
    if re.search(r"unclear|unknown", licence, re.IGNORECASE):
        flags.append("UNCLEAR")
    return licence + (f" [{', '.join(flags)}]" if flags else "")


def data_info(tasks: list[TaskSpec], data_dir: Path) -> str:
    """A plain-text report: per task, the evaluation items found per subset with their validation/test
    sizes, the declared subsets that are missing or cannot be scored (with the reason), the raw sources
    found or missing, and the licences of the evaluation data and of every raw source (non-commercial and
    unclear ones flagged)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FtagentError(f"data directory not found: {data_dir}")
    lines = [f"data directory: {data_dir}"]
    for spec in tasks:
        lines.append(f"\n{spec.id} ({spec.title}; eval licence: {licence_note(spec.eval_source.license)})")
        subsets: dict = {}
        why: str | None = None
        try:
            bench = get_benchmark(spec)
            why = bench.unsupported_reason()
            if why:
                lines.append(f"  not runnable: {why}")
            else:
                subsets = bench.load_subsets(data_dir)
        except FtagentError as e:
            lines.append(f"  evaluation data: MISSING or unreadable ({e})")
        total_v = total_t = 0
        excluded = bench.unavailable_subsets() if subsets else {}
        grouped = bool(spec.eval_source.split_groups)
        for name, items in subsets.items():
            if name in excluded:
                lines.append(f"  subset {name}: {len(items)} items -> NOT SCORED (unavailable: {excluded[name]})")
                continue
            if grouped:
                lines.append(f"  subset {name}: {len(items)} items")
                continue
            k = half_size(len(items))
            total_v, total_t = total_v + k, total_t + k
            lines.append(f"  subset {name}: {len(items)} items -> {k} validation / {k} test")
        if grouped and subsets:
            for name, items in split_groups(bench, {s: v for s, v in subsets.items() if s not in excluded}).items():
                k = half_size(len(items))
                total_v, total_t = total_v + k, total_t + k
                lines.append(f"  split group {name}: {len(items)} items -> {k} validation / {k} test")
        missing = [s for s in spec.eval_source.subsets if s != "default" and s not in subsets]
        if subsets:
            lines.append(f"  total: {total_v} validation / {total_t} test")
        if missing and why is None:
            lines.append(f"  subsets MISSING: {', '.join(missing)}")
        for sid in spec.raw_sources:
            src = get_source(sid)
            try:
                n = len(get_reader(src.reader).read(data_dir))
                lines.append(f"  raw source {sid}: {n} records (licence: {licence_note(src.license)})")
            except FtagentError as e:
                lines.append(f"  raw source {sid}: MISSING ({e}; licence: {licence_note(src.license)})")
    return "\n".join(lines)
