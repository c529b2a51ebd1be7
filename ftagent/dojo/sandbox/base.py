"""What every sandbox backend shares: the result record, the protocol, process control, the launcher.

A backend turns ``argv`` into a host command line (``bwrap ...``, ``apptainer exec ...`` or the plain
command) and hands it to :func:`run_process`, which starts it in a new session with a scrubbed
environment, enforces the wall-clock limit by killing the whole process group, and keeps the tails of
stdout and stderr. Inside an isolating backend the command runs under :data:`LAUNCHER`, a few lines of
Python that set the memory cap (``RLIMIT_AS``) and, when an LLM endpoint is allowed, relay one
loopback port to a Unix socket (see :mod:`ftagent.dojo.sandbox.relay`) before executing the command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from ftagent.errors import ConfigError

#: Environment variables passed through to sandboxed code (nothing else: no API keys, no HF tokens).
SAFE_ENV = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "PYTHONHASHSEED")
#: Bytes of stdout/stderr kept for feedback.
LOG_TAIL = 4000
#: Environment variable that tells sandboxed code where the allowed LLM endpoint is.
LLM_ENV = "FTDOJO_LLM_BASE_URL"

#: Runs inside the sandbox as ``python -I -c LAUNCHER <mem_bytes> <port> <unix_socket> <argv...>``.
#: Sets RLIMIT_AS, optionally relays 127.0.0.1:<port> to the Unix socket, then runs argv.
LAUNCHER = r"""
import os, resource, socket, subprocess, sys, threading
mem, port, path, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
def pump(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        src.close(); dst.close()
def serve(srv):
    while True:
        c, _ = srv.accept()
        u = socket.socket(socket.AF_UNIX)
        try:
            u.connect(path)
        except OSError:
            c.close(); continue
        for a, b in ((c, u), (u, c)):
            threading.Thread(target=pump, args=(a, b), daemon=True).start()
if port:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port)); srv.listen(64)
    threading.Thread(target=serve, args=(srv,), daemon=True).start()
if mem:
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
if not port:
    os.execvp(argv[0], argv)
rc = subprocess.call(argv)
sys.exit(rc if rc >= 0 else 128 - rc)
"""


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
        removed_links: Symlinks in the workspace that pointed outside it and were deleted after the run.
    """

    returncode: int
    timed_out: bool
    stdout_tail: str
    stderr_tail: str
    wall_s: float
    backend: str
    removed_links: list[str] | None = None

    @property
    def ok(self) -> bool:
        """Exit status 0 within the time limit."""
        return self.returncode == 0 and not self.timed_out


class Sandbox(Protocol):
    """A way of running agent code under the FT-Dojo contract."""

    name: str

    def run(self, argv: list[str], workspace: Path, raw_dir: Path, *, timeout_s: float, memory_mb: int,
            extra_env: dict[str, str] | None = None, llm_endpoint: str | None = None) -> SandboxResult:
        """Run ``argv`` (``argv[0]`` is ``python`` for the sandbox's interpreter) in ``workspace``.

        ``llm_endpoint`` (``http://host:port/v1``) is the one endpoint the code may reach; its in-sandbox
        URL is given to the code in ``$FTDOJO_LLM_BASE_URL``.
        """
        ...


def tail(b: bytes | str | None) -> str:
    """The last :data:`LOG_TAIL` characters of a process output."""
    s = b.decode("utf-8", "replace") if isinstance(b, bytes) else (b or "")
    return s[-LOG_TAIL:]


def run_process(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout_s: float, backend: str,
                preexec_fn=None) -> SandboxResult:
    """Run ``cmd`` in a new session; on timeout SIGKILL its whole process group.

    Args:
        cmd: Host command line.
        cwd: Working directory of the host command.
        env: The complete environment of the host command (nothing is inherited).
        timeout_s: Wall-clock limit.
        backend: Backend name for the result.
        preexec_fn: Called in the child before exec (after ``setsid``).

    Returns:
        The result with output tails.
    """
    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, preexec_fn=preexec_fn)
    try:
        out, err = proc.communicate(timeout=timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        timed_out = True
    return SandboxResult(returncode=proc.returncode, timed_out=timed_out, stdout_tail=tail(out),
                         stderr_tail=tail(err), wall_s=round(time.time() - t0, 3), backend=backend)


def remove_escaping_links(workspace: Path) -> list[str]:
    """Delete symlinks under ``workspace`` whose target lies outside it (or does not resolve on the host).

    Agent code could otherwise leave ``data.json -> /path/to/test.jsonl`` for the harness, which reads the
    workspace outside the sandbox, to follow.

    Returns:
        The removed links, relative to the workspace.
    """
    root = Path(workspace).resolve()
    removed = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if not p.is_symlink():
                continue
            target = p.resolve()
            if not target.exists() or not target.is_relative_to(root):
                p.unlink()
                removed.append(str(p.relative_to(root)))
    return sorted(removed)


def endpoint_address(url: str) -> tuple[str, int, str]:
    """Host, port and path of an allowed LLM endpoint URL.

    Raises:
        ConfigError: not an ``http://host:port`` URL (TLS endpoints cannot be relayed under another name).
    """
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ConfigError(f"sandbox llm_endpoint must be an http://host:port URL, got '{url}' "
                          "(serve remote APIs through a loopback proxy)")
    return parts.hostname, parts.port or 80, parts.path.rstrip("/")


def finish(res: SandboxResult, workspace: Path) -> SandboxResult:
    """Remove escaping symlinks from the workspace and note them in the result's stderr tail."""
    removed = remove_escaping_links(workspace)
    if removed:
        res.removed_links = removed
        note = "[sandbox] removed symlinks pointing outside the workspace: " + ", ".join(removed)
        res.stderr_tail = tail(res.stderr_tail + "\n" + note)
    return res
