"""Run a command on N GPUs of its own: ``python gpu_slots.py N -- CMD ...``.

Local runs (the default profile) start several GPU jobs at once; without this they would all land on
GPU 0 (snakemake/snakemake#281). Each GPU of the pool has a lock file; a job takes N free ones with
``flock`` (released by the kernel when the job ends, even if it is killed), sets
``CUDA_VISIBLE_DEVICES`` to them, and waits while fewer than N are free, so GPU jobs serialise
instead of oversubscribing.

The pool: ``$FTDOJO_GPUS`` (comma-separated ids), else the ``CUDA_VISIBLE_DEVICES`` the job was given
(inside a SLURM allocation, so that grouped evaluation jobs share it without colliding), else the GPUs
``nvidia-smi -L`` lists. Locks live in ``$FTDOJO_GPU_LOCK_DIR``, else a folder under the system temp
dir keyed by the SLURM job id (per allocation) or by the user (per machine).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def gpu_pool(env: dict[str, str]) -> list[str]:
    """GPU ids available to this job (see the module docstring)."""
    for var in ("FTDOJO_GPUS", "CUDA_VISIBLE_DEVICES"):
        ids = [x.strip() for x in env.get(var, "").split(",") if x.strip()]
        if ids:
            return ids
    try:
        out = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def lock_dir(env: dict[str, str]) -> Path:
    """Folder of the per-GPU lock files."""
    if env.get("FTDOJO_GPU_LOCK_DIR"):
        return Path(env["FTDOJO_GPU_LOCK_DIR"])
    key = f"slurm-{env['SLURM_JOB_ID']}" if env.get("SLURM_JOB_ID") else f"uid-{os.getuid()}"
    return Path(tempfile.gettempdir()) / f"ftdojo-gpu-locks-{key}"


def acquire(n: int, pool: list[str], locks: Path, poll_s: float = 2.0, timeout_s: float | None = None):
    """Lock ``n`` GPUs of ``pool``; returns (ids, open lock files). Waits while fewer are free.

    Raises:
        SystemExit: ``n`` exceeds the pool, or ``timeout_s`` passed.
    """
    if n > len(pool):
        raise SystemExit(
            f"gpu_slots: the job needs {n} GPU(s), {len(pool)} visible ({','.join(pool) or 'none'}); "
            "set FTDOJO_GPUS=0,1,... or lower the budget's gpus_per_run"
        )
    locks.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    while True:
        held = []
        for gpu in pool:
            f = open(locks / f"gpu{gpu}.lock", "w")  # noqa: SIM115  (kept open while the job runs)
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                continue
            held.append((gpu, f))
            if len(held) == n:
                return [g for g, _ in held], [f for _, f in held]
        for _, f in held:
            f.close()
        if timeout_s is not None and time.time() - t0 > timeout_s:
            raise SystemExit(f"gpu_slots: no {n} free GPU(s) after {timeout_s:.0f} s")
        time.sleep(poll_s)


def main(argv: list[str]) -> int:
    """Entry point: ``N -- CMD ...``; returns the command's exit status."""
    if len(argv) < 3 or argv[1] != "--" or not argv[0].isdigit():
        print("usage: gpu_slots.py N -- CMD ...", file=sys.stderr)
        return 2
    n, cmd = int(argv[0]), argv[2:]
    env = dict(os.environ)
    if n == 0:
        return subprocess.call(cmd)
    ids, held = acquire(n, gpu_pool(env), lock_dir(env))
    env["CUDA_VISIBLE_DEVICES"] = ",".join(ids)
    print(f"gpu_slots: CUDA_VISIBLE_DEVICES={env['CUDA_VISIBLE_DEVICES']}", file=sys.stderr, flush=True)
    try:
        return subprocess.call(cmd, env=env)
    finally:
        for f in held:
            f.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
