"""Running agent-written code (data-processing scripts) in a sandbox.

The contract (FT-Dojo §3 "sandboxed execution"): the command runs with its workspace as the only
writable folder, the raw-data repository read-only, the evaluation data, graders and secrets absent,
a wall-clock timeout and a memory cap, and no network unless a task allows one LLM endpoint. The
script finds the repository through ``$FTDOJO_RAW_DIR``, the allowed endpoint (if any) through
``$FTDOJO_LLM_BASE_URL``, and writes into its working directory.

Backends (:func:`get_sandbox`):

* ``bubblewrap`` (:class:`BubblewrapSandbox`) — Linux namespaces, no root needed; the default for real runs;
* ``apptainer`` (:class:`ApptainerSandbox`) — HPC sites with Apptainer and a Python container image;
* ``subprocess`` (:class:`SubprocessSandbox`) — limits and a scrubbed environment only; **unsafe**, warns.

Every backend deletes symlinks the code left in the workspace that point outside it, because the
harness reads the workspace (``data.json``) outside the sandbox.
"""

from __future__ import annotations

import inspect
from typing import Any

from ftagent.dojo.sandbox.apptainer import ApptainerSandbox
from ftagent.dojo.sandbox.base import LLM_ENV, LOG_TAIL, SAFE_ENV, Sandbox, SandboxResult
from ftagent.dojo.sandbox.bubblewrap import BubblewrapSandbox
from ftagent.dojo.sandbox.plain import SubprocessSandbox
from ftagent.errors import ConfigError

BACKENDS: dict[str, type] = {"bubblewrap": BubblewrapSandbox, "apptainer": ApptainerSandbox,
                             "subprocess": SubprocessSandbox}

__all__ = ["BACKENDS", "LLM_ENV", "LOG_TAIL", "SAFE_ENV", "ApptainerSandbox", "BubblewrapSandbox", "Sandbox",
           "SandboxResult", "SubprocessSandbox", "get_sandbox"]


def get_sandbox(name: str, **options: Any) -> Sandbox:
    """A sandbox backend by name, constructed with ``options`` (e.g. ``image=`` for apptainer).

    Raises:
        ConfigError: unknown backend or option, or the backend is unavailable on this machine (one line;
            never a silent fallback to a weaker backend).
    """
    if name not in BACKENDS:
        raise ConfigError(f"unknown sandbox backend '{name}' (available: {', '.join(BACKENDS)})")
    cls = BACKENDS[name]
    try:
        inspect.signature(cls).bind(**options)
    except TypeError as e:
        raise ConfigError(f"sandbox '{name}': bad option ({e})") from None
    return cls(**options)
