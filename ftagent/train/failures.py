"""Failure classification: OOM | CONFIG | DATA | ENV | TIMEOUT from exit codes and log patterns.

The class and the log tail go back to the agent as structured feedback (FT-Dojo §3 "structured
feedback"; the paper's failure diagnosis by class). What each class tells the agent to change:

* ``TIMEOUT`` — the step ran past its wall-clock limit (the harness's, or SLURM's ``TIME LIMIT``):
  train on less, or faster.
* ``OOM`` — CUDA or host memory ran out, or the kernel/SLURM OOM killer sent SIGKILL (exit 137,
  torchrun's ``exitcode: -9``): smaller batch or ``cutoff_len``, LoRA, ZeRO-3, gradient checkpointing.
* ``CONFIG`` — an invalid or unsupported training setting, or a run that trained badly (NaN, zero or
  diverging loss): change the config.
* ``DATA`` — the training file is missing, malformed or too large: fix the data script.
* ``ENV`` — the environment is at fault (missing package, NCCL, port in use, CUDA driver, DeepSpeed
  op build, a bad save): not the agent's doing; the harness records it as an infrastructure failure.

Patterns are tried in the order of :data:`PATTERNS` against the *error lines* of the log first (the
final exception lines, torchrun's failure summary, SLURM and kernel messages), then against the whole
tail, so a normal log line such as "loading training data" cannot decide the class of a crash.
"""

from __future__ import annotations

import re
from typing import Literal

FailureClass = Literal["CONFIG", "OOM", "DATA", "ENV", "TIMEOUT"]

#: (class, pattern) in priority order; matched case-insensitively.
PATTERNS: list[tuple[FailureClass, str]] = [
    ("TIMEOUT", r"DUE TO TIME LIMIT|TimeoutExpired|DeadlineExceeded|exceeded (?:its|the) (?:wall-clock|time) limit|"
                r"training timed out"),
    ("OOM", r"out of memory|OutOfMemoryError|MemoryError|Cannot allocate memory|oom[-_ ]kill|std::bad_alloc|"
            r"DefaultCPUAllocator: can't allocate|CUBLAS_STATUS_ALLOC_FAILED|exitcode\s*:\s*-9\b|"
            r"Signal 9 \(SIGKILL\)|Killed process \d+"),
    ("CONFIG", r"training config key|unexpected keyword argument|ConfigError|invalid value for|"
               r"must be one of|not supported with|requires .*(?:GPU|CUDA)|ValidationError|"
               r"training loss is not finite|training loss is exactly 0|training diverged|loss collapsed"),
    ("DATA", r"DataError|training data|JSONDecodeError|KeyError|data\.json|no samples|empty dataset|"
             r"UnicodeDecodeError|exceed(?:s|ed)? the (?:sample )?cap"),
    ("ENV", r"ModuleNotFoundError|ImportError|No such file or directory|command not found|NCCL|mpi4py|"
            r"Address already in use|EADDRINUSE|DistNetworkError|Permission denied|CUDA driver|libcuda|"
            r"CUDA_HOME|nvcc|ninja|torch_extensions|Error building extension|saved tensor .* is empty|no weights saved|"
            r"failed to reload|chat template"),
]

_ERROR_LINE = re.compile(
    r"^\s*(?:\[rank\d+\]:\s*)?(?:[\w.]+(?:Error|Exception|Interrupt|Exit|Expired)\b.*"  # exception lines
    r"|.*(?:\b(?:exitcode|Signal \d+|Killed|CANCELLED|slurmstepd|ChildFailedError)\b|\berror:).*)$",
    flags=re.IGNORECASE | re.MULTILINE)


def error_lines(log: str) -> str:
    """The lines of ``log`` that state an error (exception lines, torchrun/SLURM/kernel messages)."""
    return "\n".join(m.group(0).strip() for m in _ERROR_LINE.finditer(log or ""))


def error_summary(log: str, limit: int = 300) -> str:
    """The last exception line of ``log`` (or its last non-empty line), at most ``limit`` characters."""
    exc = [m.group(1).strip() for m in re.finditer(r"^\s*(?:\[rank\d+\]:\s*)?([\w.]+(?:Error|Exception|Expired)\b:?.*)$",
                                                   log or "", flags=re.MULTILINE)]
    lines = exc or [x.strip() for x in (log or "").splitlines() if x.strip()]
    return lines[-1][:limit] if lines else ""


def _match(text: str) -> FailureClass | None:
    for cls, pat in PATTERNS:
        if re.search(pat, text, flags=re.IGNORECASE):
            return cls
    return None


def classify_failure(log: str, returncode: int | None = None, timed_out: bool = False) -> FailureClass:
    """The failure class of a failed step.

    Args:
        log: Tail of the step's log (stderr and stdout) or the exception text with its traceback.
        returncode: Exit status; 137 / -9 (SIGKILL, usually the OOM killer) counts as OOM when no
            pattern says otherwise.
        timed_out: The harness killed the step for exceeding its wall-clock limit.

    Returns:
        One of ``CONFIG``, ``OOM``, ``DATA``, ``ENV``, ``TIMEOUT``; ``ENV`` when nothing matches.
    """
    if timed_out:
        return "TIMEOUT"
    cls = _match(error_lines(log)) or _match(log or "")
    if cls:
        return cls
    if returncode in (137, -9):
        return "OOM"
    return "ENV"
