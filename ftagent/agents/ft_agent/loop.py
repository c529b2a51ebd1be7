"""FT-Agent's loop: dataset selection, then experiments until a stopping rule ends the run.

Each experiment goes plan → code → fail-fast validation → full run → feedback (FT-Agent §3-§4;
DESIGN.md "FT-Agent").

The run:

1. ``baseline`` — the base model's validation score (the reference until an experiment is accepted);
2. ``dataset_selection`` — the backbone picks the relevant raw sources (:mod:`.selection`);
3. experiments, each through the stages of :mod:`.stages` (plan, data_debug, micro_batch, full_data,
   full_training, evaluation, feedback), recorded as one :class:`~ftagent.records.TraceEntry` each. The
   experiments form a DAG: each one's parent is the accepted experiment with the best validation score
   when it was planned; that experiment is also the run's final choice.

Stopping rules, checked before every stage: the budget (wall clock and GPU-hours, counted over all
sessions of a resumed run), ``max_iterations`` experiments, and ``max_stages`` steps (a step is one
completed stage, see :mod:`.state`). A rule that fires mid-experiment leaves that experiment unfinished
in ``agent_state.json`` (a later run with a larger budget continues it) and out of the trace. A planning
backbone that fails ``max_backbone_failures`` experiments in a row ends the run as ``agent_failed``.

Resumption: ``agent_state.json`` is rewritten atomically after every completed stage; running the agent
again on the same folder continues from the last completed stage (see :mod:`.state`).
"""

from __future__ import annotations

import time
from typing import ClassVar

from ftagent.agents.base import AgentOutcome, TraceWriter, register_agent
from ftagent.agents.ft_agent.context import best_entry, dataset_view, plan_context
from ftagent.agents.ft_agent.progress import Progress
from ftagent.agents.ft_agent.selection import forced_selection, select_datasets
from ftagent.agents.ft_agent.stages import ExperimentStages, data_script_path
from ftagent.agents.ft_agent.state import (
    STAGES,
    AgentState,
    ExperimentState,
    Failure,
    kill_hook,
    load_state,
    save_state,
)
from ftagent.dojo.env import Dojo
from ftagent.errors import AgentError, BackboneError
from ftagent.llm.client import ChatClient
from ftagent.records import FinalChoice, LLMUsage
from ftagent.utils.provenance import utcnow


class _Stop(Exception):
    """A stopping rule fired (the reason is the message)."""


