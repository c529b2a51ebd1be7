"""Fault figures of the sandbox (issue 14): hostile outputs and resource attacks, each held or not.

Usage::

    PYTHONPATH=. python benchmarks/sandbox_faults.py [--backends bubblewrap subprocess] [--cases NAME ...]

Every case is a data script run through ``Dojo.run_data_script``, as an agent's code runs, in a fresh
harness process (so a harness that hangs, crashes or balloons is seen as such: the parent gives each case
``--deadline`` seconds). *Hostile-output* cases leave something nasty for the harness to read; they are
held when the step ends as a one-line DATA failure (or, for the output flood and the self-rewriting
script, succeeds with the harness's memory bounded / the record equal to what ran). *Resource* cases
use the issue's memory cap of 256 MiB and the default :class:`~ftagent.dojo.sandbox.SandboxLimits`;
they are held when the step is stopped with the expected failure class and the resource stayed bounded.
``--no-cgroup`` shows the watchdog alone (no per-step cgroup). Prints one table row per case and
backend: case, kind, backend, held, outcome (failure class and
one-line reason), seconds and the harness's peak-RSS growth. The mini data (one task) is generated in
a temporary folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VALID = ('import json\n'
         'json.dump([{"instruction": "What is 2+2?", "output": "4"}] * 5, open("data.json", "w"))\n')
REWRITE = """
try:
    open(__file__, "w").write("print('not what ran')\\n")
except OSError:
    pass
""" + VALID
BIG_JSON = """
import json
row = json.dumps({"instruction": "q" * 1000, "output": "a"})
with open("data.json", "w") as f:
    f.write("[" + ",".join([row] * 300000) + "]")
"""
FLOOD = """
import sys
b = b"y" * 2**20
for _ in range(800):
    sys.stdout.buffer.write(b)
""" + VALID
CHILDREN = """
import subprocess, sys
c = "x = bytearray(180 * 2**20); import time; time.sleep(3)"
[p.wait() for p in [subprocess.Popen([sys.executable, "-c", c]) for _ in range(6)]]
""" + VALID
FILL = """
import os, tempfile
with open(os.path.join(%s, "x"), "wb") as f:
    for _ in range(600):
        f.write(b"x" * 2**20)
        f.flush()
""" + VALID
WORKSPACE = """
for j in range(32):
    with open(f"p{j}", "wb") as f:
        for _ in range(32):
            f.write(b"x" * 2**20)
""" + VALID
ONE_FILE = """
with open("big", "wb") as f:
    for _ in range(1024):
        f.write(b"x" * 2**20)
""" + VALID
FORKS = """
import os, time
for i in range(400):
    if os.fork() == 0:
        time.sleep(3)
        os._exit(0)
""" + VALID
DAEMON = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(4)
        open("late.txt", "w").write("alive")
    os._exit(0)
""" + VALID

#: name -> (kind, script, memory cap MiB); resource cases use the issue's 256 MiB cap.
CASES: dict[str, tuple[str, str, int]] = {
    "fifo data.json": ("output", "import os\nos.mkfifo('data.json')\n", 4096),
    "directory data.json": ("output", "import os\nos.mkdir('data.json')\n", 4096),
    "invalid UTF-8": ("output", "open('data.json', 'wb').write(b'[{\"instruction\": \"\\xff\"}]')\n", 4096),
    "JSON nested 100k deep": ("output", "open('data.json', 'w').write('[' * 100000 + ']' * 100000)\n", 4096),
    "300 MiB data.json (debug)": ("output", BIG_JSON, 4096),
    "link to a file outside": ("output", "import os\nos.symlink('/etc/hostname', 'data.json')\n", 4096),
    "link to /dev/zero": ("output", "import os\nos.symlink('/dev/zero', 'data.json')\n", 4096),
    "800 MiB of stdout": ("output", FLOOD, 4096),
    "script rewrites itself": ("output", REWRITE, 4096),
    "6 children x 180 MiB": ("resource", CHILDREN, 256),
    "600 MiB to /tmp": ("resource", FILL % "tempfile.gettempdir()", 256),
    "600 MiB to /dev/shm": ("resource", FILL % "'/dev/shm'", 256),
    "1 GiB to the workspace (32 MiB files)": ("resource", WORKSPACE, 256),
    "1 GiB in one file": ("resource", ONE_FILE, 256),
    "400 processes forked": ("resource", FORKS, 256),
    "sleep past the time limit": ("resource", "import time\ntime.sleep(60)\n", 256),
    "daemon outlives the step": ("resource", DAEMON, 256),
}
#: The failure class that holds a resource case.
EXPECT = {"6 children x 180 MiB": "OOM", "600 MiB to /tmp": "OOM", "600 MiB to /dev/shm": "OOM",
          "1 GiB to the workspace (32 MiB files)": "DATA", "1 GiB in one file": "DATA",
          "400 processes forked": "OOM", "sleep past the time limit": "TIMEOUT"}
TIMEOUT_S = 8


