"""Per-agent efficiency of stored runs: iterations per run, failures by class, LLM cost per iteration, wall time.

The numbers the paper compares for FT-Agent and OpenHands (iterations per run, cost per iteration), for
every agent with runs under the given folders, read from ``run.json`` and ``trace.jsonl`` only::

    python benchmarks/agent_efficiency.py results/mini/runs
    python benchmarks/agent_efficiency.py /tmp/runs --json

At the mini scale the backbone is ``scripted`` (not an LLM, price 0), so the cost is 0 by construction;
the calls and tokens per iteration are still counted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from ftagent.records import RunRecord, TraceEntry
from ftagent.utils.io import read_json, read_jsonl


def efficiency(roots: list[Path]) -> dict[str, dict]:
    """Per agent (and backbone label): runs, statuses, iterations, failures by class, usage and wall time."""
    acc: dict[str, dict] = defaultdict(lambda: {"runs": 0, "status": Counter(), "iterations": 0,
                                                 "failures": Counter(), "calls": 0, "tokens": 0, "cost_usd": 0.0,
                                                 "wall_s": [], "tasks": set()})
    for root in roots:
        for p in sorted(Path(root).rglob("run.json")):
            run = RunRecord.model_validate(read_json(p))
            a = acc[f"{run.spec.agent} ({run.llm.backbone_label})"]
            a["runs"] += 1
            a["status"][run.status] += 1
            a["iterations"] += run.iterations
            a["calls"] += run.llm.calls
            a["tokens"] += run.llm.prompt_tokens + run.llm.completion_tokens
            a["cost_usd"] += run.llm.cost_usd
            a["wall_s"].append(run.wall_s)
            a["tasks"].add(run.spec.task)
            trace = p.parent / "trace.jsonl"
            for row in read_jsonl(trace) if trace.exists() else []:
                e = TraceEntry.model_validate(row)
                if e.status == "failed":
                    a["failures"][e.failure_class or "unclassified"] += 1
    out = {}
    for agent, a in sorted(acc.items()):
        it = max(a["iterations"], 1)
        out[agent] = {"runs": a["runs"], "tasks": sorted(a["tasks"]), "status": dict(a["status"]),
                      "iterations_per_run": round(a["iterations"] / a["runs"], 2),
                      "failures_by_class": dict(a["failures"]),
                      "calls_per_iteration": round(a["calls"] / it, 1),
                      "tokens_per_iteration": round(a["tokens"] / it),
                      "cost_usd_per_iteration": round(a["cost_usd"] / it, 4),
                      "wall_s_per_run": round(sum(a["wall_s"]) / a["runs"], 1),
                      "wall_s_max": round(max(a["wall_s"]), 1)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("roots", nargs="+", type=Path, help="folders searched for run.json")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)
    rows = efficiency(args.roots)
    if not rows:
        print(f"no run.json under {', '.join(map(str, args.roots))}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print("| agent | runs | iterations/run | failures by class | calls/iteration | cost/iteration (USD) "
          "| wall s/run (max) |")
    print("|---|---|---|---|---|---|---|")
    for agent, r in rows.items():
        fails = ", ".join(f"{k} {v}" for k, v in r["failures_by_class"].items()) or "none"
        print(f"| {agent} | {r['runs']} | {r['iterations_per_run']} | {fails} | {r['calls_per_iteration']} | "
              f"{r['cost_usd_per_iteration']} | {r['wall_s_per_run']} ({r['wall_s_max']}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
