"""The Manual SFT recipe book: ``config/manual_sft.yaml``, validated, and resolved for one task and scale.

The paper's Manual SFT baselines are "manual SFT by NLP experts (rule-based cleaning, hand-tuned
hyperparameters)" on the original data and with LLM-synthesised chains of thought (FT-Dojo §5, the main
table). The paper does not publish the experts' recipes; ours are written down in the config file, one
*family* per FT-Dojo domain, every value with the reason it was chosen. Resolution order (later wins):
``defaults`` → ``families.<family>`` → ``scales.<scale>`` → ``families.<family>.scales.<scale>``, so a
family's own choices beat the global defaults, and the per-scale sizes beat both: they are set by the
hardware and the model of the scale (the CPU scales train a tiny model in seconds; see
``ftagent/llm/scripted.py::_config`` for the sizes measured there).

Errors are one line (:class:`~ftagent.errors.ConfigError`) naming the file and the key.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ftagent.errors import ConfigError
from ftagent.paths import config_dir
from ftagent.train.config import parse_train_config

CONFIG_FILE = "manual_sft.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Setting(_Strict):
    """One chosen value and why.

    Attributes:
        value: The value (a training-config value, or a data option).
        reason: Why this value (required: the recipe is an expert's documented choice).
    """

    value: Any
    reason: str = Field(min_length=8)


class Section(_Strict):
    """Data options and training hyperparameters, each a :class:`Setting`.

    Attributes:
        data: Keys of :class:`DataOptions`.
        training: Keys of :class:`~ftagent.train.config.TrainConfig`.
    """

    data: dict[str, Setting] = Field(default_factory=dict)
    training: dict[str, Setting] = Field(default_factory=dict)


class DataOptions(_Strict):
    """The data-side choices of a recipe (what the data script applies).

    Attributes:
        max_chars: Length filter: samples whose instruction + output exceed this many characters are
            dropped (never truncated: truncation would cut the final answer off).
        use_source_reasoning: Keep the source's own worked solution before the answer where it has one
            that ends in the gold answer (``manual-sft``; ``manual-sft-cot`` replaces it by the synthesis).
        integer_answers_only: Math: keep only problems with an integer answer in 0..999 (AIME's answers).
    """

    max_chars: int = Field(ge=16)
    use_source_reasoning: bool = True
    integer_answers_only: bool = False


class TaskRule(_Strict):
    """How one task's samples are selected from its sources.

    Attributes:
        sources: Raw sources (``tasks/sources.yaml`` ids) the recipe reads.
        chem_task: ChemCoTDataset rows of this ``task`` only (``mol_edit``, ``mol_und``, ``mol_opt``, ``rxn``).
        response_kind: TableInstruct rows answered with a ``Final Answer:`` line (``answer_line``) or a
            python chart script (``code``).
        question_pattern: Keep rows whose question matches this regular expression (case-insensitive).
        answer_keys: JSON keys that carry the answer (compared by the synthesis filter; e.g. NOC4PC's
            ``code``, not its free-text reason).
        reason: Why these rules.
    """

    sources: list[str] = Field(min_length=1)
    chem_task: str | None = None
    response_kind: Literal["answer_line", "code"] | None = None
    question_pattern: str | None = None
    answer_keys: list[str] | None = None
    reason: str = Field(min_length=8)


class Family(Section):
    """One task family's recipe.

    Attributes:
        title: Display name.
        format: The data script's formatter (``boxed``, ``letter``, ``json``, ``chem``, ``table``).
        data_processing: The recipe's data steps in words (the trace's hypothesis, [Data Processing]).
        training_plan: The training choices in words ([Training]).
        tasks: The tasks this family serves, with their selection rules.
        scales: Per-scale overrides of this family.
    """

    title: str
    format: Literal["boxed", "letter", "json", "chem", "table"]
    data_processing: str
    training_plan: str
    tasks: dict[str, TaskRule] = Field(min_length=1)
    scales: dict[str, Section] = Field(default_factory=dict)


class SynthesisOptions(_Strict):
    """Chain-of-thought synthesis (``manual-sft-cot``).

    Attributes:
        concurrency: Calls in flight at once (a thread pool of this size).
        max_samples: Samples sent for synthesis: the first ``min(max_samples, sample_cap)`` candidates
            (None: the sample cap).
    """

    concurrency: int = Field(8, ge=1, le=256)
    max_samples: int | None = Field(None, ge=1)


class ManualSFTConfig(_Strict):
    """``config/manual_sft.yaml``.

    Attributes:
        seed: Shuffle seed of the data script.
        synthesis: :class:`SynthesisOptions` keys, each a :class:`Setting`.
        defaults: Every family's starting point.
        scales: Per-scale overrides of every family (``mini``, ``mirror``).
        families: The recipes.
    """

    seed: int = 0
    synthesis: dict[str, Setting] = Field(default_factory=dict)
    defaults: Section
    scales: dict[str, Section] = Field(default_factory=dict)
    families: dict[str, Family]


class ResolvedRecipe(BaseModel):
    """A recipe resolved for one task at one scale.

    Attributes:
        family: Family id.
        task: Task id.
        data: The data options.
        training: The training config (validated by :func:`~ftagent.train.config.parse_train_config`).
        reasons: ``data.<key>`` / ``training.<key>`` -> the reason of the value used.
        rule: The task's selection rule.
        family_spec: The family.
        synthesis: The synthesis options.
        seed: Shuffle seed.
    """

    model_config = ConfigDict(frozen=True)

    family: str
    task: str
    data: DataOptions
    training: dict[str, Any]
    reasons: dict[str, str]
    rule: TaskRule
    family_spec: Family
    synthesis: SynthesisOptions
    seed: int

    def script_recipe(self, template: str, sample_cap: int, cot: bool) -> dict[str, Any]:
        """The ``RECIPE`` literal of the data script (:mod:`.process_data`)."""
        return {"family": self.family, "task": self.task, "format": self.family_spec.format,
                "sources": list(self.rule.sources), "template": template, "seed": self.seed,
                "sample_cap": sample_cap, **self.data.model_dump(),
                "chem_task": self.rule.chem_task, "response_kind": self.rule.response_kind,
                "question_pattern": self.rule.question_pattern, "answer_keys": self.rule.answer_keys,
                "cot": cot}


@functools.cache
def _load(path: Path, mtime_ns: int) -> ManualSFTConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"manual SFT recipes not found: {path}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    try:
        cfg = ManualSFTConfig.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        raise ConfigError(f"{path}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    owner: dict[str, str] = {}
    for fid, fam in cfg.families.items():
        for tid in fam.tasks:
            if tid in owner:
                raise ConfigError(f"{path}: task '{tid}' is in families '{owner[tid]}' and '{fid}'")
            owner[tid] = fid
    return cfg


def load_config(path: Path | None = None) -> ManualSFTConfig:
    """The recipe book (``$FTAGENT_CONFIG_DIR/manual_sft.yaml`` by default), validated.

    Raises:
        ConfigError: missing file, bad YAML, a bad key or value, or a task in two families.
    """
    p = Path(path) if path else config_dir() / CONFIG_FILE
    return _load(p, p.stat().st_mtime_ns if p.exists() else 0)


def family_of(cfg: ManualSFTConfig, task: str) -> str:
    """The family serving ``task``.

    Raises:
        ConfigError: no family lists the task.
    """
    for fid, fam in cfg.families.items():
        if task in fam.tasks:
            return fid
    raise ConfigError(f"{CONFIG_FILE}: no Manual SFT recipe for task '{task}' (add it to a family's tasks)")


def resolve(task: str, scale: str, cfg: ManualSFTConfig | None = None) -> ResolvedRecipe:
    """The recipe of ``task`` at ``scale`` (resolution order in the module docstring).

    Raises:
        ConfigError: no recipe for the task, or a resolved value the data options or the training
            config reject (names the key).
    """
    cfg = cfg or load_config()
    fid = family_of(cfg, task)
    fam = cfg.families[fid]
    layers = [cfg.defaults, fam, cfg.scales.get(scale, Section()), fam.scales.get(scale, Section())]
    values: dict[str, dict[str, Any]] = {"data": {}, "training": {}}
    reasons: dict[str, str] = {}
    for layer in layers:
        for part in ("data", "training"):
            for k, s in getattr(layer, part).items():
                values[part][k] = s.value
                reasons[f"{part}.{k}"] = s.reason
    where = f"{CONFIG_FILE}: family '{fid}' at scale '{scale}'"
    try:
        data = DataOptions.model_validate(values["data"])
    except ValidationError as e:
        err = e.errors()[0]
        raise ConfigError(f"{where}: data.{'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    training = {k: v for k, v in values["training"].items() if v is not None}
    try:
        cfg_model, dropped = parse_train_config(training)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None
    if dropped:
        raise ConfigError(f"{where}: unknown training keys {', '.join(dropped)}")
    try:
        synthesis = SynthesisOptions.model_validate({k: s.value for k, s in cfg.synthesis.items()})
    except ValidationError as e:
        err = e.errors()[0]
        raise ConfigError(f"{CONFIG_FILE}: synthesis.{'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    return ResolvedRecipe(family=fid, task=task, data=data,
                          training=cfg_model.model_dump(include=set(training)),
                          reasons=reasons, rule=fam.tasks[task], family_spec=fam, synthesis=synthesis,
                          seed=cfg.seed)