def mini_fixture(root: Path) -> tuple[Path, Path]:
    """Mini data and repository for the aime2025 task in ``root``."""
    from ftagent.dojo.repository import generate_mini_data, prepare_repository
    from ftagent.dojo.taskspec import load_tasks

    task = load_tasks()["aime2025"]
    data, repo = root / "data", root / "repository"
    if not (repo / "dataset_info.json").exists():
        generate_mini_data([task], data, seed=0)
        prepare_repository([task], data, repo)
    return data, repo


def _tree_mb(p: Path) -> float:
    return sum(f.stat().st_blocks * 512 for f in p.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def child(case: str, backend: str, root: Path, cgroup: bool = True) -> dict:
    """Run one case in this (fresh) harness process; the verdict as a dict."""
    from ftagent.dojo.env import Dojo, DojoSettings
    from ftagent.dojo.sandbox import SandboxLimits
    from ftagent.dojo.taskspec import load_tasks
    from ftagent.models.registry import get_base_model

    kind, script, memory = CASES[case]
    data, repo = mini_fixture(root)
    settings = DojoSettings(sandbox=backend, sample_cap=50, data_memory_mb=memory,
                            data_debug_timeout_s=TIMEOUT_S, sandbox_limits=SandboxLimits(cgroup=cgroup))
    run = Path(tempfile.mkdtemp(prefix="run-", dir=root))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dojo = Dojo(load_tasks()["aime2025"], data, repo, get_base_model("tiny-qwen2"), root / "model", run,
                    settings)
    ws = dojo.new_experiment("e1")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.time()
    res = dojo.run_data_script(ws, script, debug=True)
    wall = time.time() - t0
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    outcome = "ok" if res.ok else f"{res.failure_class}: {res.error}"
    if case == "800 MiB of stdout":
        held = res.ok and grown < 64
    elif case == "script rewrites itself":
        held = res.ok and (ws / "process_data.py").read_text() == script and \
            res.stats["script_sha256"] == hashlib.sha256(script.encode()).hexdigest()
        outcome += ", record == what ran" if held else ", record differs"
    elif case == "daemon outlives the step":
        time.sleep(6)
        held = not (ws / "late.txt").exists()
        outcome += "; no process outlived the step" if held else "; a daemon outlived the step"
    elif kind == "output":
        held = not res.ok and res.failure_class == "DATA"
    else:
        held = not res.ok and res.failure_class == EXPECT[case]
        if "workspace" in case or "one file" in case:
            size = _tree_mb(ws)
            held = held and size < 1024
            outcome += f" (workspace {size:.0f} MiB)"
    return {"case": case, "kind": kind, "backend": backend, "held": bool(held), "outcome": outcome[:150],
            "seconds": round(wall, 1), "harness_rss_growth_mb": round(grown, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backends", nargs="+", default=["bubblewrap", "subprocess"])
    ap.add_argument("--cases", nargs="+", default=list(CASES))
    ap.add_argument("--deadline", type=float, default=120, help="seconds a case's harness may take")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    ap.add_argument("--no-cgroup", action="store_true",
                    help="watchdog only (SandboxLimits.cgroup=False: an unprivileged compute node)")
    ap.add_argument("--child", nargs=3, metavar=("CASE", "BACKEND", "ROOT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], Path(args.child[2]), not args.no_cgroup)))
        return
    root = Path(tempfile.mkdtemp(prefix="ftdojo-faults-"))
    mini_fixture(root)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rows = []
    for backend in args.backends:
        for case in args.cases:
            t0 = time.time()
            try:
                cmd = [sys.executable, __file__, "--child", case, backend, str(root)]
                p = subprocess.run(cmd + (["--no-cgroup"] if args.no_cgroup else []), env=env,
                                   capture_output=True, text=True, timeout=args.deadline)
                row = json.loads(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 else {
                    "case": case, "kind": CASES[case][0], "backend": backend, "held": False,
                    "outcome": "harness crashed: " + (p.stderr.strip().splitlines() or ["?"])[-1][:120],
                    "seconds": round(time.time() - t0, 1), "harness_rss_growth_mb": None}
            except subprocess.TimeoutExpired:
                row = {"case": case, "kind": CASES[case][0], "backend": backend, "held": False,
                       "outcome": f"harness blocked for {args.deadline:g} s", "seconds": args.deadline,
                       "harness_rss_growth_mb": None}
            rows.append(row)
            verdict = "held" if row["held"] else "NOT HELD"
            print(f"{backend:10} {case:40} {verdict:8} {row['seconds']:6.1f} s  {row['outcome']}",
                  file=sys.stderr, flush=True)
    print("\n| case | kind | backend | held | outcome | s | harness RSS growth (MiB) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['case']} | {r['kind']} | {r['backend']} | {'yes' if r['held'] else '**no**'} | "
              f"{r['outcome'].replace('|', '/')} | {r['seconds']} | {r['harness_rss_growth_mb']} |")
    for backend in args.backends:
        mine = [r for r in rows if r["backend"] == backend]
        for kind in ("output", "resource"):
            k = [r for r in mine if r["kind"] == kind]
            print(f"{backend}: {sum(r['held'] for r in k)}/{len(k)} {kind} cases held")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
