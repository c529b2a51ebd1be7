"""Supervised fine-tuning with TRL's ``SFTTrainer`` and PEFT: the engine every agent drives.

One function, :func:`train_sft`, takes a validated :class:`~ftagent.train.config.TrainConfig`, a base
model folder and a training file, and leaves in ``output_dir``:

* ``model/`` — the LoRA adapter (``adapter_model.safetensors``) or the full model, plus the tokenizer
  and its chat template (asserted identical at evaluation);
* ``trainer_log.jsonl`` — one line per logged step (``step``, ``loss``, ``learning_rate``, ...),
  appended as training goes (so it survives a crash) and rewritten whole at the end;
* ``checkpoints/checkpoint-<step>/`` — resumable checkpoints when ``save_steps`` > 0 (the last one
  is kept);
* ``train_result.json`` — a :class:`TrainResult`.

The same code trains the tiny model on one CPU and Qwen2.5-7B on GPUs. In one process it runs
in-process (the mini scale); for several processes or DeepSpeed, :mod:`ftagent.train.launch` starts it
under ``torchrun`` through :mod:`ftagent.train.worker`. A *micro-batch* run (``micro=True``: a few
steps on a few samples, nothing saved) is what fail-fast validation uses.

After a full run the post-training checks of :mod:`ftagent.train.checks` run: the loss history, no
empty saved tensor, the saved tokenizer's chat template, and a reload of the saved model that must
reproduce the trained model's loss on a few training examples.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ftagent.errors import ConfigError
from ftagent.train import checks
from ftagent.train.checks import TrainCheckError
from ftagent.train.config import TrainConfig
from ftagent.train.data import load_training_data
from ftagent.utils.io import atomic_write_json, dumps, write_jsonl

#: Micro-batch mode: updates and samples (fail-fast validation, paper §4 "micro-batch training run").
MICRO_STEPS = 2
MICRO_SAMPLES = 8
#: Checkpoints kept when ``save_steps`` > 0 (only the last one is needed to resume).
CHECKPOINTS_KEPT = 1


@dataclass
class TrainResult:
    """Outcome of one training run.

    Attributes:
        ok: Training finished and passed the post-training checks.
        error: One-line reason when not ok.
        failure_class: CONFIG | OOM | DATA | ENV | TIMEOUT when not ok and classified (launcher runs).
        log_tail: Tail of the training log when not ok (launcher runs).
        model_dir: Saved adapter or model (None in micro mode or on failure).
        method: Fine-tuning method used.
        samples: Training examples used (after ``max_samples`` and the sample cap).
        steps: Optimiser updates run (counting those before a resume).
        train_runtime_s: Wall time of ``trainer.train()`` in seconds.
        losses: Training loss at each logged step.
        trainable_parameters: Parameters updated by training.
        chat_template_sha256: Hash of the tokenizer chat template saved with the model.
        extra: Anything else worth keeping: ``device``, ``deepspeed`` (stage), ``deepspeed_config``,
            ``world_size``, ``num_tokens`` (tokens trained on, all processes), ``first_step_s`` and
            ``step_s_mean`` (seconds per update, first and the rest), ``resumed_from``, ``probe_loss`` and
            ``reload_loss`` (the reload check).
    """

    ok: bool
    error: str | None = None
    failure_class: str | None = None
    log_tail: str = ""
    model_dir: str | None = None
    method: str = ""
    samples: int = 0
    steps: int = 0
    train_runtime_s: float = 0.0
    losses: list[float] = field(default_factory=list)
    trainable_parameters: int = 0
    chat_template_sha256: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainResult:
        """Rebuild from ``train_result.json`` (unknown keys ignored)."""
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def chat_template_hash(tokenizer: Any) -> str | None:
    """SHA-256 of a tokenizer's chat template (None when it has none)."""
    return checks.template_hash(getattr(tokenizer, "chat_template", None))


def _peft_config(cfg: TrainConfig):
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=cfg.lora_target, task_type="CAUSAL_LM")


def _freeze_layers(model: Any, keep: int) -> None:
    """Freeze all parameters except the last ``keep`` decoder layers, the final norm and the head."""
    n = model.config.num_hidden_layers
    for name, p in model.named_parameters():
        p.requires_grad = False
        if name.startswith(("model.norm", "lm_head")):
            p.requires_grad = True
        elif name.startswith("model.layers."):
            p.requires_grad = int(name.split(".")[2]) >= n - keep


def _numel(p: Any) -> int:
    """Elements of a parameter, also when ZeRO-3 has partitioned it (``ds_numel``)."""
    return int(getattr(p, "ds_numel", 0) or p.numel())


def ensure_dist_env() -> None:
    """Set single-process ``RANK``/``WORLD_SIZE``/``MASTER_*`` when no launcher did.

    DeepSpeed without them falls back to MPI discovery and dies on ``mpi4py`` (environment-notes §2).
    The port is a free one (:func:`ftagent.train.launch.free_port`).
    """
    if "WORLD_SIZE" in os.environ:
        return
    from ftagent.train.launch import free_port

    os.environ.update({"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1",
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port())})


