"""workflow/scripts/gpu_slots.py: local GPU jobs get their own CUDA_VISIBLE_DEVICES (fake GPU ids)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "workflow/scripts/gpu_slots.py"
_spec = importlib.util.spec_from_file_location("gpu_slots", SCRIPT)
gpu_slots = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_slots)


def _run(n: int, tmp_path: Path, env_extra: dict[str, str], cmd: str) -> subprocess.Popen:
    env = {"PATH": "/usr/bin:/bin", "FTDOJO_GPU_LOCK_DIR": str(tmp_path / "locks"), **env_extra}
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(n), "--", "sh", "-c", cmd],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_concurrent_jobs_get_disjoint_gpus_and_wait_when_busy(tmp_path):
    env = {"FTDOJO_GPUS": "0,1,2"}
    cmd = 'echo "$CUDA_VISIBLE_DEVICES"; sleep 1.5'
    t0 = time.time()
    first = [_run(1, tmp_path, env, cmd), _run(2, tmp_path, env, cmd)]
    time.sleep(0.5)
    third = _run(2, tmp_path, env, cmd)  # needs 2 of the 3, only 0 free now: waits for a job to end
    outs = [p.communicate(timeout=30)[0].strip() for p in [*first, third]]
    used = [set(o.split(",")) for o in outs[:2]]
    assert len(used[0]) == 1 and len(used[1]) == 2 and not used[0] & used[1]
    assert len(outs[2].split(",")) == 2
    assert time.time() - t0 >= 3.0  # the third job ran after one of the first two released its GPUs


def test_pool_from_slurm_allocation_and_zero_gpus(tmp_path):
    p = _run(
        1, tmp_path, {"CUDA_VISIBLE_DEVICES": "3,5", "SLURM_JOB_ID": "42"}, 'echo "$CUDA_VISIBLE_DEVICES"'
    )
    assert p.communicate(timeout=30)[0].strip() == "3"
    p = _run(0, tmp_path, {"CUDA_VISIBLE_DEVICES": "7"}, 'echo "$CUDA_VISIBLE_DEVICES"')
    assert p.communicate(timeout=30)[0].strip() == "7"  # 0 GPUs: the command runs as it is


def test_exit_status_and_too_many_gpus(tmp_path):
    p = _run(1, tmp_path, {"FTDOJO_GPUS": "0"}, "exit 3")
    p.communicate(timeout=30)
    assert p.returncode == 3
    p = _run(2, tmp_path, {"FTDOJO_GPUS": "0"}, "true")
    err = p.communicate(timeout=30)[1]
    assert p.returncode != 0 and "needs 2 GPU(s), 1 visible" in err


def test_lock_dir_per_allocation():
    assert gpu_slots.lock_dir({"SLURM_JOB_ID": "7"}).name == "ftdojo-gpu-locks-slurm-7"
    assert gpu_slots.lock_dir({"FTDOJO_GPU_LOCK_DIR": "/x"}) == Path("/x")
    with pytest.raises(SystemExit):
        gpu_slots.acquire(1, [], Path("/tmp"))
