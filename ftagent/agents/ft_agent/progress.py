"""Progress of an FT-Agent run: a live panel on a terminal, plain log lines otherwise.

On a terminal (stderr is a TTY) a rich panel shows the task, iteration, experiment, stage, best
validation score and budget left, redrawn at every stage boundary. Under Snakemake, SLURM or a pipe
the same facts go to the ``ftagent.agent`` logger, one line per stage, which ends up in the rule's log.
``FTAGENT_PROGRESS=plain`` forces log lines, ``FTAGENT_PROGRESS=live`` the panel.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("ftagent.agent")


def _hms(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


@dataclass
class Progress:
    """Reports stage boundaries.

    Args:
        task: Task id.
        max_iterations: Iteration limit (shown as ``i/max``).
        live: Force the live panel (True) or log lines (False); None decides from the terminal.
    """

    task: str
    max_iterations: int
    live: bool | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    _live: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        mode = os.environ.get("FTAGENT_PROGRESS", "")
        if self.live is None:
            self.live = mode == "live" or (mode != "plain" and sys.stderr.isatty())
        if self.live:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self._panel(), console=Console(stderr=True), auto_refresh=False,
                              transient=False)
            self._live.start()

    def _panel(self):
        from rich.table import Table

        f = self.facts
        t = Table.grid(padding=(0, 2))
        t.add_column(style="bold")
        t.add_column()
        t.add_row("FT-Agent", self.task)
        t.add_row("iteration", f"{f.get('iteration', '-')}/{self.max_iterations}  {f.get('experiment', '')}")
        t.add_row("stage", f"{f.get('stage', '-')} {f.get('status', '')}".strip())
        t.add_row("best validation", f"{f.get('best', '-')} {f.get('best_id', '')}".strip())
        t.add_row("budget left", _hms(f.get("budget_left_s", 0)))
        t.add_row("stages done", str(f.get("stages", 0)))
        return t

    def update(self, *, stage: str, status: str, iteration: int | None = None, experiment: str | None = None,
               best: float | None = None, best_id: str | None = None, budget_left_s: float = 0.0,
               stages: int = 0, note: str = "") -> None:
        """Report that ``stage`` started or ended (``status``: ``started``, ``done``, ``failed``...)."""
        self.facts.update(stage=stage, status=status, iteration=None if iteration is None else iteration + 1,
                          experiment=experiment or "", best="-" if best is None else best,
                          best_id=best_id or "", budget_left_s=budget_left_s, stages=stages)
        if self._live is not None:
            self._live.update(self._panel(), refresh=True)
        elif status != "started":
            where = f"{experiment} " if experiment else ""
            log.info("%s: %s%s %s%s | best validation %s%s | budget left %s | stages done %d", self.task,
                     where, stage, status, f" ({note})" if note else "", "-" if best is None else best,
                     f" ({best_id})" if best_id else "", _hms(budget_left_s), stages)

    def close(self) -> None:
        """Stop the live panel (its last state stays on the terminal)."""
        if self._live is not None:
            self._live.stop()
            self._live = None
