"""The training config an agent emits (``train.yaml``), validated field by field.

This is the engine's contract with FT-Agent and every baseline (the role LLaMA-Factory's YAML plays in
the paper's implementation). :func:`parse_train_config` implements the paper's *parameter filtering*:
keys the engine does not know are dropped and listed (they go back to the agent as feedback), and
invalid values are rejected with a one-line :class:`~ftagent.errors.ConfigError` that names the key.

A few spellings agents carry over from LLaMA-Factory are normalised rather than rejected, because
their meaning is unambiguous: ``deepspeed: z3`` / ``"3"`` / ``zero3`` mean stage 3 (``0``, ``false``
and ``none`` mean no DeepSpeed), and ``lora_target: all`` means ``all-linear`` (a comma-separated string
becomes a list). A DeepSpeed JSON *path* is rejected: the engine ships its own ZeRO-2/3 files
(:mod:`ftagent.train.ds`) whose batch and precision fields are ``"auto"``, so they can never disagree
with this config (LLaMA-Factory #3224, anchors-notes §D13).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ftagent.errors import ConfigError


class TrainConfig(BaseModel):
    """Supervised fine-tuning settings (TRL ``SFTTrainer`` + PEFT underneath).

    > Model and method

    Attributes:
        model: Base model path or id; set by the harness, an agent's value is ignored.
        method: ``lora`` (PEFT LoRA adapters), ``qlora`` (LoRA on a 4-bit NF4 base, CUDA only),
            ``full`` (all weights), ``freeze`` (only the last ``freeze_trainable_layers`` decoder layers,
            the final norm and the head train).
        lora_r: LoRA rank (1..1024).
        lora_alpha: LoRA scaling numerator (scale = alpha / r).
        lora_dropout: Dropout on the LoRA path, in [0, 1).
        lora_target: Modules that get adapters: ``all-linear`` or a list of module names
            (``q_proj``, ``v_proj``, ...).
        freeze_trainable_layers: Decoder layers left trainable by ``freeze``, counted from the top.

    > Data

    Attributes:
        data_path: Training file written by the data script, relative to the workspace (a JSON list or
            JSON lines).
        data_format: ``alpaca`` (``instruction``/``input``/``output``/``system``), ``chat``
            (``messages``), or ``auto`` (either, per record).
        cutoff_len: Longest training sequence in tokens (prompt + response); longer ones are truncated.
        max_samples: Use at most this many examples, the first ones (the harness also enforces the
            task's sample cap, the paper's 2,000).

    > Optimisation

    Attributes:
        per_device_train_batch_size: Examples per device (process) per forward pass.
        gradient_accumulation_steps: Forward passes accumulated per optimiser update; the global batch
            is ``per_device_train_batch_size * gradient_accumulation_steps * processes``.
        learning_rate: Peak learning rate (AdamW).
        num_train_epochs: Passes over the data (ignored when ``max_steps`` > 0).
        max_steps: Optimiser updates to run; -1 means use ``num_train_epochs``.
        lr_scheduler_type: ``linear``, ``cosine``, ``constant`` or ``constant_with_warmup``.
        warmup_ratio: Fraction of the updates spent warming up, in [0, 0.5].
        weight_decay: AdamW weight decay.
        max_grad_norm: Gradient clipping norm (> 0).

    > Precision, memory and parallelism

    Attributes:
        bf16: bfloat16 mixed precision (CUDA; ignored on CPU).
        gradient_checkpointing: Recompute activations in the backward pass to save memory.
        deepspeed: DeepSpeed ZeRO stage, 2 or 3, or None for none; needs the ``deepspeed`` extra and a
            launcher (``ftagent.train.launch``). Stage 3 also partitions the weights (use it for full
            fine-tuning of 7B models on several GPUs).
        completion_only_loss: Train on the response tokens only (the prompt is masked).

    > Run control

    Attributes:
        seed: Random seed of data order and adapter initialisation.
        logging_steps: Record the loss every this many updates.
        save_steps: Save a resumable checkpoint every this many updates (0 = only the final model).
            A job requeued by SLURM continues from the last checkpoint (:mod:`ftagent.train.launch`).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    model: str | None = None
    method: Literal["lora", "qlora", "full", "freeze"] = "lora"
    lora_r: int = Field(16, ge=1, le=1024)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.0, ge=0.0, lt=1.0)
    lora_target: str | list[str] = "all-linear"
    freeze_trainable_layers: int = Field(2, ge=1)

    data_path: str = "data.json"
    data_format: Literal["auto", "alpaca", "chat"] = "auto"
    cutoff_len: int = Field(1024, ge=8, le=131072)
    max_samples: int | None = Field(None, ge=1)

    per_device_train_batch_size: int = Field(4, ge=1, le=4096)
    gradient_accumulation_steps: int = Field(1, ge=1, le=4096)
    learning_rate: float = Field(1e-4, gt=0.0, le=1.0)
    num_train_epochs: float = Field(1.0, gt=0.0, le=100.0)
    max_steps: int = Field(-1, ge=-1)
    lr_scheduler_type: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "cosine"
    warmup_ratio: float = Field(0.03, ge=0.0, le=0.5)
    weight_decay: float = Field(0.0, ge=0.0)
    max_grad_norm: float = Field(1.0, gt=0.0)

    bf16: bool = False
    gradient_checkpointing: bool = False
    deepspeed: Literal[2, 3] | None = None
    completion_only_loss: bool = True

    seed: int = 0
    logging_steps: int = Field(5, ge=1)
    save_steps: int = Field(0, ge=0)

    @field_validator("deepspeed", mode="before")
    @classmethod
    def _stage(cls, v: Any) -> Any:
        """Accept ``2``, ``"3"``, ``"z3"``, ``"zero3"``; ``0``/``false``/``"none"`` mean no DeepSpeed."""
        if v is None or v is False:
            return None
        if isinstance(v, str):
            s = v.strip().lower().replace("_", "").replace("-", "")
            if s in ("", "none", "null", "no", "false", "0", "z0", "zero0"):
                return None
            if s.endswith(".json") or "/" in s:
                raise ValueError("give the ZeRO stage (2 or 3), not a DeepSpeed JSON path; "
                                 "the engine ships its own configs")
            for prefix in ("zerostage", "stage", "zero", "z"):
                s = s.removeprefix(prefix)
            v = int(s) if s.isdigit() else v
        if v == 0:
            return None
        if v == 1:
            raise ValueError("ZeRO stage 1 is not offered; use 2 (optimizer + gradients) or 3 (+ weights)")
        return v

    @field_validator("lora_target", mode="before")
    @classmethod
    def _target(cls, v: Any) -> Any:
        """``all`` means ``all-linear``; ``"q_proj,v_proj"`` becomes a list."""
        if isinstance(v, str):
            s = v.strip()
            if s in ("all", "all_linear"):
                return "all-linear"
            if "," in s:
                return [p.strip() for p in s.split(",") if p.strip()]
            return s
        return v

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.max_steps == 0:
            raise ValueError("max_steps: 0 updates would train nothing (use -1 for epochs)")
        if isinstance(self.lora_target, list) and not self.lora_target:
            raise ValueError("lora_target: the module list is empty")
        return self

    @property
    def adapter(self) -> bool:
        """Whether training produces a PEFT adapter (``lora``, ``qlora``) rather than a full model."""
        return self.method in ("lora", "qlora")

    def to_yaml(self) -> str:
        """The config as YAML (fields in declaration order, model omitted when unset)."""
        return yaml.safe_dump(self.model_dump(exclude_none=True), sort_keys=False)


