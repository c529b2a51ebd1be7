"""FT-Agent's resumable state: ``agent_state.json``, rewritten atomically after every completed stage.

The unit of resumption is the **stage** (DESIGN.md "FT-Agent": a run can be resumed after a crash or a
SLURM requeue). A run has two run-level stages, ``baseline`` (the base model's validation score) and
``dataset_selection``, then per experiment the stages of :data:`STAGES`. After a stage completes its
results (plan, scripts, configs, attempts, scores, the backbone calls it made, its timings) are written
to ``agent_state.json`` in one atomic rename; a finished experiment then goes to ``trace.jsonl``. A
process killed at any point (``kill -9`` included) leaves the state of the last completed stage, and
``ftagent run`` on the same folder continues from there: a stage interrupted half-way is run again
from its start (its backbone calls are made again, or replayed from the cache), and nothing that was
completed is run or recorded twice.

One **step** (the ``max_stages`` stopping rule, RD-Agent's ``--step-n``) is one completed stage. The
count is derived from the records (run-level stages in this file, then the ``timings`` of every trace
entry and of the unfinished experiment), so it survives resumption.

Test hook: with ``FTAGENT_TEST_KILL_AFTER_STAGE=N`` in the environment the process sends itself
SIGKILL right after the N-th step has been written, to test resumption.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ftagent.errors import AgentError, DataError
from ftagent.records import FailureClass, LLMCall, LLMUsage, TraceEntry, Validation
from ftagent.utils.io import atomic_write_json, read_json

STATE_FILE = "agent_state.json"
#: Stages of one experiment, in order. After a failure only ``feedback`` (the diagnosis) still runs.
STAGES = ("plan", "data_debug", "micro_batch", "full_data", "full_training", "evaluation", "feedback")
#: Stages of the run before its first experiment.
RUN_STAGES = ("baseline", "dataset_selection")
KILL_HOOK = "FTAGENT_TEST_KILL_AFTER_STAGE"


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Failure(_State):
    """Why an experiment failed.

    Attributes:
        stage: Stage that failed.
        failure_class: CONFIG | OOM | DATA | ENV | TIMEOUT (the harness's classification).
        error: One-line reason.
        log_tail: Tail of the failing step's log.
        backbone: The planning backbone failed (not the experiment's code or config).
    """

    stage: str
    failure_class: FailureClass
    error: str
    log_tail: str = ""
    backbone: bool = False


class ExperimentState(_State):
    """Everything one experiment has produced so far (see :class:`~ftagent.records.TraceEntry`).

    Attributes:
        done: Completed stages, in order.
        script: The data script's text (also written to the workspace).
        model_dir: Trained model or adapter, once full training succeeded.
        adapter: Whether ``model_dir`` is a PEFT adapter.
    """

    iteration: int
    experiment_id: str
    parent_id: str | None = None
    datasets: list[str] = Field(default_factory=list)
    started_at: str
    finished_at: str | None = None
    done: list[str] = Field(default_factory=list)
    plan: dict[str, Any] = Field(default_factory=dict)
    hypothesis: str = ""
    script: str | None = None
    config: dict[str, Any] | None = None
    dropped: list[str] = Field(default_factory=list)
    repairs: int = 0
    attempts: list[dict[str, Any]] = Field(default_factory=list)
    data_stats: dict[str, Any] = Field(default_factory=dict)
    train: dict[str, Any] = Field(default_factory=dict)
    model_dir: str | None = None
    adapter: bool = False
    failure: Failure | None = None
    validation: Validation | None = None
    loss_summary: dict[str, Any] = Field(default_factory=dict)
    decision: Literal["accept", "reject"] | None = None
    feedback: str = ""
    diagnosis: dict[str, Any] | None = None
    llm_calls: list[LLMCall] = Field(default_factory=list)
    timings: dict[str, dict[str, float]] = Field(default_factory=dict)

    def stage_reached(self) -> str:
        """The last stage the experiment got to (the failing one, when it failed)."""
        if self.failure is not None:
            return self.failure.stage if self.failure.stage in STAGES else "plan"
        started = [s for s in STAGES if s in self.done]
        return started[-1] if started else "plan"

    def to_entry(self, data_script_path: str | None) -> TraceEntry:
        """The experiment's line of ``trace.jsonl``."""
        f = self.failure
        return TraceEntry(
            iteration=self.iteration, experiment_id=self.experiment_id, parent_id=self.parent_id,
            stage_reached=self.stage_reached(), status="failed" if f else "ok",
            failure_class=f.failure_class if f else None,
            error=f"{f.error}\n{f.log_tail}".strip()[-2000:] if f else None,
            hypothesis=self.hypothesis, plan=self.plan, data_script=data_script_path if self.script else None,
            train_config=self.config, dropped_config_keys=self.dropped, repairs=self.repairs,
            data_stats=self.data_stats, train=self.train, validation=self.validation, decision=self.decision,
            feedback=self.feedback, llm_calls=self.llm_calls, started_at=self.started_at,
            finished_at=self.finished_at or self.started_at, datasets=self.datasets, attempts=self.attempts,
            diagnosis=self.diagnosis, loss_summary=self.loss_summary, timings=self.timings)


class Selection(_State):
    """The raw datasets the agent works with (FT-Agent's dataset selection).

    Attributes:
        datasets: Selected source ids.
        reason: Why (the backbone's answer, or how the choice was made).
        mode: ``llm`` (the backbone chose), ``forced`` (the ``datasets`` option), ``fallback`` (the backbone
            failed or chose nothing usable: every available source is kept, "when uncertain, include").
        dropped: Ids the backbone named that are not available sources.
        call: The backbone call, when one was made.
    """

    datasets: list[str]
    reason: str = ""
    mode: Literal["llm", "forced", "fallback"]
    dropped: list[str] = Field(default_factory=list)
    call: LLMCall | None = None


class AgentState(_State):
    """``agent_state.json``.

    Attributes:
        version: Format version.
        task: Task id (a folder holding another task's run is refused).
        baseline: The base model's validation result.
        selection: The dataset selection.
        run_timings: Timings of the run-level stages.
        current: The latest experiment (unfinished, or finished and possibly not yet in the trace).
        spent_s: Budget seconds used by all sessions up to the last write.
        usage: Backbone usage of all completed stages (every session).
        sessions: One entry per process that worked on the run: ``started_at``, ``stages`` completed and
            ``endpoint_calls`` made by it.
        stop_reason: Why the agent stopped, once it has.
    """

    version: int = 1
    task: str
    baseline: Validation | None = None
    selection: Selection | None = None
    run_timings: dict[str, dict[str, float]] = Field(default_factory=dict)
    current: ExperimentState | None = None
    spent_s: float = 0.0
    usage: LLMUsage = Field(default_factory=LLMUsage)
    sessions: list[dict[str, Any]] = Field(default_factory=list)
    stop_reason: str | None = None


def load_state(run_dir: Path, task: str) -> AgentState | None:
    """The saved state of a run folder, or None for a fresh run.

    Raises:
        AgentError: the folder holds the state of another task, or an unreadable state file.
    """
    path = Path(run_dir) / STATE_FILE
    if not path.exists():
        return None
    try:
        state = AgentState.model_validate(read_json(path))
    except (DataError, ValueError) as e:
        why = str(e).splitlines()[0]
        raise AgentError(f"cannot resume from {path}: {why} (use a fresh run folder)") from None
    if state.task != task:
        raise AgentError(f"{path} belongs to a run of task '{state.task}', not '{task}' "
                         "(use a fresh run folder)")
    return state


def save_state(run_dir: Path, state: AgentState) -> None:
    """Write the state atomically (a crash leaves the previous or the new file, never half)."""
    atomic_write_json(Path(run_dir) / STATE_FILE, state)


def kill_hook(steps_done: int) -> None:
    """SIGKILL this process when ``$FTAGENT_TEST_KILL_AFTER_STAGE`` equals ``steps_done`` (tests only)."""
    at = os.environ.get(KILL_HOOK)
    if at and at.strip().isdigit() and int(at) == steps_done:
        os.kill(os.getpid(), signal.SIGKILL)
