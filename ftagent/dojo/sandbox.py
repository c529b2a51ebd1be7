"""Running agent-written code (data-processing scripts) in a sandbox.

The contract (FT-Dojo §3 "sandboxed execution"): the command runs with its workspace as the only
writable folder, the raw-data repository read-only, the evaluation data, graders and secrets absent,
a wall-clock timeout and a memory cap, and no network. The script finds the repository through the
``FTDOJO_RAW_DIR`` environment variable and writes into its working directory.

Backends:

* :class:`SubprocessSandbox` — a plain child process with the timeout, the memory cap (``RLIMIT_AS``)
  and a scrubbed environment, but **no filesystem or network isolation**. It warns that it is unsafe;
  use it for debugging or where nothing else is available.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

#: Environment variables passed through to sandboxed code (nothing else: no API keys, no HF tokens).
SAFE_ENV = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "PYTHONHASHSEED")
#: Bytes of stdout/stderr kept for feedback.
LOG_TAIL = 4000


@dataclass
class SandboxResult:
    """Outcome of one sandboxed command.

    Attributes:
        returncode: Exit status (negative: killed by that signal).
        timed_out: The wall-clock limit was hit (the process group was killed).
        stdout_tail: Last :data:`LOG_TAIL` characters of stdout.
        stderr_tail: Last :data:`LOG_TAIL` characters of stderr.
        wall_s: Seconds the command ran.
        backend: Backend name.
    """

    returncode: int
    timed_out: bool
    stdout_tail: str
    stderr_tail: str
    wall_s: float
    backend: str

    @property
    def ok(self) -> bool:
        """Exit status 0 within the time limit."""
        return self.returncode == 0 and not self.timed_out


class Sandbox(Protocol):
    """A way of running agent code under the FT-Dojo contract."""

    name: str

    def run(self, argv: list[str], workspace: Path, raw_dir: Path, *, timeout_s: float,
            memory_mb: int, extra_env: dict[str, str] | None = None) -> SandboxResult:
        """Run ``argv`` (``argv[0]`` is ``python`` for the sandbox's interpreter) in ``workspace``."""
        ...


def _tail(b: bytes | str | None) -> str:
    s = b.decode("utf-8", "replace") if isinstance(b, bytes) else (b or "")
    return s[-LOG_TAIL:]


class SubprocessSandbox:
    """A child process with a timeout, a memory cap and a scrubbed environment; no isolation."""

    name = "subprocess"

    def __init__(self, warn: bool = True):
        if warn:
            warnings.warn("sandbox 'subprocess' gives no filesystem or network isolation: agent code can read "
                          "anything this user can (use 'bubblewrap' for real runs)", stacklevel=2)

    def run(self, argv: list[str], workspace: Path, raw_dir: Path, *, timeout_s: float,
            memory_mb: int, extra_env: dict[str, str] | None = None) -> SandboxResult:
        env = {k: os.environ[k] for k in SAFE_ENV if k in os.environ}
        env.update({"FTDOJO_RAW_DIR": str(raw_dir), "PYTHONUNBUFFERED": "1", **(extra_env or {})})
        argv = [sys.executable if argv[0] == "python" else argv[0], *argv[1:]]

        def limits() -> None:
            os.setsid()
            if memory_mb:
                cap = memory_mb * 2**20
                resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

        t0 = time.time()
        proc = subprocess.Popen(argv, cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=limits)
        try:
            out, err = proc.communicate(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            timed_out = True
        return SandboxResult(returncode=proc.returncode, timed_out=timed_out, stdout_tail=_tail(out),
                             stderr_tail=_tail(err), wall_s=round(time.time() - t0, 3), backend=self.name)


def get_sandbox(name: str) -> Sandbox:
    """A sandbox backend by name (``subprocess``; more backends register here).

    Raises:
        ConfigError: unknown backend, or the backend is unavailable on this machine.
    """
    from ftagent.errors import ConfigError

    if name == "subprocess":
        return SubprocessSandbox()
    raise ConfigError(f"unknown sandbox backend '{name}' (available: subprocess)")
