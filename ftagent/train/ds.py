"""DeepSpeed ZeRO-2/3: the shipped configs, the availability check, and a launch-time consistency check.

The engine ships two JSON files, ``ds_configs/zero2.json`` and ``ds_configs/zero3.json``, written for
this project. Every batch, clipping and precision field is ``"auto"``, so the Hugging Face Trainer
fills them from the training arguments and the two can never disagree (LLaMA-Factory #3224:
"DeepSpeed config values mismatch TrainingArguments (bf16)"; anchors-notes §D13). ZeRO-3 sets
``stage3_gather_16bit_weights_on_model_save: true``, so ``save_model`` writes whole weights rather than
empty partitions (DeepSpeed #3841, OpenRLHF #839; §D14). There is no ``optimizer`` section: the Trainer's
own AdamW is used (``zero_allow_untested_optimizer``), so no CUDA op has to be JIT-compiled.
``overlap_comm`` is off (it costs ~4.5x the bucket size in memory); turn it on for throughput only once
a model fits.

Sources: DeepSpeed configuration JSON reference (https://www.deepspeed.ai/docs/config-json/) and the
transformers DeepSpeed integration guide ("auto" values filled by ``HfTrainerDeepSpeedConfig``).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from ftagent.errors import ConfigError
from ftagent.train.config import TrainConfig

#: Folder of the shipped DeepSpeed JSON files.
DS_CONFIG_DIR = Path(__file__).with_name("ds_configs")

#: DeepSpeed keys that must be ``"auto"`` (or agree with the training config) and the value each takes.
AUTO_KEYS = ("train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps",
             "gradient_clipping", "bf16.enabled", "fp16.enabled")


def deepspeed_available() -> bool:
    """Whether the ``deepspeed`` package can be imported (checked without importing it)."""
    return importlib.util.find_spec("deepspeed") is not None


def require_deepspeed(stage: int | None) -> None:
    """Fail early when a ZeRO stage is requested but DeepSpeed is not installed.

    Raises:
        ConfigError: ``stage`` is set and ``deepspeed`` cannot be imported (names the key and the fix).
    """
    if stage and not deepspeed_available():
        raise ConfigError(f"training config key 'deepspeed': ZeRO-{stage} requested but the deepspeed package "
                          "is not installed (pip install 'ftagent[deepspeed]', or remove the key)")


def deepspeed_config_path(stage: int) -> Path:
    """The shipped JSON of ZeRO ``stage`` (2 or 3).

    Raises:
        ConfigError: no config is shipped for that stage.
    """
    path = DS_CONFIG_DIR / f"zero{stage}.json"
    if not path.exists():
        raise ConfigError(f"training config key 'deepspeed': no DeepSpeed config for ZeRO stage {stage} (use 2 or 3)")
    return path


def load_deepspeed_config(stage_or_path: int | str | Path) -> dict[str, Any]:
    """Read a shipped config (by stage) or a DeepSpeed JSON file (by path)."""
    path = deepspeed_config_path(stage_or_path) if isinstance(stage_or_path, int) else Path(stage_or_path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"DeepSpeed config {path} is unreadable ({e})") from None


def _get(ds: dict[str, Any], dotted: str) -> Any:
    node: Any = ds
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def trainer_values(cfg: TrainConfig, world_size: int, cuda: bool) -> dict[str, Any]:
    """What the Trainer puts into each :data:`AUTO_KEYS` field for ``cfg`` on ``world_size`` processes.

    Mirrors ``HfTrainerDeepSpeedConfig.trainer_config_process`` (transformers): the global batch is
    ``world_size * per_device_train_batch_size * gradient_accumulation_steps``; bf16 is on only on CUDA
    (the engine never enables it on CPU); fp16 is never used.
    """
    return {
        "train_batch_size": world_size * cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps,
        "train_micro_batch_size_per_gpu": cfg.per_device_train_batch_size,
        "gradient_accumulation_steps": cfg.gradient_accumulation_steps,
        "gradient_clipping": cfg.max_grad_norm,
        "bf16.enabled": bool(cfg.bf16 and cuda),
        "fp16.enabled": False,
    }


def deepspeed_mismatches(ds: dict[str, Any], cfg: TrainConfig, world_size: int = 1, cuda: bool = True) -> list[str]:
    """Fields of a DeepSpeed config that disagree with the training config (empty when consistent).

    A field that is ``"auto"`` or absent always agrees; any other value must equal the Trainer's.
    This is the launch-time check of an (agent-config, DeepSpeed JSON) pair (anchors-notes §D13).

    Args:
        ds: DeepSpeed config.
        cfg: Training config.
        world_size: Training processes.
        cuda: Whether training runs on CUDA.

    Returns:
        One ``"<ds key>=<value> vs <expected>"`` line per disagreement.
    """
    out = []
    for key, want in trainer_values(cfg, world_size, cuda).items():
        got = _get(ds, key)
        if got is None or got == "auto":
            continue
        if got != want:
            out.append(f"{key}={got!r} vs {want!r}")
    stage = _get(ds, "zero_optimization.stage")
    if cfg.deepspeed and stage is not None and stage != cfg.deepspeed:
        out.append(f"zero_optimization.stage={stage!r} vs {cfg.deepspeed!r}")
    if stage == 3 and _get(ds, "zero_optimization.stage3_gather_16bit_weights_on_model_save") is not True:
        out.append("zero_optimization.stage3_gather_16bit_weights_on_model_save must be true "
                   "(else ZeRO-3 saves empty tensors)")
    return out


def check_deepspeed_config(ds_path: str | Path, cfg: TrainConfig, world_size: int = 1, cuda: bool = True) -> None:
    """Raise :class:`ConfigError` listing every disagreement of ``ds_path`` with ``cfg``."""
    bad = deepspeed_mismatches(load_deepspeed_config(ds_path), cfg, world_size, cuda)
    if bad:
        raise ConfigError(f"training config key 'deepspeed': {Path(ds_path).name} disagrees with the training "
                          f"config: {'; '.join(bad)}")
