"""Resource limits of one sandboxed step, and the harness-side watchdog that enforces them.

What each limit is and how it holds (measured on the gVisor CI-like machine and a plain Linux kernel):

* **memory of the whole process tree** (the ``memory_mb`` argument of ``Sandbox.run``): a per-step
  cgroup (``memory.max`` in cgroup v2, ``memory.limit_in_bytes`` in v1) when this process may create
  one (:mod:`ftagent.dojo.sandbox.cgroup`); always also the watchdog, which sums the resident memory
  (RSS) of every process of the tree *plus* what the tree wrote to its private ``/tmp`` and kills the
  tree when the sum passes the cap. ``RLIMIT_AS`` stays on every process as a per-process backstop.
* **processes**: cgroup ``pids.max`` where usable, else the watchdog's count of the tree.
  ``RLIMIT_NPROC`` is *not* used: it is not checked for uid 0 (the harness as root maps the sandbox's
  uid to 0 outside), and for other users it counts every process of that user on the machine.
* **file size**: ``RLIMIT_FSIZE`` on every process (a write past it fails with ``EFBIG``; Python ignores
  ``SIGXFSZ`` so the script sees ``OSError: [Errno 27] File too large``).
* **workspace quota**: the watchdog walks the workspace (allocated blocks) and kills the tree when it
  grew by more than ``workspace_mb`` during the step.
* **private /tmp**: bubblewrap mounts tmpfs of ``min(tmp_mb, memory_mb)`` each (``bwrap --size``) on
  ``/tmp`` and ``/dev/shm``; their use counts against the memory cap (above); the sandbox's root and
  ``/dev`` (unsized tmpfs made by bwrap) are remounted read-only. Other backends point ``TMPDIR`` into
  the workspace, so the workspace quota covers it.
* **wall clock**: the ``timeout_s`` argument; the whole tree is killed.

A breach ends the step with :attr:`SandboxResult.breach` naming the limit and a one-line
:attr:`SandboxResult.reason`; :data:`BREACH_CLASS` maps it to the Dojo's failure class (OOM, DATA,
TIMEOUT).
"""

from __future__ import annotations

import os
import signal
import stat
import threading
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: Limit names a step can breach.
Breach = Literal["memory", "processes", "file_size", "workspace", "timeout"]
#: The sized tmpfs mounts of a bubblewrap sandbox whose use counts against the memory cap.
TMPFS_MOUNTS = ("tmp", "dev/shm")
#: Failure class (:mod:`ftagent.train.failures`) of each breach.
BREACH_CLASS: dict[str, str] = {"memory": "OOM", "processes": "OOM", "file_size": "DATA", "workspace": "DATA",
                                "timeout": "TIMEOUT"}


class SandboxLimits(BaseModel):
    """Resource limits of one sandboxed step besides its memory cap and wall clock (which every
    ``Sandbox.run`` call passes as ``memory_mb`` and ``timeout_s``).

    Attributes:
        max_processes: Processes (and threads' tasks under cgroup ``pids.max``) the step's tree may
            hold at once; a fork bomb is killed as ``processes`` (class OOM).
        file_size_mb: Largest file any process of the step may write (``RLIMIT_FSIZE``; MiB).
        workspace_mb: Growth of the workspace's allocated size during the step (MiB); more is a
            ``workspace`` breach (class DATA).
        tmp_mb: Size of the private ``/tmp`` tmpfs (MiB; bubblewrap), never more than the memory cap;
            what is written there counts against the memory cap.
        log_mb: Bytes of stdout and of stderr kept in the step's log files (MiB each); the rest is
            read and dropped (the last :data:`~ftagent.dojo.sandbox.base.LOG_TAIL` characters are
            always kept for feedback).
        output_mb: Largest agent-written file (``data.json``) the harness reads (MiB).
        debug_output_mb: The same in a debug data run (about 100 samples are asked for; MiB).
        json_depth: Deepest nesting of lists/objects accepted in an agent-written JSON file.
        poll_s: Seconds between two watchdog checks of memory and process count.
        workspace_poll_s: Seconds between two walks of the workspace.
        cgroup: Use a per-step cgroup for memory and pids where this process may create one.
    """

    model_config = ConfigDict(extra="forbid")

    max_processes: int = Field(128, ge=1)
    file_size_mb: int = Field(512, ge=1)
    workspace_mb: int = Field(768, ge=1)
    tmp_mb: int = Field(512, ge=1)
    log_mb: int = Field(8, ge=1)
    output_mb: int = Field(256, ge=1)
    debug_output_mb: int = Field(32, ge=1)
    json_depth: int = Field(32, ge=2)
    poll_s: float = Field(0.05, gt=0)
    workspace_poll_s: float = Field(0.25, gt=0)
    cgroup: bool = True

    def tmp_bytes(self, memory_mb: int) -> int:
        """Size of the private ``/tmp`` for a step with memory cap ``memory_mb`` (0: uncapped)."""
        mb = min(self.tmp_mb, memory_mb) if memory_mb else self.tmp_mb
        return mb * 2**20


