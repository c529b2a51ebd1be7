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


def _dry_run(cwd: Path, *args: str) -> tuple[float, dict[str, int]]:
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
    return wall, counts


def main() -> int:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3, help="dry runs of each (the median is used)")
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
        t_ours, counts = [], {}
        for _ in range(a.repeats):
            t, counts = _dry_run(ours, "--config", "scale=paper")
            t_ours.append(t)
        runs = counts["run_agent"]
        artifacts = sum(v for k, v in counts.items() if k.startswith(("table_", "fig_")))
        bare = Path(tmp) / "bare"
        bare.mkdir()
        (bare / "Snakefile").write_text(
            BARE.format(
                runs=runs,
                artifacts=artifacts
                + sum(
                    v
                    for k, v in counts.items()
                    if k not in ("run_agent", "evaluate_run", "all") and not k.startswith(("table_", "fig_"))
                )
                - 1,
            )
        )
        t_bare, bare_counts = [], {}
        for _ in range(a.repeats):
            t, bare_counts = _dry_run(bare, "--cores", "1")
            t_bare.append(t)
    n_ours, n_bare = sum(counts.values()), sum(bare_counts.values())
    mo, mb = statistics.median(t_ours), statistics.median(t_bare)
    print(
        f"paper matrix{' (all declared agents)' if a.all_declared else ''}: {n_ours} jobs ({runs} runs), "
        f"dry run {mo:.1f} s (median of {', '.join(f'{t:.1f}' for t in t_ours)})"
    )
    runs_bare = ", ".join(f"{t:.1f}" for t in t_bare)
    print(f"bare Snakefile: {n_bare} jobs, dry run {mb:.1f} s (median of {runs_bare})")
    print(f"ratio {mo / mb:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
