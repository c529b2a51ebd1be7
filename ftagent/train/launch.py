"""Run training as a ``torchrun`` subprocess: several processes, DeepSpeed, logs, resume, timeouts.

:func:`launch_training` (and ``python -m ftagent.train.launch``) starts
``python -m torch.distributed.run ... -m ftagent.train.worker`` on one node and returns a
:class:`~ftagent.train.sft.TrainResult`:

* **Processes**: ``nproc_per_node="auto"`` is the number of visible GPUs (``CUDA_VISIBLE_DEVICES``,
  else ``torch.cuda.device_count()``), or 1 process on a CPU machine; an integer forces it (the tests
  run 2 CPU processes).
* **Port**: a job-unique ``MASTER_PORT`` derived from ``SLURM_JOB_ID`` (so two jobs sharing a node
  never collide: DeepSpeed #3916, diffusion-pipe #273; anchors-notes §D12), else a free port. A derived
  port that happens to be taken falls back to a free one (safe on one node).
* **Log**: everything the processes print goes to ``<out>/train.log`` (appended per attempt).
* **Failure**: the exit status, the worker's failure record (``failure-rank<k>.json``) and the log
  tail go through :func:`~ftagent.train.failures.classify_failure`; the result carries the class and
  the tail.
* **Resume**: when ``<out>/checkpoints`` holds a complete checkpoint (``trainer_state.json`` is
  written last) of the *same* launch (config, model, data fingerprint in ``launch.json``), training
  continues from it, so a requeued SLURM job picks up where it stopped (LepWrap #13, §D9). Checkpoints
  are written every ``save_steps`` updates of the config. A changed launch discards stale checkpoints.
* **Timeout**: past ``timeout_s`` the process group gets SIGTERM, then SIGKILL after a grace period.
  The launcher also cleans up its children when it is itself interrupted or terminated.

Multi-node training (``--nnodes`` > 1 under ``srun``) is not wired yet; one node of 8 GPUs covers the
paper's 7B runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ftagent.errors import ConfigError, FtagentError
from ftagent.train.config import TrainConfig, parse_train_config
from ftagent.train.failures import classify_failure, error_summary
from ftagent.train.sft import TrainResult, read_train_result
from ftagent.utils.io import atomic_write_json, atomic_write_text, read_json
from ftagent.utils.proc import stop_process_group

#: Job-derived ports lie in [PORT_BASE, PORT_BASE + PORT_SPAN): above the ports services commonly
#: use and below Linux's ephemeral range (32768-60999), which free ports are drawn from.
PORT_BASE = 20000
PORT_SPAN = 10000
#: Seconds between SIGTERM and SIGKILL when a run is stopped.
KILL_GRACE_S = 30.0
#: Characters of the log kept in a failed result.
LOG_TAIL_CHARS = 4000


def job_port(job_id: str, offset: int = 0) -> int:
    """The master port of a SLURM job: ``PORT_BASE + (job_id + offset) mod PORT_SPAN``.

    Args:
        job_id: ``SLURM_JOB_ID`` (numeric; anything else is hashed with CRC-32).
        offset: Added to the job id, for a job that runs several trainings at once.

    Returns:
        A port in ``[PORT_BASE, PORT_BASE + PORT_SPAN)``; the same for every process of the job.
    """
    jid = job_id.strip()
    n = int(jid) if jid.isdigit() else zlib.crc32(jid.encode())
    return PORT_BASE + (n + offset) % PORT_SPAN


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether ``port`` can be bound on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def choose_master_port(env: Mapping[str, str] | None = None, host: str = "127.0.0.1") -> int:
    """The port for this launch: derived from ``SLURM_JOB_ID`` when set and free, else a free port."""
    env = os.environ if env is None else env
    job = env.get("SLURM_JOB_ID", "").strip()
    if job:
        port = job_port(job)
        if port_free(port, host):
            return port
    return free_port(host)


def detect_nproc(env: Mapping[str, str] | None = None) -> int:
    """Processes per node: the visible GPUs, or 1 on a machine without CUDA."""
    env = os.environ if env is None else env
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [x for x in visible.split(",") if x.strip() and x.strip() not in ("-1", "NoDevFiles")]
        return max(1, len(ids))
    import torch

    return max(1, torch.cuda.device_count())


def find_checkpoint(ckpt_dir: Path) -> Path | None:
    """The last complete ``checkpoint-<step>`` under ``ckpt_dir`` (one holding ``trainer_state.json``)."""
    if not Path(ckpt_dir).is_dir():
        return None
    done = [(int(p.name.split("-", 1)[1]), p) for p in Path(ckpt_dir).glob("checkpoint-*")
            if p.name.split("-", 1)[1].isdigit() and (p / "trainer_state.json").exists()]
    return max(done)[1] if done else None


def fingerprint(cfg: TrainConfig, model_path: Path, data_file: Path, sample_cap: int | None) -> str:
    """SHA-256 identifying a launch: the config, the base model path, the data bytes, the sample cap."""
    h = hashlib.sha256()
    for part in (cfg.to_yaml(), str(Path(model_path).resolve()), str(sample_cap)):
        h.update(part.encode() + b"\0")
    h.update(Path(data_file).read_bytes() if Path(data_file).exists() else b"")
    return h.hexdigest()


def build_command(nproc: int, port: int, worker_args: list[str]) -> list[str]:
    """The ``torchrun`` command line (run with this interpreter, one node, static rendezvous)."""
    return [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--node_rank=0",
            f"--nproc_per_node={nproc}", "--master_addr=127.0.0.1", f"--master_port={port}",
            "--max_restarts=0", "-m", "ftagent.train.worker", *worker_args]


def _child_env(threads: int | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])  # so the workers import this checkout
    env["PYTHONPATH"] = os.pathsep.join([root, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    env.update(extra or {})
    return env


class _Terminated(Exception):
    """SIGTERM reached the launcher while it waited."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise _Terminated()


