"""FT-Agent with the scripted backbone on every runnable task at the mini scale, and which loop branches ran.

Usage::

    python benchmarks/mini_suite.py --root results/mini [--out DIR] [--tasks T ...]

``--root`` is a mini results folder made by the workflow (``data/``, ``repository/``,
``models/tiny-qwen2/``); runs use the workflow's mini Dojo settings (``config/config.yaml``, one thread)
and go to ``--out`` (default ``<root>/suite``). A finished run is not repeated; an unfinished one is
resumed. Prints one row per task: iterations, the decision of each experiment (A accept, R reject,
F failed), repaired validation failures, diagnosed failures, the dataset selection, base and best
validation scores and the wall time; then whether the suite covered every branch.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def mini_settings():
    """The workflow's mini Dojo settings."""
    from ftagent.dojo.env import DojoSettings

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    return DojoSettings(scale="mini", **cfg["scales"]["mini"]["dojo"])


def _repaired(attempts: list[dict]) -> bool:
    """A fail-fast stage failed and then passed in a repair round."""
    return any(a["ok"] and any(not b["ok"] and b["stage"] == a["stage"] for b in attempts[:i])
               for i, a in enumerate(attempts))


def summarise(run_dir: Path) -> dict:
    """The branches one run exercised."""
    trace = [json.loads(line) for line in (run_dir / "trace.jsonl").read_text().splitlines() if line.strip()]
    state = json.loads((run_dir / "agent_state.json").read_text())
    run = json.loads((run_dir / "run.json").read_text())
    marks = "".join("F" if e["status"] == "failed" else ("A" if e["decision"] == "accept" else "R")
                    for e in trace)
    return {
        "iterations": len(trace), "decisions": marks,
        "accepted": marks.count("A"), "rejected": marks.count("R"),
        "repaired": sum(1 for e in trace if _repaired(e["attempts"])),
        "diagnosed": sum(1 for e in trace if e["status"] == "failed" and e.get("diagnosis")),
        "datasets": ",".join(state["selection"]["datasets"]),
        "base": state["baseline"]["score"], "best": run["final"]["validation_score"],
        "status": run["status"], "wall_s": run["wall_s"],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the suite and print the table; exit 1 when a branch was never exercised."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, required=True)
    p.add_argument("--out", type=Path)
    p.add_argument("--tasks", nargs="*")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    from ftagent.agents.runner import run_agent
    from ftagent.dojo.benchmarks import get_benchmark
    from ftagent.dojo.taskspec import load_tasks

    out = args.out or args.root / "suite"
    tasks = args.tasks or [t for t, s in load_tasks().items()
                           if get_benchmark(s).unsupported_reason() is None]
    settings = mini_settings()
    rows = {}
    for task in tasks:
        run_dir = out / task
        if not (run_dir / "run.json").exists():
            t0 = time.time()
            run_agent(task=task, agent="ft-agent", backbone="scripted", base_model="tiny-qwen2",
                      base_model_dir=args.root / "models" / "tiny-qwen2", data_dir=args.root / "data",
                      repository=args.root / "repository", out_dir=run_dir, seed=0, settings=settings,
                      cache_dir=out / "llm_cache")
            print(f"{task}: done in {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
        rows[task] = summarise(run_dir)
    cols = ["iterations", "decisions", "accepted", "rejected", "repaired", "diagnosed", "datasets", "base",
            "best", "status", "wall_s"]
    print("| task | " + " | ".join(cols) + " |")
    print("|" + "---|" * (len(cols) + 1))
    for task, r in rows.items():
        print(f"| {task} | " + " | ".join(str(r[c]) for c in cols) + " |")
    covered = {k: sum(r[k] for r in rows.values()) for k in ("accepted", "rejected", "repaired", "diagnosed")}
    short = [t for t, r in rows.items() if r["iterations"] < 3]
    print(f"\nacross {len(rows)} tasks: {covered}; runs with fewer than 3 iterations: {short or 'none'}")
    return 0 if all(covered.values()) and not short else 1


if __name__ == "__main__":
    raise SystemExit(main())