def parse_train_config(data: dict[str, Any] | str | Path) -> tuple[TrainConfig, list[str]]:
    """Validate an agent's training config, filtering unknown keys.

    Args:
        data: A mapping, a YAML string, or a path to a YAML file.

    Returns:
        ``(config, dropped_keys)``: the validated config and the sorted unknown keys that were removed
        (reported back to the agent as feedback).

    Raises:
        ConfigError: the YAML is unreadable or a known key has an invalid value (names the key).
    """
    if isinstance(data, Path):
        try:
            data = data.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"training config not found: {data}") from None
    if isinstance(data, str):
        try:
            data = yaml.safe_load(data) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"training config is not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"training config must be a mapping of keys to values, got {type(data).__name__}")
    known = set(TrainConfig.model_fields)
    dropped = sorted(str(k) for k in data if k not in known)
    kept = {k: v for k, v in data.items() if k in known}
    try:
        return TrainConfig.model_validate(kept), dropped
    except ValidationError as e:
        err = e.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        key = str(err["loc"][0]) if err["loc"] else _key_in(msg)
        got = kept.get(key, err.get("input"))
        msg = msg.removeprefix(f"{key}: ")
        raise ConfigError(f"training config key '{key}': {msg} (got {got!r})") from None


def _key_in(msg: str) -> str:
    """The key a model-level validation message starts with (``"max_steps: ..."``), else ``config``."""
    head = msg.split(":", 1)[0]
    return head if head in TrainConfig.model_fields else "config"
