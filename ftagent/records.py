"""Run records: the contract between agents, the evaluation harness, the workflow and the report.

One folder per run (DESIGN.md "Records"),
``results/<scale>/runs/<task>/<agent>/<backbone>/<model>/n<sample_cap>/s<seed>/``, holding

* ``run.json`` — :class:`RunRecord`, written by ``ftagent run`` when the agent stops;
* ``trace.jsonl`` — one :class:`TraceEntry` per experiment (iteration) of the agent;
* ``experiments/<id>/`` — each experiment's data script, training config, data and model;
* ``final/`` — the chosen experiment's data script, training config and data statistics;
* ``eval.json`` — :class:`EvalRecord`, written by the harness (``ftagent eval``), never by the agent.

Tables read only these files, so any table can be rebuilt from stored results without a GPU. The
JSON schemas of the three records (``ftagent records schema``) are what the tests validate against.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

RunStatus = Literal["ok", "agent_failed", "infra_failed"]
#: Stages an experiment can reach (``full_data`` is the full data-processing run before full training).
Stage = Literal["plan", "data_debug", "micro_batch", "full_data", "full_training", "evaluation", "feedback"]
FailureClass = Literal["CONFIG", "OOM", "DATA", "ENV", "TIMEOUT"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunSpec(_Record):
    """What was run: the coordinates of a run in the experiment matrix.

    Attributes:
        task: Task id.
        agent: Agent id.
        backbone: Planning backbone id (``none`` for agents without one; ``scripted`` is the offline
            deterministic policy and is never an LLM result).
        base_model: Base model id.
        sample_cap: Training-sample cap per experiment.
        seed: Run seed.
        scale: ``mini``, ``mirror`` or ``paper``.
        data_dir: Data directory the evaluation items were read from.
        repository: Raw-data repository the agent saw.
        budget: Budget of the run (wall clock in hours, iterations).
        settings: Anything else that changes results (prompt style, eval item limit).
    """

    task: str
    agent: str
    backbone: str
    base_model: str
    sample_cap: int
    seed: int
    scale: str
    data_dir: str
    repository: str
    budget: dict[str, Any] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)


class LLMUsage(_Record):
    """Planning-backbone usage of a run.

    Attributes:
        backbone_label: Label shown in tables (``scripted`` for the offline policy).
        model: Model name sent to the endpoint.
        calls: Chat completions made (replayed calls included).
        replayed: Calls answered from the record/replay cache.
        prompt_tokens: Prompt tokens reported by the endpoint.
        completion_tokens: Completion tokens reported by the endpoint.
        cost_usd: Cost from the backbone's price per token (0 for local backbones).
    """

    backbone_label: str = "none"
    model: str | None = None
    calls: int = 0
    replayed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


class FinalChoice(_Record):
    """The experiment the agent ends with (its best accepted one).

    Attributes:
        experiment_id: Id of the experiment (None when the agent fine-tunes nothing).
        model_dir: Adapter or model folder to evaluate (None: the base model).
        adapter: Whether ``model_dir`` is a PEFT adapter on the base model.
        validation_score: Its validation score as the agent saw it (metric units, e.g. percent).
    """

    experiment_id: str | None = None
    model_dir: str | None = None
    adapter: bool = False
    validation_score: float | None = None


class IntegrityCheck(_Record):
    """One anti-reward-hacking check of a run (:mod:`ftagent.dojo.integrity`).

    Attributes:
        name: ``contamination``, ``weights``, ``grader`` or ``network``.
        status: ``pass``; ``fail`` (the run is flagged); ``unenforced`` (the backend or the record cannot
            support the check; reported, never flags).
        detail: One line: what was found.
        data: The measurements behind it (overlap shares and flagged items, cosine similarities, hashes
            that changed, relayed endpoints).
    """

    name: Literal["contamination", "weights", "grader", "network"]
    status: Literal["pass", "fail", "unenforced"]
    detail: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class IntegrityReport(_Record):
    """``integrity.json``: the checks run by the harness after the agent returned.

    Attributes:
        checks: Every check, in order (contamination, weights, grader, network).
        checked_at_s: Seconds the checks took.
        posthoc: Run by the evaluation for a run recorded without a start audit (grader and network
            checks then ``unenforced``).
    """

    schema_version: int = SCHEMA_VERSION
    checks: list[IntegrityCheck] = Field(default_factory=list)
    checked_at_s: float = 0.0
    posthoc: bool = False

    @property
    def flags(self) -> list[str]:
        """Names of the failed checks (a flagged run scores as the base model)."""
        return [c.name for c in self.checks if c.status == "fail"]


class RunRecord(_Record):
    """``run.json``.

    Attributes:
        schema_version: Version of this schema.
        run_id: Unique id of the run (its folder relative to the results root).
        spec: What was run.
        status: ``ok``; ``agent_failed`` (the agent produced no usable result); ``infra_failed``
            (the harness or machine failed, not the agent).
        error: One-line error when the status is not ok.
        final: The experiment the agent chose.
        experiments: Ids of all experiments, in order.
        iterations: Experiments started.
        started_at: UTC start time.
        finished_at: UTC end time.
        wall_s: Wall-clock seconds of the run.
        gpu_hours: GPU-hours used (0 on CPU).
        llm: Planning-backbone usage.
        provenance: Git commit, package versions, hardware.
        stop_reason: Why the agent stopped (``max_iterations``, ``budget``, ``max_stages``...), if it says.
        sessions: Processes that worked on the run (more than 1 after a resume).
        integrity_flags: Anti-reward-hacking checks the run failed (``integrity.json`` has the details).
    """

    schema_version: int = SCHEMA_VERSION
    run_id: str
    spec: RunSpec
    status: RunStatus
    error: str | None = None
    final: FinalChoice = Field(default_factory=FinalChoice)
    experiments: list[str] = Field(default_factory=list)
    iterations: int = 0
    started_at: str
    finished_at: str
    wall_s: float
    gpu_hours: float = 0.0
    llm: LLMUsage = Field(default_factory=LLMUsage)
    provenance: dict[str, Any]
    stop_reason: str | None = None
    sessions: int = 1
    integrity_flags: list[str] = Field(default_factory=list)


class LLMCall(_Record):
    """One planning-backbone call inside an iteration.

    Attributes:
        stage: Loop stage that made the call (``plan/reason``, ``code/data``, ``feedback``, ...).
        messages: The rendered prompt.
        response: The raw response text.
        prompt_tokens: Prompt tokens.
        completion_tokens: Completion tokens.
        replayed: Answered from the cache.
        latency_s: Seconds the call took.
        prompt: Template and version the prompt was rendered from (``plan_reason@v2``).
    """

    stage: str
    messages: list[dict[str, Any]]
    response: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    replayed: bool = False
    latency_s: float = 0.0
    prompt: str | None = None


class Validation(_Record):
    """Validation result of an experiment, as the harness reports it to the agent.

    Attributes:
        score: Task metric (metric units, e.g. percent).
        subsets: Score per subset.
        n_items: Validation items scored.
        wrong_samples: Up to 10 wrong validation answers (question, gold, output) shown to the agent.
    """

    score: float
    subsets: dict[str, float]
    n_items: int
    wrong_samples: list[dict[str, Any]] = Field(default_factory=list)


class TraceEntry(_Record):
    """One line of ``trace.jsonl``: one experiment of the agent.

    Attributes:
        iteration: 0-based iteration number.
        experiment_id: Id (``exp000``, ``exp001``, ...).
        parent_id: The experiment this one builds on (the best accepted one when it was planned).
        stage_reached: Last stage the experiment reached.
        status: ``ok`` when it reached evaluation, ``failed`` otherwise.
        failure_class: CONFIG | OOM | DATA | ENV | TIMEOUT when failed.
        error: Log tail or message of the failure.
        hypothesis: The plan's hypothesis ([Data Processing] and [Training] parts).
        plan: The full structured plan.
        data_script: Path of the data script (relative to the run folder).
        train_config: The training config as used (after filtering).
        dropped_config_keys: Unknown keys filtered from the agent's config.
        repairs: Fail-fast repair rounds used.
        data_stats: Statistics of the training data (samples, lengths).
        train: Training summary (steps, runtime, losses).
        validation: Validation result, when evaluated.
        decision: ``accept`` (new best) or ``reject``; None when failed.
        feedback: The feedback text given to the next iteration.
        llm_calls: Backbone calls of this iteration (the first experiment also holds the run's dataset
            selection call).
        started_at: UTC start time.
        finished_at: UTC end time.
        datasets: Raw sources the agent's prompts offered (its dataset selection).
        attempts: Fail-fast validation attempts in order: ``stage``, ``round``, ``ok``, ``failure_class``,
            ``error``.
        diagnosis: Failure diagnosis (``failure_class``, ``root_cause``, ``fix``) when failed.
        loss_summary: Compact loss-curve analysis given to the feedback stage (first/min/last, trend, flags).
        timings: Per completed stage, in order: ``wall_s`` and the seconds inside it spent in ``llm_s``,
            ``data_s`` (sandboxed data scripts), ``train_s`` and ``eval_s``.
        llm_usage: LLM usage attributed to this experiment by the run's LLM proxy (external agents: the
            calls since the previous experiment closed); None when the agent records ``llm_calls`` instead.
    """

    iteration: int
    experiment_id: str
    parent_id: str | None = None
    stage_reached: Stage
    status: Literal["ok", "failed"]
    failure_class: FailureClass | None = None
    error: str | None = None
    hypothesis: str = ""
    plan: dict[str, Any] = Field(default_factory=dict)
    data_script: str | None = None
    train_config: dict[str, Any] | None = None
    dropped_config_keys: list[str] = Field(default_factory=list)
    repairs: int = 0
    data_stats: dict[str, Any] = Field(default_factory=dict)
    train: dict[str, Any] = Field(default_factory=dict)
    validation: Validation | None = None
    decision: Literal["accept", "reject"] | None = None
    feedback: str = ""
    llm_calls: list[LLMCall] = Field(default_factory=list)
    started_at: str
    finished_at: str
    datasets: list[str] = Field(default_factory=list)
    attempts: list[dict[str, Any]] = Field(default_factory=list)
    diagnosis: dict[str, Any] | None = None
    loss_summary: dict[str, Any] = Field(default_factory=dict)
    timings: dict[str, dict[str, float]] = Field(default_factory=dict)
    llm_usage: LLMUsage | None = None


class SplitScore(_Record):
    """Score of a model on one part of the held-out split.

    Attributes:
        score: Task metric (metric units, e.g. percent).
        subsets: Score per subset.
        n_items: Items scored.
        excluded: Declared subsets left out of the score, with the reason (e.g. an unavailable oracle).
    """

    score: float
    subsets: dict[str, float]
    n_items: int
    excluded: dict[str, str] = Field(default_factory=dict)


class ProfileScores(_Record):
    """Validation and test scores of one experiment under one scoring profile.

    Attributes:
        validation: Validation score.
        test: Test score.
    """

    validation: SplitScore
    test: SplitScore


class ExperimentEval(_Record):
    """Harness evaluation of one experiment's model (or of the base model).

    Attributes:
        experiment_id: Experiment id, or None for the base model.
        model_dir: What was evaluated.
        validation: Validation score (the configured scoring profile).
        test: Test score (the configured scoring profile).
        profiles: Scores under every scoring profile (``paper``, ``benchmark``) from the same generations;
            empty in records written before profiles existed.
    """

    experiment_id: str | None
    model_dir: str | None
    validation: SplitScore
    test: SplitScore
    profiles: dict[str, ProfileScores] = Field(default_factory=dict)


class ProfileResult(_Record):
    """The reported result under one scoring profile (selection by that profile's validation score).

    Attributes:
        selected_experiment: The experiment whose test score is reported.
        validation: Reported validation score.
        test: Reported test score.
        best_of_test: Diagnostic only: the best test score over all experiments.
    """

    selected_experiment: str | None
    validation: float
    test: float
    best_of_test: float


class EvalRecord(_Record):
    """``eval.json``: written by the evaluation harness, outside the agent.

    Attributes:
        schema_version: Version of this schema.
        run_id: The run evaluated.
        task: Task id.
        metric: Metric name (``accuracy``, ``macro_f1``, ...).
        higher_is_better: Direction of the metric.
        selection: How the reported experiment is chosen (``best_validation``: the experiment with the
            best validation score; the paper's sources do not say, see DESIGN.md).
        selected_experiment: The experiment whose test score is reported.
        validation: Reported validation score.
        test: Reported test score.
        best_of_test: Diagnostic only: the best test score over all experiments (never reported as
            the result).
        experiments: Every evaluated experiment.
        decoding: Decoding settings used.
        backend: Generation backend.
        prompt_style: ``full`` or ``compact``.
        max_eval_items: Per-subset item limit for smoke runs (None = all).
        chat_template_sha256: Chat template used at evaluation (must equal training's).
        per_item_file: File with every item's output and score.
        llm_judge: Whether an LLM-judge fallback was used (off by default).
        provenance: Git commit, package versions, hardware.
        scoring_profile: The configured scoring profile (:mod:`ftagent.eval.profiles`): the top-level
            scores above are its values. Records written before profiles existed read ``benchmark``.
        profiles: The result under every profile, from the same generations (empty in old records).
        rescored_at: UTC time of the last ``ftagent eval rescore`` (None: scored at generation time).
        judge_label: Who judged in the LLM-judge stage when ``llm_judge`` (``scripted`` offline).
        integrity_flags: Anti-reward-hacking checks the run failed; when any, the reported scores are the
            base model's (``selected_experiment`` None) and tables mark the cell.
    """

    schema_version: int = SCHEMA_VERSION
    run_id: str
    task: str
    metric: str
    higher_is_better: bool = True
    selection: Literal["best_validation"] = "best_validation"
    selected_experiment: str | None
    validation: float
    test: float
    best_of_test: float
    experiments: list[ExperimentEval]
    decoding: dict[str, Any]
    backend: str
    prompt_style: str
    max_eval_items: int | None = None
    chat_template_sha256: str | None = None
    per_item_file: str | None = None
    llm_judge: bool = False
    provenance: dict[str, Any]
    scoring_profile: str = "benchmark"
    profiles: dict[str, ProfileResult] = Field(default_factory=dict)
    rescored_at: str | None = None
    judge_label: str | None = None
    integrity_flags: list[str] = Field(default_factory=list)


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON schemas of ``run.json``, a ``trace.jsonl`` line and ``eval.json``."""
    return {"run": RunRecord.model_json_schema(), "trace": TraceEntry.model_json_schema(),
            "eval": EvalRecord.model_json_schema()}
