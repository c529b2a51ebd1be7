"""What every sandbox backend shares: the result record, the protocol, process control, the launcher.

A backend turns ``argv`` into a host command line (``bwrap ...``, ``apptainer exec ...`` or the plain
command) and hands it to :func:`run_process`, which starts it in a new session with a scrubbed
environment (in a per-step cgroup where one can be made), watches the whole process tree
(:class:`~ftagent.dojo.sandbox.limits.Watchdog`: memory, processes, workspace quota, wall clock) and
kills it on a breach, and streams stdout and stderr into capped log files, keeping only their tails in
memory. Inside an isolating backend the command runs under :data:`LAUNCHER`, a few lines of Python
that set the per-process caps (``RLIMIT_AS``, ``RLIMIT_FSIZE``) and, when an LLM endpoint is allowed,
relay one loopback port to a Unix socket (see :mod:`ftagent.dojo.sandbox.relay`) before executing the
command. The limits and their defaults: :class:`~ftagent.dojo.sandbox.limits.SandboxLimits`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from ftagent.dojo.sandbox.cgroup import step_cgroup
from ftagent.dojo.sandbox.limits import BREACH_CLASS, CappedLog, SandboxLimits, Watchdog
from ftagent.errors import ConfigError

#: Environment variables passed through to sandboxed code (nothing else: no API keys, no HF tokens).
SAFE_ENV = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "PYTHONHASHSEED")
#: Bytes of stdout/stderr kept for feedback.
LOG_TAIL = 4000
#: Environment variable that tells sandboxed code where the allowed LLM endpoint is.
LLM_ENV = "FTDOJO_LLM_BASE_URL"

#: Runs inside the sandbox as
#: ``python -I -c LAUNCHER <mem_bytes> <port> <unix_socket> <fsize_bytes> <argv...>``.
#: Sets RLIMIT_AS and RLIMIT_FSIZE (0: unset), optionally relays 127.0.0.1:<port> to the Unix socket, then
#: runs argv.
LAUNCHER = r"""
import os, resource, socket, subprocess, sys, threading
mem, port, path, fsize, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5:]
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
if fsize:
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
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
        timed_out: The wall-clock limit was hit (the process tree was killed).
        stdout_tail: Last :data:`LOG_TAIL` characters of stdout.
        stderr_tail: Last :data:`LOG_TAIL` characters of stderr.
        wall_s: Seconds the command ran.
        backend: Backend name.
        removed_links: Symlinks in the workspace that pointed outside it and were deleted after the run.
        breach: The limit the step passed (``memory``, ``processes``, ``file_size``, ``workspace``,
            ``timeout``; None: none), see :mod:`ftagent.dojo.sandbox.limits`.
        reason: One-line reason of the breach ("" when none).
        peak_memory_mb: Highest memory of the process tree seen by the watchdog (RSS + /tmp, MiB).
        peak_processes: Most processes of the tree seen at once.
        stdout_bytes: Bytes the command wrote to stdout (all of them, kept or not).
        stderr_bytes: Bytes the command wrote to stderr.
        log_files: The capped stdout and stderr log files (None: ``log_dir`` not given).
        enforcement: How each limit was enforced on this machine (limit -> mechanism).
    """

    returncode: int
    timed_out: bool
    stdout_tail: str
    stderr_tail: str
    wall_s: float
    backend: str
    removed_links: list[str] | None = None
    breach: str | None = None
    reason: str = ""
    peak_memory_mb: float | None = None
    peak_processes: int | None = None
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    log_files: list[str] | None = None
    enforcement: dict[str, str] | None = None

    @property
    def ok(self) -> bool:
        """Exit status 0 within the time limit and no other limit passed."""
        return self.returncode == 0 and not self.timed_out and self.breach is None

    @property
    def failure_class(self) -> str | None:
        """The failure class of the breach (OOM, DATA, TIMEOUT; None: no breach)."""
        return BREACH_CLASS.get(self.breach) if self.breach else None


class Sandbox(Protocol):
    """A way of running agent code under the FT-Dojo contract."""

    name: str

    def run(self, argv: list[str], workspace: Path, raw_dir: Path, *, timeout_s: float, memory_mb: int,
            extra_env: dict[str, str] | None = None, llm_endpoint: str | None = None,
            limits: SandboxLimits | None = None, log_dir: Path | None = None,
            readonly_files: dict[str, Path] | None = None) -> SandboxResult:
        """Run ``argv`` (``argv[0]`` is ``python`` for the sandbox's interpreter) in ``workspace``.

        ``memory_mb`` caps the whole process tree (0: no cap), ``timeout_s`` its wall clock; ``limits``
        holds the other limits (default :class:`SandboxLimits`). ``llm_endpoint`` (``http://host:port/v1``)
        is the one endpoint the code may reach; its in-sandbox URL is given to the code in
        ``$FTDOJO_LLM_BASE_URL``. ``log_dir`` (a harness folder, not the workspace) receives the capped
        ``stdout.log`` and ``stderr.log``. ``readonly_files`` maps workspace-relative names to host files
        the code sees read-only at those names (isolating backends; ``subprocess`` copies them in).
        """
        ...


def tail(b: bytes | str | None) -> str:
    """The last :data:`LOG_TAIL` characters of a process output."""
    s = b.decode("utf-8", "replace") if isinstance(b, bytes) else (b or "")
    return s[-LOG_TAIL:]


def run_process(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout_s: float, backend: str,
                preexec_fn=None, memory_mb: int = 0, limits: SandboxLimits | None = None,
                workspace: Path | None = None, log_dir: Path | None = None,
                tmp_size: int = 0) -> SandboxResult:
    """Run ``cmd`` in a new session under the step's limits; on a breach SIGKILL its whole process tree.

    Args:
        cmd: Host command line.
        cwd: Working directory of the host command.
        env: The complete environment of the host command (nothing is inherited).
        timeout_s: Wall-clock limit.
        backend: Backend name for the result.
        preexec_fn: Called in the child before exec (after ``setsid``).
        memory_mb: Memory cap of the whole tree (MiB; 0: none): a cgroup where usable, and the watchdog.
        limits: The other limits (default :class:`SandboxLimits`).
        workspace: Folder whose growth is capped at ``limits.workspace_mb`` (None: no quota).
        log_dir: Folder for ``stdout.log`` and ``stderr.log``, each capped at ``limits.log_mb`` (None:
            only the tails are kept). Never held whole in memory.
        tmp_size: Bytes of the command's private ``/tmp`` tmpfs, counted against ``memory_mb``.

    Returns:
        The result with output tails, the breach (if any) and how each limit was enforced.
    """
    limits = limits or SandboxLimits()
    cg = step_cgroup(memory_mb, 4 * limits.max_processes) if limits.cgroup else None
    enforcement = {"memory": "watchdog (tree RSS" + (" + /tmp)" if tmp_size else ")"),
                   "processes": "watchdog", "workspace": "watchdog" if workspace is not None else "none",
                   "wall_clock": "harness timer", "file_size": "RLIMIT_FSIZE"}
    if cg is not None:
        if "memory" in cg.controllers:
            enforcement["memory"] = f"cgroup v{cg.version} + " + enforcement["memory"]
        if "pids" in cg.controllers:
            enforcement["processes"] = f"cgroup v{cg.version} pids.max + watchdog"

    def child() -> None:
        if cg is not None:
            cg.attach()
        if preexec_fn is not None:
            preexec_fn()

    paths = None
    if log_dir is not None:
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        paths = [Path(log_dir) / "stdout.log", Path(log_dir) / "stderr.log"]
    t0 = time.time()
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, bufsize=0, start_new_session=True,
                                preexec_fn=child if (cg is not None or preexec_fn is not None) else None)
    except BaseException:
        if cg is not None:
            cg.close()
        raise
    cap = limits.log_mb * 2**20
    logs = [CappedLog(s, p, cap, 4 * LOG_TAIL).start()
            for s, p in zip((proc.stdout, proc.stderr), paths or (None, None), strict=True)]
    dog = Watchdog(proc.pid, memory_mb, limits, workspace, tmp_size).start()
    timed_out = False
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        dog.trip("timeout", f"wall-clock limit of {timeout_s:g} s reached; the process tree was killed")
        proc.wait()
        timed_out = True
    finally:
        dog.stop()
        dog.kill()  # what the step left running (same process group) goes with it
        cg_oom = cg_pids = False
        if cg is not None:
            cg_oom, cg_pids = cg.oom_killed(), cg.pids_hit()
            cg.close()
    for log, pipe in zip(logs, (proc.stdout, proc.stderr), strict=True):
        log.join(timeout=5)
        if not log.alive:  # a process that escaped the tree still holds it: the reader ends with it
            pipe.close()
    res = SandboxResult(returncode=proc.returncode, timed_out=timed_out, stdout_tail=tail(logs[0].tail()),
                        stderr_tail=tail(logs[1].tail()), wall_s=round(time.time() - t0, 3), backend=backend,
                        peak_memory_mb=round(dog.peak_memory / 2**20, 1), peak_processes=dog.peak_processes,
                        stdout_bytes=logs[0].total, stderr_bytes=logs[1].total,
                        log_files=[str(p) for p in paths] if paths else None, enforcement=enforcement)
    res.breach, res.reason = dog.breach, dog.reason
    if res.breach is None and cg is not None and proc.returncode != 0:
        if cg_oom:
            res.breach = "memory"
            res.reason = (f"memory cap of {memory_mb} MiB for the whole process tree reached "
                          f"(kernel OOM kill in the step's cgroup v{cg.version})")
        elif cg_pids:
            res.breach = "processes"
            res.reason = (f"process limit reached (a fork failed at the step's cgroup pids.max of "
                          f"{4 * limits.max_processes} tasks)")
    if res.breach is None and proc.returncode != 0:
        err = res.stderr_tail + res.stdout_tail
        if "File too large" in err or proc.returncode in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ):
            res.breach = "file_size"
            res.reason = f"file-size limit of {limits.file_size_mb} MiB reached (RLIMIT_FSIZE)"
        elif tmp_size and "No space left on device" in err and (
                dog.peak_tmp >= 0.9 * tmp_size or shutil.disk_usage(cwd).free > 2**30):  # not the host disk
            res.breach = "memory"
            res.reason = (f"private /tmp of {tmp_size / 2**20:.0f} MiB is full (its use counts against the "
                          f"memory cap of {memory_mb} MiB)")
    if res.breach is not None and res.reason:
        res.stderr_tail = tail(res.stderr_tail + "\n[sandbox] " + res.reason)
    return res


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
