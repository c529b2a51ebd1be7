"""Dry-run cost of the workflow: the paper matrix vs a bare Snakefile with the same number of jobs.

    python benchmarks/dryrun_ratio.py [--repeats 3] [--all-declared]

Both dry runs start a fresh ``python -m snakemake -n`` in a temporary copy, so Snakemake's own start-up
(about 10 s on a busy 2-core machine) is in both numbers; the ratio is what our configuration, schema
validation, matrix expansion and input functions add. The bare Snakefile has the same DAG shape (runs
-> evaluations -> one job per artifact -> all) and the same number of jobs. Prints one line per
measurement and the ratio last (goal: <= 1.3). ``--all-declared`` flips every declared agent to
implemented, for the matrix the paper would have once every baseline exists.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

BARE = """\
R = {runs}
ARTIFACTS = {artifacts}

rule all:
    input: expand("out/{{a}}.txt", a=range(ARTIFACTS)), "out/prep.txt"

rule prep:
    output: "out/prep.txt"
    shell: "touch {{output}}"

rule run:
    input: "out/prep.txt"
    output: "runs/{{i}}/run.json"
    shell: "touch {{output}}"

rule evaluate:
    input: "runs/{{i}}/run.json"
    output: "runs/{{i}}/eval.json"
    shell: "touch {{output}}"

rule artifact:
    input: expand("runs/{{i}}/eval.json", i=range(R))
    output: "out/{{a}}.txt"
    shell: "touch {{output}}"
"""


def _env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [e.get("PYTHONPATH")])])
    return e


def _dry_run(cwd: Path, *args: str) -> tuple[float, float, dict[str, int]]:
    """Wall and CPU (user + system) seconds of one dry run, and its per-rule job counts."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=900,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode != 0:
        raise SystemExit(f"dry run failed in {cwd}:\n{out.stderr[-2000:]}")
    lines = (out.stdout + out.stderr).splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("Job stats:"))
    counts = {}
    for line in lines[i + 3 :]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return wall, cpu, counts


def main() -> int:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5, help="dry runs of each (the median is used)")
    p.add_argument("--all-declared", action="store_true", help="count every declared agent as implemented")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="ftdojo-bench-") as tmp:
        ours = Path(tmp) / "ours"
        for d in ("workflow", "config"):
            shutil.copytree(ROOT / d, ours / d, ignore=shutil.ignore_patterns("__pycache__"))
        if a.all_declared:
            reg = ours / "config/agents.yaml"
            agents = yaml.safe_load(reg.read_text())
            reg.write_text(yaml.safe_dump({k: {**v, "implemented": True} for k, v in agents.items()}))
        _, _, counts = _dry_run(ours, "--config", "scale=paper")  # warm-up (also fills the task cache)
        runs = counts["run_agent"]
        artifacts = sum(v for k, v in counts.items() if k.startswith(("table_", "fig_")))
        prep = sum(v for k, v in counts.items() if k not in ("run_agent", "evaluate_run", "all")) - artifacts
        bare = Path(tmp) / "bare"
        bare.mkdir()
        (bare / "Snakefile").write_text(BARE.format(runs=runs, artifacts=artifacts + prep - 1))
        _, _, bare_counts = _dry_run(bare, "--cores", "1")
        ours_t, bare_t = [], []
        for _ in range(a.repeats):  # interleaved, so that load from other processes hits both alike
            ours_t.append(_dry_run(ours, "--config", "scale=paper")[:2])
            bare_t.append(_dry_run(bare, "--cores", "1")[:2])
    n_ours, n_bare = sum(counts.values()), sum(bare_counts.values())
    assert n_ours == n_bare, (counts, bare_counts)
    wall_o, wall_b = (statistics.median(t[0] for t in x) for x in (ours_t, bare_t))
    cpu_o, cpu_b = (statistics.median(t[1] for t in x) for x in (ours_t, bare_t))
    label = " (all declared agents)" if a.all_declared else ""
    print(f"paper matrix{label}: {n_ours} jobs ({runs} runs): dry run {wall_o:.1f} s wall, {cpu_o:.1f} s CPU")
    print(
        f"bare Snakefile:  {n_bare} jobs: dry run {wall_b:.1f} s wall, {cpu_b:.1f} s CPU "
        f"(medians of {a.repeats}, interleaved)"
    )
    print(f"ratio {wall_o / wall_b:.2f} (wall), {cpu_o / cpu_b:.2f} (CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
