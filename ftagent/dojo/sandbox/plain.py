"""The ``subprocess`` backend: limits and a scrubbed environment, but no isolation (unsafe, for debugging)."""

from __future__ import annotations

import os
import resource
import shutil
import sys
import warnings
from pathlib import Path

from ftagent.dojo.sandbox.base import LLM_ENV, SAFE_ENV, SandboxResult, endpoint_address, finish, run_process
from ftagent.dojo.sandbox.limits import SandboxLimits


class SubprocessSandbox:
    """A child process with the step's limits and a scrubbed environment, but no isolation.

    The code can read anything this user can — the evaluation halves, the grader, the home folder — and
    reach any network. Use it only for debugging or where nothing else is available. Limits
    (:mod:`ftagent.dojo.sandbox.limits`): the harness's watchdog (and a per-step cgroup where usable)
    for the tree's memory and processes and the workspace quota, ``RLIMIT_AS`` and ``RLIMIT_FSIZE`` per
    process; ``TMPDIR`` points into the workspace (``.tmp``, removed afterwards) so the quota covers it.
    A process that leaves the step's process group and tree (double fork + ``setsid``) escapes them.

    Args:
        warn: Emit the "no isolation" warning.
    """

    name = "subprocess"

    def __init__(self, warn: bool = True):
        if warn:
            warnings.warn("sandbox 'subprocess' gives no filesystem or network isolation: agent code can "
                          "read anything this user can (use 'bubblewrap' for real runs)", stacklevel=2)

    def run(self, argv: list[str], workspace: Path, raw_dir: Path, *, timeout_s: float, memory_mb: int,
            extra_env: dict[str, str] | None = None, llm_endpoint: str | None = None,
            limits: SandboxLimits | None = None, log_dir: Path | None = None,
            readonly_files: dict[str, Path] | None = None) -> SandboxResult:
        """Run ``argv`` in ``workspace`` (see :class:`~ftagent.dojo.sandbox.base.Sandbox`).

        ``readonly_files`` are copied into the workspace (nothing can stop this backend's code from
        rewriting them; the caller checks them afterwards).
        """
        limits = limits or SandboxLimits()
        workspace = Path(workspace)
        for name, host in (readonly_files or {}).items():
            shutil.copyfile(host, workspace / name)
        tmp = workspace / ".tmp"
        tmp.mkdir(exist_ok=True)
        env = {k: os.environ[k] for k in SAFE_ENV if k in os.environ}
        env.update({"FTDOJO_RAW_DIR": str(Path(raw_dir).resolve()), "PYTHONUNBUFFERED": "1",
                    "TMPDIR": str(tmp.resolve())})
        if llm_endpoint:
            endpoint_address(llm_endpoint)
            env[LLM_ENV] = llm_endpoint
        env.update(extra_env or {})
        cmd = [sys.executable if argv[0] == "python" else argv[0], *argv[1:]]
        fsize = limits.file_size_mb * 2**20

        def rlimits() -> None:
            if memory_mb:
                cap = memory_mb * 2**20
                resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

        try:
            res = run_process(cmd, cwd=workspace, env=env, timeout_s=timeout_s, backend=self.name,
                              preexec_fn=rlimits, memory_mb=memory_mb, limits=limits, workspace=workspace,
                              log_dir=log_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return finish(res, workspace)
