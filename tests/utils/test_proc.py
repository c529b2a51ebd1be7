"""Stopping a process group (training launcher, local backbone server)."""

from __future__ import annotations

import subprocess
import sys
import time

from ftagent.utils.proc import stop_process_group


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_stops_the_child_and_its_children():
    """A child with a grandchild: both are gone after the stop."""
    code = ("import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; "
            "time.sleep(60)']); print(p.pid, flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stdout=subprocess.PIPE)
    grandchild = int(proc.stdout.readline())
    assert _alive(grandchild)
    t = time.time()
    stop_process_group(proc, grace_s=5.0)
    assert proc.poll() is not None and time.time() - t < 5.0
    deadline = time.time() + 5.0
    while _alive(grandchild) and time.time() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_kills_a_process_that_ignores_sigterm():
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    stop_process_group(proc, grace_s=0.5)
    assert proc.returncode == -9


def test_an_exited_process_is_left_alone():
    proc = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    proc.wait()
    stop_process_group(proc, grace_s=0.1)
    assert proc.returncode == 0
