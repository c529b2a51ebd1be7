"""The agent interface and registry.

An agent receives a :class:`~ftagent.dojo.env.Dojo` (the only way it touches data, training and
validation), an optional :class:`~ftagent.llm.client.ChatClient` for its planning backbone, and a
:class:`TraceWriter` for its experiment records, and returns an :class:`AgentOutcome`. Adding a
baseline is one module with a class decorated by :func:`register_agent` plus one entry in
``config/agents.yaml``; nothing in the workflow changes (the contract is ``docs/agents.md``).

:class:`BaseAgent` is the optional base class of such a module: it records one
:class:`~ftagent.records.TraceEntry` per experiment through an :class:`ExperimentLog` (stage timings
split into data-script, training and evaluation seconds, attempts, failure class, validation) and builds
the :class:`AgentOutcome` (the best validated experiment, or the base model). A module outside the
package is registered by naming it in its ``config/agents.yaml`` entry (``module:``); :func:`get_agent`
imports it on first use.
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, get_args

from ftagent.dojo.env import DATA_SCRIPT, Dojo, StepResult
from ftagent.errors import AgentError
from ftagent.llm.client import ChatClient
from ftagent.records import FinalChoice, LLMCall, Stage, TraceEntry, Validation
from ftagent.utils.io import read_jsonl, write_jsonl
from ftagent.utils.provenance import utcnow


@dataclass
class AgentOutcome:
    """What an agent ends with.

    Attributes:
        final: The experiment it chose (empty: the base model).
        experiments: Ids of all its experiments.
        iterations: Experiments started.
        error: Set when the agent produced no usable result (status ``agent_failed``).
        stop_reason: Why the agent stopped (``max_iterations``, ``budget``, ``max_stages``...), if it says.
        sessions: Processes that worked on the run (more than 1 after a resume).
        prior_wall_s: Wall-clock seconds spent by earlier sessions of a resumed run.
    """

    final: FinalChoice = field(default_factory=FinalChoice)
    experiments: list[str] = field(default_factory=list)
    iterations: int = 0
    error: str | None = None
    stop_reason: str | None = None
    sessions: int = 1
    prior_wall_s: float = 0.0


class TraceWriter:
    """``trace.jsonl`` of a run, rewritten atomically after every completed experiment.

    The file only ever holds finished experiments; an agent that resumes at a finer grain (FT-Agent's
    stages) keeps its unfinished work in its own state file.

    Args:
        path: The trace file; existing lines are loaded (a resumed run continues after them).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.entries: list[TraceEntry] = (
            [TraceEntry.model_validate(r) for r in read_jsonl(self.path)] if self.path.exists() else [])

    def append(self, entry: TraceEntry) -> None:
        """Add an experiment and rewrite the file atomically."""
        self.entries.append(entry)
        write_jsonl(self.path, [e.model_dump(mode="json") for e in self.entries])


class Agent(Protocol):
    """What every agent implements."""

    name: ClassVar[str]
    needs_backbone: ClassVar[bool]

    def run(self, dojo: Dojo, llm: ChatClient | None, trace: TraceWriter) -> AgentOutcome:
        """Fine-tune (or not) within the dojo's budget and return the chosen experiment."""
        ...


_AGENTS: dict[str, type] = {}


def register_agent(cls: type) -> type:
    """Class decorator adding an agent to the registry under ``cls.name``."""
    _AGENTS[cls.name] = cls
    return cls


def agent_names() -> list[str]:
    """Ids of the implemented agents."""
    from ftagent import agents  # noqa: F401  (registers the built-in agents)

    return sorted(_AGENTS)


def _registry_module(name: str) -> str | None:
    """The ``module:`` of an agent's ``config/agents.yaml`` entry (None when absent or no registry)."""
    import yaml

    from ftagent.paths import config_dir

    path = config_dir() / "agents.yaml"
    try:
        entry = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get(name) or {}
    except (OSError, yaml.YAMLError):
        return None
    return entry.get("module") if isinstance(entry, dict) else None


