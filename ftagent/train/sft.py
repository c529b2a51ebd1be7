"""Supervised fine-tuning with TRL's ``SFTTrainer`` and PEFT: the engine every agent drives.

One function, :func:`train_sft`, takes a validated :class:`~ftagent.train.config.TrainConfig`, a base
model folder and a training file, and leaves in ``output_dir``:

* ``model/`` — the LoRA adapter (``adapter_model.safetensors``) or the full model, plus the tokenizer
  and its chat template (asserted identical at evaluation);
* ``trainer_log.jsonl`` — one line per logged step (``step``, ``loss``, ``learning_rate``, ...);
* ``train_result.json`` — a :class:`TrainResult`.

The same code trains the tiny model on one CPU and Qwen2.5-7B on GPUs (with DeepSpeed when the config
asks for it, under a launcher: see :mod:`ftagent.train.launch`). A *micro-batch* run (``micro=True``:
a few steps on a few samples, nothing saved) is what fail-fast validation uses.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ftagent.errors import ConfigError
from ftagent.train.checks import TrainCheckError, check_loss_history, check_saved_tensors
from ftagent.train.config import TrainConfig
from ftagent.train.data import load_training_data
from ftagent.utils.io import atomic_write_json, write_jsonl

#: Micro-batch mode: updates and samples (fail-fast validation, paper §4 "micro-batch training run").
MICRO_STEPS = 2
MICRO_SAMPLES = 8


@dataclass
class TrainResult:
    """Outcome of one training run.

    Attributes:
        ok: Training finished and passed the post-training checks.
        error: One-line reason when not ok.
        model_dir: Saved adapter or model (None in micro mode or on failure).
        method: Fine-tuning method used.
        samples: Training examples used (after ``max_samples`` and the sample cap).
        steps: Optimiser updates run.
        train_runtime_s: Wall time of ``trainer.train()`` in seconds.
        losses: Training loss at each logged step.
        trainable_parameters: Parameters updated by training.
        chat_template_sha256: Hash of the tokenizer chat template saved with the model.
        extra: Anything else worth keeping (device, DeepSpeed stage).
    """

    ok: bool
    error: str | None = None
    model_dir: str | None = None
    method: str = ""
    samples: int = 0
    steps: int = 0
    train_runtime_s: float = 0.0
    losses: list[float] = field(default_factory=list)
    trainable_parameters: int = 0
    chat_template_sha256: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def chat_template_hash(tokenizer: Any) -> str | None:
    """SHA-256 of a tokenizer's chat template (None when it has none)."""
    tmpl = getattr(tokenizer, "chat_template", None)
    return hashlib.sha256(tmpl.encode()).hexdigest() if isinstance(tmpl, str) else None


def _peft_config(cfg: TrainConfig):
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=cfg.lora_target, task_type="CAUSAL_LM")


def _freeze_layers(model: Any, keep: int) -> None:
    """Freeze all parameters except the last ``keep`` decoder layers, the final norm and the head."""
    layers = model.model.layers
    n = len(layers)
    for name, p in model.named_parameters():
        p.requires_grad = False
        if name.startswith(("model.norm", "lm_head")):
            p.requires_grad = True
        elif name.startswith("model.layers."):
            idx = int(name.split(".")[2])
            p.requires_grad = idx >= n - keep


def train_sft(cfg: TrainConfig, model_path: str | Path, data_file: str | Path, output_dir: str | Path, *,
              sample_cap: int | None = None, micro: bool = False, threads: int | None = None,
              deepspeed_config: str | Path | None = None) -> TrainResult:
    """Fine-tune ``model_path`` on ``data_file`` with ``cfg``.

    Args:
        cfg: Validated training config.
        model_path: Base model folder (Hugging Face format).
        data_file: Training records (Alpaca or chat, see :mod:`ftagent.train.data`).
        output_dir: Where the model, logs and result go.
        sample_cap: Harness limit on training examples (the paper's 2,000 per experiment).
        micro: Run :data:`MICRO_STEPS` updates on :data:`MICRO_SAMPLES` samples and save nothing.
        threads: torch CPU threads.
        deepspeed_config: DeepSpeed JSON (required when ``cfg.deepspeed`` is set; needs a launcher).

    Returns:
        A :class:`TrainResult`; failures of the data, the config or the checks come back as
        ``ok=False`` with the error, exceptions from the libraries propagate (the caller classifies them).
    """
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    if threads:
        torch.set_num_threads(threads)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    cuda = torch.cuda.is_available()
    if cfg.method == "qlora" and not cuda:
        raise ConfigError("training config key 'method': qlora needs a CUDA GPU (bitsandbytes 4-bit)")
    if cfg.deepspeed and not deepspeed_config:
        raise ConfigError("training config key 'deepspeed': set, but no DeepSpeed JSON was given to the trainer")

    limit = min(x for x in (cfg.max_samples, sample_cap, MICRO_SAMPLES if micro else None) if x) \
        if any((cfg.max_samples, sample_cap, micro)) else None
    records = load_training_data(Path(data_file), limit)

    tok = AutoTokenizer.from_pretrained(str(model_path))
    if tok.pad_token is None or tok.pad_token_id == tok.eos_token_id:
        # pad == eos would mask the end-of-turn label and the model would never learn to stop
        tok.add_special_tokens({"pad_token": "<|ftagent_pad|>"})
    model_kwargs: dict[str, Any] = {"dtype": torch.bfloat16 if (cfg.bf16 and cuda) else torch.float32}
    if cfg.method == "qlora":
        from transformers import BitsAndBytesConfig

        model_kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16)
    model = AutoModelForCausalLM.from_pretrained(str(model_path), **model_kwargs)
    if len(tok) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tok))
    if cfg.method == "freeze":
        _freeze_layers(model, cfg.freeze_trainable_layers)

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
        save_strategy="no",
        report_to=[],
        use_cpu=not cuda,
        dataloader_num_workers=0,
        disable_tqdm=not sys.stderr.isatty(),
        deepspeed=str(deepspeed_config) if cfg.deepspeed else None,
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(records), processing_class=tok,
                         peft_config=_peft_config(cfg) if cfg.method in ("lora", "qlora") else None)
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    t0 = time.time()
    trainer.train()
    runtime = time.time() - t0
    log = [h for h in trainer.state.log_history if "loss" in h]
    losses = [float(h["loss"]) for h in log]
    result = TrainResult(ok=True, method=cfg.method, samples=len(records), steps=trainer.state.global_step,
                         train_runtime_s=round(runtime, 3), losses=losses, trainable_parameters=trainable,
                         chat_template_sha256=chat_template_hash(tok),
                         extra={"device": "cuda" if cuda else "cpu", "deepspeed": cfg.deepspeed,
                                "world_size": int(os.environ.get("WORLD_SIZE", "1"))})
    if trainer.is_world_process_zero():
        write_jsonl(output_dir / "trainer_log.jsonl", log)
    try:
        check_loss_history(losses)
    except TrainCheckError as e:
        result.ok, result.error = False, f"post-training check: {e}"
    if not micro and result.ok:
        model_dir = output_dir / "model"
        trainer.save_model(str(model_dir))
        if trainer.is_world_process_zero():
            tok.save_pretrained(str(model_dir))
            try:
                check_saved_tensors(model_dir)
                result.model_dir = str(model_dir)
            except TrainCheckError as e:
                result.ok, result.error = False, f"post-training check: {e}"
    if trainer.is_world_process_zero():
        atomic_write_json(output_dir / "train_result.json", asdict(result))
    return result
