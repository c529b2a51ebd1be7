"""The FT-Dojo task interface: one YAML file per task in ``tasks/``, validated by :class:`TaskSpec`.

A task is what the paper standardises as the *task interface* (FT-Dojo §3, DESIGN.md "The FT-Dojo
environment" 1): an id, a domain, the agent-facing benchmark description with the expected answer
format, the metric, the evaluation source and its subsets, the prompt, the raw training sources the
agent may use, and the base model. The Python side of a task (loading, prompting, scoring, mini data)
is its benchmark family in :mod:`ftagent.dojo.benchmarks`, named by ``benchmark``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ftagent.errors import TaskError

Domain = Literal["math", "patent", "chemistry", "finance", "table_qa"]

#: Metrics a task may declare; each is computed by its benchmark family's scorer.
METRICS = (
    "accuracy", "exact_match", "macro_f1", "gold_hit_rate", "correct_rate", "success_rate",
    "mean_subtask_score", "pass@1",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metric(_Strict):
    """How the task is scored.

    Attributes:
        name: Metric name, one of :data:`METRICS`.
        higher_is_better: Direction of improvement (all FT-Dojo metrics: True).
        aggregate: ``mean_over_subsets`` averages the per-subset scores (e.g. FinanceIQ subjects);
            ``pooled`` scores all items of the split together.
        scale: Reported values are multiplied by this (100 = percentages, as in the paper's tables).
    """

    name: str
    higher_is_better: bool = True
    aggregate: Literal["mean_over_subsets", "pooled"] = "mean_over_subsets"
    scale: float = 100.0


class HubSource(_Strict):
    """Where ``ftagent data fetch`` finds the evaluation data on the Hugging Face hub.

    Attributes:
        repo: Dataset repository id, e.g. ``opencompass/AIME2025``.
        configs: Dataset configs (or data_dir values) to read; empty = the default config.
        split: Split to read.
        files: Explicit files in the repository (for datasets read file by file, e.g. CSV).
    """

    repo: str
    configs: list[str] = Field(default_factory=list)
    split: str = "test"
    files: list[str] = Field(default_factory=list)


class EvalSource(_Strict):
    """The evaluation data of a task.

    Attributes:
        hub: Location on the hub (used only by ``ftagent data fetch``).
        path: Path inside a data directory (mirror, fetched hub copy or generated mini data): the
            one layout every loader reads.
        subsets: Subset names (ChemCoTBench subtasks, FinanceIQ subjects, TableBench qsubtypes);
            ``[default]`` for a single set. The held-out split is applied per subset.
        shuffle_seed: Seed of the shuffle applied before the split where the source has no
            meaningful order (42 for PANORAMA, ChemCoTBench, TableBench); None keeps source order.
        filter: Field values an item must have to belong to the task (TableBench: ``{qtype: ...}``).
        split_groups: How the paper's evaluator groups items into datasets, each split on its own:
            group name -> subsets it holds (``"*"``: all). None: each subset is a group. TableBench
            sets it from ``opencompass/configs/datasets/tablebench/tablebench_*_gen.py``.
        license: Licence of the evaluation data as stated by its source.
    """

    hub: HubSource
    path: str
    filter: dict[str, str] = Field(default_factory=dict)
    subsets: list[str] = Field(default_factory=lambda: ["default"])
    shuffle_seed: int | None = None
    split_groups: dict[str, list[str]] | None = None
    license: str = "unknown"


class Prompt(_Strict):
    """The evaluation prompt.

    Attributes:
        template: The benchmark's prompt (``str.format`` fields are the item fields, e.g. ``{question}``).
        compact: A shorter prompt with the same answer format, used when a scale sets
            ``prompt_style: compact`` (the mini scale's tiny model trains on short sequences);
            defaults to ``template``.
        few_shot: Number of in-context examples prepended (FinanceIQ: 5 from the dev rows).
        system: Optional system message.
    """

    template: str
    compact: str | None = None
    few_shot: int = 0
    system: str | None = None


class TaskSpec(_Strict):
    """One FT-Dojo task, as declared in ``tasks/<id>.yaml``.

    Attributes:
        id: Task id used everywhere (paths, configs, tables), e.g. ``aime2025``.
        title: Display name used in tables and figures, e.g. ``AIME 2025``.
        domain: One of the five FT-Dojo domains.
        benchmark: Benchmark family implementing loading, prompting and scoring.
        description: Agent-facing benchmark description, including the expected answer format.
        metric: How the task is scored.
        eval_source: Evaluation data and its subsets.
        prompt: Evaluation prompt.
        raw_sources: Ids of the raw training sources (``tasks/sources.yaml``) relevant to the task.
        base_model: Default base model id (``config`` registries may override it per experiment).
        max_new_tokens: Generation budget at evaluation, per scale (``mini``, ``mirror``, ``paper``).
        paper_max_new_tokens: The paper evaluator's generation cap where it differs from ``max_new_tokens
            ["paper"]`` (the fork's dataset ``max_out_len``: chemistry 1,024, TableBench 4,096 and 16,384 for
            charts; rule ``generation.caps``); used at the paper scale when the run's profile is ``paper``.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$")
    title: str
    domain: Domain
    benchmark: str
    description: str
    metric: Metric
    eval_source: EvalSource
    prompt: Prompt
    raw_sources: list[str]
    base_model: str = "qwen2.5-7b-instruct"
    max_new_tokens: dict[str, int] = Field(default_factory=lambda: {"mini": 48, "mirror": 256, "paper": 8192})
    paper_max_new_tokens: int | None = Field(None, ge=1)

    def generation_cap(self, scale: str, profile: str = "benchmark") -> int:
        """Tokens generated per item at evaluation for a scale and the run's scoring profile.

        The paper scale under the ``paper`` profile uses :attr:`paper_max_new_tokens` where set; otherwise
        ``max_new_tokens[scale]`` (256 for a scale the YAML does not list).
        """
        if scale == "paper" and profile == "paper" and self.paper_max_new_tokens:
            return self.paper_max_new_tokens
        return self.max_new_tokens.get(scale, 256)

    def prompt_template(self, style: Literal["full", "compact"]) -> str:
        """The prompt template for a prompt style (``compact`` falls back to the full template)."""
        return self.prompt.compact if style == "compact" and self.prompt.compact else self.prompt.template


def default_tasks_dir() -> Path:
    """``$FTAGENT_TASKS_DIR`` if set, else ``tasks/`` at the repository root."""
    env = os.environ.get("FTAGENT_TASKS_DIR")
    from ftagent.paths import repo_root

    return Path(env) if env else repo_root() / "tasks"


def _first_error(err: ValidationError) -> str:
    e = err.errors()[0]
    loc = ".".join(str(p) for p in e["loc"]) or "<top>"
    if e["type"] == "missing":
        return f"missing field '{loc}'"
    if e["type"] == "extra_forbidden":
        return f"unknown field '{loc}'"
    return f"field '{loc}': {e['msg']}"


def load_task_file(path: Path) -> TaskSpec:
    """Parse and validate one task YAML.

    Raises:
        TaskError: unreadable YAML, a missing or unknown field, an unknown metric (names file and field).
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise TaskError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise TaskError(f"{path}: expected a mapping of task fields, got {type(raw).__name__}")
    try:
        spec = TaskSpec.model_validate(raw)
    except ValidationError as e:
        raise TaskError(f"{path}: {_first_error(e)}") from None
    if spec.metric.name not in METRICS:
        raise TaskError(f"{path}: field 'metric.name': unknown metric '{spec.metric.name}' "
                        f"(known: {', '.join(METRICS)})")
    if spec.id != path.stem:
        raise TaskError(f"{path}: field 'id' is '{spec.id}' but the file is named '{path.stem}.yaml'")
    return spec


@functools.cache
def _load_all(tasks_dir: str) -> dict[str, TaskSpec]:
    d = Path(tasks_dir)
    if not d.is_dir():
        raise TaskError(f"tasks directory not found: {d}")
    return {p.stem: load_task_file(p) for p in sorted(d.glob("*.yaml")) if p.stem != "sources"}


def load_tasks(tasks_dir: str | os.PathLike[str] | None = None) -> dict[str, TaskSpec]:
    """All task specs of a tasks directory, by id (sorted)."""
    return dict(_load_all(str(tasks_dir or default_tasks_dir())))


def get_task(task_id: str, tasks_dir: str | os.PathLike[str] | None = None) -> TaskSpec:
    """One task spec by id.

    Raises:
        TaskError: unknown id (the message lists the known ids).
    """
    tasks = load_tasks(tasks_dir)
    if task_id not in tasks:
        raise TaskError(f"unknown task '{task_id}' (known: {', '.join(tasks)})")
    return tasks[task_id]
