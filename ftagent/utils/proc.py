"""Stopping a child process together with everything it started (its process group)."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_process_group(proc: subprocess.Popen, grace_s: float, kill_wait_s: float = 10.0) -> None:
    """SIGTERM ``proc``'s process group, then SIGKILL it if it is still running after ``grace_s`` seconds.

    ``proc`` must lead its own group (started with ``start_new_session=True``), so that torchrun workers,
    server threads' children and the like are stopped with it. Returns once the process has exited or
    ``kill_wait_s`` seconds after the SIGKILL.
    """
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, kill_wait_s)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
