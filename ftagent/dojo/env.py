"""The FT-Dojo environment: the only API an agent uses.

A :class:`Dojo` is created by the harness for one run (task, data, raw-data repository, base model,
run folder, settings). Agents call:

* :meth:`Dojo.task_card` — what the agent is told: the task description with the answer format, the
  metric, the evaluation prompt, the base model card, device facts, the sample cap, the budget;
* :meth:`Dojo.dataset_info` — the raw-data repository summary (``dataset_info.json``);
* :meth:`Dojo.new_experiment` — a fresh workspace folder;
* :meth:`Dojo.run_data_script` — run the agent's data script in the sandbox (debug or full);
* :meth:`Dojo.train` — train with the agent's config (micro-batch or full), parameter filtering included;
* :meth:`Dojo.validate` — the validation score and up to 10 wrong validation answers;
* :meth:`Dojo.budget_left_s` — budget left (wall clock and GPU-hours).

The Dojo also keeps :attr:`Dojo.clock`, the seconds spent in each kind of action (data scripts,
training, evaluation), so an agent can report where the time of each of its stages went.

Test items, test scores and the graders are never reachable from here.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ftagent.dojo.benchmarks.base import get_benchmark
from ftagent.dojo.harness import evaluate
from ftagent.dojo.heldout import heldout
from ftagent.dojo.repository import load_dataset_info
from ftagent.dojo.sandbox import get_sandbox
from ftagent.dojo.taskspec import TaskSpec
from ftagent.errors import ConfigError, DataError
from ftagent.eval.generate import Decoding, load_backend
from ftagent.models.registry import BaseModelSpec
from ftagent.records import Validation
from ftagent.train.config import TrainConfig, parse_train_config
from ftagent.train.failures import FailureClass, classify_failure
from ftagent.utils.io import atomic_write_text
from ftagent.utils.seeding import seed_everything

DATA_SCRIPT = "process_data.py"
DATA_FILE = "data.json"
TRAIN_CONFIG = "train.yaml"
#: Samples a data script should produce in debug mode (paper: ~100).
DEBUG_SAMPLES = 100


class DojoSettings(BaseModel):
    """Settings of the environment for one run (from the scale's config).

    Attributes:
        scale: ``mini``, ``mirror`` or ``paper``.
        prompt_style: Evaluation prompt style (``compact`` at mini).
        sample_cap: Training samples allowed per experiment (paper: 2,000).
        wall_clock_h: Wall-clock budget of the run in hours (paper: 12).
        gpu_hours: GPU-hour budget of the run (None: unlimited); GPU-hours are the visible GPUs times
            the wall clock, so it never binds on a CPU.
        max_iterations: Experiments the agent may start.
        data_debug_timeout_s: Limit of a debug data run (paper: 20 min).
        data_full_timeout_s: Limit of a full data run (paper: 1 h).
        data_memory_mb: Memory cap of data scripts.
        sandbox: Sandbox backend for agent code (``bubblewrap``, ``apptainer``, ``subprocess``).
        sandbox_options: Keyword options of the backend (e.g. ``{image: x.sif}`` for apptainer).
        eval_backend: Generation backend (``transformers``; ``vllm`` on GPU nodes).
        eval_batch_size: Prompts per generation batch.
        max_eval_items: Per-subset validation item limit (smoke runs; recorded).
        threads: torch CPU threads (None: torch's default).
        train_overrides: Keys forced onto every training config (e.g. a step cap at mini), recorded.
        agent_options: Keyword options per agent id, e.g. ``{"ft-agent": {"max_stages": 40}}`` (FT-Agent's
            options are documented on :class:`~ftagent.agents.ft_agent.loop.FTAgent`); recorded with the run.
        launcher: How training runs: ``inprocess`` (one CPU process, the mini scale) or ``torchrun``
            (a subprocess per GPU with DeepSpeed, logs, resume and a timeout: :mod:`ftagent.train.launch`).
        train_nproc_per_node: Training processes under ``torchrun`` (``auto``: one per visible GPU).
        train_timeout_s: Wall-clock limit of one training run under ``torchrun`` (None: none).
        llm_budget_usd: The run's LLM spend limit, enforced by the run's LLM proxy (None: none; the paper
            reports cost, it sets no cap).
        llm_budget_tokens: The run's LLM token limit (prompt + completion), enforced likewise (None: none).
    """

    model_config = ConfigDict(extra="forbid")

    scale: Literal["mini", "mirror", "paper"] = "mini"
    prompt_style: Literal["full", "compact"] = "full"
    sample_cap: int = Field(2000, ge=1)
    wall_clock_h: float = Field(12.0, gt=0)
    gpu_hours: float | None = Field(None, gt=0)
    max_iterations: int = Field(3, ge=1)
    data_debug_timeout_s: float = 1200.0
    data_full_timeout_s: float = 3600.0
    data_memory_mb: int = 8192
    sandbox: str = "subprocess"
    sandbox_options: dict[str, Any] = Field(default_factory=dict)
    eval_backend: str = "transformers"
    eval_batch_size: int = 32
    max_eval_items: int | None = None
    threads: int | None = None
    train_overrides: dict[str, Any] = Field(default_factory=dict)
    agent_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    launcher: Literal["inprocess", "torchrun"] = "inprocess"
    train_nproc_per_node: int | Literal["auto"] = "auto"
    train_timeout_s: float | None = None
    llm_budget_usd: float | None = Field(None, gt=0)
    llm_budget_tokens: int | None = Field(None, ge=1)


@dataclass
class StepResult:
    """Outcome of a data run or a training run, as fed back to the agent.

    Attributes:
        ok: The step succeeded (and its checks passed).
        failure_class: CONFIG | OOM | DATA | ENV | TIMEOUT when not ok.
        error: One-line reason.
        log_tail: Tail of the step's log.
        stats: Step statistics (sample counts and lengths; training steps, losses, runtime).
        dropped_keys: Unknown training-config keys that were filtered out.
        config: The training config as used.
        model_dir: Trained adapter or model.
        adapter: Whether ``model_dir`` is a PEFT adapter.
    """

    ok: bool
    failure_class: FailureClass | None = None
    error: str = ""
    log_tail: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    dropped_keys: list[str] = field(default_factory=list)
    config: TrainConfig | None = None
    model_dir: str | None = None
    adapter: bool = False


class Dojo:
    """The environment of one run.

    Args:
        task: Task spec.
        data_dir: Data directory (evaluation data; never shown to the agent).
        repository: Raw-data repository folder (read-only to the agent).
        base_model: Base model spec.
        base_model_dir: Local folder of the base model.
        run_dir: The run's record folder.
        settings: Environment settings.
    """

    def __init__(self, task: TaskSpec, data_dir: Path, repository: Path, base_model: BaseModelSpec,
                 base_model_dir: Path, run_dir: Path, settings: DojoSettings):
        self.task = task
        self.benchmark = get_benchmark(task)
        self.data_dir = Path(data_dir).resolve()
        self.repository = Path(repository).resolve()
        self.base_model = base_model
        self.base_model_dir = Path(base_model_dir).resolve()
        self.run_dir = Path(run_dir).resolve()
        self.settings = settings
        self.started = time.time()
        #: Budget seconds spent by earlier sessions of this run (a resumed run continues its budget).
        self.spent_before_s = 0.0
        #: Seconds spent so far in ``data_script``, ``train`` and ``eval`` actions (this session).
        self.clock: dict[str, float] = {"data_script": 0.0, "train": 0.0, "eval": 0.0}
        self._gpus: int | None = None
        self.sandbox = get_sandbox(settings.sandbox, **settings.sandbox_options)
        self._validation = heldout(self.benchmark, self.data_dir, "validation").limit(settings.max_eval_items)
        if not (self.repository / "dataset_info.json").exists():
            raise DataError(f"raw-data repository not prepared: {self.repository / 'dataset_info.json'} missing")

    # ------------------------------------------------------------------ what the agent sees
    def elapsed_s(self) -> float:
        """Budget seconds used: this session's wall clock plus :attr:`spent_before_s`."""
        return self.spent_before_s + time.time() - self.started

    def gpu_count(self) -> int:
        """Visible CUDA devices (0 on a CPU machine)."""
        if self._gpus is None:
            import torch

            self._gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return self._gpus

    def budget_left_s(self) -> float:
        """Seconds of budget left: the wall clock, or the GPU-hours at the visible GPU count if sooner."""
        left = self.settings.wall_clock_h * 3600 - self.elapsed_s()
        if self.settings.gpu_hours is not None and self.gpu_count():
            left = min(left, self.settings.gpu_hours * 3600 / self.gpu_count() - self.elapsed_s())
        return left

    def task_card(self) -> dict[str, Any]:
        """Everything the agent is told about the task (never test data or the grader)."""
        example = self._validation.items[0] if self._validation.items else None
        import torch

        gpus = [{"name": torch.cuda.get_device_name(i),
                 "memory_gib": round(torch.cuda.get_device_properties(i).total_memory / 2**30, 1)}
                for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
        return {
            "task_id": self.task.id, "title": self.task.title, "domain": self.task.domain,
            "description": self.task.description.strip(),
            "metric": {"name": self.task.metric.name, "higher_is_better": self.task.metric.higher_is_better},
            "eval_prompt_template": self.task.prompt_template(self.settings.prompt_style),
            "answer_format_example": self.benchmark.reference_output(example) if example else None,
            "validation_items": len(self._validation.items),
            "base_model": {"id": self.base_model.id, "title": self.base_model.title, "card": self.base_model.card,
                           "params_b": self.base_model.params_b, "context_length": self.base_model.context_length},
            "device": {"gpus": gpus, "cpu_only": not gpus},
            "sample_cap": self.settings.sample_cap,
            "budget": {"wall_clock_h": self.settings.wall_clock_h, "max_iterations": self.settings.max_iterations},
            "data_contract": {
                "script": DATA_SCRIPT, "raw_dir_env": "FTDOJO_RAW_DIR", "output": DATA_FILE,
                "debug_flag": "--debug", "debug_samples": DEBUG_SAMPLES,
                "formats": ["alpaca: instruction, input, output", "chat: messages"],
            },
            "train_config_fields": sorted(TrainConfig.model_fields),
        }

    def dataset_info(self) -> dict[str, Any]:
        """The raw-data repository summary (``dataset_info.json``): every source of the shared repository.

        As in the paper, the agent sees the whole repository and picks the relevant sources itself; the
        harness's note of which tasks declare a source (``used_by``) is left out.
        """
        info = load_dataset_info(self.repository)
        return {k: {f: x for f, x in v.items() if f != "used_by"} for k, v in info.items()}

    def new_experiment(self, experiment_id: str) -> Path:
        """A fresh workspace ``experiments/<id>/`` in the run folder."""
        ws = self.run_dir / "experiments" / experiment_id
        ws.mkdir(parents=True, exist_ok=True)
        return ws

    # ------------------------------------------------------------------ actions
    def run_data_script(self, workspace: Path, script: str, debug: bool,
                        llm_endpoint: str | None = None) -> StepResult:
        """Write and run the agent's data script in the sandbox, then check its output.

        Checks: exit status 0, ``data.json`` exists and is a non-empty list of Alpaca or chat records,
        and (full mode) at most ``sample_cap`` samples. ``llm_endpoint`` (a loopback ``http://`` URL) is
        the one network destination the script may reach, for tasks that allow LLM data synthesis.
        """
        from ftagent.train.data import load_training_data

        workspace = Path(workspace)
        atomic_write_text(workspace / DATA_SCRIPT, script)
        (workspace / DATA_FILE).unlink(missing_ok=True)
        argv = ["python", DATA_SCRIPT] + (["--debug"] if debug else [])
        timeout = self.settings.data_debug_timeout_s if debug else self.settings.data_full_timeout_s
        t0 = time.time()
        try:
            res = self.sandbox.run(argv, workspace, self.repository, timeout_s=timeout,
                                   memory_mb=self.settings.data_memory_mb, llm_endpoint=llm_endpoint)
        finally:
            self.clock["data_script"] += time.time() - t0
        log = (res.stderr_tail + "\n" + res.stdout_tail).strip()
        if not res.ok:
            cls = classify_failure(log, res.returncode, res.timed_out)
            why = "timed out" if res.timed_out else f"exited with status {res.returncode}"
            return StepResult(False, cls, f"data script {why}", log[-2000:])
        try:
            records = load_training_data(workspace / DATA_FILE)
        except DataError as e:
            return StepResult(False, "DATA", str(e), log[-2000:])
        n = len(records)
        if not debug and n > self.settings.sample_cap:
            return StepResult(False, "DATA", f"{n} samples exceed the sample cap of {self.settings.sample_cap}",
                              log[-2000:])
        lengths = [len(r["prompt"][-1]["content"]) + len(r["completion"][0]["content"]) for r in records]
        stats = {"samples": n, "mode": "debug" if debug else "full",
                 "chars_mean": round(sum(lengths) / n, 1), "chars_max": max(lengths),
                 "examples": [{"prompt": r["prompt"][-1]["content"][:500], "completion": r["completion"][0]["content"][:500]}
                              for r in records[:3]]}
        return StepResult(True, stats=stats, log_tail=log[-1000:])

    def train(self, workspace: Path, config: dict[str, Any] | str, micro: bool) -> StepResult:
        """Validate the agent's config (unknown keys filtered) and train on ``workspace/data.json``.

        ``micro=True`` is the fail-fast micro-batch run (a few steps, nothing saved).
        """
        from ftagent.train.sft import train_sft

        workspace = Path(workspace)
        try:
            cfg, dropped = parse_train_config(config)
        except ConfigError as e:
            return StepResult(False, "CONFIG", str(e))
        overrides = {k: v for k, v in self.settings.train_overrides.items() if k in TrainConfig.model_fields}
        cfg = cfg.model_copy(update={"model": self.base_model.id, **overrides})
        atomic_write_text(workspace / ("debug_train.yaml" if micro else TRAIN_CONFIG), cfg.to_yaml())
        out = workspace / ("micro" if micro else "train")
        t0 = time.time()
        try:
            seed_everything(cfg.seed)  # each training starts from its config seed, whatever ran before in this process
            if self.settings.launcher == "torchrun":
                from ftagent.train.launch import launch_training

                res = launch_training(cfg, self.base_model_dir, workspace / cfg.data_path, out,
                                      nproc_per_node=self.settings.train_nproc_per_node,
                                      sample_cap=self.settings.sample_cap, micro=micro,
                                      threads=self.settings.threads, timeout_s=self.settings.train_timeout_s)
            else:
                res = train_sft(cfg, self.base_model_dir, workspace / cfg.data_path, out,
                                sample_cap=self.settings.sample_cap, micro=micro, threads=self.settings.threads)
        except Exception as e:  # library errors are classified and fed back, not raised
            tb = traceback.format_exc()
            return StepResult(False, classify_failure(f"{type(e).__name__}: {e}\n{tb}"),
                              f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300],
                              tb[-2000:], dropped_keys=dropped, config=cfg)
        finally:
            self.clock["train"] += time.time() - t0
        stats = {"steps": res.steps, "samples": res.samples, "train_runtime_s": res.train_runtime_s,
                 "losses": [round(x, 4) for x in res.losses], "trainable_parameters": res.trainable_parameters}
        if not res.ok:
            return StepResult(False, res.failure_class or classify_failure(res.error or ""),
                              res.error or "training failed", res.log_tail[-2000:],
                              stats=stats, dropped_keys=dropped, config=cfg)
        return StepResult(True, stats=stats, dropped_keys=dropped, config=cfg, model_dir=res.model_dir,
                          adapter=cfg.method in ("lora", "qlora"))

    def decoding(self) -> Decoding:
        """The pinned decoding of the base model with the task's generation budget at this scale."""
        return self.base_model.decoding.model_copy(
            update={"max_new_tokens": self.task.max_new_tokens.get(self.settings.scale, 256)})

    def validate(self, trained: StepResult | None) -> Validation:
        """Score a trained model (or the base model when ``trained`` is None) on the validation half."""
        adapter = trained.model_dir if trained and trained.adapter else None
        model = trained.model_dir if trained and not trained.adapter else self.base_model_dir
        t0 = time.time()
        try:
            backend = load_backend(self.settings.eval_backend, model, adapter,
                                   batch_size=self.settings.eval_batch_size, threads=self.settings.threads)
            ev = evaluate(self.benchmark, self.data_dir, backend, self.decoding(), "validation",
                          self.settings.prompt_style, split=self._validation)
        finally:
            self.clock["eval"] += time.time() - t0
        return Validation(score=ev.score.score, subsets=ev.score.subsets, n_items=ev.score.n_items,
                          wrong_samples=ev.wrong_samples(self.benchmark, self.settings.prompt_style))


def describe(obj: Any) -> str:
    """Compact JSON for prompts."""
    return json.dumps(obj, ensure_ascii=False, indent=1, default=str)
