"""Agent overhead of a mini FT-Agent run: wall time outside training, evaluation and backbone calls.

Usage::

    python benchmarks/agent_overhead.py --root results/mini [--task aime2025] [--out DIR]

``--root`` is a mini results folder made by the workflow (``data/``, ``repository/``,
``models/tiny-qwen2/``). The script runs ``python -m ftagent run`` once with the workflow's mini Dojo
settings (one thread, scripted backbone, no cache) in a fresh folder, then splits the time with the
per-stage ``timings`` the loop records (``trace.jsonl`` and ``agent_state.json``):

* work: training (micro-batch and full, model loading included), evaluation (base model and every
  experiment), backbone calls (HTTP round trips to the loopback scripted policy);
* data scripts: the agent's data-processing scripts in the sandbox (work the agent asked for, reported
  separately, counted as overhead in the headline ratio because they are neither training,
  evaluation nor backbone calls);
* loop: inside stages but outside all of the above (prompt rendering, state writes, checks);
* run: inside ``run_agent`` but outside every stage (Dojo set-up, backbone server start, records);
* process: interpreter start and imports before ``run_agent`` (reported, not in the ratio).

Prints the breakdown and ``overhead ratio = (run wall - training - evaluation - backbone) / run wall``
(goal <= 0.10).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def breakdown(run_dir: Path) -> dict[str, float]:
    """Seconds per category of a finished run folder."""
    run = json.loads((run_dir / "run.json").read_text())
    state = json.loads((run_dir / "agent_state.json").read_text())
    stages = list(state["run_timings"].values())
    for line in (run_dir / "trace.jsonl").read_text().splitlines():
        if line.strip():
            stages += list(json.loads(line)["timings"].values())
    tot = {k: sum(s.get(k, 0.0) for s in stages) for k in ("wall_s", "train_s", "eval_s", "llm_s", "data_s")}
    wall = run["wall_s"]
    inner = tot["train_s"] + tot["eval_s"] + tot["llm_s"] + tot["data_s"]
    return {"run_wall": wall, "training": tot["train_s"], "evaluation": tot["eval_s"],
            "backbone": tot["llm_s"], "data_scripts": tot["data_s"], "loop": tot["wall_s"] - inner,
            "run_outside_stages": wall - tot["wall_s"], "stages": len(stages)}


def main(argv: list[str] | None = None) -> int:
    """Run once, print the breakdown and the ratio; exit 1 above the 10% goal."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, required=True)
    p.add_argument("--task", default="aime2025")
    p.add_argument("--out", type=Path, help="run folder (default: a fresh temporary folder)")
    args = p.parse_args(argv)
    dojo = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["scales"]["mini"]["dojo"]
    out = args.out or Path(tempfile.mkdtemp(prefix="ftagent-overhead-")) / "run"
    cmd = [sys.executable, "-m", "ftagent", "run", "--task", args.task, "--agent", "ft-agent", "--backbone",
           "scripted", "--base-model", "tiny-qwen2", "--model-dir", str(args.root / "models" / "tiny-qwen2"),
           "--data-dir", str(args.root / "data"), "--repository", str(args.root / "repository"),
           "--out", str(out), "--settings", json.dumps({"scale": "mini", **dojo}), "--cache-mode", "off"]
    t0 = time.time()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FTAGENT_PROGRESS": "plain"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    process_wall = time.time() - t0
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        return 2
    b = breakdown(out)
    wall = b["run_wall"]
    print(f"run folder: {out}")
    print(f"process wall {process_wall:.1f} s (interpreter start and imports {process_wall - wall:.1f} s, "
          "not counted)")
    for k in ("training", "evaluation", "backbone", "data_scripts", "loop", "run_outside_stages"):
        print(f"  {k:<20} {b[k]:7.2f} s  {b[k] / wall:6.1%}")
    ratio = (wall - b["training"] - b["evaluation"] - b["backbone"]) / wall
    print(f"{b['stages']} stages; overhead ratio = {ratio:.3f} (without data scripts: "
          f"{(ratio * wall - b['data_scripts']) / wall:.3f}; goal <= 0.10)")
    return 0 if ratio <= 0.10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