def _init_deepspeed_comm(args: Any) -> None:
    """Make ``deepspeed.comm`` share the process group before ZeRO-3 loads the model partitioned.

    On GPU, accelerate initialises it through DeepSpeed; with ``use_cpu`` it initialises plain
    ``torch.distributed`` only, and ``zero.Init`` would then see a world of 1 and reject the batch size.
    """
    import deepspeed
    import torch.distributed as tdist

    _ = args.device  # sets up the process group
    deepspeed.init_distributed(dist_backend=tdist.get_backend() if tdist.is_initialized() else None)


def _callbacks(log_file: Path | None, times: list[float]):
    """A callback appending each log line to ``log_file`` (rank 0) and timing each update."""
    from transformers import TrainerCallback

    class _Recorder(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            times.append(time.time())

        def on_log(self, args, state, control, logs=None, **kwargs):
            if log_file is not None and state.is_world_process_zero and logs:
                with log_file.open("a", encoding="utf-8") as f:
                    f.write(dumps({"step": state.global_step, **logs}, indent=None) + "\n")

    return [_Recorder()]


def train_sft(cfg: TrainConfig, model_path: str | Path, data_file: str | Path, output_dir: str | Path, *,
              sample_cap: int | None = None, micro: bool = False, threads: int | None = None,
              deepspeed_config: str | Path | None = None, resume_from_checkpoint: str | Path | None = None,
              reload_check: bool = True) -> TrainResult:
    """Fine-tune ``model_path`` on ``data_file`` with ``cfg``.

    Args:
        cfg: Validated training config.
        model_path: Base model folder (Hugging Face format).
        data_file: Training records (Alpaca or chat, see :mod:`ftagent.train.data`).
        output_dir: Where the model, logs, checkpoints and result go.
        sample_cap: Harness limit on training examples (the paper's 2,000 per experiment).
        micro: Run :data:`MICRO_STEPS` updates on :data:`MICRO_SAMPLES` samples and save nothing.
        threads: torch CPU threads (per process).
        deepspeed_config: DeepSpeed JSON overriding the shipped one of ``cfg.deepspeed`` (checked for
            consistency with ``cfg``).
        resume_from_checkpoint: A ``checkpoint-<step>`` folder to continue from.
        reload_check: Reload the saved model and compare its loss (skip only in benchmarks).

    Returns:
        A :class:`TrainResult`; failures of the data, the config or the checks come back as
        ``ok=False`` with the error, exceptions from the libraries propagate (the caller classifies them).

    Raises:
        ConfigError: qlora without CUDA; DeepSpeed requested but not installed, or its JSON disagrees
            with ``cfg``.
        DataError: the training file is missing or malformed.
    """
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from ftagent.train import ds

    if threads:
        torch.set_num_threads(threads)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    cuda = torch.cuda.is_available()
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if cfg.method == "qlora" and not cuda:
        raise ConfigError("training config key 'method': qlora needs a CUDA GPU (bitsandbytes 4-bit)")
    ds_path = None
    if cfg.deepspeed:
        ds.require_deepspeed(cfg.deepspeed)
        ds_path = Path(deepspeed_config) if deepspeed_config else ds.deepspeed_config_path(cfg.deepspeed)
        ds.check_deepspeed_config(ds_path, cfg, world_size, cuda)
        ensure_dist_env()

    limits = [x for x in (cfg.max_samples, sample_cap, MICRO_SAMPLES if micro else None) if x]
    records = load_training_data(Path(data_file), min(limits) if limits else None, cfg.data_format)

    tok = AutoTokenizer.from_pretrained(str(model_path))
    if tok.pad_token is None or tok.pad_token_id == tok.eos_token_id:
        # pad == eos would mask the end-of-turn label and the model would never learn to stop
        tok.add_special_tokens({"pad_token": "<|ftagent_pad|>"})

    save = cfg.save_steps > 0 and not micro
    # SFTConfig first: with ZeRO-3 it activates zero.Init, so from_pretrained loads the weights partitioned
    args = SFTConfig(
        output_dir=str(output_dir / "checkpoints"),
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.num_train_epochs,
        max_steps=MICRO_STEPS if micro else cfg.max_steps,
        lr_scheduler_type=cfg.lr_scheduler_type,
        warmup_steps=cfg.warmup_ratio,  # transformers 5: a float in [0, 1) is a ratio
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        bf16=bool(cfg.bf16 and cuda),
        gradient_checkpointing=cfg.gradient_checkpointing,
        max_length=cfg.cutoff_len,
        completion_only_loss=cfg.completion_only_loss,
        seed=cfg.seed,
        logging_steps=1 if micro else cfg.logging_steps,
        logging_first_step=True,
        logging_nan_inf_filter=False,  # the default logs a NaN loss as the running mean (0 at first): report it
        save_strategy="steps" if save else "no",
        save_steps=cfg.save_steps if save else 500,
        save_total_limit=CHECKPOINTS_KEPT if save else None,
        report_to=[],
        use_cpu=not cuda,
        dataloader_num_workers=0,
        disable_tqdm=not sys.stderr.isatty(),
        deepspeed=str(ds_path) if ds_path else None,
    )
    if cfg.deepspeed == 3:
        _init_deepspeed_comm(args)
    model_kwargs: dict[str, Any] = {"dtype": torch.bfloat16 if (cfg.bf16 and cuda) else torch.float32}
    if cfg.method == "qlora":
        from transformers import BitsAndBytesConfig

        model_kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16,
            bnb_4bit_quant_storage=torch.bfloat16)  # bf16 storage lets ZeRO-3 shard the 4-bit weights
    model = AutoModelForCausalLM.from_pretrained(str(model_path), **model_kwargs)
    if len(tok) > model.config.vocab_size:
        model.resize_token_embeddings(len(tok))
    if cfg.method == "freeze":
        _freeze_layers(model, cfg.freeze_trainable_layers)

    log_file = None if micro else output_dir / "trainer_log.jsonl"
    if log_file is not None and not resume_from_checkpoint and int(os.environ.get("RANK", "0")) == 0:
        log_file.unlink(missing_ok=True)
    step_times: list[float] = []
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(records), processing_class=tok,
                         peft_config=_peft_config(cfg) if cfg.adapter else None,
                         callbacks=_callbacks(log_file, step_times))
    trainable = sum(_numel(p) for p in trainer.model.parameters() if p.requires_grad)
    t0 = time.time()
    trainer.train(resume_from_checkpoint=str(resume_from_checkpoint) if resume_from_checkpoint else None)
    runtime = time.time() - t0
    log = [h for h in trainer.state.log_history if "loss" in h]
    losses = [float(h["loss"]) for h in log]
    tokens = [h["num_tokens"] for h in trainer.state.log_history if "num_tokens" in h]
    marks = [t0, *step_times]
    result = TrainResult(
        ok=True, method=cfg.method, samples=len(records), steps=trainer.state.global_step,
        train_runtime_s=round(runtime, 3), losses=losses, trainable_parameters=trainable,
        chat_template_sha256=chat_template_hash(tok),
        extra={"device": "cuda" if cuda else "cpu", "deepspeed": cfg.deepspeed,
               "deepspeed_config": str(ds_path) if ds_path else None, "world_size": world_size,
               "num_tokens": int(tokens[-1]) if tokens else None,
               "first_step_s": round(marks[1] - marks[0], 4) if len(marks) > 1 else None,
               "step_s_mean": round((marks[-1] - marks[1]) / (len(marks) - 2), 4) if len(marks) > 2 else None,
               "resumed_from": str(resume_from_checkpoint) if resume_from_checkpoint else None})
    rank0 = trainer.is_world_process_zero()
    if rank0 and log_file is not None:
        write_jsonl(log_file, log)
    try:
        checks.check_loss_history(losses)
    except TrainCheckError as e:
        result.ok, result.error = False, f"post-training check: {e}"
    if not micro and result.ok:
        rows = checks.probe_rows(trainer.train_dataset) if reload_check else []
        if rows:  # collective under ZeRO-3: every rank runs it
            result.extra["probe_loss"] = checks.probe_loss(trainer.model, rows)
        model_dir = output_dir / "model"
        trainer.save_model(str(model_dir))  # collective under ZeRO-3
        if rank0:
            tok.save_pretrained(str(model_dir))
            if cuda:  # make room on the GPU for the reloaded copy (gc costs ~0.5 s, not worth it on CPU)
                trainer.accelerator.free_memory()
            del trainer, model, args
            if ds_path:  # else from_pretrained would reload under zero.Init, alone, and hang
                from transformers.integrations.deepspeed import unset_hf_deepspeed_config

                unset_hf_deepspeed_config()
            if cuda:
                gc.collect()
                torch.cuda.empty_cache()
            _check_saved(result, cfg, model_dir, Path(model_path), rows, "cuda" if cuda else "cpu")
    if rank0:
        atomic_write_json(output_dir / "train_result.json", asdict(result))
    return result


def _check_saved(result: TrainResult, cfg: TrainConfig, model_dir: Path, base_dir: Path,
                 rows: list[dict[str, list[int]]], device: str) -> None:
    """Run the post-save checks on rank 0, recording a failure in ``result``."""
    try:
        checks.check_saved_tensors(model_dir)
        checks.check_chat_template(model_dir, result.chat_template_sha256)
        if rows and "probe_loss" in result.extra:
            result.extra["reload_loss"] = checks.check_reload(model_dir, rows, result.extra["probe_loss"],
                                                              base_dir, cfg.adapter, device)
        result.model_dir = str(model_dir)
    except TrainCheckError as e:
        result.ok, result.error = False, f"post-training check: {e}"


def read_train_result(output_dir: str | Path) -> TrainResult | None:
    """The :class:`TrainResult` saved in ``output_dir`` (None when absent or unreadable)."""
    path = Path(output_dir) / "train_result.json"
    try:
        return TrainResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