def _run(cmd: list[str], log_path: Path, env: dict[str, str], timeout_s: float | None) -> tuple[int, bool]:
    """Run ``cmd`` in its own process group, output appended to ``log_path``.

    Returns:
        ``(returncode, timed_out)``.
    """
    with log_path.open("ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        old = None
        if threading.current_thread() is threading.main_thread():
            old = signal.signal(signal.SIGTERM, _raise_terminated)
        try:
            return proc.wait(timeout=timeout_s), False
        except subprocess.TimeoutExpired:
            stop_process_group(proc, KILL_GRACE_S)
            return proc.returncode if proc.returncode is not None else -9, True
        except BaseException:
            stop_process_group(proc, KILL_GRACE_S)
            raise
        finally:
            if old is not None:
                signal.signal(signal.SIGTERM, old)


def _tail(path: Path, chars: int = LOG_TAIL_CHARS) -> str:
    try:
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - 4 * chars))
            return f.read().decode("utf-8", errors="replace")[-chars:]
    except OSError:
        return ""


def _worker_failure(out: Path) -> dict[str, Any] | None:
    """The failure record of the lowest failing rank (written by :mod:`ftagent.train.worker`)."""
    files = sorted(out.glob("failure-rank*.json"), key=lambda p: int(p.stem.removeprefix("failure-rank") or 0))
    for f in files:
        try:
            return read_json(f)
        except FtagentError:
            continue
    return None


