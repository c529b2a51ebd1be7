"""A per-step cgroup for the memory and process limits, where this process may create one.

cgroup v2 (``memory.max``, ``memory.swap.max``, ``pids.max``; OOM kills counted in ``memory.events``) is
tried first: it needs a delegated subtree whose ``cgroup.subtree_control`` enables ``memory`` (and
``pids``). Then cgroup v1 (``memory.limit_in_bytes``, ``pids.max``), writable for root in many
containers (measured: writable and enforced under gVisor, where v2 has no memory controller). Where
neither works (an unprivileged compute node) :func:`step_cgroup` returns None and the watchdog of
:mod:`ftagent.dojo.sandbox.limits` alone holds the limits.

The step's process joins the cgroup before it executes anything (``preexec_fn`` writes its pid), so
every descendant — bwrap and everything in its namespaces — is charged to it; a tmpfs the step writes
(its private ``/tmp``) is charged to it too on Linux.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _own_paths() -> dict[str, str]:
    """Controller (``""`` for v2) -> this process's cgroup path, from ``/proc/self/cgroup``."""
    out = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, ctrls, path = line.split(":", 2)
            for c in ctrls.split(",") if ctrls else [""]:
                out[c] = path
    except (OSError, ValueError):
        pass
    return out


def _write(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
        return True
    except OSError:
        return False


def _read_key(path: Path, key: str) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in path.read_text().splitlines():
            k, _, v = line.partition(" ")
            if k == key:
                return int(v)
    return 0


class StepCgroup:
    """Memory and pids cgroups of one step (v1: one folder per controller; v2: one folder).

    Attributes:
        version: 1 or 2.
        dirs: Controller -> the step's cgroup folder.
    """

    def __init__(self, version: int, dirs: dict[str, Path]):
        self.version, self.dirs = version, dirs

    @property
    def controllers(self) -> list[str]:
        """The limits this cgroup enforces (``memory``, ``pids``)."""
        return sorted(self.dirs)

    def attach(self) -> None:
        """Move the calling process into the cgroup (run in the child before exec)."""
        pid = str(os.getpid())
        for d in dict.fromkeys(self.dirs.values()):
            with open(d / "cgroup.procs", "w") as f:
                f.write(pid)

    def oom_killed(self) -> bool:
        """The kernel's OOM killer acted inside this cgroup."""
        d = self.dirs.get("memory")
        if d is None:
            return False
        if self.version == 2:
            return _read_key(d / "memory.events", "oom_kill") > 0
        if _read_key(d / "memory.oom_control", "oom_kill") > 0:
            return True
        try:
            return int((d / "memory.failcnt").read_text().strip() or 0) > 0
        except (OSError, ValueError):
            return False

    def pids_hit(self) -> bool:
        """A fork failed at ``pids.max``."""
        d = self.dirs.get("pids")
        return d is not None and _read_key(d / "pids.events", "max") > 0

    def close(self) -> None:
        """Kill what is left in the cgroup and remove its folders."""
        for d in dict.fromkeys(self.dirs.values()):
            if self.version == 2:
                _write(d / "cgroup.kill", "1")
            else:
                with contextlib.suppress(OSError, ValueError):
                    for pid in (d / "cgroup.procs").read_text().split():
                        with contextlib.suppress(OSError):
                            os.kill(int(pid), 9)
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError:
                    import time

                    time.sleep(0.02)


def _v2(memory: int | str, pids: int, name: str) -> StepCgroup | None:
    own = _own_paths().get("")
    if own is None:
        return None
    for mount in (ROOT, ROOT / "unified"):
        parent = mount / own.lstrip("/")
        ctl = parent / "cgroup.subtree_control"
        if not ctl.exists():
            continue
        try:
            enabled = ctl.read_text().split()
        except OSError:
            continue
        if "memory" not in enabled:
            _write(ctl, "+memory +pids")
            enabled = ctl.read_text().split() if ctl.exists() else []
        if "memory" not in enabled:
            continue
        d = parent / name
        try:
            d.mkdir()
        except OSError:
            continue
        ok = _write(d / "memory.max", str(memory))
        _write(d / "memory.swap.max", "0")
        dirs = {"memory": d} if ok else {}
        if "pids" in enabled and _write(d / "pids.max", str(pids)):
            dirs["pids"] = d
        if dirs:
            return StepCgroup(2, dirs)
        with contextlib.suppress(OSError):
            d.rmdir()
    return None


def _v1(memory: int | str, pids: int, name: str) -> StepCgroup | None:
    own = _own_paths()
    dirs: dict[str, Path] = {}
    for ctrl, key, value in (("memory", "memory.limit_in_bytes", memory), ("pids", "pids.max", pids)):
        if ctrl not in own:
            continue
        d = ROOT / ctrl / own[ctrl].lstrip("/") / name
        try:
            d.mkdir()
        except OSError:
            continue
        if _write(d / key, str(value)):
            if ctrl == "memory":
                _write(d / "memory.memsw.limit_in_bytes", str(value))  # no swap past the cap (if accounted)
            dirs[ctrl] = d
        else:
            with contextlib.suppress(OSError):
                d.rmdir()
    return StepCgroup(1, dirs) if dirs else None


def step_cgroup(memory_mb: int, max_tasks: int) -> StepCgroup | None:
    """A fresh cgroup capping memory at ``memory_mb`` MiB (0: uncapped) and ``pids.max`` at ``max_tasks``
    (``pids.max`` counts threads too), or None.

    Never raises: a machine without a usable cgroup gets None (the watchdog then holds the limits).
    """
    name = f"ftdojo-step-{uuid.uuid4().hex[:12]}"
    for make, unlimited in ((_v2, "max"), (_v1, str(2**62))):
        try:
            cg = make(memory_mb * 2**20 if memory_mb else unlimited, max_tasks, name)
        except OSError:
            cg = None
        if cg is not None:
            return cg
    return None
