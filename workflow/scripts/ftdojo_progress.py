"""One line per job with an overall count and ETA, instead of Snakemake's multi-line job blocks.

Installed by ``workflow/rules/report.smk`` in the main Snakemake process; active in real runs only (a dry
run or ``--touch`` keeps Snakemake's output, checked when records arrive):

* a ``logging.Handler`` on Snakemake's logger reads its structured records (``event`` = job_info,
  job_finished, job_error, progress) and prints ``ftdojo: [ 5/73  7%] done run_agent
  aime2025/ft-agent/... in 2m10s | elapsed 10m12s, ETA ~1h02m`` to stderr, every line cut to
  :data:`WIDTH` characters; a job's start gets one line too, so a long first job is not silent;
* Snakemake's own per-job blocks, shell commands and ``N of M steps`` lines are muted (a filter on its
  stream handler drops those events); errors (with their messages), warnings, the job-stats table and
  the final summary stay. The
  full detail is still in ``.snakemake/log/`` and each job's log file.

ETA: the elapsed time divided by the finished jobs, times the jobs left (jobs differ in length, so
it is a rough guide: ``~``). ``FTDOJO_PROGRESS=0`` keeps Snakemake's own output. Anything unexpected
(a Snakemake version whose logging differs) leaves Snakemake's output as it is.
"""

from __future__ import annotations

import logging
import os
import sys
import time

WIDTH = 160
#: A job's label (rule and wildcards) is cut first, so the count, duration and ETA always show.
LABEL_WIDTH = 90


def _dur(s: float) -> str:
    s = int(s)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def cut(line: str, width: int = WIDTH) -> str:
    """``line`` cut to ``width`` characters (an ellipsis marks the cut)."""
    return line if len(line) <= width else line[: width - 1] + "…"


class ProgressHandler(logging.Handler):
    """Prints one short line per job start and end, with the overall count and an ETA."""

    def __init__(self, stream=None, clock=time.monotonic, enabled=lambda: True):
        super().__init__(level=logging.INFO)
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.clock = clock
        self.t0 = clock()
        self.done = 0
        self.total = 0
        self.jobs: dict[int, tuple[str, float]] = {}

    def _count(self) -> str:
        pct = f"{100 * self.done // self.total:3d}%" if self.total else "  ?%"
        w = len(str(self.total or 0))
        return f"[{self.done:>{w}}/{self.total} {pct}]"

    def _eta(self) -> str:
        el = self.clock() - self.t0
        if not self.done or not self.total:
            return f"elapsed {_dur(el)}"
        left = max(0, self.total - self.done)
        return f"elapsed {_dur(el)}, ETA ~{_dur(el / self.done * left)}" if left else f"elapsed {_dur(el)}"

    def _print(self, text: str) -> None:
        self.stream.write(cut(f"ftdojo: {self._count()} {text}") + "\n")
        self.stream.flush()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if not self.enabled():
                return
            event = str(getattr(record, "event", "") or "")
            if event.endswith("job_info"):
                wc = getattr(record, "wildcards", None) or {}
                label = cut(f"{record.rule_name} {'/'.join(map(str, wc.values()))}".strip(), LABEL_WIDTH)
                self.jobs[record.jobid] = (label, self.clock())
                self._print(f"start {label}")
            elif event.endswith("job_finished"):
                label, start = self.jobs.pop(getattr(record, "job_id", None), ("job", self.clock()))
                self.done += 1
                self._print(f"done {label} in {_dur(self.clock() - start)} | {self._eta()}")
            elif event.endswith("job_error"):
                name = getattr(record, "rule_name", None) or "job"
                self._print(f"FAILED {name} (log: {getattr(record, 'log', None) or 'see above'}) | {self._eta()}")
            elif event.endswith("run_info"):  # the job-stats table (Snakemake prints it): the total
                stats = getattr(record, "stats", None)
                if isinstance(stats, dict) and isinstance(stats.get("total"), int):
                    self.total = stats["total"]
            elif event.endswith("progress"):
                self.done, self.total = int(record.done), int(record.total)
        except Exception:  # progress output must never break a run
            pass


#: Snakemake log events the progress lines replace (errors, warnings and the job stats stay).
MUTED_EVENTS = ("job_info", "group_info", "shellcmd", "job_finished", "progress")


class _Mute(logging.Filter):
    """Drops the records the progress lines replace while ``enabled()`` (a real run, not a dry run)."""

    def __init__(self, enabled):
        super().__init__()
        self.enabled = enabled

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            return _mute(record) if self.enabled() else True
        except Exception:
            return True


def _mute(record: logging.LogRecord) -> bool:
    """False for the records the progress lines replace, and the scheduler's "Select jobs" / "Execute" chatter."""
    event = str(getattr(record, "event", "") or "")
    if any(event.endswith(e) for e in MUTED_EVENTS):
        return False
    try:
        msg = record.getMessage()
    except Exception:
        return True
    return not (msg.startswith("Select jobs to execute") or (msg.startswith("Execute ") and msg.endswith("jobs...")))


def install(workflow, logger_name: str = "snakemake.logging") -> ProgressHandler | None:
    """Attach :class:`ProgressHandler` and mute Snakemake's per-job output (main process, real runs only)."""
    if os.environ.get("FTDOJO_PROGRESS", "1") == "0" or not workflow.is_main_process:
        return None
    try:
        from snakemake.settings.enums import Quietness

        def enabled() -> bool:  # read when records arrive: the run's settings are not known at parse time
            try:
                return not (workflow.dryrun or getattr(workflow, "touch", False))
            except Exception:
                return False

        logger = logging.getLogger(logger_name)
        if any(isinstance(h, ProgressHandler) for h in logger.handlers):
            return None
        streams = [h for h in logger.handlers if any(isinstance(getattr(f, "quiet", None), set) for f in h.filters)]
        if not streams or any(Quietness.ALL in f.quiet for h in streams for f in h.filters if hasattr(f, "quiet")):
            return None  # no default stream handler (a logger plugin writes), or --quiet all
        for h in streams:
            h.addFilter(_Mute(enabled))
        handler = ProgressHandler(enabled=enabled)
        logger.addHandler(handler)
        return handler
    except Exception:
        return None