def launch_training(cfg: TrainConfig, model_path: str | Path, data_file: str | Path, output_dir: str | Path, *,
                    nproc_per_node: int | str = "auto", sample_cap: int | None = None, micro: bool = False,
                    threads: int | None = None, timeout_s: float | None = None, master_port: int | None = None,
                    resume: bool = True, deepspeed_config: str | Path | None = None,
                    env: Mapping[str, str] | None = None) -> TrainResult:
    """Train under ``torchrun`` and return the outcome (never raises for a failed run).

    Args:
        cfg: Validated training config.
        model_path: Base model folder.
        data_file: Training file.
        output_dir: Output folder (see :mod:`ftagent.train.sft`), plus ``train.log``, ``launch.json``.
        nproc_per_node: ``"auto"`` (visible GPUs, or 1) or a process count.
        sample_cap: Harness limit on training examples.
        micro: Fail-fast micro-batch run (never resumes, saves nothing).
        threads: torch CPU threads per process (also ``OMP_NUM_THREADS``).
        timeout_s: Wall-clock limit in seconds (None: none).
        master_port: Port override (default :func:`choose_master_port`).
        resume: Continue from a matching checkpoint in ``<output_dir>/checkpoints``.
        deepspeed_config: DeepSpeed JSON overriding the shipped one.
        env: Extra environment variables for the processes.

    Returns:
        The worker's :class:`TrainResult` on success; on failure ``ok=False`` with ``error``,
        ``failure_class`` and ``log_tail``.

    Raises:
        ConfigError: ``nproc_per_node`` is invalid, or DeepSpeed is requested but not installed (before
            anything starts).
    """
    from ftagent.train.ds import require_deepspeed

    require_deepspeed(cfg.deepspeed)
    try:
        nproc = detect_nproc() if nproc_per_node == "auto" else int(nproc_per_node)
    except ValueError:
        nproc = 0
    if nproc < 1:
        raise ConfigError(f"nproc_per_node must be 'auto' or >= 1, got {nproc_per_node!r}")
    out = Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    model_path, data_file = Path(model_path).resolve(), Path(data_file).resolve()
    fp = fingerprint(cfg, model_path, data_file, sample_cap)
    if resume and not micro:
        done = _finished(out, fp)
        if done is not None:  # a requeued job whose training had already finished
            return done
    for stale in [out / "train_result.json", *out.glob("failure-rank*.json")]:
        stale.unlink(missing_ok=True)
    checkpoint = _resume_point(out, fp) if (resume and not micro) else None
    atomic_write_text(out / "launch_config.yaml", cfg.to_yaml())
    worker_args = ["--config", str(out / "launch_config.yaml"), "--model", str(model_path), "--data", str(data_file),
                   "--out", str(out)]
    worker_args += ["--sample-cap", str(sample_cap)] if sample_cap else []
    worker_args += ["--micro"] if micro else []
    worker_args += ["--threads", str(threads)] if threads else []
    worker_args += ["--resume", str(checkpoint)] if checkpoint else []
    worker_args += ["--deepspeed-config", str(Path(deepspeed_config).resolve())] if deepspeed_config else []
    port = master_port or choose_master_port()
    cmd = build_command(nproc, port, worker_args)
    atomic_write_json(out / "launch.json", {"fingerprint": fp, "command": cmd, "nproc_per_node": nproc,
                                            "master_port": port, "resumed_from": str(checkpoint) if checkpoint else None,
                                            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    log_path = out / "train.log"
    with log_path.open("a", encoding="utf-8") as f:
        f.write(f"\n=== ftagent launch {time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(cmd)}\n")
    rc, timed_out = _run(cmd, log_path, _child_env(threads, env), timeout_s)
    result = read_train_result(out)
    if rc == 0 and not timed_out and result is not None and result.ok:
        return result
    return _failed(out, cfg, result, rc, timed_out, timeout_s, _tail(log_path))


def _same_launch(out: Path, fp: str) -> bool:
    try:
        return read_json(out / "launch.json").get("fingerprint") == fp
    except FtagentError:
        return False


def _finished(out: Path, fp: str) -> TrainResult | None:
    """The stored result of a finished, successful run of the same launch (None otherwise)."""
    res = read_train_result(out)
    if res is None or not res.ok or not res.model_dir or not Path(res.model_dir).is_dir():
        return None
    if not _same_launch(out, fp):
        return None
    res.extra = {**res.extra, "reused": True}
    return res


def _resume_point(out: Path, fp: str) -> Path | None:
    """The checkpoint to resume from, discarding checkpoints of a different launch."""
    ckpts = out / "checkpoints"
    last = find_checkpoint(ckpts)
    if last is None:
        return None
    if _same_launch(out, fp):
        return last
    import shutil

    shutil.rmtree(ckpts, ignore_errors=True)
    return None


def _failed(out: Path, cfg: TrainConfig, result: TrainResult | None, rc: int, timed_out: bool,
            timeout_s: float | None, log_tail: str) -> TrainResult:
    """A failed :class:`TrainResult` with its class, one-line error and log tail."""
    failure = _worker_failure(out)
    if timed_out:
        error = f"training timed out after {timeout_s:g} s"
    elif result is not None and result.error:
        error = result.error
    elif failure:
        error = f"{failure.get('type')}: {failure.get('message', '')}".strip()[:300]
    else:
        error = error_summary(log_tail) or f"torchrun exited with status {rc}"
    evidence = "\n".join([error, (failure or {}).get("traceback", ""), log_tail])
    base = result or TrainResult(ok=False, method=cfg.method)
    base.ok, base.error = False, error
    base.failure_class = classify_failure(evidence, rc, timed_out)
    base.log_tail = log_tail
    base.model_dir = None
    base.extra = {**base.extra, "returncode": rc}
    return base


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m ftagent.train.launch``."""
    p = argparse.ArgumentParser(prog="python -m ftagent.train.launch", description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, required=True, help="training config YAML (unknown keys are dropped)")
    p.add_argument("--model", type=Path, required=True, help="base model folder")
    p.add_argument("--data", type=Path, required=True, help="training file (Alpaca or chat records)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--nproc-per-node", "--nproc_per_node", default="auto", help="'auto' or a process count")
    p.add_argument("--sample-cap", type=int, default=None, help="harness limit on training examples")
    p.add_argument("--micro", action="store_true", help="fail-fast micro-batch run")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads per process")
    p.add_argument("--timeout-s", type=float, default=None, help="wall-clock limit in seconds")
    p.add_argument("--no-resume", action="store_true", help="ignore checkpoints in the output folder")
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse, launch, print the result as JSON; exit 0 when training succeeded, 1 when not, 2 on bad input."""
    args = build_parser().parse_args(argv)
    try:
        cfg, dropped = parse_train_config(args.config)
        if dropped:
            print(f"dropped unknown training config keys: {', '.join(dropped)}", file=sys.stderr)
        res = launch_training(cfg, args.model, args.data, args.out, nproc_per_node=args.nproc_per_node,
                              sample_cap=args.sample_cap, micro=args.micro, threads=args.threads,
                              timeout_s=args.timeout_s, resume=not args.no_resume)
    except FtagentError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    summary = {k: getattr(res, k) for k in ("ok", "error", "failure_class", "model_dir", "steps", "train_runtime_s")}
    print(json.dumps(summary))
    return 0 if res.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
