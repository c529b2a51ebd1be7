"""Running agent-written code (data-processing scripts) in a sandbox.

The contract (FT-Dojo §3 "sandboxed execution"): the command runs with its workspace as the only
writable folder, the raw-data repository read-only, the evaluation data, graders and secrets absent,
a wall-clock timeout and a memory cap, and no network unless a task allows one LLM endpoint. The
script finds the repository through ``$FTDOJO_RAW_DIR``, the allowed endpoint (if any) through
``$FTDOJO_LLM_BASE_URL``, and writes into its working directory.

Backends (:func:`get_sandbox`):

* ``auto`` (the default of every scale) — ``bubblewrap`` when it can start a sandbox here, else
  ``apptainer`` when it and an image are there, else ``subprocess`` with a warning; which one ran and why
  is :attr:`Selection` ``sandbox.selection``, recorded in every data step's stats;
* ``bubblewrap`` (:class:`BubblewrapSandbox`) — Linux namespaces, no root needed; the default for real runs;
* ``apptainer`` (:class:`ApptainerSandbox`) — HPC sites with Apptainer and a Python container image;
* ``subprocess`` (:class:`SubprocessSandbox`) — limits and a scrubbed environment only; **unsafe**, warns.

Every backend enforces the same per-step limits (:class:`SandboxLimits`, :mod:`.limits`): memory of the
whole process tree, processes, file size, a workspace quota, a bounded private ``/tmp`` counted against
the memory cap, the wall clock; stdout and stderr go to capped log files, only their tails are kept.

Every backend deletes symlinks the code left in the workspace that point outside it, because the
harness reads the workspace (``data.json``) outside the sandbox.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import asdict, dataclass
from typing import Any

from ftagent.dojo.sandbox.apptainer import ApptainerSandbox
from ftagent.dojo.sandbox.base import LLM_ENV, LOG_TAIL, SAFE_ENV, Sandbox, SandboxResult
from ftagent.dojo.sandbox.bubblewrap import BubblewrapSandbox
from ftagent.dojo.sandbox.limits import BREACH_CLASS, SandboxLimits
from ftagent.dojo.sandbox.plain import SubprocessSandbox
from ftagent.errors import ConfigError

BACKENDS: dict[str, type] = {"bubblewrap": BubblewrapSandbox, "apptainer": ApptainerSandbox,
                             "subprocess": SubprocessSandbox}
#: The order ``auto`` tries the backends in.
AUTO_ORDER = ("bubblewrap", "apptainer", "subprocess")
#: The warning recorded when ``auto`` falls back to the unisolated backend.
UNSAFE_NOTE = "no isolation: agent code ran as a plain subprocess (bubblewrap and apptainer unavailable)"

__all__ = ["AUTO_ORDER", "BACKENDS", "BREACH_CLASS", "LLM_ENV", "LOG_TAIL", "SAFE_ENV", "ApptainerSandbox",
           "BubblewrapSandbox", "Sandbox", "SandboxLimits", "SandboxResult", "Selection", "SubprocessSandbox",
           "get_sandbox"]


@dataclass
class Selection:
    """Which backend a run's sandbox is and why (recorded with every data step).

    Attributes:
        requested: The configured name (``auto`` or a backend).
        backend: The backend that runs the code.
        isolated: Whether the backend isolates the code (False for ``subprocess``).
        note: Why this backend: the reasons the stronger ones were unavailable; for ``subprocess``, the
            no-isolation warning.
    """

    requested: str
    backend: str
    isolated: bool
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return asdict(self)


def _construct(name: str, options: dict[str, Any], strict: bool) -> Sandbox:
    cls = BACKENDS[name]
    if not strict:  # auto: each backend gets the options it takes
        params = inspect.signature(cls).parameters
        options = {k: v for k, v in options.items() if k in params}
        if name == "subprocess":
            options["warn"] = False
    try:
        inspect.signature(cls).bind(**options)
    except TypeError as e:
        raise ConfigError(f"sandbox '{name}': bad option ({e})") from None
    return cls(**options)


def get_sandbox(name: str, **options: Any) -> Sandbox:
    """A sandbox backend by name (or ``auto``), constructed with ``options`` (e.g. ``image=`` for apptainer).

    The returned object has a :class:`Selection` in its ``selection`` attribute.

    Raises:
        ConfigError: unknown backend or option, or the named backend is unavailable on this machine (one
            line; a named backend never falls back silently — only ``auto`` falls back, and records it).
    """
    if name == "auto":
        why = []
        for candidate in AUTO_ORDER:
            try:
                sb = _construct(candidate, options, strict=False)
            except ConfigError as e:
                why.append(str(e))
                continue
            isolated = candidate != "subprocess"
            note = "; ".join(why) if isolated else f"{UNSAFE_NOTE} ({'; '.join(why)})"
            if not isolated:
                warnings.warn(f"sandbox 'auto': {note}", stacklevel=2)
            sb.selection = Selection("auto", candidate, isolated, note)
            return sb
        raise ConfigError("sandbox 'auto': no backend available (" + "; ".join(why) + ")")
    if name not in BACKENDS:
        raise ConfigError(f"unknown sandbox backend '{name}' (available: auto, {', '.join(BACKENDS)})")
    sb = _construct(name, options, strict=True)
    note = "" if name != "subprocess" else "no isolation: agent code ran as a plain subprocess (configured)"
    sb.selection = Selection(name, name, name != "subprocess", note)
    return sb