def tree_size(root: Path, limit_files: int = 200_000) -> int:
    """Allocated bytes (``st_blocks``) under ``root``, links not followed; stops after ``limit_files``."""
    total, seen, stack = 0, 0, [str(root)]
    while stack and seen < limit_files:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    seen += 1
                    try:
                        st = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    total += st.st_blocks * 512
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(e.path)
        except OSError:
            continue
    return total


def _mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


class Watchdog:
    """A thread that polls the process tree of ``pid`` and kills it when a limit is passed.

    Args:
        pid: The step's root process (its own session and process group).
        memory_mb: Memory cap of the tree (RSS of all its processes plus its ``/tmp`` use; 0: none).
        limits: The step's limits.
        workspace: Folder whose growth is capped (None: no quota).
        tmp_size: Bytes of the private ``/tmp`` tmpfs to count against memory (0: no private /tmp).

    Attributes:
        breach: The limit that was passed (None while none).
        reason: One-line reason for the breach.
        peak_memory: Highest tree memory seen (bytes, RSS + /tmp).
        peak_processes: Most processes seen at once.
        peak_tmp: Highest use of the private ``/tmp`` seen (bytes).
    """

    def __init__(self, pid: int, memory_mb: int, limits: SandboxLimits, workspace: Path | None = None,
                 tmp_size: int = 0):
        import psutil

        self._psutil = psutil
        self.pid, self.memory = pid, memory_mb * 2**20
        self.limits, self.workspace, self.tmp_size = limits, workspace, tmp_size
        self.breach: str | None = None
        self.reason = ""
        self.peak_memory = 0
        self.peak_processes = 0
        self.peak_tmp = 0
        self._stop = threading.Event()
        self._base_ws = tree_size(workspace) if workspace is not None else 0
        self._mnt = _mnt_ns(os.getpid())
        self._tmp_pid: int | None = None
        try:  # guards against the pid being reused once the step ended
            self._created: float | None = psutil.Process(pid).create_time()
        except psutil.Error:
            self._created = None
        self._thread = threading.Thread(target=self._loop, name="ftdojo-watchdog", daemon=True)

    def start(self) -> Watchdog:
        """Start polling."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling (after the process ended)."""
        self._stop.set()
        self._thread.join(timeout=10)

    def trip(self, breach: str, reason: str) -> None:
        """Record a breach (the first one wins) and kill the tree."""
        if self.breach is None:
            self.breach, self.reason = breach, reason
        self.kill()

    def kill(self) -> None:
        """SIGKILL every process of the tree and the root's process group."""
        procs = self._tree()
        for p in procs:
            try:
                p.kill()
            except self._psutil.Error:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _tree(self) -> list:
        try:
            root = self._psutil.Process(self.pid)
            if self._created is None or root.create_time() != self._created:
                return []
            return [root, *root.children(recursive=True)]
        except self._psutil.Error:
            return []

    def _tmp_used(self, procs: list) -> int:
        """Bytes used on the private ``/tmp`` and ``/dev/shm``, read through ``/proc/<pid>/root`` of a
        process inside the sandbox's mount namespace."""
        if not self.tmp_size:
            return 0
        candidates = ([self._tmp_pid] if self._tmp_pid else []) + [p.pid for p in procs]
        for pid in candidates:
            if pid is None or _mnt_ns(pid) in (None, self._mnt):
                continue
            used, found = 0, False
            for mount in TMPFS_MOUNTS:
                try:
                    st = os.statvfs(f"/proc/{pid}/root/{mount}")
                except OSError:
                    continue
                if abs(st.f_blocks * st.f_frsize - self.tmp_size) > 2**20:
                    continue  # not (yet) the step's tmpfs: a namespace still being set up
                found = True
                used += (st.f_blocks - st.f_bfree) * st.f_frsize
            if found:
                self._tmp_pid = pid
                return used
        return 0

    def check(self) -> None:
        """One poll: memory and processes, and (every ``workspace_poll_s``) the workspace."""
        procs = self._tree()
        if not procs:
            return
        n = len(procs)
        self.peak_processes = max(self.peak_processes, n)
        if n > self.limits.max_processes:
            self.trip("processes", f"process limit of {self.limits.max_processes} reached "
                                   f"({n} processes in the step's tree)")
            return
        rss = 0
        for p in procs:
            try:
                rss += p.memory_info().rss
            except self._psutil.Error:
                pass
        tmp = self._tmp_used(procs)
        self.peak_tmp = max(self.peak_tmp, tmp)
        self.peak_memory = max(self.peak_memory, rss + tmp)
        if self.memory and rss + tmp > self.memory:
            self.trip("memory", f"memory cap of {_mib(self.memory)} for the whole process tree reached "
                                f"({_mib(rss)} resident in {n} processes + {_mib(tmp)} in /tmp and /dev/shm)")

    def check_workspace(self) -> None:
        """Kill the tree when the workspace grew past its quota."""
        if self.workspace is None:
            return
        grown = tree_size(self.workspace) - self._base_ws
        if grown > self.limits.workspace_mb * 2**20:
            self.trip("workspace", f"workspace quota of {self.limits.workspace_mb} MiB reached "
                                   f"(grew by {_mib(grown)})")

    def _loop(self) -> None:
        next_ws = 0.0
        while not self._stop.is_set():
            try:
                self.check()
                if time.monotonic() >= next_ws:
                    self.check_workspace()
                    next_ws = time.monotonic() + self.limits.workspace_poll_s
            except Exception:  # noqa: BLE001 - a watchdog hiccup must never take the harness down
                pass
            self._stop.wait(self.limits.poll_s)