@register_agent
class FTAgent:
    """The paper's FT-Agent.

    Args:
        max_repairs: Fail-fast repair rounds per validation stage (paper: up to 10 coder rounds).
        datasets: Force the dataset selection to these source ids (paper: ``--dataset``); None lets the
            backbone choose.
        max_stages: Stop after this many steps (completed stages, run-level ones included); None: no limit.
        max_backbone_failures: Consecutive experiments failed by the planning backbone that end the run
            as ``agent_failed``.
        live_progress: Force the live progress panel on or off (None: on when stderr is a terminal).

    Raises:
        AgentError: an option is out of range.
    """

    name: ClassVar[str] = "ft-agent"
    needs_backbone: ClassVar[bool] = True

    def __init__(self, max_repairs: int = 2, datasets: list[str] | None = None, max_stages: int | None = None,
                 max_backbone_failures: int = 2, live_progress: bool | None = None):
        if max_repairs < 0 or (max_stages is not None and max_stages < 1) or max_backbone_failures < 1:
            raise AgentError("ft-agent options: max_repairs >= 0, max_stages >= 1, "
                             "max_backbone_failures >= 1")
        self.max_repairs = max_repairs
        self.datasets = list(datasets) if datasets else None
        self.max_stages = max_stages
        self.max_backbone_failures = max_backbone_failures
        self.live_progress = live_progress

    # ------------------------------------------------------------------ the run
    def run(self, dojo: Dojo, llm: ChatClient | None, trace: TraceWriter) -> AgentOutcome:
        """Run (or resume) FT-Agent in ``dojo`` and return its best accepted experiment.

        Returns:
            The best accepted experiment; ``error`` is set (status ``agent_failed``) when the backbone failed
            ``max_backbone_failures`` experiments in a row or a forced dataset is missing.

        Raises:
            BackboneError: no backbone was given.
            AgentError: the run folder holds the state of another task, or an unreadable state file.
        """
        if llm is None:
            raise BackboneError("ft-agent needs a planning backbone")
        self.dojo, self.llm, self.trace = dojo, llm, trace
        self.card = dojo.task_card()
        self.info = dojo.dataset_info()
        state = load_state(dojo.run_dir, dojo.task.id)
        resumed = state is not None
        self.state = state or AgentState(task=dojo.task.id)
        self.prior_s = self.state.spent_s
        dojo.spent_before_s = self.state.spent_s
        if resumed:  # usage of the completed stages of earlier sessions
            llm.usage = _add_usage(llm.usage, self.state.usage)
        self.session = {"started_at": utcnow(), "stages": 0, "endpoint_calls": 0}
        self.state.sessions.append(self.session)
        self.state.stop_reason = None
        self.entries = list(trace.entries)
        self.progress = Progress(dojo.task.id, dojo.settings.max_iterations, live=self.live_progress)
        error = None
        try:
            self.state.stop_reason = self._loop()
        except AgentError as e:  # recorded experiments stay; the run ends as agent_failed
            error = str(e)
        finally:
            self.progress.close()
        # Saved only on a normal end: after a crash inside a stage the file keeps the last completed
        # stage, so the half-done stage's calls and attempts are never recorded (they are redone).
        self._save()
        return self._outcome(error)

    def _loop(self) -> str:
        try:
            if self.state.baseline is None:
                self._run_level("baseline", self._baseline)
            if self.state.selection is None:
                self._run_level("dataset_selection", self._select)
            while True:
                exp = self._current()
                if exp is None:
                    return "max_iterations"
                self._experiment(exp)
                self._record(exp)
        except _Stop as stop:
            return str(stop)

    def _outcome(self, error: str | None = None) -> AgentOutcome:
        best = best_entry(self.entries, self.card["metric"]["higher_is_better"])
        final = FinalChoice()
        if best is not None:
            model_dir = self.dojo.run_dir / "experiments" / best.experiment_id / "train" / "model"
            final = FinalChoice(experiment_id=best.experiment_id, model_dir=str(model_dir),
                                adapter=(best.train_config or {}).get("method") in ("lora", "qlora"),
                                validation_score=best.validation.score if best.validation else None)
        return AgentOutcome(final=final, experiments=[e.experiment_id for e in self.entries],
                            iterations=len(self.entries), error=error, stop_reason=self.state.stop_reason,
                            sessions=len(self.state.sessions), prior_wall_s=self.prior_s)

    # ------------------------------------------------------------------ bookkeeping
    def steps_done(self) -> int:
        """Completed stages of the run so far (the ``max_stages`` count)."""
        cur = self.state.current
        pending = cur is not None and cur.experiment_id not in {e.experiment_id for e in self.entries}
        return (len(self.state.run_timings) + sum(len(e.timings) for e in self.entries)
                + (len(cur.timings) if pending else 0))

    def _save(self) -> None:
        self.state.spent_s = round(self.dojo.elapsed_s(), 3)
        self.state.usage = self.llm.usage.model_copy()
        self.session["endpoint_calls"] = self.llm.endpoint_calls
        save_state(self.dojo.run_dir, self.state)

    def _check_stop(self) -> None:
        if self.dojo.budget_left_s() <= 0:
            raise _Stop("budget")
        if self.max_stages is not None and self.steps_done() >= self.max_stages:
            raise _Stop("max_stages")

    def _best(self) -> tuple[float | None, str | None]:
        best = best_entry(self.entries, self.card["metric"]["higher_is_better"])
        return (best.validation.score, best.experiment_id) if best and best.validation else (None, None)

    def _report(self, stage: str, status: str, exp: ExperimentState | None = None, note: str = "") -> None:
        score, best_id = self._best()
        self.progress.update(stage=stage, status=status, iteration=exp.iteration if exp else None,
                             experiment=exp.experiment_id if exp else None, best=score, best_id=best_id,
                             budget_left_s=self.dojo.budget_left_s(), stages=self.steps_done(), note=note)

    def _timed(self, fn, timings: dict[str, dict[str, float]], stage: str,
               calls: list | None = None) -> None:
        """Run ``fn`` and record its wall time split into backbone, data-script, training and eval time."""
        clock0, n0, t0 = dict(self.dojo.clock), len(calls) if calls is not None else 0, time.time()
        fn()
        llm_s = sum(c.latency_s for c in (calls or [])[n0:])
        timings[stage] = {"wall_s": round(time.time() - t0, 3), "llm_s": round(llm_s, 3),
                          **{f"{k.split('_')[0]}_s": round(self.dojo.clock[k] - clock0[k], 3)
                             for k in ("data_script", "train", "eval")}}

    def _completed(self) -> None:
        self.session["stages"] += 1
        self._save()
        kill_hook(self.steps_done())

    # ------------------------------------------------------------------ run-level stages
    def _run_level(self, stage: str, fn) -> None:
        self._check_stop()
        self._report(stage, "started")
        calls: list = []
        self._timed(lambda: fn(calls), self.state.run_timings, stage, calls)
        self._completed()
        self._report(stage, "done")

    def _baseline(self, calls: list) -> None:
        self.state.baseline = self.dojo.validate(None)

    def _select(self, calls: list) -> None:
        if self.datasets:
            self.state.selection = forced_selection(self.info, self.datasets)
        else:
            self.state.selection = select_datasets(self.llm, self.card, self.info)
            if self.state.selection.call is not None:
                calls.append(self.state.selection.call)

    # ------------------------------------------------------------------ experiments
    def _current(self) -> ExperimentState | None:
        """The experiment to work on: the unfinished one, or a new one (None when the limit is reached)."""
        cur = self.state.current
        if cur is not None and cur.experiment_id not in {e.experiment_id for e in self.entries}:
            return cur
        if len(self.entries) >= self.dojo.settings.max_iterations:
            return None
        it = len(self.entries)
        best = best_entry(self.entries, self.card["metric"]["higher_is_better"])
        sel = self.state.selection
        assert sel is not None
        exp = ExperimentState(iteration=it, experiment_id=f"exp{it:03d}", started_at=utcnow(),
                              parent_id=best.experiment_id if best else None, datasets=sel.datasets,
                              llm_calls=[sel.call] if (it == 0 and sel.call is not None) else [])
        self.state.current = exp
        return exp

    def _experiment(self, exp: ExperimentState) -> None:
        """Run the remaining stages of ``exp`` (all of them for a new experiment)."""
        ctx = plan_context(exp.iteration, self.card, dataset_view(self.info, exp.datasets), self.entries,
                           self.state.baseline.score if self.state.baseline else None, self.dojo.run_dir)
        stages = ExperimentStages(self.dojo, self.llm, self.card, ctx, exp, self.max_repairs)
        for stage in STAGES:
            if stage in exp.done or (exp.failure is not None and stage != "feedback"):
                continue
            self._check_stop()
            self._report(stage, "started", exp)
            self._timed(lambda s=stage: self._guarded(stages, s), exp.timings, stage, exp.llm_calls)
            exp.done.append(stage)
            if stage == "feedback":
                exp.finished_at = utcnow()
            self._completed()
            failed = exp.failure is not None and exp.failure.stage == stage
            self._report(stage, "failed" if failed else "done", exp,
                         note=f"{exp.failure.failure_class}: {exp.failure.error[:120]}" if failed else
                         (exp.decision or ""))

    def _guarded(self, stages: ExperimentStages, stage: str) -> None:
        """Run one stage; a backbone that fails for good fails the experiment (class TIMEOUT or ENV)."""
        try:
            getattr(stages, stage)()
        except BackboneError as e:
            msg = str(e)
            cls = "TIMEOUT" if "timed out" in msg else "ENV"
            if stages.exp.failure is None:
                stages.exp.failure = Failure(stage=stage, failure_class=cls, backbone=True,
                                             error=f"planning backbone: {msg}")
                stages.exp.decision = None
                if stage == "feedback":  # the accept/reject call failed: the experiment cannot be judged
                    stages.diagnose()
            elif stage == "feedback":  # the diagnosis call failed: keep the harness's class and error
                stages.harness_diagnosis(f"diagnosis unavailable ({msg[:200]})")

    def _record(self, exp: ExperimentState) -> None:
        """Append the finished experiment to the trace; stop after too many backbone failures in a row."""
        entry = exp.to_entry(data_script_path(exp))
        self.trace.append(entry)
        self.entries.append(entry)
        streak = 0
        for e in reversed(self.entries):
            if not (e.diagnosis or {}).get("backbone_failure"):
                break
            streak += 1
        if streak >= self.max_backbone_failures:
            self.state.stop_reason = "backbone"
            raise AgentError(f"the planning backbone failed {streak} experiments in a row; last error: "
                             f"{(exp.failure.error if exp.failure else '')[:300]}")


def _add_usage(a: LLMUsage, b: LLMUsage) -> LLMUsage:
    """Usage totals of two sessions."""
    return a.model_copy(update={"calls": a.calls + b.calls, "replayed": a.replayed + b.replayed,
                                "prompt_tokens": a.prompt_tokens + b.prompt_tokens,
                                "completion_tokens": a.completion_tokens + b.completion_tokens,
                                "cost_usd": round(a.cost_usd + b.cost_usd, 6)})
