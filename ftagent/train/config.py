"""The training config an agent emits (``train.yaml``), validated field by field.

This is the engine's contract with FT-Agent and every baseline (the role LLaMA-Factory's YAML plays in
the paper's implementation). :func:`parse_train_config` implements the paper's *parameter filtering*:
keys the engine does not know are dropped and listed (they go back to the agent as feedback), and
invalid values are rejected with a message that names the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ftagent.errors import ConfigError


class TrainConfig(BaseModel):
    """Supervised fine-tuning settings (TRL ``SFTTrainer`` + PEFT underneath).

    > Model and method

    Attributes:
        model: Base model path or id; set by the harness, an agent's value is ignored.
        method: ``lora`` (PEFT LoRA adapters), ``qlora`` (LoRA on a 4-bit base, GPU only), ``full``
            (all weights), ``freeze`` (only the last ``freeze_trainable_layers`` layers train).
        lora_r: LoRA rank.
        lora_alpha: LoRA scaling numerator (scale = alpha / r).
        lora_dropout: Dropout on the LoRA path.
        lora_target: Modules that get adapters: ``all-linear`` or a list of module names.
        freeze_trainable_layers: Layers left trainable by ``freeze`` (counted from the top).

    > Data

    Attributes:
        data_path: Training file written by the data script, relative to the workspace (JSON list or
            JSON lines; Alpaca ``instruction/input/output`` or chat ``messages``).
        cutoff_len: Longest training sequence in tokens; longer examples are truncated.
        max_samples: Use at most this many examples (the harness also enforces the task's sample cap).

    > Optimisation

    Attributes:
        per_device_train_batch_size: Examples per device per step.
        gradient_accumulation_steps: Steps accumulated before an optimiser update.
        learning_rate: Peak learning rate.
        num_train_epochs: Passes over the data (ignored when ``max_steps`` > 0).
        max_steps: Optimiser updates to run; -1 means use ``num_train_epochs``.
        lr_scheduler_type: ``linear``, ``cosine``, ``constant`` or ``constant_with_warmup``.
        warmup_ratio: Fraction of the updates spent warming up.
        weight_decay: AdamW weight decay.
        max_grad_norm: Gradient clipping norm.

    > Precision, memory and parallelism

    Attributes:
        bf16: bfloat16 mixed precision (GPU; ignored on CPU).
        gradient_checkpointing: Recompute activations to save memory.
        deepspeed: DeepSpeed ZeRO stage (2 or 3) or None for no DeepSpeed.
        completion_only_loss: Train on the response tokens only (the prompt is masked).
        seed: Random seed of data order and initialisation of adapters.
        logging_steps: Record the loss every this many updates.
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
    cutoff_len: int = Field(1024, ge=8)
    max_samples: int | None = Field(None, ge=1)

    per_device_train_batch_size: int = Field(4, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
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

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.max_steps == 0:
            raise ValueError("max_steps: 0 updates would train nothing (use -1 for epochs)")
        return self

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
        key = ".".join(str(p) for p in err["loc"]) or "config"
        raise ConfigError(f"training config key '{key}': {err['msg']} (got {err.get('input')!r})") from None