def _mnt_ns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


class CappedLog:
    """Drain one pipe into a capped log file, keeping the last ``tail_bytes`` in memory.

    Args:
        stream: Readable binary pipe.
        path: Log file (None: only the tail is kept).
        cap: Bytes written to ``path`` at most; the rest is read and dropped (counted).
        tail_bytes: Bytes of the end kept in memory.

    Attributes:
        total: Bytes read from the pipe.
    """

    CHUNK = 65536

    def __init__(self, stream, path: Path | None, cap: int, tail_bytes: int):
        self.stream, self.path, self.cap, self.tail_bytes = stream, path, cap, tail_bytes
        self.total = 0
        self._tail = bytearray()
        self._thread = threading.Thread(target=self._pump, name="ftdojo-log", daemon=True)

    def start(self) -> CappedLog:
        """Start draining."""
        self._thread.start()
        return self

    def _pump(self) -> None:
        f = None
        if self.path is not None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(self.path, flags, 0o644)
            f = os.fdopen(fd, "wb")
        written = 0
        try:
            fd = self.stream.fileno()
            while chunk := os.read(fd, self.CHUNK):
                self.total += len(chunk)
                if f is not None and written < self.cap:
                    part = chunk[: self.cap - written]
                    f.write(part)
                    written += len(part)
                self._tail += chunk
                if len(self._tail) > 2 * self.tail_bytes:
                    del self._tail[: len(self._tail) - self.tail_bytes]
        except (OSError, ValueError):
            pass
        finally:
            if f is not None:
                if self.total > written:
                    f.write(f"\n[ftdojo: log capped at {self.cap} bytes; {self.total - written} more bytes "
                            "dropped, the tail is in the step's feedback]\n".encode())
                f.close()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the pipe is closed (all writers gone) or ``timeout``."""
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        """Still draining (a writer holds the pipe open)."""
        return self._thread.is_alive()

    def tail(self) -> bytes:
        """The last ``tail_bytes`` read."""
        return bytes(self._tail[-self.tail_bytes:])