def get_agent(name: str) -> Callable[..., Agent]:
    """The agent class of an id; a module named by the agent's registry entry is imported first.

    Raises:
        AgentError: unknown or unimplemented agent (lists the implemented ones), or its module fails to
            import or registers no agent of that name.
    """
    from ftagent import agents  # noqa: F401

    if name not in _AGENTS and (module := _registry_module(name)):
        try:
            importlib.import_module(module)
        except ImportError as e:
            raise AgentError(f"agent '{name}': cannot import its module '{module}' ({e})") from None
        if name not in _AGENTS:
            raise AgentError(f"agent '{name}': module '{module}' registers no agent of that name")
    if name not in _AGENTS:
        raise AgentError(f"unknown agent '{name}' (implemented: {', '.join(sorted(_AGENTS))})")
    return _AGENTS[name]


# ---------------------------------------------------------------------------------------------------
# The base class and its experiment records

_STAGES = set(get_args(Stage))


class ExperimentLog:
    """One experiment of an agent, recorded as it runs and turned into a :class:`TraceEntry`.

    Use :meth:`stage` around each step (its wall time and the Dojo's data/train/eval seconds inside it
    go to ``timings``), :meth:`step` to record a :class:`~ftagent.dojo.env.StepResult` (an attempt; a
    failed one fails the experiment with its class), and :meth:`entry` at the end.

    Args:
        dojo: The environment.
        iteration: 0-based iteration number.
        experiment_id: Id (``exp000``); its workspace is ``experiments/<id>/`` of the run folder.
        parent_id: The experiment this one builds on.
        hypothesis: What the experiment tries ([Data Processing] and [Training] parts).
        plan: The structured plan or recipe.
        datasets: Raw sources it uses.

    Attributes:
        workspace: The experiment's folder (the data script's working directory).
        stage_reached: Last stage entered.
        failure: ``(failure_class, error, log_tail)`` once a step failed, else None.
        data_stats, train, train_config, dropped_config_keys, validation, llm_calls, feedback, decision:
            What goes into the :class:`TraceEntry` fields of the same names.
    """

    def __init__(self, dojo: Dojo, iteration: int, experiment_id: str, *, parent_id: str | None = None,
                 hypothesis: str = "", plan: dict[str, Any] | None = None, datasets: list[str] | None = None):
        self.dojo, self.iteration, self.experiment_id = dojo, iteration, experiment_id
        self.parent_id, self.hypothesis, self.plan = parent_id, hypothesis, dict(plan or {})
        self.datasets = list(datasets or [])
        self.workspace: Path = dojo.new_experiment(experiment_id)
        self.started_at = utcnow()
        self.stage_reached: Stage = "plan"
        self.timings: dict[str, dict[str, float]] = {}
        self.attempts: list[dict[str, Any]] = []
        self.failure: tuple[str, str, str] | None = None
        self.data_stats: dict[str, Any] = {}
        self.train: dict[str, Any] = {}
        self.train_config: dict[str, Any] | None = None
        self.dropped_config_keys: list[str] = []
        self.validation: Validation | None = None
        self.llm_calls: list[LLMCall] = []
        self.feedback = ""
        self.decision: str | None = None
        self.model: StepResult | None = None

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage: ``timings[name]`` gets ``wall_s`` and the ``data_s``, ``train_s``, ``eval_s`` inside it.

        ``name`` becomes :attr:`stage_reached` when it is one of the trace's stages (other names, such as
        a synthesis step, are timed only).
        """
        if name in _STAGES:
            self.stage_reached = name  # type: ignore[assignment]
        clock0, t0 = dict(self.dojo.clock), time.time()
        try:
            yield
        finally:
            self.timings[name] = {"wall_s": round(time.time() - t0, 3), "llm_s": 0.0,
                                  **{f"{k.split('_')[0]}_s": round(self.dojo.clock[k] - clock0[k], 3)
                                     for k in ("data_script", "train", "eval")}}

    def step(self, stage: str, res: StepResult) -> bool:
        """Record a data or training step as an attempt; a failed one fails the experiment. Returns ``res.ok``."""
        self.attempts.append({"stage": stage, "round": 0, "ok": res.ok, "failure_class": res.failure_class,
                              "error": res.error[:300]})
        if not res.ok:
            self.fail(res.failure_class or "ENV", res.error, res.log_tail)
        return res.ok

    def fail(self, failure_class: str, error: str, log_tail: str = "") -> None:
        """Fail the experiment at the current stage (CONFIG | OOM | DATA | ENV | TIMEOUT)."""
        self.failure = (failure_class, error, log_tail[-2000:])

    def entry(self) -> TraceEntry:
        """The experiment as a trace line (``ok`` when it was validated without a failure)."""
        ok = self.failure is None and self.validation is not None
        script = self.workspace / DATA_SCRIPT
        loss: dict[str, Any] = {}
        if self.train.get("losses"):
            from ftagent.agents.ft_agent.analysis import loss_summary

            loss = loss_summary(self.train["losses"])
        fail_cls, fail_err, fail_tail = self.failure or (None, None, "")
        return TraceEntry(
            iteration=self.iteration, experiment_id=self.experiment_id, parent_id=self.parent_id,
            stage_reached=self.stage_reached, status="ok" if ok else "failed", failure_class=fail_cls,
            error=(f"{fail_err}\n{fail_tail}".strip() if fail_err else None), hypothesis=self.hypothesis,
            plan=self.plan,
            data_script=str(script.relative_to(self.dojo.run_dir)) if script.exists() else None,
            train_config=self.train_config, dropped_config_keys=self.dropped_config_keys,
            data_stats=self.data_stats, train=self.train, validation=self.validation,
            decision=(self.decision or "accept") if ok else None, feedback=self.feedback,
            llm_calls=self.llm_calls, started_at=self.started_at, finished_at=utcnow(), datasets=self.datasets,
            attempts=self.attempts,
            diagnosis=({"failure_class": fail_cls, "root_cause": fail_err, "fix": "", "by": "harness"}
                       if fail_cls else None),
            loss_summary=loss, timings=self.timings)


class BaseAgent:
    """Optional base class of an agent module: the registry attributes and the record helpers.

    Subclasses set :attr:`name` (the ``config/agents.yaml`` id) and :attr:`needs_backbone`, implement
    :meth:`run`, and are registered with :func:`register_agent`. Inside :meth:`run`:

    * :meth:`experiment` opens an :class:`ExperimentLog` (workspace, timings, attempts);
    * the Dojo does the work (``run_data_script``, ``train``, ``validate``);
    * :meth:`record` appends the experiment to the trace;
    * :meth:`outcome` returns the best validated experiment (the base model when there is none).

    Constructor keyword arguments come from ``settings.agent_options[<name>]`` of the run.
    """

    name: ClassVar[str]
    needs_backbone: ClassVar[bool] = False

    def run(self, dojo: Dojo, llm: ChatClient | None, trace: TraceWriter) -> AgentOutcome:
        """Fine-tune (or not) within the dojo's budget and return the chosen experiment."""
        raise NotImplementedError

    @staticmethod
    def experiment(dojo: Dojo, trace: TraceWriter, **kwargs: Any) -> ExperimentLog:
        """A new experiment numbered after the trace's last one (``exp000``, ``exp001``, ...)."""
        it = len(trace.entries)
        return ExperimentLog(dojo, it, f"exp{it:03d}", **kwargs)

    @staticmethod
    def record(trace: TraceWriter, exp: ExperimentLog) -> TraceEntry:
        """Append ``exp`` to the trace (rewritten atomically) and return its entry."""
        entry = exp.entry()
        trace.append(entry)
        return entry

    @staticmethod
    def outcome(dojo: Dojo, trace: TraceWriter, *, stop_reason: str | None = None,
                error: str | None = None) -> AgentOutcome:
        """The run's outcome: the ``ok`` experiment with the best validation score and a saved model.

        Ties go to the earlier experiment; with none, the final choice is the base model.
        """
        sign = 1 if dojo.task.metric.higher_is_better else -1
        best: TraceEntry | None = None
        for e in trace.entries:
            model = dojo.run_dir / "experiments" / e.experiment_id / "train" / "model"
            if e.status != "ok" or e.validation is None or not model.exists():
                continue
            if best is None or sign * e.validation.score > sign * best.validation.score:  # type: ignore
                best = e
        final = FinalChoice()
        if best is not None:
            model = dojo.run_dir / "experiments" / best.experiment_id / "train" / "model"
            final = FinalChoice(experiment_id=best.experiment_id, model_dir=str(model),
                                adapter=(best.train_config or {}).get("method") in ("lora", "qlora"),
                                validation_score=best.validation.score if best.validation else None)
        return AgentOutcome(final=final, experiments=[e.experiment_id for e in trace.entries],
                            iterations=len(trace.entries), error=error, stop_reason=stop_reason)
