"""The ``subprocess`` backend: limits and a scrubbed environment, but no isolation (unsafe, for debugging)."""

from __future__ import annotations

import os
import resource
import sys
import warnings
from pathlib import Path

from ftagent.dojo.sandbox.base import LLM_ENV, SAFE_ENV, SandboxResult, endpoint_address, finish, run_process


class SubprocessSandbox:
    """A child process with a timeout, a memory cap (``RLIMIT_AS``) and a scrubbed environment.

    The code can read anything this user can — the evaluation halves, the grader, the home folder — and
    reach any network. Use it only for debugging or where nothing else is available.

    Args:
        warn: Emit the "no isolation" warning.
    """

    name = "subprocess"

    def __init__(self, warn: bool = True):
        if warn:
            warnings.warn("sandbox 'subprocess' gives no filesystem or network isolation: agent code can "
                          "read anything this user can (use 'bubblewrap' for real runs)", stacklevel=2)

    def run(self, argv: list[str], workspace: Path, raw_dir: Path, *, timeout_s: float, memory_mb: int,
            extra_env: dict[str, str] | None = None, llm_endpoint: str | None = None) -> SandboxResult:
        """Run ``argv`` in ``workspace`` (see :class:`~ftagent.dojo.sandbox.base.Sandbox`)."""
        env = {k: os.environ[k] for k in SAFE_ENV if k in os.environ}
        env.update({"FTDOJO_RAW_DIR": str(Path(raw_dir).resolve()), "PYTHONUNBUFFERED": "1"})
        if llm_endpoint:
            endpoint_address(llm_endpoint)
            env[LLM_ENV] = llm_endpoint
        env.update(extra_env or {})
        cmd = [sys.executable if argv[0] == "python" else argv[0], *argv[1:]]

        def limits() -> None:
            if memory_mb:
                cap = memory_mb * 2**20
                resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

        res = run_process(cmd, cwd=Path(workspace), env=env, timeout_s=timeout_s, backend=self.name,
                          preexec_fn=limits)
        return finish(res, Path(workspace))
