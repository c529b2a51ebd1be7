"""Failure classification: OOM | CONFIG | DATA | ENV | TIMEOUT from exit codes and log patterns.

The class and the log tail go back to the agent as structured feedback (FT-Dojo §3 "structured
feedback"; the paper's failure diagnosis by class). Patterns are checked in order; the first match wins.
"""

from __future__ import annotations

import re
from typing import Literal

FailureClass = Literal["CONFIG", "OOM", "DATA", "ENV", "TIMEOUT"]

#: (class, pattern) in priority order; matched case-insensitively against the log tail.
PATTERNS: list[tuple[FailureClass, str]] = [
    ("TIMEOUT", r"timed? ?out|TimeoutExpired|DeadlineExceeded|DUE TO TIME LIMIT"),
    ("OOM", r"out of memory|OutOfMemoryError|CUDA error: out of memory|MemoryError|Cannot allocate memory|"
            r"oom-kill|std::bad_alloc|DefaultCPUAllocator: can't allocate"),
    ("CONFIG", r"training config key|unexpected keyword argument|ConfigError|invalid value for|"
               r"must be one of|not supported with|requires .*(?:GPU|CUDA)|ValidationError"),
    ("DATA", r"DataError|training data|JSONDecodeError|KeyError|data\.json|no samples|empty dataset|"
             r"UnicodeDecodeError|exceed(?:s|ed)? the (?:sample )?cap"),
    ("ENV", r"ModuleNotFoundError|ImportError|No such file or directory|command not found|"
            r"NCCL|mpi4py|Address already in use|Permission denied|CUDA driver|libcuda"),
]


def classify_failure(log: str, returncode: int | None = None, timed_out: bool = False) -> FailureClass:
    """The failure class of a failed step.

    Args:
        log: Tail of the step's log (stderr and stdout) or the exception text.
        returncode: Exit status; 137 / -9 (SIGKILL, usually the OOM killer) counts as OOM.
        timed_out: The harness killed the step for exceeding its wall-clock limit.

    Returns:
        One of ``CONFIG``, ``OOM``, ``DATA``, ``ENV``, ``TIMEOUT``; ``ENV`` when nothing matches.
    """
    if timed_out:
        return "TIMEOUT"
    for cls, pat in PATTERNS:
        if re.search(pat, log or "", flags=re.IGNORECASE):
            return cls
    if returncode in (137, -9):
        return "OOM"
    return "ENV"
